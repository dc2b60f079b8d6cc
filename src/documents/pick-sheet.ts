import { type DocLine, type DocOrder, itemCount, marketplaceName, type Sender } from "./model.ts";
import { barcode, createDoc, fitText, PAPER, type Paper, tickBox } from "./pdf.ts";
import { formatDate, naturalCompare, toteLetter } from "./text.ts";

export interface PickLine {
  line: DocLine;
  order: DocOrder;
  tote: string;
}

/**
 * Every line of every order in the order a person walks the shelves: by location in natural order
 * ("A-2" before "A-10"), within a location by item, colour and condition; lines with no location
 * last, grouped by item. Orders get tote letters in the order given.
 */
export function pickOrder(orders: DocOrder[]): { picks: PickLine[]; totes: Map<number, string> } {
  const totes = new Map(orders.map((o, i) => [o.id, toteLetter(i)]));
  const picks: PickLine[] = [];
  for (const o of orders) for (const line of o.lines) picks.push({ line, order: o, tote: totes.get(o.id)! });
  const key = (p: PickLine) => [p.line.itemNo ?? p.line.name, p.line.colorName ?? "", p.line.condition];
  picks.sort((a, b) => {
    const la = a.line.location?.trim() || null;
    const lb = b.line.location?.trim() || null;
    if (la === null && lb !== null) return 1;
    if (la !== null && lb === null) return -1;
    if (la !== null && lb !== null) {
      const c = naturalCompare(la, lb);
      if (c !== 0) return c;
    }
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i++) {
      const c = naturalCompare(ka[i]!, kb[i]!);
      if (c !== 0) return c;
    }
    return naturalCompare(a.tote, b.tote) || a.line.position - b.line.position;
  });
  return { picks, totes };
}

export interface PickSheetOptions {
  paper: Paper;
  sender: Sender;
  timeZone: string;
  generatedAt: Date;
}

const COLS = [
  { key: "tick", title: "", width: 16 },
  { key: "location", title: "Location", width: 62 },
  { key: "item", title: "Item", width: 70 },
  { key: "name", title: "Name", width: 0 },
  { key: "color", title: "Colour", width: 78 },
  { key: "cond", title: "Cond.", width: 34 },
  { key: "qty", title: "Qty", width: 28 },
  { key: "order", title: "Tote · Order", width: 92 },
] as const;

const COND: Record<string, string> = { new: "New", used: "Used", refurbished: "Refurb.", unknown: "" };

