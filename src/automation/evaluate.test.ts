import { describe, expect, it } from "vitest";
import { conditionHolds, matches, type OrderFacts } from "./evaluate.ts";
import { type Condition, conditionSchema, ruleInputSchema } from "./model.ts";

const order: OrderFacts = {
  marketplace: "fake",
  status: "processing",
  countryCode: "DE",
  grandTotal: 25_5000, // 25.50
  currency: "EUR",
  itemCount: 12,
  items: ["3001", "SKU-RED-1"],
  buyerName: "Łukasz Nowak",
  buyerUsername: "brickfan",
  buyerEmail: "lukasz@example.com",
  shippingMethod: "DHL Paket International",
};

const c = (x: unknown) => conditionSchema.parse(x) as Condition;

describe("rule conditions", () => {
  it("marketplace, status and country lists: is and is not", () => {
    expect(conditionHolds(c({ field: "marketplace", op: "is", values: ["fake"] }), order)).toBe(true);
    expect(conditionHolds(c({ field: "marketplace", op: "is_not", values: ["fake"] }), order)).toBe(false);
    expect(conditionHolds(c({ field: "status", op: "is", values: ["pending", "processing"] }), order)).toBe(
      true,
    );
    expect(conditionHolds(c({ field: "country", op: "is", values: ["de", "at"] }), order)).toBe(true);
    expect(conditionHolds(c({ field: "country", op: "is_not", values: ["DE"] }), order)).toBe(false);
    // An order without a country is in no list and outside none.
    const nowhere = { ...order, countryCode: null };
    expect(conditionHolds(c({ field: "country", op: "is", values: ["DE"] }), nowhere)).toBe(false);
    expect(conditionHolds(c({ field: "country", op: "is_not", values: ["DE"] }), nowhere)).toBe(false);
  });

  it("total compares in the order's currency, to the ten-thousandth", () => {
    expect(conditionHolds(c({ field: "total", op: "gte", amount: "25.50" }), order)).toBe(true);
    expect(conditionHolds(c({ field: "total", op: "gt", amount: "25.50" }), order)).toBe(false);
    expect(conditionHolds(c({ field: "total", op: "lt", amount: "25.5001" }), order)).toBe(true);
    expect(conditionHolds(c({ field: "total", op: "gte", amount: "10", currency: "eur" }), order)).toBe(true);
    // Another currency is not converted: the condition does not hold.
    expect(conditionHolds(c({ field: "total", op: "gte", amount: "10", currency: "USD" }), order)).toBe(
      false,
    );
  });

  it("item count, items, buyer and shipping method", () => {
    expect(conditionHolds(c({ field: "itemCount", op: "gte", value: 12 }), order)).toBe(true);
    expect(conditionHolds(c({ field: "itemCount", op: "lt", value: 12 }), order)).toBe(false);
    expect(conditionHolds(c({ field: "item", op: "contains", values: ["sku-red-1"] }), order)).toBe(true);
    expect(conditionHolds(c({ field: "item", op: "contains", values: ["300"] }), order)).toBe(false);
    expect(conditionHolds(c({ field: "item", op: "not_contains", values: ["3002"] }), order)).toBe(true);
    expect(conditionHolds(c({ field: "buyer", op: "contains", value: "lukasz" }), order)).toBe(true);
    expect(conditionHolds(c({ field: "buyer", op: "is", value: "BRICKFAN" }), order)).toBe(true);
    expect(conditionHolds(c({ field: "buyer", op: "is", value: "brick" }), order)).toBe(false);
    expect(
      conditionHolds(c({ field: "shippingMethod", op: "contains", value: "international" }), order),
    ).toBe(true);
    expect(conditionHolds(c({ field: "shippingMethod", op: "is", value: "DHL" }), order)).toBe(false);
  });

  it("all conditions must hold; no conditions match every order", () => {
    const both = [
      c({ field: "country", op: "is", values: ["DE"] }),
      c({ field: "itemCount", op: "gt", value: 20 }),
    ];
    expect(matches(both, order)).toBe(false);
    expect(matches(both.slice(0, 1), order)).toBe(true);
    expect(matches([], order)).toBe(true);
  });

  it("bad rules are refused naming the field", () => {
    const r = ruleInputSchema.safeParse({
      name: "x",
      triggers: ["order_created"],
      conditions: [{ field: "total", op: "gte", amount: "ten" }],
      actions: [],
    });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    expect(paths).toEqual(
      expect.arrayContaining([
        "conditions.0.amount: must be an amount such as 25.00",
        "actions: give the rule at least one action",
      ]),
    );
    expect(
      ruleInputSchema.safeParse({
        name: "y",
        triggers: [],
        conditions: [],
        actions: [{ type: "tag", tag: "a" }],
      }).error!.issues[0]!.message,
    ).toMatch(/choose when the rule runs/);
  });
});
