import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { linesCsv, ordersCsv } from "./csv.ts";
import { renderDocument } from "./index.ts";
import { renderLabels } from "./labels.ts";
import type { DocOrder, Sender } from "./model.ts";
import { pickOrder, renderPickSheet } from "./pick-sheet.ts";
import { addressLines, documentFileName, naturalCompare, toteLetter } from "./text.ts";

const has = (tool: string) => spawnSync("which", [tool]).status === 0;
const PDFTOTEXT = has("pdftotext");
const ZBAR = has("zbarimg") && has("pdftoppm");
// Kept under test-output/ (ignored by git) so the rendered documents can be looked at.
const dir = join("test-output", "documents");
mkdirSync(dir, { recursive: true });

/** The PDF's text as pdftotext reads it (layout kept, so row order shows). */
function pdfText(pdf: Buffer, name = "doc"): string {
  const file = join(dir, `${name}.pdf`);
  writeFileSync(file, pdf);
  return execFileSync("pdftotext", ["-layout", file, "-"], { encoding: "utf8", maxBuffer: 64 << 20 });
}

const sender: Sender = {
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

const BUYERS: [string, string, string, string][] = [
  ["Łukasz Żółć", "ul. Długa 5", "Kraków", "PL"],
  ["Zoë Martin", "3 rue Mercière", "Lyon", "FR"],
  ["Søren Ærø", "Vestergade 1", "Ærøskøbing", "DK"],
  ["Дмитрий Иванов", "ул. Ленина 1", "София", "BG"],
  ["Chen Wei", "12 Orchard Road", "Portland", "US"],
];

/** Our own test orders: n orders of `lines` lines, locations like A-1 … D-12, some without. */
function makeOrders(n: number, lines: number, seed = 1): DocOrder[] {
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
      shippingMethod: "Letter",
      trackingNumbers: [],
      buyerRemarks: i === 0 ? "Please pack the minifigures separately — danke!" : null,
      paymentStatus: "paid",
      extra: { totalWeight: "120.5" },
      lines: Array.from({ length: lines }, (_, j) => ({
        position: j,
        itemNo: `30${String(Math.floor(rnd() * 90) + 10)}`,
        name: `Brick ${j} with a rather long name that needs to be cut`,
        itemType: "part",
        colorName: ["Red", "Black", "Light Bluish Gray"][j % 3]!,
        condition: j % 4 ? "new" : "used",
        completeness: null,
        quantity: 1 + ((i + j) % 9),
        unitPrice: 1040,
        lineTotal: 1040 * (1 + ((i + j) % 9)),
        location: rnd() < 0.1 ? null : `${"ABCD"[Math.floor(rnd() * 4)]}-${1 + Math.floor(rnd() * 12)}`,
      })),
    };
  });
}

describe("document text helpers", () => {
  it("walks locations in natural order and names totes A…Z, AA…", () => {
    expect(["A-10", "A-2", "B-1", "a-3"].sort(naturalCompare)).toEqual(["A-2", "a-3", "A-10", "B-1"]);
    expect([0, 1, 25, 26, 27, 51, 52, 701, 702].map(toteLetter)).toEqual([
      "A",
      "B",
      "Z",
      "AA",
      "AB",
      "AZ",
      "BA",
      "ZZ",
      "AAA",
    ]);
  });
  it("formats addresses for the destination country and names the country abroad", () => {
    const [o] = makeOrders(1, 1);
    expect(addressLines(o!.shippingAddress, "LU")).toEqual([
      "Łukasz Żółć",
      "ul. Długa 5",
      "12-345 Kraków",
      "POLAND",
    ]);
    const us = makeOrders(5, 1)[4]!;
    expect(addressLines(us.shippingAddress, "US")).toEqual([
      "Chen Wei",
      "12 Orchard Road",
      "Portland, OR 97201",
    ]);
    expect(addressLines({ ...us.shippingAddress!, line1: null, city: null, postalCode: null }, null)).toEqual(
      ["Chen Wei", "12 Orchard Road", "Portland"],
    );
  });
  it("names files orderhub-<kind>-<YYYYMMDD-HHmmss> in the account's time zone", () => {
    const at = new Date("2026-11-22T23:30:05Z");
    expect(documentFileName("labels", "pdf", at, "UTC")).toBe("orderhub-labels-20261122-233005.pdf");
    expect(documentFileName("labels", "pdf", at, "Europe/Luxembourg")).toBe(
      "orderhub-labels-20261123-003005.pdf",
    );
    expect(documentFileName("orders", "csv", at, "Not/AZone")).toBe("orderhub-orders-20261122-233005.csv");
  });
});

