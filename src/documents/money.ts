import { toDecimalString } from "../core/money.ts";

/** Decimals a set of amounts needs: two, or three/four when a price has them (BrickOwl, BrickLink lots). */
export function decimalsFor(amounts: number[]): number {
  let d = 2;
  for (const a of amounts) {
    if (a % 10 !== 0) return 4;
    if (a % 100 !== 0) d = 3;
  }
  return d;
}

/** An amount with its currency code, at the given decimals (two by default). */
export function displayMoney(amount: number, currency: string, decimals = 2): string {
  return `${toDecimalString(amount, decimals)} ${currency}`;
}
