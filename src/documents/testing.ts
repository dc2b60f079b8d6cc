/**
 * Shared by the document tests (here and in test/): sample orders, and reading rendered PDFs back
 * with poppler (pdftotext, pdftoppm) and zbar (zbarimg), the way a reader or a scanner would.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DocOrder, Sender } from "./model.ts";

export const hasTool = (tool: string) => spawnSync("which", [tool]).status === 0;
export const PDFTOTEXT = hasTool("pdftotext");
export const ZBAR = hasTool("zbarimg") && hasTool("pdftoppm");
export const NO_PDFTOTEXT = "pdftotext (poppler-utils) is not installed: PDF text checks skipped";
export const NO_ZBAR = "zbarimg (zbar-tools) or pdftoppm is not installed: barcode checks skipped";

/** Rendered documents are kept under test-output/ (ignored by git) so they can be looked at. */
const dir = join("test-output", "documents");

function save(pdf: Buffer, name: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.pdf`);
  writeFileSync(file, pdf);
  return file;
}

/** The PDF's text as pdftotext reads it, layout kept (rows stay rows); pages end in "\f". */
export function pdfText(pdf: Buffer, name: string, page?: number): string {
  const range = page ? ["-f", String(page), "-l", String(page)] : [];
  return execFileSync("pdftotext", ["-layout", ...range, save(pdf, name), "-"], {
    encoding: "utf8",
    maxBuffer: 256 << 20,
  });
}

/** The text inside a box of one page, in points from the top left. */
export function pdfTextIn(
  pdf: Buffer,
  name: string,
  page: number,
  box: { x: number; y: number; w: number; h: number },
): string {
  const r = (n: number) => String(Math.round(n));
  return execFileSync(
    "pdftotext",
    [
      ...["-f", String(page), "-l", String(page), "-r", "72"],
      ...["-x", r(box.x), "-y", r(box.y), "-W", r(box.w), "-H", r(box.h)],
      save(pdf, name),
      "-",
    ],
    { encoding: "utf8" },
  ).trim();
}

export const pageCount = (text: string) => (text.match(/\f/g) ?? []).length;

/** Every barcode zbarimg finds on a page rendered at 200 dpi. */
export function decodeBarcodes(pdf: Buffer, name: string, page = 1): string[] {
  const file = save(pdf, name);
  const png = join(dir, `${name}-p${page}`);
  execFileSync("pdftoppm", [
    "-r",
    "200",
    "-png",
    "-singlefile",
    "-f",
    String(page),
    "-l",
    String(page),
    file,
    png,
  ]);
  const res = spawnSync("zbarimg", ["-q", "--raw", "-Scode128.enable", `${png}.png`], { encoding: "utf8" });
  return res.stdout
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
}

export const sender: Sender = {
  storeName: "Brick Corner",
  email: "shop@brickcorner.example",
  returnAddress: {
    name: "Brick Corner",
    company: null,
    line1: "Rue de la Gare 4",
    line2: null,
    line3: null,
    city: "Luxembourg",
    region: null,
    postalCode: "L-1611",
    countryCode: "LU",
    phone: null,
    full: "Brick Corner\nRue de la Gare 4\nL-1611 Luxembourg",
  },
};

export const BUYERS: [name: string, street: string, city: string, country: string][] = [
  ["Łukasz Żółć", "ul. Długa 5", "Kraków", "PL"],
  ["Zoë Martin", "3 rue Mercière", "Lyon", "FR"],
  ["Søren Ærø", "Vestergade 1", "Ærøskøbing", "DK"],
  ["Дмитрий Иванов", "ул. Ленина 1", "София", "BG"],
  ["Chen Wei", "12 Orchard Road", "Portland", "US"],
];

/** Real BrickLink part names, some too long for one line of a column. */
const PARTS: [no: string, name: string][] = [
  ["3001", "Brick 2 x 4"],
  ["3023", "Plate 1 x 2"],
  ["3069b", "Tile 1 x 2 with Groove"],
  ["4085d", "Plate, Modified 1 x 1 with Open O Clip (Thick Ring)"],
  ["48336", "Plate, Modified 1 x 2 with Bar Handle on Side - Closed Ends"],
  ["2412b", "Tile, Modified 1 x 2 Grille with Bottom Groove / Lip"],
  ["3070b", "Tile 1 x 1 with Groove"],
  ["60581", "Panel 1 x 4 x 3 with Side Supports - Hollow Studs"],
  ["973pb1234c01", "Torso Space Suit with Silver Belt and Lights Pattern / Red Arms / Black Hands"],
];
const COLOURS = ["Red", "Black", "Light Bluish Gray", "Reddish Brown", "Trans-Clear"];

/**
 * `n` orders of `lines` lines each (deterministic), buyers from every script we print, locations
 * A-1 … D-12 with about one line in ten without one.
 */
export function makeOrders(n: number, lines: number, seed = 1): DocOrder[] {
  let s = seed;
  const rnd = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  return Array.from({ length: n }, (_, i) => {
    const [name, street, city, cc] = BUYERS[i % BUYERS.length]!;
    return {
      id: 1000 + i,
      number: `${i % 2 ? "BO" : "BL"}-${300000 + i}`,
      marketplace: i % 2 ? "brickowl" : "bricklink",
      marketplaceName: i % 2 ? "BrickOwl" : "BrickLink",
      externalId: String(300000 + i),
      status: "processing",
      rawStatus: "PAID",
      orderedAt: new Date(Date.UTC(2026, 10, 1, 8, i)),
      buyerName: name,
      buyerUsername: `buyer${i}`,
      buyerEmail: `buyer${i}@example.com`,
      shippingAddress: {
        name,
        company: null,
        line1: street,
        line2: null,
        line3: null,
        city,
        region: cc === "US" ? "OR" : null,
        postalCode: cc === "US" ? "97201" : "12-345",
        countryCode: cc,
        phone: null,
        full: `${name}\n${street}\n${city}`,
      },
      currency: "EUR",
      subtotal: 123_4500,
      shipping: 4_5000,
      tax: 0,
      fees: 0,
      credits: 0,
      grandTotal: 127_9500,
      charges: [],
      shippingMethod: "Letter",
      trackingNumbers: [],
      buyerRemarks: i === 0 ? "Please pack the minifigures separately — danke!" : null,
      paymentStatus: "paid",
      tags: [],
      internalNote: null,
      url: null,
      extra: { totalWeight: "120.5" },
      lines: Array.from({ length: lines }, (_, j) => {
        const [itemNo, partName] = PARTS[Math.floor(rnd() * PARTS.length)]!;
        const quantity = 1 + ((i + j) % 9);
        return {
          position: j,
          itemNo,
          name: partName,
          itemType: "part",
          colorName: COLOURS[Math.floor(rnd() * COLOURS.length)]!,
          condition: j % 4 ? "new" : "used",
          completeness: null,
          quantity,
          unitPrice: 1040,
          lineTotal: 1040 * quantity,
          location: rnd() < 0.1 ? null : `${"ABCD"[Math.floor(rnd() * 4)]}-${1 + Math.floor(rnd() * 12)}`,
        };
      }),
    };
  });
}
