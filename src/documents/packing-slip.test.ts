import { describe, expect, it } from "vitest";
import { MESSAGES } from "./messages.ts";
import { renderPackingSlips } from "./packing-slip.ts";
import { makeOrders, NO_PDFTOTEXT, PDFTOTEXT, pageCount, pdfText, sender } from "./testing.ts";

const render = (orders: Parameters<typeof renderPackingSlips>[0]) =>
  renderPackingSlips(orders, { paper: "a4", sender, timeZone: "Europe/Luxembourg", messages: MESSAGES.en });

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

  it("totals add up: every charge the marketplace names, rounding as its own line, VAT inside shown beside", async () => {
    const [a, b, c] = makeOrders(3, 1);
    // A marketplace that rounds its subtotal and its total each on its own: 3.42 + 5.00 = 8.43.
    const rounded = {
      ...a!,
      subtotal: 3_4200,
      shipping: 5_0000,
      grandTotal: 8_4300,
      charges: [{ kind: "shipping" as const, label: "Shipping", amount: 5_0000, included: false }],
    };
    // BrickLink's documented example: VAT 19 % inside subtotal + shipping; plus insurance and a credit.
    const itemised = {
      ...b!,
      subtotal: 10_1210,
      shipping: 4_0000,
      tax: 2_0949,
      credits: 1_0000,
      grandTotal: 13_1210,
      charges: [
        { kind: "shipping" as const, label: "Shipping", amount: 3_0000, included: false },
        { kind: "insurance" as const, label: "Insurance", amount: 1_0000, included: false },
        { kind: "credit" as const, label: "Credit", amount: -1_0000, included: false },
        { kind: "tax" as const, label: "VAT 19 % included", amount: 2_0949, included: true },
      ],
    };
    // Figures that do not add up and are not itemised: the difference is printed, labelled.
    const short = { ...c!, subtotal: 21_0000, shipping: 0, grandTotal: 23_1500 };
    const pages = pdfText(await render([rounded, itemised, short]), "slips-charges").split("\f");
    expect(pages[0]).toMatch(/Subtotal\s+3\.42 EUR/);
    expect(pages[0]).toMatch(/Shipping\s+5\.00 EUR/);
    expect(pages[0]).toMatch(/Rounding by the marketplace\s+0\.01 EUR/);
    expect(pages[0]).toMatch(/Total\s+8\.43 EUR/);
    expect(pages[1]).toMatch(/Subtotal\s+10\.1210 EUR/);
    expect(pages[1]).toMatch(/Shipping\s+3\.0000 EUR/);
    expect(pages[1]).toMatch(/Insurance\s+1\.0000 EUR/);
    expect(pages[1]).toMatch(/Credit\s+-1\.0000 EUR/);
    expect(pages[1]).toMatch(/Total\s+13\.1210 EUR/);
    expect(pages[1]).toMatch(/VAT 19 % included\s+2\.0949 EUR/);
    expect(pages[1]).not.toMatch(/Rounding|not itemised/);
    expect(pages[2]).toMatch(/Difference not itemised by the marketplace\s+2\.15 EUR/);
    expect(pages[2]).toMatch(/Total\s+23\.15 EUR/);
  });

  it("the ship-to block names the country of a free-text address abroad", async () => {
    const [o] = makeOrders(1, 1);
    const es = {
      ...o!,
      shippingAddress: {
        ...o!.shippingAddress!,
        line1: null,
        city: null,
        postalCode: null,
        countryCode: "ES",
        full: "Ana García\nCalle Mayor 5\n28013 Madrid",
      },
    };
    const text = pdfText(await render([es]), "slips-free-text");
    expect(text).toContain("28013 Madrid");
    expect(text).toContain("SPAIN");
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
