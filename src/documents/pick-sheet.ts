import { formatDocumentDate, type Messages } from "./messages.ts";
import { type DocLine, type DocOrder, itemCount, type Sender } from "./model.ts";
import { barcode, createDoc, fitText, PAPER, type Paper, pause, wrapText, YIELD_EVERY } from "./pdf.ts";
import { conditionText, naturalCompare, toteLetter } from "./text.ts";

export interface PickLine {
  line: DocLine;
  order: DocOrder;
  tote: string;
  /** The location group the line is picked in: trimmed, spelled as its first spelling in walking order. */
  location: string | null;
}

/** Each distinct value's place in natural order; values natural order calls equal share one. */
function naturalRanks(values: Iterable<string>): { rank: Map<string, number>; first: string[] } {
  const rank = new Map<string, number>();
  const first: string[] = [];
  for (const v of [...new Set(values)].sort(naturalCompare)) {
    if (!first.length || naturalCompare(first[first.length - 1]!, v) !== 0) first.push(v);
    rank.set(v, first.length - 1);
  }
  return { rank, first };
}

/**
 * Every line of every order in the order a person walks the shelves: by location in natural order
 * ("A-2" before "A-10", "a-2" with "A-2"), within a location by item, colour and condition, then
 * by order; lines with no location last, grouped by item. Orders get tote letters in the order given.
 */
export function pickOrder(orders: DocOrder[]): { picks: PickLine[]; totes: Map<number, string> } {
  const totes = new Map(orders.map((o, i) => [o.id, toteLetter(i)]));
  const entries: { line: DocLine; order: DocOrder; orderIndex: number; loc: string | null }[] = [];
  orders.forEach((order, orderIndex) => {
    for (const line of order.lines)
      entries.push({ line, order, orderIndex, loc: line.location?.trim() || null });
  });
  // Ranks computed once per distinct value: a collator compare per sort step is slow for 30,000 lines.
  const locations = naturalRanks(entries.flatMap((e) => (e.loc === null ? [] : [e.loc])));
  const items = naturalRanks(entries.map((e) => e.line.itemNo ?? e.line.name));
  const colours = naturalRanks(entries.map((e) => e.line.colorName ?? ""));
  const keyed = entries.map((e) => ({
    e,
    k: [
      e.loc === null ? Number.MAX_SAFE_INTEGER : locations.rank.get(e.loc)!,
      items.rank.get(e.line.itemNo ?? e.line.name)!,
      colours.rank.get(e.line.colorName ?? "")!,
      e.line.condition === "new" ? 0 : e.line.condition === "used" ? 1 : 2,
      e.orderIndex,
      e.line.position,
    ],
  }));
  keyed.sort((a, b) => {
    for (let i = 0; i < a.k.length; i++) if (a.k[i] !== b.k[i]) return a.k[i]! - b.k[i]!;
    return 0;
  });
  const picks = keyed.map(({ e, k }) => ({
    line: e.line,
    order: e.order,
    tote: totes.get(e.order.id)!,
    location: e.loc === null ? null : locations.first[k[0]!]!,
  }));
  return { picks, totes };
}

export interface PickSheetOptions {
  paper: Paper;
  sender: Sender;
  timeZone: string;
  generatedAt: Date;
  /** The document language's texts. */
  messages: Messages;
}

const COLS = [
  { key: "tick", width: 16 },
  { key: "location", width: 60 },
  { key: "item", width: 72 },
  { key: "name", width: 0 },
  { key: "color", width: 76 },
  { key: "cond", width: 38 },
  { key: "qty", width: 26 },
  { key: "order", width: 92 },
] as const;

const TICK = 9;
const LINE = 8.5;
const MARGIN = 32;
const PAGE_HEADER = 24;
const TABLE_HEADER = 14;
const GROUP_HEADER = 13;
const SUMMARY_HEADER = 16;
const SUMMARY_ROW = 34;

interface Placed {
  page: number;
  y: number;
}

/**
 * Where everything goes, before anything is drawn (so pages can say "page n of m"): each pick row
 * with the location heading above it when a new location starts (repeated on a new page), then
 * the summary heading(s), one row per order, and the totals line.
 */
