import { describe, expect, it } from "vitest";
import { renderPackingSlips } from "./packing-slip.ts";
import { makeOrders, NO_PDFTOTEXT, PDFTOTEXT, pageCount, pdfText, sender } from "./testing.ts";

const render = (orders: Parameters<typeof renderPackingSlips>[0]) =>
  renderPackingSlips(orders, { paper: "a4", sender, timeZone: "Europe/Luxembourg" });

describe.skipIf(!PDFTOTEXT)(`packing slips PDF${PDFTOTEXT ? "" : ` (${NO_PDFTOTEXT})`}`, () => {
  it("one order per page: store, buyer, address, every line, cost summary, remarks", async () => {
    const orders = makeOrders(5, 4);
    orders[2]!.fees = 1_5000;
    orders[2]!.credits = 2_0000;
    orders[2]!.grandTotal = 127_9500 + 1_5000 - 2_0000;
    orders[3]!.lines[0]!.completeness = "S";
    orders[3]!.lines[0]!.condition = "new";
    orders[3]!.lines[0]!.itemType = "set";
    const text = pdfText(await render(orders), "slips-5");
    expect(pageCount(text)).toBe(5);
    const pages = text.split("\f");
    orders.forEach((o, i) => {
      const page = pages[i]!;
      expect(page).toContain("Brick Corner");
      expect(page).toContain("Packing slip");
      expect(page).toContain(o.number);
      expect(page).toContain(o.buyerName!);
      expect(page).toContain(`(${o.buyerUsername})`);
      expect(page).toContain(o.shippingAddress!.line1!);
      for (const other of orders) if (other !== o) expect(page).not.toContain(other.number);
      for (const l of o.lines) expect(page).toContain(l.itemNo!);
      expect(page).toMatch(/Subtotal\s+123\.45 EUR/);
      expect(page).toMatch(/Shipping\s+4\.50 EUR/);
    });
    expect(pages[0]).toContain("Please pack the minifigures separately — danke!");
    expect(pages[0]).toContain("1 Nov 2026"); // ordered 08:00 UTC, the seller's day
    expect(pages[0]).toMatch(/Total\s+127\.95 EUR/);
    expect(pages[0]).toContain("0.104 EUR"); // unit prices keep their fourth decimal
    expect(pages[2]).toMatch(/Fees\s+1\.50 EUR/);
    expect(pages[2]).toMatch(/Credits and coupons\s+-2\.00 EUR/);
    expect(pages[2]).toMatch(/Total\s+127\.45 EUR/);
    expect(pages[3]).toMatch(/New sealed/);
  });

  it("a 1,000-line order continues onto further pages with its number, and loses no line", async () => {
    const [big] = makeOrders(1, 1000);
    big!.lines.forEach((l, j) => {
      l.itemNo = `X${j}`;
    });
    const text = pdfText(
      await render([big!, ...makeOrders(2, 1, 7).map((o, i) => ({ ...o, id: 9 + i, number: `BL-9${i}` }))]),
      "slips-1000",
    );
    const ids = [...text.matchAll(/\b(X\d+)\b/g)].map((m) => m[1]);
    expect(ids).toEqual(big!.lines.map((l) => l.itemNo));
    const pages = text.split("\f").filter((p) => p.trim());
    const continued = pages.filter((p) => p.includes(`${big!.number} (continued)`)).length;
    expect(continued).toBeGreaterThan(10);
    expect(pages).toHaveLength(continued + 3); // the big order's first page, its continuations, two small orders
    expect(text).toContain("1000 lots");
    expect(pages.at(-1)).toContain("BL-91");
  });

  it("an order with no address, no buyer name and no lines still gets a slip that says so", async () => {
    const [o] = makeOrders(1, 1);
    const bare = { ...o!, shippingAddress: null, buyerName: null, buyerEmail: null, lines: [] };
    const text = pdfText(await render([bare]), "slips-bare");
    expect(text).toContain("(no shipping address on the order)");
    expect(text).toContain(o!.number);
    expect(text).toContain("0 lots, 0 items");
  });
});