describe("pick order", () => {
  it("puts every line once, in walking order, with no-location lines last grouped by item", () => {
    const orders = makeOrders(200, 6);
    const { picks, totes } = pickOrder(orders);
    expect(picks).toHaveLength(200 * 6);
    expect(new Set(picks.map((p) => `${p.order.id}:${p.line.position}`)).size).toBe(1200);
    const located = picks.filter((p) => p.line.location);
    for (let i = 1; i < located.length; i++)
      expect(naturalCompare(located[i - 1]!.line.location!, located[i]!.line.location!)).toBeLessThanOrEqual(
        0,
      );
    const firstMissing = picks.findIndex((p) => !p.line.location);
    expect(picks.slice(firstMissing).every((p) => !p.line.location)).toBe(true);
    const items = picks.slice(firstMissing).map((p) => p.line.itemNo!);
    expect([...items].sort(naturalCompare)).toEqual(items);
    expect(totes.get(1000)).toBe("A");
    expect(totes.get(1027)).toBe("AB");
  });
});

describe.skipIf(!PDFTOTEXT)("PDFs (text read back with pdftotext)", () => {
  it("labels: real text in every script, sender, recipient, order number, counts; 4×6 and sheets with a start offset", async () => {
    const orders = makeOrders(5, 3);
    const thermal = await renderLabels(orders, { layout: "4x6", startAt: 1, sender });
    const text = pdfText(thermal, "labels");
    for (const name of ["Łukasz Żółć", "Zoë Martin", "Ærøskøbing", "Дмитрий Иванов"])
      expect(text).toContain(name);
    for (const o of orders) expect(text).toContain(o.number);
    expect(text).toContain("Brick Corner");
    expect(text).toContain("3 lots");
    expect(text).toContain("POLAND");
    expect((text.match(/\f/g) ?? []).length).toBe(5); // one label per page
    for (const layout of ["a4-2x7", "a4-2x5", "letter-2x7", "letter-2x5"] as const) {
      const sheet = pdfText(await renderLabels(makeOrders(15, 2), { layout, startAt: 5, sender }), layout);
      for (const o of makeOrders(15, 2)) expect(sheet, layout).toContain(o.number);
      const pages = (sheet.match(/\f/g) ?? []).length;
      const per = layout.endsWith("2x7") ? 14 : 10;
      expect(pages, layout).toBe(Math.ceil((15 + 4) / per));
    }
  });

  it("pick sheet for 200 orders: every order number, lines in walking order, tote letters consistent, nothing lost", async () => {
    const orders = makeOrders(200, 5);
    const pdf = await renderPickSheet(orders, {
      paper: "a4",
      sender,
      timeZone: "UTC",
      generatedAt: new Date(),
    });
    const text = pdfText(pdf, "pick");
    for (const o of orders) expect(text).toContain(o.number);
    // Each pick row ends with "<tote> · <order number>"; the rows read back in walking order.
    const rows = [...text.matchAll(/^\s*(\S+)\s+30\d\d\b.*?\s(\d+)\s+([A-Z]{1,2}) · ((?:BL|BO)-\d+)\s*$/gm)];
    expect(rows).toHaveLength(1000);
    const { picks, totes } = pickOrder(orders);
    rows.forEach((r, i) => {
      const p = picks[i]!;
      expect(r[4]).toBe(p.order.number);
      expect(r[3]).toBe(totes.get(p.order.id));
      expect(r[2]).toBe(String(p.line.quantity));
      expect(r[1]).toBe(p.line.location ?? "—");
    });
    expect(text).toMatch(/Total: 200 orders, 1000 lots, \d+ items/);
  });

  it("packing slips: one order per page, buyer remarks, cost summary; a 1,000-line order runs onto further pages", async () => {
    const [big] = makeOrders(1, 1000);
    const small = makeOrders(3, 2);
    const doc = await renderDocument("packing-slips", [big!, ...small], {
      sender,
      settings: {},
      timeZone: "UTC",
      now: new Date(),
    });
    const text = pdfText(doc.body, "slips");
    expect(doc.fileName).toMatch(/^orderhub-packing-slips-\d{8}-\d{6}\.pdf$/);
    expect(text).toContain("Please pack the minifigures separately");
    expect(text).toContain(`${big!.number} (continued)`);
    expect(text).toMatch(/Total\s+127\.95 EUR/);
    const pages = (text.match(/\f/g) ?? []).length;
    expect(pages).toBeGreaterThan(15);
    for (const o of small) expect(text).toContain(o.number);
  });

  it("an order with no address still gets a label and a slip that say so", async () => {
    const [o] = makeOrders(1, 1);
    const bare = { ...o!, shippingAddress: null };
    const text = pdfText(await renderLabels([bare], { layout: "4x6", startAt: 1, sender }), "bare");
    expect(text).toContain(o!.buyerName!);
    const slip = await renderDocument("packing-slips", [bare], {
      sender,
      settings: {},
      timeZone: "UTC",
      now: new Date(),
    });
    expect(pdfText(slip.body, "bare-slip")).toContain("(no shipping address on the order)");
  });
});

