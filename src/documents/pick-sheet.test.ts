import { describe, expect, it } from "vitest";
import { MESSAGES } from "./messages.ts";
import type { DocOrder } from "./model.ts";
import { PAPER } from "./pdf.ts";
import { paginatePickSheet, pickOrder, renderPickSheet } from "./pick-sheet.ts";
import {
  decodeBarcodes,
  makeOrders,
  NO_PDFTOTEXT,
  NO_ZBAR,
  PDFTOTEXT,
  pageCount,
  pdfText,
  sender,
  ZBAR,
} from "./testing.ts";
import { naturalCompare } from "./text.ts";

const render = (orders: DocOrder[]) =>
  renderPickSheet(orders, {
    paper: "a4",
    sender,
    timeZone: "UTC",
    generatedAt: new Date("2026-11-22T10:00:00Z"),
    messages: MESSAGES.en,
  });

/** One pick row as pdftotext lays it out: location, item, …, quantity, tote · order number. */
const ROW = /^[ \t]*(\S+)[ \t]+(\S+)[ \t].*?[ \t](\d+)[ \t]+([A-Z]{1,3}) · ((?:BL|BO)-\d+)[ \t]*$/gm;
const rowsOf = (text: string) =>
  [...text.matchAll(ROW)].map((m) => ({
    location: m[1]!,
    item: m[2]!,
    qty: m[3]!,
    tote: m[4]!,
    order: m[5]!,
  }));

describe("pick order", () => {
  it("puts every line once, in walking order, with no-location lines last grouped by item", () => {
    const orders = makeOrders(200, 6);
    const { picks, totes } = pickOrder(orders);
    expect(picks).toHaveLength(200 * 6);
    expect(new Set(picks.map((p) => `${p.order.id}:${p.line.position}`)).size).toBe(1200);
    const firstMissing = picks.findIndex((p) => !p.line.location);
    expect(firstMissing).toBeGreaterThan(0);
    const located = picks.slice(0, firstMissing);
    for (let i = 1; i < located.length; i++)
      expect(naturalCompare(located[i - 1]!.line.location!, located[i]!.line.location!)).toBeLessThanOrEqual(
        0,
      );
    const missing = picks.slice(firstMissing);
    expect(missing.every((p) => !p.line.location && p.location === null)).toBe(true);
    const items = missing.map((p) => p.line.itemNo!);
    expect([...items].sort(naturalCompare)).toEqual(items);
    expect(totes.get(1000)).toBe("A");
    expect(totes.get(1027)).toBe("AB");
  });

  it("keeps one location group whatever its spelling, and orders totes Z before AA", () => {
    const orders = makeOrders(30, 1).map((o, i) => ({
      ...o,
      lines: [
        {
          ...o.lines[0]!,
          itemNo: "3001",
          colorName: "Red",
          condition: "new",
          location: i % 2 ? " a-2" : "A-2",
        },
      ],
    }));
    const { picks } = pickOrder(orders);
    expect(new Set(picks.map((p) => p.location))).toEqual(new Set(["A-2"]));
    expect(picks.map((p) => p.tote)).toEqual(
      orders.map((_, i) => picks.find((p) => p.order === orders[i])!.tote),
    );
    expect(picks.slice(24, 28).map((p) => p.tote)).toEqual(["Y", "Z", "AA", "AB"]);
  });

  it("lets other work run while a big pick sheet renders", async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    try {
      await render(makeOrders(100, 30));
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThanOrEqual(5); // 3,000 rows: a pause every 500
  });

  it("pages rows so none runs past the bottom, with the location heading again on a new page", () => {
    const [, height] = PAPER.a4;
    const rows = Array.from({ length: 500 }, (_, i) => ({
      location: `A-${Math.floor(i / 40)}`,
      height: i % 7 ? 14.5 : 23,
    }));
    const layout = paginatePickSheet(rows, 120, height);
    let page = 0;
    layout.rows.forEach((r, i) => {
      expect(r.y + rows[i]!.height).toBeLessThanOrEqual(height - 32);
      if (r.page !== page) {
        expect(r.page).toBe(page + 1);
        expect(r.heading, `row ${i} opens page ${r.page}`).not.toBeNull();
        page = r.page;
      } else if (rows[i]!.location === rows[i - 1]!.location) expect(r.heading).toBeNull();
      else expect(r.heading).not.toBeNull();
    });
    expect(layout.summary).toHaveLength(120);
    for (const s of layout.summary) expect(s.y + 34).toBeLessThanOrEqual(height - 32);
    expect(layout.pages).toBe(layout.total.page);
    expect(layout.summaryHeadings.map((h) => h.page)).toEqual([
      ...new Set(layout.summary.map((s) => s.page)),
    ]);
  });
});

