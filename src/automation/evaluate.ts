import { parseDecimal } from "../core/money.ts";
import type { Condition } from "./model.ts";

/** What conditions look at of one order (pure data: loaded once, evaluated without I/O). */
export interface OrderFacts {
  marketplace: string;
  status: string;
  countryCode: string | null;
  /** Ten-thousandths of the currency unit. */
  grandTotal: number;
  currency: string;
  itemCount: number;
  /** Item numbers and SKUs of the order's lines (removed lines left out). */
  items: string[];
  buyerName: string | null;
  buyerUsername: string | null;
  buyerEmail: string | null;
  shippingMethod: string | null;
}

/** Case- and accent-insensitive text ("Łukasz" and "lukasz" are the same buyer). */
export function fold(s: string | null | undefined): string {
  return (s ?? "")
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .replace(/ł/g, "l")
    .replace(/Ł/g, "l")
    .toLowerCase()
    .replace(/\s+/g, " ")
    .trim();
}

function compare(op: "gt" | "gte" | "lt" | "lte" | "eq", a: number, b: number): boolean {
  switch (op) {
    case "gt":
      return a > b;
    case "gte":
      return a >= b;
    case "lt":
      return a < b;
    case "lte":
      return a <= b;
    case "eq":
      return a === b;
  }
}

export function conditionHolds(c: Condition, o: OrderFacts): boolean {
  switch (c.field) {
    case "marketplace": {
      const hit = c.values.includes(o.marketplace);
      return c.op === "is" ? hit : !hit;
    }
    case "status": {
      const hit = (c.values as string[]).includes(o.status);
      return c.op === "is" ? hit : !hit;
    }
    case "country": {
      // An order without a known country is neither in nor outside a list of countries.
      if (!o.countryCode) return false;
      const hit = c.values.includes(o.countryCode.toUpperCase());
      return c.op === "is" ? hit : !hit;
    }
    case "total":
      if (c.currency && c.currency !== o.currency.toUpperCase()) return false;
      return compare(c.op, o.grandTotal, parseDecimal(c.amount));
    case "itemCount":
      return compare(c.op, o.itemCount, c.value);
    case "item": {
      const wanted = new Set(c.values.map(fold));
      const hit = o.items.some((i) => wanted.has(fold(i)));
      return c.op === "contains" ? hit : !hit;
    }
    case "buyer": {
      const v = fold(c.value);
      const names = [o.buyerName, o.buyerUsername, o.buyerEmail].map(fold).filter(Boolean);
      return c.op === "is" ? names.includes(v) : names.some((n) => n.includes(v));
    }
    case "shippingMethod": {
      const m = fold(o.shippingMethod);
      const v = fold(c.value);
      return c.op === "is" ? m === v : m.includes(v);
    }
  }
}

/** Every condition holds (a rule without conditions matches every order of its triggers). */
export function matches(conditions: readonly Condition[], o: OrderFacts): boolean {
  return conditions.every((c) => conditionHolds(c, o));
}