/** The pick sheet for the orders together: walking-order lines with tick boxes, then a summary per order. */
export async function renderPickSheet(orders: DocOrder[], opts: PickSheetOptions): Promise<Buffer> {
  const [pw, ph] = PAPER[opts.paper];
  const margin = 32;
  const width = pw - 2 * margin;
  const fixed = COLS.reduce((n, c) => n + c.width, 0);
  const cols = COLS.map((c) => ({ ...c, width: c.width || width - fixed }));
  const { doc, finish } = createDoc(`Pick sheet (${orders.length} orders)`, opts.sender.storeName);
  const { picks } = pickOrder(orders);
  const totalItems = picks.reduce((n, p) => n + p.line.quantity, 0);
  let page = 0;
  let y = 0;
  const rowH = 15;

  const header = () => {
    doc.addPage({ size: [pw, ph], margin: 0 });
    page++;
    y = margin;
    doc.font("bold").fontSize(13).fillColor("black").text("Pick sheet", margin, y, { lineBreak: false });
    doc.font("body").fontSize(8).fillColor("#444");
    const meta = `${orders.length} orders · ${picks.length} lots · ${totalItems} items · ${formatDate(opts.generatedAt, opts.timeZone)} · page ${page}`;
    doc.text(meta, margin + width - doc.widthOfString(meta), y + 4, { lineBreak: false });
    y += 24;
  };
  const tableHeader = () => {
    doc.font("bold").fontSize(7.5).fillColor("#444");
    let x = margin;
    for (const c of cols) {
      doc.text(c.title, x + 2, y, { lineBreak: false });
      x += c.width;
    }
    y += 11;
    doc
      .save()
      .moveTo(margin, y)
      .lineTo(margin + width, y)
      .lineWidth(0.8)
      .stroke("#000")
      .restore();
    y += 3;
  };
  header();
  tableHeader();
  let lastLocation: string | null | undefined;
  for (const p of picks) {
    const loc = p.line.location?.trim() || null;
    const groupBreak = loc !== lastLocation;
    if (y + rowH + (groupBreak ? 13 : 0) > ph - margin) {
      header();
      tableHeader();
      lastLocation = undefined;
    }
    if (loc !== lastLocation) {
      doc.font("bold").fontSize(8).fillColor("#000");
      doc.text(loc ? `Location ${loc}` : "No location", margin + 2, y + 2, { lineBreak: false });
      y += 13;
      lastLocation = loc;
    }
    const cells: Record<string, string> = {
      location: loc ?? "—",
      item: p.line.itemNo ?? "",
      name: p.line.name,
      color: p.line.colorName ?? "",
      cond: COND[p.line.condition] ?? p.line.condition,
      qty: String(p.line.quantity),
      order: `${p.tote} · ${p.order.number}`,
    };
    let x = margin;
    for (const c of cols) {
      if (c.key === "tick") tickBox(doc, x + 3, y + 2, 9);
      else {
        doc.font(c.key === "qty" || c.key === "order" ? "bold" : "body").fontSize(c.key === "qty" ? 9 : 7.5);
        doc
          .fillColor("black")
          .text(fitText(doc, cells[c.key] ?? "", c.width - 4), x + 2, y + 3, { lineBreak: false });
      }
      x += c.width;
    }
    y += rowH;
    doc
      .save()
      .moveTo(margin, y - 1)
      .lineTo(margin + width, y - 1)
      .lineWidth(0.3)
      .stroke("#bbb")
      .restore();
  }

  // Orders in this pick: tote, number and barcode, buyer, lots and items.
  const summaryRow = 34;
  const summaryHeader = () => {
    doc
      .font("bold")
      .fontSize(10)
      .fillColor("black")
      .text("Orders in this pick", margin, y, { lineBreak: false });
    y += 16;
  };
  if (y + 60 > ph - margin) header();
  else y += 12;
  summaryHeader();
  for (const [i, o] of orders.entries()) {
    if (y + summaryRow > ph - margin) {
      header();
      summaryHeader();
    }
    const tote = toteLetter(i);
    doc
      .font("bold")
      .fontSize(14)
      .fillColor("black")
      .text(tote, margin, y + 4, { lineBreak: false });
    doc.fontSize(9).text(o.number, margin + 40, y + 2, { lineBreak: false });
    doc.font("body").fontSize(7.5).fillColor("#333");
    doc.text(
      fitText(
        doc,
        `${o.buyerName ?? ""}${o.buyerUsername ? ` (${o.buyerUsername})` : ""} · ${marketplaceName(o.marketplace)}`,
        230,
      ),
      margin + 40,
      y + 15,
      { lineBreak: false },
    );
    const counts = `${o.lines.length} lots · ${itemCount(o)} items`;
    doc.text(counts, margin + 280, y + 8, { lineBreak: false });
    barcode(doc, o.number, margin + width - 150, y + 2, 150, 24);
    y += summaryRow;
    doc
      .save()
      .moveTo(margin, y - 3)
      .lineTo(margin + width, y - 3)
      .lineWidth(0.3)
      .stroke("#bbb")
      .restore();
  }
  y += 6;
  if (y + 14 > ph - margin) header();
  doc.font("bold").fontSize(9).fillColor("black");
  doc.text(`Total: ${orders.length} orders, ${picks.length} lots, ${totalItems} items`, margin, y, {
    lineBreak: false,
  });
  return finish();
}
