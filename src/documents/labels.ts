import { formatWeight, MESSAGES, type Messages } from "./messages.ts";
import { type DocOrder, itemCount, type Sender, weightGrams } from "./model.ts";
import { barcode, createDoc, type Doc, fitText, PAPER, pause, YIELD_EVERY } from "./pdf.ts";
import { recipientLines, senderBlock } from "./text.ts";

/** What an English label says where the address would be (other languages: their table). */
export const NO_ADDRESS = MESSAGES.en.label.noAddress;

const MM = 72 / 25.4;

/** A sheet of labels: page, grid, label size and where the first one sits. */
interface Sheet {
  page: readonly [number, number];
  cols: number;
  rows: number;
  width: number;
  height: number;
  left: number;
  top: number;
  gapX: number;
  gapY: number;
}

/**
 * Label layouts. `4x6` is one 4×6 in thermal label per page; the sheets follow the common
 * Avery-style stock: A4 2×7 (99.1×38.1 mm, L7163), A4 2×5 (99.1×57 mm), Letter 2×7 (4×1⅓ in, 5162),
 * Letter 2×5 (4×2 in, 5163).
 */
export const LABEL_LAYOUTS = {
  "4x6": { page: [288, 432], cols: 1, rows: 1, width: 288, height: 432, left: 0, top: 0, gapX: 0, gapY: 0 },
  "a4-2x7": {
    page: PAPER.a4,
    cols: 2,
    rows: 7,
    width: 99.1 * MM,
    height: 38.1 * MM,
    left: 4.65 * MM,
    top: 15.15 * MM,
    gapX: 2.5 * MM,
    gapY: 0,
  },
  "a4-2x5": {
    page: PAPER.a4,
    cols: 2,
    rows: 5,
    width: 99.1 * MM,
    height: 57 * MM,
    left: 4.65 * MM,
    top: 6 * MM,
    gapX: 2.5 * MM,
    gapY: 0,
  },
  "letter-2x7": {
    page: PAPER.letter,
    cols: 2,
    rows: 7,
    width: 4 * 72,
    height: (4 / 3) * 72,
    left: 0.156 * 72,
    top: 0.83 * 72,
    gapX: 0.188 * 72,
    gapY: 0,
  },
  "letter-2x5": {
    page: PAPER.letter,
    cols: 2,
    rows: 5,
    width: 4 * 72,
    height: 2 * 72,
    left: 0.156 * 72,
    top: 0.5 * 72,
    gapX: 0.188 * 72,
    gapY: 0,
  },
} as const satisfies Record<string, Sheet>;
export type LabelLayout = keyof typeof LABEL_LAYOUTS;
export const LABEL_LAYOUT_NAMES = Object.keys(LABEL_LAYOUTS) as LabelLayout[];

export interface LabelOptions {
  layout: LabelLayout;
  /** 1-based position of the first label on a partly used sheet. */
  startAt: number;
  sender: Sender;
  /** The document language's texts. */
  messages: Messages;
}

