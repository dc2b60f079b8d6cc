import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import bwipjs from "bwip-js/node";
import PDFDocument from "pdfkit";

const require = createRequire(import.meta.url);

/** DejaVu Sans covers Latin Extended, Greek and Cyrillic: the names buyers actually have. */
let fonts: { regular: Buffer; bold: Buffer } | null = null;
function loadFonts() {
  if (!fonts) {
    const dir = require.resolve("dejavu-fonts-ttf/ttf/DejaVuSans.ttf").replace(/DejaVuSans\.ttf$/, "");
    fonts = {
      regular: readFileSync(`${dir}DejaVuSans.ttf`),
      bold: readFileSync(`${dir}DejaVuSans-Bold.ttf`),
    };
  }
  return fonts;
}

export type Doc = PDFKit.PDFDocument;

export const PAPER = {
  a4: [595.28, 841.89] as const,
  letter: [612, 792] as const,
};
export type Paper = keyof typeof PAPER;

/** A PDF with the embedded fonts registered as "body" and "bold"; call `finish` for the bytes. */
export function createDoc(title: string, author: string): { doc: Doc; finish(): Promise<Buffer> } {
  const doc = new PDFDocument({
    autoFirstPage: false,
    margin: 0,
    compress: true,
    info: { Title: title, Author: author, Creator: "Orderhub" },
  });
  const f = loadFonts();
  doc.registerFont("body", f.regular);
  doc.registerFont("bold", f.bold);
  doc.font("body");
  const chunks: Buffer[] = [];
  doc.on("data", (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on("end", () => resolve(Buffer.concat(chunks)));
    doc.on("error", reject);
  });
  return {
    doc,
    finish() {
      doc.end();
      return done;
    },
  };
}

/** Text cut to fit `width` at the current font and size, with an ellipsis when cut. */
export function fitText(doc: Doc, text: string, width: number): string {
  // No glyph of these fonts is wider than 1.1 em: short text fits without being measured.
  if (text.length * (doc as unknown as { _fontSize: number })._fontSize * 1.1 <= width) return text;
  if (doc.widthOfString(text) <= width) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (doc.widthOfString(`${text.slice(0, mid)}…`) <= width) lo = mid;
    else hi = mid - 1;
  }
  return `${text.slice(0, lo)}…`;
}

const barsCache = new Map<string, number[]>();
/** Code 128 as bar/space widths in modules (bar first), from bwip-js's encoder. */
function code128(text: string): number[] {
  let sbs = barsCache.get(text);
  if (!sbs) {
    const [enc] = bwipjs.raw("code128", text, {}) as unknown as { sbs: number[] }[];
    sbs = enc!.sbs;
    if (barsCache.size > 10_000) barsCache.clear();
    barsCache.set(text, sbs);
  }
  return sbs;
}

/**
 * A Code 128 barcode drawn as vector bars (crisp at any print resolution, no image per order),
 * fitted into `width`, with the quiet zones inside that width.
 */
export function barcode(doc: Doc, text: string, x: number, y: number, width: number, height: number): void {
  const sbs = code128(text);
  const modules = sbs.reduce((n, w) => n + w, 0) + 20;
  const m = width / modules;
  let cx = x + 10 * m;
  doc.save().fillColor("black");
  sbs.forEach((w, i) => {
    if (i % 2 === 0) doc.rect(cx, y, w * m, height);
    cx += w * m;
  });
  doc.fill().restore();
}

/** An empty box to tick by hand. */
export function tickBox(doc: Doc, x: number, y: number, size: number): void {
  doc.save().lineWidth(0.8).rect(x, y, size, size).stroke().restore();
}
