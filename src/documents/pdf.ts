import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type Bwip from "bwip-js/node";
import type PDFKitDocument from "pdfkit";

const require = createRequire(import.meta.url);

// pdfkit and bwip-js take a quarter of a second to load: they load with the first document, not with
// every server start and CLI command.
let pdfkit: typeof PDFKitDocument | null = null;
let bwip: typeof Bwip | null = null;

/**
 * DejaVu Sans covers Latin Extended, Greek and Cyrillic: the names buyers actually have.
 * The TTF files are read once; the parsed fonts (pdfkit hands back fontkit objects, which it
 * also accepts in place of bytes) are kept too, so a document does not parse 1.4 MB of font
 * tables again — that alone took ~30 ms per document. Each document still embeds its own subset.
 */
type FontSource = Buffer | object;
/** The parts of a fontkit font used here (pdfkit takes the object itself in place of bytes). */
interface SharedFont {
  layout(text: string): unknown;
  characterSet: number[];
  glyphForCodePoint(cp: number): unknown;
}
let fonts: { regular: FontSource; bold: FontSource } | null = null;
function fontFiles(): { regular: Buffer; bold: Buffer } {
  const dir = require.resolve("dejavu-fonts-ttf/ttf/DejaVuSans.ttf").replace(/DejaVuSans\.ttf$/, "");
  return { regular: readFileSync(`${dir}DejaVuSans.ttf`), bold: readFileSync(`${dir}DejaVuSans-Bold.ttf`) };
}

const isPresentationForm = (cp: number) => (cp >= 0xfb00 && cp <= 0xfdff) || (cp >= 0xfe70 && cp <= 0xfeff);

/** Registers "body" and "bold" on the document, and keeps the parsed fonts for the next one. */
function registerFonts(doc: PDFKit.PDFDocument): void {
  const f = fonts ?? fontFiles();
  doc.registerFont("body", f.regular as Buffer);
  doc.registerFont("bold", f.bold as Buffer);
  if (!fonts) {
    const parsed = (name: string) => {
      doc.font(name);
      const font = (doc as unknown as { _font?: { font?: Partial<SharedFont> } })._font?.font;
      if (typeof font?.layout !== "function" || typeof font.glyphForCodePoint !== "function") return null;
      // fontkit caches glyph objects with the code points they were first asked for. Subsetting
      // asks for accent components (the "c" of "ć") with none, and a later document reusing that
      // glyph would then map it to no text. Asking for every mapped character first prevents that;
      // presentation forms (the "ﬁ" ligature, Arabic forms) are left to layout, which gives them
      // the characters they stand for ("f", "i").
      for (const cp of font.characterSet ?? []) if (!isPresentationForm(cp)) font.glyphForCodePoint(cp);
      return font as object;
    };
    const regular = parsed("body");
    const bold = parsed("bold");
    fonts = regular && bold ? { regular, bold } : f;
  }
  doc.font("body");
}

export type Doc = PDFKit.PDFDocument;

/**
 * Rendering is synchronous work; a 1,000-order pick sheet takes seconds. Renderers let the event
 * loop run (other requests, jobs) every this many table rows, and every tenth of it for labels.
 */
export const YIELD_EVERY = 500;
export const pause = () => new Promise<void>((resolve) => setImmediate(resolve));

export const PAPER = {
  a4: [595.28, 841.89] as const,
  letter: [612, 792] as const,
};
export type Paper = keyof typeof PAPER;

/** A PDF with the embedded fonts registered as "body" and "bold"; call `finish` for the bytes. */
export function createDoc(
  title: string,
  author: string,
  opts: { bufferPages?: boolean } = {},
): { doc: Doc; finish(): Promise<Buffer> } {
  pdfkit ??= require("pdfkit") as typeof PDFKitDocument;
  const doc = new pdfkit({
    autoFirstPage: false,
    bufferPages: opts.bufferPages ?? false,
    margin: 0,
    compress: true,
    info: { Title: title, Author: author, Creator: "Orderhub" },
  });
  registerFonts(doc);
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

/**
 * Text broken into at most `maxLines` lines of `width` at the current font and size, at spaces
 * where it can and anywhere when one word is too long; the last line ends in an ellipsis when cut.
 */
export function wrapText(doc: Doc, text: string, width: number, maxLines: number): string[] {
  if (maxLines <= 1 || doc.widthOfString(text) <= width) return [fitText(doc, text, width)];
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let i = 0;
  while (i < words.length && lines.length < maxLines - 1) {
    let line = words[i]!;
    if (doc.widthOfString(line) > width) break; // a word longer than the line: the rest is cut below
    i++;
    while (i < words.length && doc.widthOfString(`${line} ${words[i]}`) <= width) line += ` ${words[i++]}`;
    lines.push(line);
  }
  if (i < words.length) lines.push(fitText(doc, words.slice(i).join(" "), width));
  return lines;
}

const barsCache = new Map<string, number[] | null>();
/** Code 128 as bar/space widths in modules (bar first), from bwip-js's encoder. */
function code128(text: string): number[] | null {
  let sbs = barsCache.get(text);
  if (sbs === undefined) {
    try {
      bwip ??= require("bwip-js/node") as typeof Bwip;
      const [enc] = bwip.raw("code128", text, {}) as unknown as { sbs: number[] }[];
      sbs = enc?.sbs ?? null;
    } catch {
      sbs = null; // not encodable (characters outside Code 128): the number is printed as text anyway
    }
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
  if (!sbs) return;
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
