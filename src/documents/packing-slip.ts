import { type DocOrder, itemCount, type Sender } from "./model.ts";
import { decimalsFor, displayMoney } from "./money.ts";
import { barcode, createDoc, fitText, PAPER, type Paper, pause, wrapText, YIELD_EVERY } from "./pdf.ts";
import { addressLines, conditionText, formatDate, recipientLines } from "./text.ts";

export interface PackingSlipOptions {
  paper: Paper;
  sender: Sender;
  timeZone: string;
}

/** Packing slip / invoice: one order per page (long orders continue on further pages). */
export async function renderPackingSlips(orders: DocOrder[], opts: PackingSlipOptions): Promise<Buffer> {
  const [pw, ph] = PAPER[opts.paper];
  const m = 40;
  const width = pw - 2 * m;
  const { doc, finish } = createDoc(`Packing slips (${orders.length})`, opts.sender.storeName);
  const fromCountry = opts.sender.returnAddress?.countryCode ?? null;
  const cols = [
    { t: "Location", w: 50 },
    { t: "Item", w: 70 },
    { t: "Description", w: 0 },
    { t: "Colour", w: 70 },
    { t: "Condition", w: 58 },
    { t: "Qty", w: 26, right: true },
    { t: "Unit", w: 50, right: true },
    { t: "Total", w: 56, right: true },
  ];
  const fixed = cols.reduce((n, c) => n + c.w, 0);
  for (const c of cols) if (!c.w) c.w = width - fixed;

  let drawn = 0;
  for (const o of orders) {
    let y = 0;
    const money = (n: number) => displayMoney(n, o.currency);
    const dp = decimalsFor(o.lines.flatMap((l) => [l.unitPrice, l.lineTotal]));
    const lineMoney = (n: number) => displayMoney(n, o.currency, dp);
    const newPage = (continued: boolean) => {
      doc.addPage({ size: [pw, ph], margin: 0 });
      y = m;
      doc
        .font("bold")
        .fontSize(continued ? 10 : 15)
        .fillColor("black");
      doc.text(
        continued ? `${opts.sender.storeName} — ${o.number} (continued)` : opts.sender.storeName,
        m,
        y,
        {
          lineBreak: false,
        },
      );
      if (!continued) {
        doc.font("body").fontSize(8).fillColor("#444");
        const from = addressLines(opts.sender.returnAddress, null).slice(1).join(" · ");
        if (from) doc.text(fitText(doc, from, width * 0.6), m, y + 19, { lineBreak: false });
        if (opts.sender.email) doc.text(opts.sender.email, m, y + 29, { lineBreak: false });
        doc.font("bold").fontSize(13).fillColor("black");
        const t = "Packing slip";
        doc.text(t, m + width - doc.widthOfString(t), y, { lineBreak: false });
        barcode(doc, o.number, m + width - 160, y + 18, 160, 26);
      }
      y += continued ? 22 : 56;
    };
    newPage(false);

    // Order facts and buyer, ship-to.
    doc.font("body").fontSize(8.5).fillColor("black");
    const facts = [
      ["Order", o.number],
      ["Marketplace", o.marketplaceName],
      ["Date", formatDate(o.orderedAt, opts.timeZone)],
      ["Status", o.rawStatus],
      ["Shipping", o.shippingMethod ?? "—"],
      [
        "Buyer",
        [o.buyerName, o.buyerUsername ? `(${o.buyerUsername})` : null].filter(Boolean).join(" ") || "—",
      ],
      ["E-mail", o.buyerEmail ?? "—"],
    ];
    let fy = y;
    for (const [k, v] of facts) {
      doc.font("bold").text(k!, m, fy, { lineBreak: false });
      doc.font("body").text(fitText(doc, v!, width / 2 - 80), m + 72, fy, { lineBreak: false });
      fy += 12;
    }
    const ship = recipientLines(o, fromCountry);
    let sy = y;
    doc
      .font("bold")
      .fontSize(8.5)
      .text("Ship to", m + width / 2 + 10, sy, { lineBreak: false });
    sy += 12;
    doc.font("body");
    for (const l of ship.length ? ship : ["(no shipping address on the order)"]) {
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
    const descIndex = cols.findIndex((c) => c.t === "Description");
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
        conditionText(l.condition, l.completeness),
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

    // Cost summary and remarks.
    const sums: [string, number][] = [
      ["Subtotal", o.subtotal],
      ["Shipping", o.shipping],
      ...(o.fees ? ([["Fees", o.fees]] as [string, number][]) : []),
      ...(o.credits ? ([["Credits and coupons", -o.credits]] as [string, number][]) : []),
      ...(o.tax ? ([["Tax", o.tax]] as [string, number][]) : []),
      ["Total", o.grandTotal],
    ];
    if (y + 20 + sums.length * 12 > ph - m) newPage(true);
    y += 8;
    doc
      .save()
      .moveTo(m + width - 200, y)
      .lineTo(m + width, y)
      .lineWidth(0.5)
      .stroke("#000")
      .restore();
    y += 5;
    doc
      .font("body")
      .fontSize(8)
      .text(`${o.lines.length} lots, ${itemCount(o)} items`, m, y, { lineBreak: false });
    for (const [k, v] of sums) {
      doc.font(k === "Total" ? "bold" : "body").fontSize(k === "Total" ? 10 : 8.5);
      doc.text(k, m + width - 200, y, { lineBreak: false });
      const s = money(v);
      doc.text(s, m + width - doc.widthOfString(s), y, { lineBreak: false });
      y += k === "Total" ? 14 : 12;
    }
    if (o.buyerRemarks) {
      y += 8;
      if (y + 40 > ph - m) newPage(true);
      doc.font("bold").fontSize(8.5).text("Buyer remarks", m, y, { lineBreak: false });
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