describe.skipIf(!ZBAR)("barcodes", () => {
  it("the Code 128 on a rendered label decodes to the order number", async () => {
    const [o] = makeOrders(1, 2);
    const file = join(dir, "barcode.pdf");
    writeFileSync(file, await renderLabels([o!], { layout: "4x6", startAt: 1, sender }));
    execFileSync("pdftoppm", ["-r", "200", "-png", "-singlefile", file, join(dir, "barcode")]);
    const out = execFileSync("zbarimg", ["-q", "--raw", join(dir, "barcode.png")], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    expect(out.trim()).toBe(o!.number);
  });
});

describe("CSV", () => {
  it("orders and lines parse back to the same values, quoted right, formulas defused", () => {
    const orders = makeOrders(4, 3);
    orders[1]!.buyerName = 'Kelly "KO" O\'Neil, Jr.';
    orders[2]!.buyerRemarks = "line one\nline two";
    orders[3]!.buyerName = '=HYPERLINK("http://x")';
    const back = parse(ordersCsv(orders).toString("utf8"), { columns: true, bom: true }) as Record<
      string,
      string
    >[];
    expect(back).toHaveLength(4);
    expect(back[0]).toMatchObject({
      order_number: orders[0]!.number,
      buyer_name: "Łukasz Żółć",
      total: "127.95",
      subtotal: "123.45",
      ship_country: "PL",
      items: String(orders[0]!.lines.reduce((n, l) => n + l.quantity, 0)),
    });
    expect(back[1]!.buyer_name).toBe('Kelly "KO" O\'Neil, Jr.');
    expect(back[2]!.buyer_remarks).toBe("line one\nline two");
    expect(back[3]!.buyer_name).toBe('\'=HYPERLINK("http://x")');
    const lines = parse(linesCsv(orders).toString("utf8"), { columns: true, bom: true }) as Record<
      string,
      string
    >[];
    expect(lines).toHaveLength(12);
    expect(lines[0]).toMatchObject({ order_number: orders[0]!.number, unit_price: "0.104", line: "1" });
    expect(lines.map((l) => Number(l.quantity))).toEqual(
      orders.flatMap((o) => o.lines.map((l) => l.quantity)),
    );
  });
});
