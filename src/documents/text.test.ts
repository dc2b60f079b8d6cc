import { describe, expect, it } from "vitest";
import type { Address } from "../core/order.ts";
import { documentSettingsSchema } from "./index.ts";
import { MESSAGES } from "./messages.ts";
import {
  addressLines,
  conditionText,
  documentFileName,
  naturalCompare,
  recipientLines,
  toteLetter,
} from "./text.ts";

const address = (a: Partial<Address>): Address => ({
  name: null,
  company: null,
  line1: null,
  line2: null,
  line3: null,
  city: null,
  region: null,
  postalCode: null,
  countryCode: null,
  phone: null,
  full: "",
  ...a,
});

describe("natural order and tote letters", () => {
  it("walks locations in natural order, case aside", () => {
    expect(["A-10", "A-2", "B-1", "a-3", "A-1a", "A-1"].sort(naturalCompare)).toEqual([
      "A-1",
      "A-1a",
      "A-2",
      "a-3",
      "A-10",
      "B-1",
    ]);
    expect(["Shelf 10 / Bin 2", "Shelf 9 / Bin 12", "Shelf 9 / Bin 3"].sort(naturalCompare)).toEqual([
      "Shelf 9 / Bin 3",
      "Shelf 9 / Bin 12",
      "Shelf 10 / Bin 2",
    ]);
  });

  it("names totes A … Z, AA … AZ, BA … ZZ, AAA", () => {
    expect([0, 1, 25, 26, 27, 51, 52, 701, 702].map(toteLetter)).toEqual([
      "A",
      "B",
      "Z",
      "AA",
      "AB",
      "AZ",
      "BA",
      "ZZ",
      "AAA",
    ]);
    const letters = Array.from({ length: 1000 }, (_, i) => toteLetter(i));
    expect(new Set(letters).size).toBe(1000);
  });
});

describe("addresses", () => {
  const pl = address({
    name: "Łukasz Żółć",
    line1: "ul. Długa 5",
    city: "Kraków",
    postalCode: "31-147",
    countryCode: "PL",
  });

  it("puts the postcode where the destination's post expects it and names the country abroad", () => {
    expect(addressLines(pl, "LU")).toEqual(["Łukasz Żółć", "ul. Długa 5", "31-147 Kraków", "POLAND"]);
    expect(addressLines(pl, "PL")).toEqual(["Łukasz Żółć", "ul. Długa 5", "31-147 Kraków"]);
    const us = address({
      name: "Chen Wei",
      company: "Bricks & Co",
      line1: "12 Orchard Road",
      line2: "Apt 4",
      city: "Portland",
      region: "OR",
      postalCode: "97201",
      countryCode: "US",
    });
    expect(addressLines(us, "US")).toEqual([
      "Chen Wei",
      "Bricks & Co",
      "12 Orchard Road",
      "Apt 4",
      "Portland, OR 97201",
    ]);
    const gb = address({
      name: "Seán O'Brien",
      line1: "1 High Street",
      city: "London",
      postalCode: "SW1A 1AA",
      countryCode: "GB",
    });
    expect(addressLines(gb, "DE")).toEqual([
      "Seán O'Brien",
      "1 High Street",
      "London",
      "SW1A 1AA",
      "UNITED KINGDOM",
    ]);
  });

  it("prints an address it cannot split as the marketplace gave it, and nothing for no address", () => {
    expect(addressLines(address({ full: "Zoë Martin\r\n3 rue Mercière\n\n69002 Lyon " }), "LU")).toEqual([
      "Zoë Martin",
      "3 rue Mercière",
      "69002 Lyon",
    ]);
    expect(addressLines(null)).toEqual([]);
  });

  it("leads with the buyer's name when the address has none", () => {
    const nameless = { ...pl, name: null };
    expect(recipientLines({ shippingAddress: nameless, buyerName: "Łukasz Ż." }, "LU")[0]).toBe("Łukasz Ż.");
    expect(recipientLines({ shippingAddress: pl, buyerName: "Someone else" }, "LU")[0]).toBe("Łukasz Żółć");
    expect(recipientLines({ shippingAddress: null, buyerName: "Łukasz" }, "LU")).toEqual([]);
  });

  it("takes a return address in parts and makes its full text", () => {
    const parsed = documentSettingsSchema.parse({
      storeName: " Brick Corner ",
      returnAddress: {
        name: "Brick Corner",
        line1: "Rue de la Gare 4",
        city: "Luxembourg",
        postalCode: "L-1611",
        countryCode: "lu",
      },
    });
    expect(parsed.storeName).toBe("Brick Corner");
    expect(parsed.returnAddress).toMatchObject({
      countryCode: "LU",
      line2: null,
      full: "Brick Corner\nRue de la Gare 4\nL-1611 Luxembourg",
    });
    // What was stored parses again to the same.
    expect(documentSettingsSchema.parse(JSON.parse(JSON.stringify(parsed)))).toEqual(parsed);
    const bad = documentSettingsSchema.safeParse({
      returnAddress: { line1: "x", city: "y", countryCode: "Luxembourg" },
    });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(["returnAddress", "countryCode"]);
    expect(documentSettingsSchema.safeParse({ returnAddress: { name: "Only a name" } }).success).toBe(false);
  });
});

describe("file names and conditions", () => {
  it("names files orderhub-<kind>-<YYYYMMDD-HHmmss> in the account's time zone", () => {
    const at = new Date("2026-11-22T23:30:05Z");
    expect(documentFileName("labels", "pdf", at, "UTC")).toBe("orderhub-labels-20261122-233005.pdf");
    expect(documentFileName("labels", "pdf", at, "Europe/Luxembourg")).toBe(
      "orderhub-labels-20261123-003005.pdf",
    );
    expect(documentFileName("pick-sheet", "pdf", at, "America/Los_Angeles")).toBe(
      "orderhub-pick-sheet-20261122-153005.pdf",
    );
    // Midnight is 00, not 24.
    expect(documentFileName("orders", "csv", new Date("2026-01-01T00:00:00Z"), "UTC")).toBe(
      "orderhub-orders-20260101-000000.csv",
    );
    expect(documentFileName("orders", "csv", at, "Not/AZone")).toBe("orderhub-orders-20261122-233005.csv");
  });

  it("prints conditions with BrickLink's set completeness", () => {
    expect(conditionText("new", null, MESSAGES.en)).toBe("New");
    expect(conditionText("used", "B", MESSAGES.en)).toBe("Used incomplete");
    expect(conditionText("new", "S", MESSAGES.en, true)).toBe("New S");
    expect(conditionText("unknown", null, MESSAGES.en)).toBe("");
    expect(conditionText("used", "B", MESSAGES.de)).toBe("Gebraucht unvollständig");
    expect(conditionText("new", "S", MESSAGES.fr)).toBe("Neuf scellé");
  });
});
