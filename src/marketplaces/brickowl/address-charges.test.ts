import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { formatAddressLines } from "../../core/address.ts";
import { chargeBreakdown, DIFFERENCE_LABELS } from "../../core/charges.ts";
import { orderInputSchema } from "../../core/order.ts";
import { mapOrder } from "./mapping.ts";
import { seedStore } from "./simulator/store.ts";
import { boOrderItemSchema, boOrderSchema } from "./types.ts";

const DIR = resolve(process.cwd(), "../shared/fixtures/real/brickowl");
const present = existsSync(DIR);
const load = (f: string) => JSON.parse(readFileSync(join(DIR, f), "utf8"));
const map = (raw: unknown, items: unknown[] = []) =>
  orderInputSchema.parse(mapOrder(boOrderSchema.parse(raw), boOrderItemSchema.array().parse(items)));
const adds = (t: ReturnType<typeof map>["totals"]) => {
  const b = chargeBreakdown(t);
  return b.subtotal + b.rows.reduce((n, r) => n + r.amount, 0) === b.grandTotal;
};

describe.skipIf(!present)("BrickOwl's real orders: address order and charges", () => {
  it("order-view-processing (Canada): city, region, postcode as Canada Post writes them, then the country", () => {
    const o = map(load("order-view-processing-2014-bricksync.json"));
    expect(o.shippingAddress!.full).toBe("Example Buyer\n1 Example Street\nExampleville QC A1A1A1\nCANADA");
    expect(formatAddressLines(o.shippingAddress, { fromCountry: "CA" })).toEqual([
      "Example Buyer",
      "1 Example Street",
      "Exampleville QC A1A1A1",
    ]);
    expect(o.totals.charges).toEqual([
      { kind: "shipping", label: "Shipping", amount: 2_3000, included: false },
    ]);
    expect(adds(o.totals)).toBe(true);
  });

  it("order-view-shipped (US): 'Exampleville, IN 00000', and 12.17 + 4.29 = 16.46", () => {
    const o = map(load("order-view-shipped-2014-bricksync.json"));
    expect(o.shippingAddress!.full.split("\n").slice(2)).toEqual(["Exampleville, IN 00000", "UNITED STATES"]);
    expect(adds(o.totals)).toBe(true);
    expect(chargeBreakdown(o.totals).rows.map((r) => r.kind)).toEqual(["shipping"]);
  });
});

describe("BrickOwl charges and addresses", () => {
  const order = (over: Record<string, unknown>) => ({
    ...load("order-view-shipped-2014-bricksync.json"),
    ...over,
  });

  it.skipIf(!present)(
    "a French address puts the postcode before the city (the panel showed 'Lyon 10115')",
    () => {
      const o = map(
        order({
          ship_country_code: "FR",
          ship_country: "France",
          ship_city: "Lyon",
          ship_post_code: "69002",
          ship_region: "",
        }),
      );
      expect(o.shippingAddress!.full.split("\n").slice(2)).toEqual(["69002 Lyon", "FRANCE"]);
    },
  );

  it.skipIf(!present)(
    "a coupon is a negative line; tax added on top is a line; tax inside is shown beside",
    () => {
      const added = map(
        order({
          sub_total: "10.00",
          ship_total: "2.00",
          coupon_discount: "1.00",
          tax_rate: "20.00",
          tax_amount: "2.20",
          base_order_total: "13.20",
        }),
      );
      expect(added.totals.charges.map((c) => [c.label, c.amount, c.included])).toEqual([
        ["Shipping", 2_0000, false],
        ["Coupon", -1_0000, false],
        ["Tax 20 %", 2_2000, false],
      ]);
      expect(adds(added.totals)).toBe(true);
      const inside = map(
        order({
          sub_total: "10.00",
          ship_total: "2.00",
          tax_rate: "20.00",
          tax_amount: "2.00",
          base_order_total: "12.00",
        }),
      );
      expect(inside.totals.charges.at(-1)).toEqual({
        kind: "tax",
        label: "Tax 20 % included",
        amount: 2_0000,
        included: true,
      });
      expect(adds(inside.totals)).toBe(true);
    },
  );

  it("the demo store's BO-3500002 (3.42 + 5.00 = 8.43) gets a rounding line that makes it add up", () => {
    // The demo's BrickOwl store: seed 2026, 120 orders of about 5 lines (src/demo.ts, simulator/entry.ts).
    const { orders } = seedStore({ seed: 2026, orders: 120, lines: 5 });
    const sim = orders.get("3500002")!;
    const o = map(sim.order, sim.items);
    const b = chargeBreakdown(o.totals);
    expect([b.subtotal, b.grandTotal]).toEqual([3_4200, 8_4300]);
    expect(b.rows).toEqual([
      { kind: "shipping", label: "Shipping", amount: 5_0000 },
      { kind: "difference", label: DIFFERENCE_LABELS.rounding, amount: 100 },
    ]);
  });
});
