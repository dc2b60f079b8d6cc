import { z } from "zod";

/**
 * Money is an integer count of ten-thousandths of the currency unit plus an ISO 4217 code.
 * BrickLink prices carry four decimals, so nothing is rounded until it is displayed.
 */
export const SCALE = 10_000;

export const currencySchema = z
  .string()
  .regex(/^[A-Z]{3}$/, "must be a three-letter ISO 4217 currency code such as EUR");

export const moneySchema = z.object({
  amount: z.number().int().describe("ten-thousandths of the currency unit"),
  currency: currencySchema,
});
export type Money = z.infer<typeof moneySchema>;

export class MoneyParseError extends Error {
  constructor(
    readonly input: unknown,
    reason: string,
  ) {
    super(`cannot read ${JSON.stringify(input)} as money: ${reason}`);
    this.name = "MoneyParseError";
  }
}

const DECIMAL = /^([+-])?(\d+)(?:\.(\d*))?$/;

/** Commas only as thousands separators: "1,234.50". */
const GROUPED = /^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$/;

/**
 * "12.3400", "23.87", "-0.5", "7", "1,234.50" → ten-thousandths. More than four significant decimals
 * is refused, and so is a comma that is not a thousands separator ("12,50" is not guessed at).
 */
export function parseDecimal(input: string): number {
  const trimmed = input.trim();
  if (trimmed.includes(",") && !GROUPED.test(trimmed))
    throw new MoneyParseError(input, "a comma that is not a thousands separator");
  const text = trimmed.replace(/,/g, "");
  const m = DECIMAL.exec(text);
  if (!m) throw new MoneyParseError(input, "not a decimal number");
  const [, sign, whole = "0", frac = ""] = m;
  const significant = frac.replace(/0+$/, "");
  if (significant.length > 4) throw new MoneyParseError(input, "more than four decimals");
  const units = Number(whole) * SCALE + Number(significant.padEnd(4, "0") || "0");
  if (!Number.isSafeInteger(units)) throw new MoneyParseError(input, "too large");
  return sign === "-" && units !== 0 ? -units : units;
}

/** Etsy-style `{ amount: 1234, divisor: 100 }` → ten-thousandths. */
export function parseAmountDivisor(input: { amount: number; divisor: number }): number {
  const { amount, divisor } = input;
  if (!Number.isInteger(amount) || !Number.isInteger(divisor) || divisor <= 0) {
    throw new MoneyParseError(input, "amount and divisor must be integers, divisor positive");
  }
  if (SCALE % divisor !== 0) throw new MoneyParseError(input, `divisor ${divisor} does not divide ${SCALE}`);
  return amount * (SCALE / divisor);
}

/** Accepts a decimal string, a plain number, or {amount, divisor}. */
export function parseMoney(input: unknown, currency: string): Money {
  const cur = currencySchema.safeParse(currency);
  if (!cur.success) throw new MoneyParseError(currency, "unknown currency code");
  let amount: number;
  if (typeof input === "string") amount = parseDecimal(input);
  else if (typeof input === "number") {
    if (!Number.isFinite(input)) throw new MoneyParseError(input, "not a finite number");
    amount = parseDecimal(input.toFixed(6));
  } else if (input && typeof input === "object" && "amount" in input && "divisor" in input) {
    amount = parseAmountDivisor(input as { amount: number; divisor: number });
  } else throw new MoneyParseError(input, "expected a decimal string, a number or {amount, divisor}");
  return { amount, currency: cur.data };
}

export function money(amount: number, currency: string): Money {
  return { amount, currency };
}

export function addMoney(a: Money, b: Money): Money {
  if (a.currency !== b.currency) throw new Error(`cannot add ${a.currency} to ${b.currency}`);
  return { amount: a.amount + b.amount, currency: a.currency };
}

/** Exact decimal text with all four decimals kept: 123400 → "12.3400". */
export function toDecimalString(amount: number, decimals = 4): string {
  const sign = amount < 0 ? "-" : "";
  const abs = Math.abs(amount);
  const whole = Math.trunc(abs / SCALE);
  const frac = String(abs % SCALE).padStart(4, "0");
  if (decimals >= 4) return `${sign}${whole}.${frac}`;
  // Round half away from zero only at display time.
  const factor = 10 ** (4 - decimals);
  const rounded = Math.round(abs / factor);
  const w = Math.trunc(rounded / 10 ** decimals);
  const f = String(rounded % 10 ** decimals).padStart(decimals, "0");
  return decimals === 0 ? `${sign}${w}` : `${sign}${w}.${f}`;
}

/** For people: "€12.34" in the given locale. */
export function formatMoney(m: Money, locale = "en-GB"): string {
  return new Intl.NumberFormat(locale, { style: "currency", currency: m.currency }).format(
    Number(toDecimalString(m.amount, 4)),
  );
}
