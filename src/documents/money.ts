import { toDecimalString } from "../core/money.ts";

/** Decimals a set of amounts needs: two, or three/four when a price has them (BrickOwl, BrickLink lots). */
export { decimalsFor } from "../core/charges.ts";

/** An amount with its currency code, at the given decimals (two by default), in the language's decimal mark. */
export function displayMoney(amount: number, currency: string, decimals = 2, decimalSeparator = "."): string {
  return `${toDecimalString(amount, decimals).replace(".", decimalSeparator)} ${currency}`;
}