describe.skipIf(!PDFTOTEXT)(`pick sheet PDF${PDFTOTEXT ? "" : ` (${NO_PDFTOTEXT})`}`, () => {
  it("200 orders: every line once in walking order under its location, totes consistent, totals, pages", async () => {
    const orders = makeOrders(200, 5);
    const text = pdfText(await render(orders), "pick-200");
    for (const o of orders) expect(text).toContain(o.number);

    // No line lost or duplicated: the rows read back are exactly the orders' lines.
    const rows = rowsOf(text);
    const expected = orders.flatMap((o) =>
      o.lines.map((l) => `${o.number}|${l.itemNo}|${l.quantity}|${l.location ?? "—"}`),
    );
    expect(rows.map((r) => `${r.order}|${r.item}|${r.qty}|${r.location}`).sort()).toEqual(expected.sort());

    // Walking order: located rows in natural order, then the rows without a location, by item.
    const firstMissing = rows.findIndex((r) => r.location === "—");
    expect(firstMissing).toBeGreaterThan(0);
    const located = rows.slice(0, firstMissing);
    for (let i = 1; i < located.length; i++)
      expect(
        naturalCompare(located[i - 1]!.location, located[i]!.location),
        `${located[i - 1]!.location} then ${located[i]!.location}`,
      ).toBeLessThanOrEqual(0);
    const missing = rows.slice(firstMissing);
    expect(missing.every((r) => r.location === "—")).toBe(true);
    expect(missing.map((r) => r.item)).toEqual([...missing.map((r) => r.item)].sort(naturalCompare));

    // Each page's first row sits under a heading naming its location.
    const pagesWithRows = text.split("\f").filter((p) => rowsOf(p).length > 0);
    expect(pagesWithRows.length).toBeGreaterThan(10);
    for (const page of pagesWithRows) {
      const first = rowsOf(page)[0]!;
      const before = page.slice(0, page.indexOf(first.order));
      expect(before).toContain(first.location === "—" ? "No location" : `Location ${first.location}`);
    }

    // Tote letters: one per order, the same in every row of the order and in the summary.
    const summary = new Map(
      [...text.matchAll(/^\s+((?:BL|BO)-\d+)\s*\n([A-Z]{1,3})\s/gm)].map((m) => [m[1]!, m[2]!]),
    );
    expect(summary.size).toBe(200);
    expect(new Set(summary.values()).size).toBe(200);
    for (const r of rows) expect(summary.get(r.order), r.order).toBe(r.tote);
    expect(summary.get(orders[0]!.number)).toBe("A");
    expect(summary.get(orders[27]!.number)).toBe("AB");

    const items = orders.reduce((n, o) => n + o.lines.reduce((m, l) => m + l.quantity, 0), 0);
    expect(text).toContain(`Total: 200 orders, 1000 lots, ${items} items`);
    const pages = pageCount(text);
    for (let p = 1; p <= pages; p++) expect(text).toContain(`page ${p} of ${pages}`);
  });

  it("long part names wrap onto a second line instead of losing their end", async () => {
    const [o] = makeOrders(1, 1);
    o!.lines[0] = {
      ...o!.lines[0]!,
      itemNo: "48336",
      name: "Plate, Modified 1 x 2 with Bar Handle on Side - Closed Ends",
    };
    const text = pdfText(await render([o!]), "pick-wrap");
    expect(text.replace(/\s+/g, " ")).toContain("Side - Closed Ends");
    expect(rowsOf(text)).toHaveLength(1);
  });

  it("one order with 1,000 lines and none with a location", async () => {
    const [o] = makeOrders(1, 1000);
    for (const l of o!.lines) l.location = null;
    const text = pdfText(await render([o!]), "pick-1000-nolocation");
    const rows = rowsOf(text);
    expect(rows).toHaveLength(1000);
    expect(rows.every((r) => r.location === "—" && r.tote === "A")).toBe(true);
    expect(text).toContain("No location");
    expect(text).not.toMatch(/^Location \S/m);
  });
});

describe.skipIf(!ZBAR)(`pick sheet barcodes${ZBAR ? "" : ` (${NO_ZBAR})`}`, () => {
  it("the order barcodes in the summary scan as the order numbers", async () => {
    const orders = makeOrders(6, 2);
    const found = decodeBarcodes(await render(orders), "pick-barcodes", 1);
    expect(found.sort()).toEqual(orders.map((o) => o.number).sort());
  });
});
