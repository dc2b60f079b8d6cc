import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { formatAddressLines } from "../../core/address.ts";
import { chargeBreakdown } from "../../core/charges.ts";
import { orderInputSchema } from "../../core/order.ts";
import { mapOrder } from "./mapping.ts";
import { brickLinkOrderSchema } from "./types.ts";

const DIR = resolve(process.cwd(), "../shared/fixtures/real/bricklink");
const present = existsSync(DIR);
const load = (f: string) => JSON.parse(readFileSync(join(DIR, f), "utf8"));

const base = {
  order_id: 123,
  date_ordered: "2026-01-02T10:00:00.000Z",
  date_status_changed: "2026-01-03T10:00:00.000Z",
  buyer_name: "buyer",
  status: "PAID",
};
const map = (o: Record<string, unknown>) =>
  orderInputSchema.parse(mapOrder(brickLinkOrderSchema.parse({ ...base, ...o }), []));
const adds = (t: ReturnType<typeof map>["totals"]) => {
  const b = chargeBreakdown(t);
  return b.subtotal + b.rows.reduce((n, r) => n + r.amount, 0) === b.grandTotal;
};

describe.skipIf(!present)("BrickLink's documented order (real fixture): country and charges", () => {
  it("the free-text address keeps its text and its country; a document names the country abroad", () => {
    const o = map(load("order-detail-docs-example.json"));
    expect(o.shippingAddress).toMatchObject({
      full: "fake address",
      countryCode: "KR",
      name: "Example Buyer",
    });
    expect(formatAddressLines(o.shippingAddress, { fromCountry: "LU" })).toEqual([
      "fake address",
      "SOUTH KOREA",
    ]);
  });

  it("VAT 19 % is inside subtotal + shipping = grand total: shown as included, never added", () => {
    const o = map(load("order-detail-docs-example.json"));
    expect(o.totals.charges).toEqual([
      { kind: "shipping", label: "Shipping", amount: 3_0000, included: false },
      { kind: "tax", label: "VAT 19 % included", amount: 2_0949, included: true },
    ]);
    const b = chargeBreakdown(o.totals);
    expect(b.rows.map((r) => r.kind)).toEqual(["shipping"]);
    expect(adds(o.totals)).toBe(true);
  });
});

describe("BrickLink charges: every cost field is a line, and the lines add up", () => {
  it("insurance, both additional charges, credit and coupon each get a line, signed", () => {
    const o = map({
      cost: {
        currency_code: "EUR",
        subtotal: "20.0000",
        shipping: "4.5000",
        insurance: "1.2500",
        etc1: "0.5000",
        etc2: "0.2500",
        credit: "2.0000",
        coupon: "1.0000",
        grand_total: "23.5000",
      },
    });
    expect(o.totals.charges.map((c) => [c.kind, c.label, c.amount])).toEqual([
      ["shipping", "Shipping", 4_5000],
      ["insurance", "Insurance", 1_2500],
      ["fee", "Additional charge 1", 5000],
      ["fee", "Additional charge 2", 2500],
      ["credit", "Credit", -2_0000],
      ["coupon", "Coupon", -1_0000],
    ]);
    // The stored sums stay as they were: shipping with insurance, fees, credits.
    expect(o.totals).toMatchObject({ shipping: 5_7500, fees: 7500, credits: 3_0000 });
    expect(adds(o.totals)).toBe(true);
  });

  it("sales tax BrickLink collects on top of the total is a line that is added", () => {
    const o = map({
      cost: {
        currency_code: "USD",
        subtotal: "10.0000",
        shipping: "2.0000",
        salesTax_collected_by_BL: "0.8400",
        grand_total: "12.8400",
      },
    });
    expect(o.totals.charges.at(-1)).toEqual({
      kind: "tax",
      label: "Sales tax collected by BrickLink",
      amount: 8400,
      included: false,
    });
    expect(adds(o.totals)).toBe(true);
  });

  it("an address in parts (a normalised one) is written in the country's order, not always postcode first", () => {
    const o = map({
      cost: { currency_code: "EUR", subtotal: "1.0000", grand_total: "1.0000" },
      shipping: {
        address: {
          name: { full: "Chen Wei" },
          address1: "12 Orchard Road",
          city: "Portland",
          state: "OR",
          postal_code: "97201",
          country_code: "US",
        },
      },
    });
    expect(o.shippingAddress!.full).toBe("Chen Wei\n12 Orchard Road\nPortland, OR 97201\nUNITED STATES");
  });
});