export function paginatePickSheet(
  rows: { location: string | null; height: number }[],
  orderCount: number,
  pageHeight: number,
): {
  rows: (Placed & { heading: number | null })[];
  summaryHeadings: Placed[];
  summary: Placed[];
  total: Placed;
  pages: number;
} {
  const bottom = pageHeight - MARGIN;
  const top = MARGIN + PAGE_HEADER;
  let page = 1;
  let y = top + TABLE_HEADER;
  let last: string | null | undefined;
  const placed = rows.map((r) => {
    const newGroup = r.location !== last;
    if (y + r.height + (newGroup ? GROUP_HEADER : 0) > bottom) {
      page++;
      y = top + TABLE_HEADER;
      last = undefined;
    }
    let heading: number | null = null;
    if (r.location !== last) {
      heading = y;
      y += GROUP_HEADER;
      last = r.location;
    }
    const at = { page, y, heading };
    y += r.height;
    return at;
  });
  const summaryHeadings: Placed[] = [];
  if (y + 60 > bottom) {
    page++;
    y = top;
  } else y += 12;
  summaryHeadings.push({ page, y });
  y += SUMMARY_HEADER;
  const summary: Placed[] = [];
  for (let i = 0; i < orderCount; i++) {
    if (y + SUMMARY_ROW > bottom) {
      page++;
      y = top;
      summaryHeadings.push({ page, y });
      y += SUMMARY_HEADER;
    }
    summary.push({ page, y });
    y += SUMMARY_ROW;
  }
  y += 6;
  if (y + 14 > bottom) {
    page++;
    y = top;
  }
  return { rows: placed, summaryHeadings, summary, total: { page, y }, pages: page };
}

/**
 * The pick sheet for the orders together: walking-order lines grouped under their location, each
 * with a tick box and its tote and order; then each order with its tote, barcode, buyer and counts;
 * totals. Pages say "page n of m".
 */
