import { chargeBreakdown } from "../core/charges.ts";
import { chargeLabel, formatDocumentDate, type Messages } from "./messages.ts";
import { type DocOrder, itemCount, type Sender } from "./model.ts";
import { decimalsFor, displayMoney } from "./money.ts";
import { barcode, createDoc, fitText, PAPER, type Paper, pause, wrapText, YIELD_EVERY } from "./pdf.ts";
import { conditionText, recipientLines, returnAddressLines } from "./text.ts";

export interface PackingSlipOptions {
  paper: Paper;
  sender: Sender;
  timeZone: string;
  /** The document language's texts. */
  messages: Messages;
}

/** Packing slip / invoice: one order per page (long orders continue on further pages). */
export async function renderPackingSlips(orders: DocOrder[], opts: PackingSlipOptions): Promise<Buffer> {
  const [pw, ph] = PAPER[opts.paper];
  const m = 40;
  const width = pw - 2 * m;
  const msg = opts.messages;
  const t = msg.packingSlip;
  const { doc, finish } = createDoc(t.metaTitle(orders.length), opts.sender.storeName);
  const fromCountry = opts.sender.returnAddress?.countryCode ?? null;
  const cols = [
    { t: t.columns.location, w: 50 },
    { t: t.columns.item, w: 70 },
    { t: t.columns.description, w: 0, description: true },
    { t: t.columns.color, w: 70 },
    { t: t.columns.condition, w: 58 },
    { t: t.columns.qty, w: 26, right: true },
    { t: t.columns.unit, w: 50, right: true },
    { t: t.columns.total, w: 56, right: true },
  ];
  const fixed = cols.reduce((n, c) => n + c.w, 0);
  for (const c of cols) if (!c.w) c.w = width - fixed;

  let drawn = 0;
  for (const o of orders) {
    let y = 0;
    const dp = decimalsFor(o.lines.flatMap((l) => [l.unitPrice, l.lineTotal]));
    const lineMoney = (n: number) => displayMoney(n, o.currency, dp, msg.decimalSeparator);
    const newPage = (continued: boolean) => {
      doc.addPage({ size: [pw, ph], margin: 0 });
      y = m;
      doc
        .font("bold")
        .fontSize(continued ? 10 : 15)
        .fillColor("black");
      doc.text(
        continued ? `${opts.sender.storeName} — ${o.number} ${t.continued}` : opts.sender.storeName,
        m,
        y,
        {
          lineBreak: false,
        },
      );
      if (!continued) {
        doc.font("body").fontSize(8).fillColor("#444");
        const from = returnAddressLines(opts.sender, null, msg).join(" · ");
        if (from) doc.text(fitText(doc, t.returnAddress(from), width * 0.6), m, y + 19, { lineBreak: false });
        if (opts.sender.email) doc.text(opts.sender.email, m, y + 29, { lineBreak: false });
        doc.font("bold").fontSize(13).fillColor("black");
        doc.text(t.title, m + width - doc.widthOfString(t.title), y, { lineBreak: false });
        barcode(doc, o.number, m + width - 160, y + 18, 160, 26);
      }
      y += continued ? 22 : 56;
    };
    newPage(false);

    // Order facts and buyer, ship-to.
    doc.font("body").fontSize(8.5).fillColor("black");
    const facts = [
      [t.facts.order, o.number],
      [t.facts.marketplace, o.marketplaceName],
      [t.facts.date, formatDocumentDate(msg, o.orderedAt, opts.timeZone)],
      [t.facts.status, o.rawStatus],
      [t.facts.shipping, o.shippingMethod ?? "—"],
      [
        t.facts.buyer,
        [o.buyerName, o.buyerUsername ? `(${o.buyerUsername})` : null].filter(Boolean).join(" ") || "—",
      ],
      [t.facts.email, o.buyerEmail ?? "—"],
    ];
    let fy = y;
    for (const [k, v] of facts) {
      doc.font("bold").text(k!, m, fy, { lineBreak: false });
      doc.font("body").text(fitText(doc, v!, width / 2 - 80), m + 72, fy, { lineBreak: false });
      fy += 12;
    }
    const ship = recipientLines(o, fromCountry, { language: msg.language });
    let sy = y;
    doc
      .font("bold")
      .fontSize(8.5)
      .text(t.shipTo, m + width / 2 + 10, sy, { lineBreak: false });
    sy += 12;
    doc.font("body");
    for (const l of ship.length ? ship : [t.noAddress]) {
      doc.text(fitText(doc, l, width / 2 - 10), m + width / 2 + 10, sy, { lineBreak: false });
      sy += 12;
    }
    y = Math.max(fy, sy) + 12;

    const tableHeader = () => {
      doc.font("bold").fontSize(8).fillColor("#444");
      let x = m;
      for (const c of cols) {
        const tx = c.right ? x + c.w - 3 - doc.widthOfString(c.t) : x + 2;
        doc.text(c.t, tx, y, { lineBreak: false });
        x += c.w;
      }
      y += 11;
      doc
        .save()
        .moveTo(m, y)
        .lineTo(m + width, y)
        .lineWidth(0.8)
        .stroke("#000")
        .restore();
      y += 3;
    };
    tableHeader();
    const descIndex = cols.findIndex((c) => c.description);
    for (const l of o.lines) {
      if (++drawn % YIELD_EVERY === 0) await pause();
      doc.font("body").fontSize(7.5);
      const desc = wrapText(doc, l.name, cols[descIndex]!.w - 5, 2);
      const rowH = 3 + desc.length * 9;
      if (y + rowH > ph - m) {
        newPage(true);
        tableHeader();
      }
      const cells = [
        l.location ?? "",
        l.itemNo ?? "",
        "",
        l.colorName ?? "",
        conditionText(l.condition, l.completeness, msg),
        String(l.quantity),
        lineMoney(l.unitPrice),
        lineMoney(l.lineTotal),
      ];
      let x = m;
      doc.font("body").fontSize(7.5).fillColor("black");
      cols.forEach((c, i) => {
        if (i === descIndex) {
          desc.forEach((d, k) => {
            doc.text(d, x + 2, y + k * 9, { lineBreak: false });
          });
        } else {
          const text = fitText(doc, cells[i]!, c.w - 5);
          const tx = c.right ? x + c.w - 3 - doc.widthOfString(text) : x + 2;
          doc.text(text, tx, y, { lineBreak: false });
        }
        x += c.w;
      });
      y += rowH;
    }

    // Cost summary: every component the marketplace charged, so the lines add up to the total;
    // where its figures do not, the difference is a line of its own. Printed at the decimals that
    // show each amount exactly.
    const b = chargeBreakdown(o);
    const sums: [string, number, "body" | "bold" | "muted"][] = [
      [t.subtotal, b.subtotal, "body"],
      ...b.rows.map((r): [string, number, "body"] => [chargeLabel(msg, r), r.amount, "body"]),
      [t.total, b.grandTotal, "bold"],
      ...b.included.map((r): [string, number, "muted"] => [chargeLabel(msg, r, true), r.amount, "muted"]),
    ];
    const sumMoney = (n: number) => displayMoney(n, o.currency, b.decimals, msg.decimalSeparator);
    const sumWidth = 260;
    if (y + 20 + sums.length * 12 > ph - m) newPage(true);
    y += 8;
    doc
      .save()
      .moveTo(m + width - sumWidth, y)
      .lineTo(m + width, y)
      .lineWidth(0.5)
      .stroke("#000")
      .restore();
    y += 5;
    doc
      .font("body")
      .fontSize(8)
      .text(t.counts(o.lines.length, itemCount(o)), m, y, { lineBreak: false });
    for (const [k, v, style] of sums) {
      doc
        .font(style === "bold" ? "bold" : "body")
        .fontSize(style === "bold" ? 10 : style === "muted" ? 7.5 : 8.5)
        .fillColor(style === "muted" ? "#444" : "black");
      const s = sumMoney(v);
      const amountX = m + width - doc.widthOfString(s);
      doc.text(fitText(doc, k, amountX - (m + width - sumWidth) - 8), m + width - sumWidth, y, {
        lineBreak: false,
      });
      doc.text(s, amountX, y, { lineBreak: false });
      y += style === "bold" ? 14 : 12;
    }
    doc.fillColor("black");
    if (o.buyerRemarks) {
      y += 8;
      if (y + 40 > ph - m) newPage(true);
      doc.font("bold").fontSize(8.5).text(t.buyerRemarks, m, y, { lineBreak: false });
      y += 12;
      doc
        .font("body")
        .fontSize(8.5)
        .text(o.buyerRemarks, m, y, { width, height: ph - m - y, ellipsis: true });
    }
  }
  if (orders.length === 0) doc.addPage({ size: [pw, ph], margin: 0 });
  return finish();
}
