import { describe, expect, it } from "vitest";
import { chargeBreakdown, chargeBreakdownView, DIFFERENCE_LABELS } from "./charges.ts";

const sum = (b: ReturnType<typeof chargeBreakdown>) => b.subtotal + b.rows.reduce((n, r) => n + r.amount, 0);

describe("charge breakdown: the lines always add up to the total", () => {
  it("a marketplace that rounds subtotal and total apart gets a rounding line (3.42 + 5.00 = 8.43)", () => {
    const b = chargeBreakdown({
      subtotal: 3_4200,
      shipping: 5_0000,
      tax: 0,
      fees: 0,
      credits: 0,
      grandTotal: 8_4300,
      charges: [{ kind: "shipping", label: "Shipping", amount: 5_0000, included: false }],
    });
    expect(b.rows).toEqual([
      { kind: "shipping", label: "Shipping", amount: 5_0000 },
      { kind: "difference", label: DIFFERENCE_LABELS.rounding, amount: 100 },
    ]);
    expect(sum(b)).toBe(b.grandTotal);
  });

  it("every itemised charge is a line; included tax is shown beside the total, not added", () => {
    const b = chargeBreakdown({
      subtotal: 10_1210,
      shipping: 4_0000,
      tax: 2_0949,
      fees: 5000,
      credits: 1_0000,
      grandTotal: 13_6210,
      charges: [
        { kind: "shipping", label: "Shipping", amount: 3_0000, included: false },
        { kind: "insurance", label: "Insurance", amount: 1_0000, included: false },
        { kind: "fee", label: "Additional charge 1", amount: 5000, included: false },
        { kind: "credit", label: "Credit", amount: -1_0000, included: false },
        { kind: "tax", label: "VAT 19 % included", amount: 2_0949, included: true },
      ],
    });
    expect(b.rows.map((r) => r.label)).toEqual(["Shipping", "Insurance", "Additional charge 1", "Credit"]);
    expect(b.included).toEqual([{ kind: "tax", label: "VAT 19 % included", amount: 2_0949 }]);
    expect(sum(b)).toBe(b.grandTotal);
    expect(b.decimals).toBe(4);
  });

  it("without an itemisation, the stored sums are the lines and the figures tell whether tax was added", () => {
    const added = chargeBreakdown({
      subtotal: 100_0000,
      shipping: 5_0000,
      tax: 21_0000,
      fees: 0,
      credits: 0,
      grandTotal: 126_0000,
    });
    expect(added.rows.map((r) => [r.label, r.amount])).toEqual([
      ["Shipping", 5_0000],
      ["Tax", 21_0000],
    ]);
    const inside = chargeBreakdown({
      subtotal: 100_0000,
      shipping: 5_0000,
      tax: 16_7000,
      fees: 0,
      credits: 0,
      grandTotal: 105_0000,
    });
    expect(inside.rows.map((r) => r.label)).toEqual(["Shipping"]);
    expect(inside.included.map((r) => r.label)).toEqual(["Tax included"]);
    expect(sum(inside)).toBe(inside.grandTotal);
  });

  it("what the marketplace does not itemise is a line saying so, never hidden", () => {
    // A list summary: subtotal and total only.
    const b = chargeBreakdown({
      subtotal: 21_0000,
      shipping: 0,
      tax: 0,
      fees: 0,
      credits: 0,
      grandTotal: 23_1500,
    });
    expect(b.rows.at(-1)).toEqual({
      kind: "difference",
      label: DIFFERENCE_LABELS.unexplained,
      amount: 2_1500,
    });
    expect(sum(b)).toBe(b.grandTotal);
    // Shipping unknown (0 in a summary) is not printed as free shipping.
    expect(b.rows.map((r) => r.kind)).toEqual(["difference"]);
    const pending = chargeBreakdown({
      subtotal: 21_0000,
      shipping: 0,
      tax: 0,
      fees: 0,
      credits: 0,
      grandTotal: 23_1500,
      detailsPending: true,
    });
    expect(pending.rows).toEqual([{ kind: "difference", label: DIFFERENCE_LABELS.pending, amount: 2_1500 }]);
  });

  it("the view prints every amount at decimals that show it exactly", () => {
    const v = chargeBreakdownView(
      { subtotal: 10_1210, shipping: 3_0000, tax: 0, fees: 0, credits: 0, grandTotal: 13_1210 },
      "EUR",
    );
    expect([v.subtotal.display, v.rows[0]!.display, v.grandTotal.display]).toEqual([
      "10.121",
      "3.000",
      "13.121",
    ]);
  });
});