export async function renderPickSheet(orders: DocOrder[], opts: PickSheetOptions): Promise<Buffer> {
  const [pw, ph] = PAPER[opts.paper];
  const margin = MARGIN;
  const width = pw - 2 * margin;
  const fixed = COLS.reduce((n, c) => n + c.width, 0);
  const m = opts.messages;
  const t = m.pickSheet;
  const cols = COLS.map((c) => ({
    ...c,
    title: c.key === "tick" ? "" : t.columns[c.key],
    width: c.width || width - fixed,
  }));
  const nameWidth = cols.find((c) => c.key === "name")!.width - 4;
  const { doc, finish } = createDoc(t.metaTitle(orders.length), opts.sender.storeName);
  const { picks, totes } = pickOrder(orders);
  const totalItems = picks.reduce((n, p) => n + p.line.quantity, 0);
  const summary = `${t.orders(orders.length)} · ${m.lots(picks.length)} · ${m.items(totalItems)} · ${formatDocumentDate(m, opts.generatedAt, opts.timeZone)}`;

  doc.font("body").fontSize(7.5);
  const names = picks.map((p) => wrapText(doc, p.line.name, nameWidth, 2));
  const locations = picks.map((p) => p.location);
  const layout = paginatePickSheet(
    picks.map((_, i) => ({ location: locations[i]!, height: 6 + names[i]!.length * LINE })),
    orders.length,
    ph,
  );

  // Tick boxes and row rules are drawn once per page as one path each: a 30,000-line pick
  // would otherwise spend much of its time on graphics-state operators.
  let boxes: number[] = [];
  let rules: number[] = [];
  let page = 0;
  const flushPage = () => {
    if (boxes.length) {
      doc.save().lineWidth(0.8).strokeColor("black");
      for (const by of boxes) doc.rect(margin + 3, by, TICK, TICK);
      doc.stroke().restore();
    }
    if (rules.length) {
      doc.save().lineWidth(0.3).strokeColor("#bbb");
      for (const ry of rules) doc.moveTo(margin, ry).lineTo(margin + width, ry);
      doc.stroke().restore();
    }
    boxes = [];
    rules = [];
  };
  /** Moves to page `n` (1-based), drawing page headers on the way; with the column titles while on lines. */
  const toPage = (n: number, table: boolean) => {
    while (page < n) {
      flushPage();
      doc.addPage({ size: [pw, ph], margin: 0 });
      page++;
      doc.font("bold").fontSize(13).fillColor("black").text(t.title, margin, margin, { lineBreak: false });
      doc.font("body").fontSize(8).fillColor("#444");
      const meta = fitText(doc, `${summary} · ${t.page(page, layout.pages)}`, width - 110);
      doc.text(meta, margin + width - doc.widthOfString(meta), margin + 4, { lineBreak: false });
      if (table && page === n) {
        let y = margin + PAGE_HEADER;
        doc.font("bold").fontSize(7.5);
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
      }
      doc.fillColor("black");
    }
  };

  for (const [i, p] of picks.entries()) {
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await pause();
    const at = layout.rows[i]!;
    toPage(at.page, true);
    const loc = locations[i]!;
    const shelf = p.line.location?.trim() || null;
    if (at.heading !== null) {
      doc.font("bold").fontSize(8);
      doc.text(loc ? t.location(loc) : t.noLocation, margin + 2, at.heading + 2, { lineBreak: false });
    }
    const y = at.y;
    const cells: Record<string, string> = {
      location: shelf ?? "—",
      item: p.line.itemNo ?? "",
      color: p.line.colorName ?? "",
      cond: conditionText(p.line.condition, p.line.completeness, m, true),
      qty: String(p.line.quantity),
      order: `${p.tote} · ${p.order.number}`,
    };
    let x = margin;
    for (const c of cols) {
      if (c.key === "tick") boxes.push(y + 2);
      else if (c.key === "name") {
        doc.font("body").fontSize(7.5);
        names[i]!.forEach((l, k) => {
          doc.text(l, x + 2, y + 3 + k * LINE, { lineBreak: false });
        });
      } else {
        doc.font(c.key === "qty" || c.key === "order" ? "bold" : "body").fontSize(c.key === "qty" ? 9 : 7.5);
        doc.text(fitText(doc, cells[c.key] ?? "", c.width - 4), x + 2, y + 3, { lineBreak: false });
      }
      x += c.width;
    }
    rules.push(y + 5 + names[i]!.length * LINE);
  }

  // Orders in this pick: tote, number and barcode, buyer, lots and items.
  const headings = [...layout.summaryHeadings];
  const heading = () => {
    const h = headings.shift()!;
    toPage(h.page, false);
    doc.font("bold").fontSize(10).fillColor("black").text(t.ordersInPick, margin, h.y, { lineBreak: false });
  };
  orders.forEach((o, i) => {
    const { page: pg, y } = layout.summary[i]!;
    while (headings.length && headings[0]!.page <= pg) heading();
    toPage(pg, false);
    doc
      .font("bold")
      .fontSize(14)
      .fillColor("black")
      .text(totes.get(o.id)!, margin, y + 4, { lineBreak: false });
    doc.fontSize(9).text(fitText(doc, o.number, 230), margin + 40, y + 2, { lineBreak: false });
    doc.font("body").fontSize(7.5).fillColor("#333");
    const buyer = [o.buyerName, o.buyerUsername ? `(${o.buyerUsername})` : null].filter(Boolean).join(" ");
    const about = [buyer || null, o.marketplaceName, o.shippingMethod].filter(Boolean).join(" · ");
    doc.text(fitText(doc, about, 230), margin + 40, y + 15, { lineBreak: false });
    doc.text(`${m.lots(o.lines.length)} · ${m.items(itemCount(o))}`, margin + 280, y + 8, {
      lineBreak: false,
    });
    barcode(doc, o.number, margin + width - 150, y + 2, 150, 24);
    rules.push(y + SUMMARY_ROW - 3);
  });
  while (headings.length) heading();
  toPage(layout.total.page, false);
  doc.font("bold").fontSize(9).fillColor("black");
  doc.text(t.total(orders.length, picks.length, totalItems), margin, layout.total.y, {
    lineBreak: false,
  });
  flushPage();
  return finish();
}
