import { describe, expect, it } from "vitest";
import {
  addMoney,
  formatMoney,
  MoneyParseError,
  parseAmountDivisor,
  parseDecimal,
  parseMoney,
  toDecimalString,
} from "./money.ts";

describe("money", () => {
  it("reads BrickLink's four-decimal strings exactly", () => {
    expect(parseDecimal("12.3400")).toBe(123_400);
    expect(parseDecimal("0.0125")).toBe(125);
    expect(parseDecimal("23.87")).toBe(238_700);
    expect(parseDecimal("7")).toBe(70_000);
    expect(parseDecimal("-0.5")).toBe(-5_000);
    expect(parseDecimal("1,234.50")).toBe(12_345_000);
    expect(parseDecimal("0.10000000")).toBe(1_000);
  });

  it("refuses what is not a decimal or has more than four significant decimals", () => {
    expect(() => parseDecimal("abc")).toThrow(MoneyParseError);
    expect(() => parseDecimal("1.23456")).toThrow(/more than four decimals/);
    expect(() => parseDecimal("")).toThrow(MoneyParseError);
    expect(() => parseDecimal("1e5")).toThrow(MoneyParseError);
    // A decimal comma is never guessed at (it would be read a hundred times too large).
    expect(() => parseDecimal("12,50")).toThrow(/comma that is not a thousands separator/);
    expect(() => parseDecimal("1,23,456.00")).toThrow(MoneyParseError);
    expect(parseDecimal("12,345,678.9")).toBe(123_456_789_000);
  });

  it("reads Etsy-style amount/divisor", () => {
    expect(parseAmountDivisor({ amount: 1234, divisor: 100 })).toBe(123_400);
    expect(parseAmountDivisor({ amount: 5, divisor: 1 })).toBe(50_000);
    expect(() => parseAmountDivisor({ amount: 1, divisor: 3 })).toThrow(/divisor/);
    expect(() => parseAmountDivisor({ amount: 1.5, divisor: 100 })).toThrow(MoneyParseError);
  });

  it("parses any accepted form with a currency", () => {
    expect(parseMoney("23.87", "EUR")).toEqual({ amount: 238_700, currency: "EUR" });
    expect(parseMoney({ amount: 2387, divisor: 100 }, "USD")).toEqual({ amount: 238_700, currency: "USD" });
    expect(parseMoney(0.1 + 0.2, "GBP")).toEqual({ amount: 3_000, currency: "GBP" });
    expect(() => parseMoney("1", "euro")).toThrow(/currency/);
    expect(() => parseMoney(null, "EUR")).toThrow(MoneyParseError);
  });

  it("keeps exactness until display", () => {
    expect(toDecimalString(123_456)).toBe("12.3456");
    expect(toDecimalString(-5)).toBe("-0.0005");
    expect(toDecimalString(123_456, 2)).toBe("12.35");
    expect(toDecimalString(123_450, 2)).toBe("12.35");
    expect(toDecimalString(-123_450, 2)).toBe("-12.35");
    expect(toDecimalString(999_950, 2)).toBe("100.00");
    expect(formatMoney({ amount: 123_400, currency: "EUR" })).toBe("€12.34");
    expect(addMoney({ amount: 1, currency: "EUR" }, { amount: 2, currency: "EUR" })).toEqual({
      amount: 3,
      currency: "EUR",
    });
    expect(() => addMoney({ amount: 1, currency: "EUR" }, { amount: 2, currency: "USD" })).toThrow(
      /EUR.*USD/,
    );
  });

  it("round-trips every four-decimal value", () => {
    for (const text of ["0.0001", "9999999.9999", "-42.4200", "0.0000"]) {
      expect(toDecimalString(parseDecimal(text))).toBe(text.replace("-0.0000", "0.0000"));
    }
  });
});
