import { toDecimalString } from "./money.ts";
import type { Charge, ChargeKind } from "./order.ts";

/** An order's totals as stored: the sums and, where the marketplace itemised them, its charges. */
export interface TotalsParts {
  subtotal: number;
  shipping: number;
  tax: number;
  fees: number;
  credits: number;
  grandTotal: number;
  charges?: readonly Charge[] | null;
  /** Only the marketplace's list summary is stored so far: what is not itemised is still to come. */
  detailsPending?: boolean;
}

export interface ChargeRow {
  kind: ChargeKind | "difference";
  label: string;
  /** Signed as it moves the buyer's total (credits are negative). */
  amount: number;
}

/**
 * What lies between the items and the total, line by line, such that subtotal + rows = grand total
 * exactly: every charge the marketplace names, then — when its own figures still do not add up —
 * the difference as a line of its own, labelled for what it is, rather than hidden.
 */
export interface ChargeBreakdown {
  subtotal: number;
  rows: ChargeRow[];
  grandTotal: number;
  /** Parts already inside the amounts above (VAT in the prices): shown, never added. */
  included: ChargeRow[];
  /** Decimals that print every amount here exactly (2, 3 or 4), so printed lines add up too. */
  decimals: number;
}

/** Up to one cent either way is the marketplace rounding its own figures, not a charge. */
const ROUNDING_LIMIT = 100;

export const DIFFERENCE_LABELS = {
  rounding: "Rounding by the marketplace",
  unexplained: "Difference not itemised by the marketplace",
  pending: "Not itemised yet (order details still to be fetched)",
} as const;

/** Decimals a set of amounts needs: two, or three/four when one has them (BrickLink's 4-decimal money). */
export function decimalsFor(amounts: readonly number[]): number {
  let d = 2;
  for (const a of amounts) {
    if (a % 10 !== 0) return 4;
    if (a % 100 !== 0) d = 3;
  }
  return d;
}

/** The charges an order shows: the marketplace's own itemisation, else what the stored sums say. */
function chargesOf(t: TotalsParts): Charge[] {
  if (t.charges?.length) return [...t.charges];
  const out: Charge[] = [];
  if (t.shipping) out.push({ kind: "shipping", label: "Shipping", amount: t.shipping, included: false });
  if (t.fees) out.push({ kind: "fee", label: "Fees", amount: t.fees, included: false });
  if (t.credits)
    out.push({ kind: "credit", label: "Credits and coupons", amount: -t.credits, included: false });
  if (t.tax) {
    // Without an itemisation, the figures tell whether the tax was added or is inside the prices.
    const without = t.subtotal + t.shipping + t.fees - t.credits;
    const included = without === t.grandTotal && without + t.tax !== t.grandTotal;
    out.push({ kind: "tax", label: included ? "Tax included" : "Tax", amount: t.tax, included });
  }
  return out;
}

export function chargeBreakdown(t: TotalsParts): ChargeBreakdown {
  const charges = chargesOf(t);
  const rows: ChargeRow[] = charges
    .filter((c) => !c.included)
    .map(({ kind, label, amount }) => ({ kind, label, amount }));
  const included: ChargeRow[] = charges
    .filter((c) => c.included)
    .map(({ kind, label, amount }) => ({ kind, label, amount }));
  const difference = t.grandTotal - t.subtotal - rows.reduce((n, r) => n + r.amount, 0);
  if (difference !== 0)
    rows.push({
      kind: "difference",
      label: t.detailsPending
        ? DIFFERENCE_LABELS.pending
        : Math.abs(difference) <= ROUNDING_LIMIT
          ? DIFFERENCE_LABELS.rounding
          : DIFFERENCE_LABELS.unexplained,
      amount: difference,
    });
  const decimals = decimalsFor([
    t.subtotal,
    t.grandTotal,
    ...rows.map((r) => r.amount),
    ...included.map((r) => r.amount),
  ]);
  return { subtotal: t.subtotal, rows, grandTotal: t.grandTotal, included, decimals };
}

/** The breakdown with each amount written out at the breakdown's decimals (for JSON answers). */
export function chargeBreakdownView(t: TotalsParts, currency: string) {
  const b = chargeBreakdown(t);
  const m = (amount: number) => ({ amount, currency, display: toDecimalString(amount, b.decimals) });
  return {
    subtotal: m(b.subtotal),
    rows: b.rows.map((r) => ({ kind: r.kind, label: r.label, ...m(r.amount) })),
    grandTotal: m(b.grandTotal),
    included: b.included.map((r) => ({ kind: r.kind, label: r.label, ...m(r.amount) })),
    decimals: b.decimals,
  };
}
