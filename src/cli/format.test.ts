import { describe, expect, it } from "vitest";
import { chargesText, lotText, plain, shipToText, table } from "./format.ts";

const ESC = "\u001b";
const hostile = {
  title: `${ESC}]0;owned${"\u0007"}Anna`,
  clipboard: `${ESC}]52;c;Y3VybCBldmlsLnNoIHwgc2g=${ESC}\\Bob`,
  cursor: `${ESC}[2J${ESC}[1;1HCarl${ESC}[31m`,
  c1: "\u009b2JDora\u009d0;x\u0007",
  bidi: "Eve\u202egnp.exe",
  nul: "Fr\u0000ed\r\u0008",
};

describe("plain (terminal output of marketplace text)", () => {
  it.each(Object.entries(hostile))("strips %s sequences and keeps the text", (_kind, text) => {
    const out = plain(text);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for control characters
    expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(out).toMatch(/^(Anna|Bob|Carl|Dora|Evegnp\.exe|Fred)$/);
  });

  it("keeps ordinary text, accents and line breaks (one-line mode folds them)", () => {
    expect(plain("Zoë Müller\n2 × 3001")).toBe("Zoë Müller\n2 × 3001");
    expect(plain("a\nb\tc", { oneLine: true })).toBe("a b c");
  });

  it("table cells carry no escapes and stay aligned", () => {
    const out = table(
      [
        { name: hostile.title, n: 1 },
        { name: "Zed", n: 22 },
      ],
      [
        { key: "name", label: "NAME" },
        { key: "n", label: "N", right: true },
      ],
    );
    expect(out).not.toContain(ESC);
    expect(out.split("\n")).toEqual(["NAME   N", "----  --", "Anna   1", "Zed   22"]);
  });
});

describe("orders show (people's output)", () => {
  it("prints the ship-to with its country, totals that add up and each line's lot", () => {
    expect(shipToText({ lines: ["Ana García", "28013 Madrid", "SPAIN"] })).toEqual([
      "Ship to:",
      "  Ana García",
      "  28013 Madrid",
      "  SPAIN",
    ]);
    expect(shipToText(null)).toEqual(["Ship to: (no shipping address on the order)"]);
    const m = (display: string) => ({ display, currency: "GBP" });
    expect(
      chargesText({
        subtotal: m("3.42"),
        rows: [
          { label: "Shipping", ...m("5.00") },
          { label: "Rounding by the marketplace", ...m("0.01") },
        ],
        grandTotal: m("8.43"),
        included: [{ label: "VAT 20 % included", ...m("1.41") }],
      }),
    ).toEqual([
      "",
      "Subtotal                     3.42 GBP",
      "Shipping                     5.00 GBP",
      "Rounding by the marketplace  0.01 GBP",
      "Total                        8.43 GBP",
      "  VAT 20 % included          1.41 GBP",
    ]);
    expect(
      lotText({
        lot: {
          id: 17,
          listings: [
            { marketplace: "bricklink", externalId: "1000017" },
            { marketplace: "brickowl", externalId: "2726017" },
          ],
        },
      }),
    ).toBe("#17 bricklink:1000017 brickowl:2726017");
    expect(lotText({ lot: null })).toBe("not matched");
  });
});