/** Draws one label inside the box; sizes follow the box, so the same layout serves 4×6 and sheets. */
function drawLabel(
  doc: Doc,
  o: DocOrder,
  sender: Sender,
  m: Messages,
  box: { x: number; y: number; w: number; h: number },
) {
  const { x, y, w, h } = box;
  const pad = Math.max(5, Math.min(14, h * 0.05));
  const inner = w - 2 * pad;
  const big = h >= 300;
  const fromCountry = sender.returnAddress?.countryCode ?? null;
  let cy = y + pad;

  // Sender: one small line on sheet labels, a block on thermal labels.
  // The return address names its country only when the parcel leaves it.
  const senderLines = senderBlock(sender, o.shippingAddress?.countryCode ?? fromCountry, m);
  doc
    .font("body")
    .fontSize(big ? 7.5 : 5.5)
    .fillColor("#333");
  if (big) {
    doc.text(m.label.from, x + pad, cy, { lineBreak: false });
    cy += 9;
    for (const l of senderLines.slice(0, 5)) {
      doc.text(fitText(doc, l, inner), x + pad, cy, { lineBreak: false });
      cy += 9;
    }
    cy += 4;
    doc
      .save()
      .moveTo(x + pad, cy)
      .lineTo(x + w - pad, cy)
      .lineWidth(0.6)
      .stroke("#999")
      .restore();
    cy += 8;
  } else {
    doc.text(fitText(doc, m.label.fromLine(senderLines.join(", ")), inner), x + pad, cy, {
      lineBreak: false,
    });
    cy += 7.5;
  }

  // Recipient: as large as the space allows. Abroad, the country closes it with its ISO code for
  // the carrier ("SPAIN (ES)"), also when the marketplace gave the address as free text.
  const to = recipientLines(o, fromCountry, { isoCode: true, language: m.language });
  // No address: say so where it would be, so the label is not stuck on a parcel as it is.
  const noAddress = m.label.noAddress;
  const recipient = to.length ? to : [o.buyerName ?? o.buyerUsername ?? m.label.buyerUnknown, noAddress];
  const footer = big ? 110 : Math.max(26, h * 0.3);
  const room = y + h - pad - footer - cy;
  const size = Math.max(
    5.5,
    Math.min(big ? 16 : Math.max(9, h / 13), room / (recipient.length * 1.2 + (big ? 1.2 : 0))),
  );
  if (big) {
    doc
      .font("body")
      .fontSize(7.5)
      .fillColor("#333")
      .text(m.label.shipTo, x + pad, cy, { lineBreak: false });
    cy += 10;
  }
  doc.fillColor("black");
  recipient.forEach((line, i) => {
    doc.font(i === 0 || line === noAddress ? "bold" : "body");
    doc.fontSize(line === noAddress ? Math.min(size, big ? 12 : 7) : size);
    doc.text(fitText(doc, line, inner), x + pad, cy, { lineBreak: false });
    cy += size * 1.2;
  });

  // Footer: order number, marketplace, counts, weight, barcode.
  const weight = weightGrams(o);
  const facts = [
    m.lots(o.lines.length),
    m.items(itemCount(o)),
    ...(weight ? [formatWeight(m, weight)] : []),
  ].join(" · ");
  const fy = y + h - pad - footer;
  doc.fillColor("black");
  if (big) {
    // Thermal: number, then marketplace and counts, then a barcode with its text under it.
    doc
      .font("bold")
      .fontSize(14)
      .text(fitText(doc, o.number, inner), x + pad, fy, { lineBreak: false });
    doc.font("body").fontSize(9);
    doc.text(fitText(doc, `${o.marketplaceName} · ${facts}`, inner), x + pad, fy + 19, {
      lineBreak: false,
    });
    barcode(doc, o.number, x + pad, fy + 36, inner, footer - 50);
    doc
      .fontSize(8)
      .text(o.number, x + pad, y + h - pad - 9, { width: inner, align: "center", lineBreak: false });
    return;
  }
  const numSize = Math.max(6, Math.min(8, footer * 0.25));
  doc.font("bold").fontSize(numSize);
  doc.text(fitText(doc, o.number, inner * 0.45), x + pad, fy, { lineBreak: false });
  doc.font("body").fontSize(numSize * 0.8);
  const right = fitText(doc, `${o.marketplaceName} · ${facts}`, inner * 0.55);
  doc.text(right, x + w - pad - doc.widthOfString(right), fy + numSize * 0.15, { lineBreak: false });
  const barY = fy + numSize * 1.35;
  barcode(doc, o.number, x + pad, barY, inner * 0.8, Math.max(10, y + h - pad - barY));
}

/** Shipping labels, one per order, on thermal 4×6 or on a sheet starting at position N. */
export async function renderLabels(orders: DocOrder[], opts: LabelOptions): Promise<Buffer> {
  const sheet: Sheet = LABEL_LAYOUTS[opts.layout];
  const perPage = sheet.cols * sheet.rows;
  const { doc, finish } = createDoc(opts.messages.label.title(orders.length), opts.sender.storeName);
  let slot = Math.max(0, Math.min(perPage - 1, opts.startAt - 1));
  doc.addPage({ size: [sheet.page[0], sheet.page[1]], margin: 0 });
  for (const [i, o] of orders.entries()) {
    if (i % (YIELD_EVERY / 10) === YIELD_EVERY / 10 - 1) await pause();
    if (slot >= perPage) {
      doc.addPage({ size: [sheet.page[0], sheet.page[1]], margin: 0 });
      slot = 0;
    }
    const col = slot % sheet.cols;
    const row = Math.floor(slot / sheet.cols);
    drawLabel(doc, o, opts.sender, opts.messages, {
      x: sheet.left + col * (sheet.width + sheet.gapX),
      y: sheet.top + row * (sheet.height + sheet.gapY),
      w: sheet.width,
      h: sheet.height,
    });
    slot++;
  }
  return finish();
}
