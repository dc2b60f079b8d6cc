import { describe, expect, it } from "vitest";
import { countryLine, countryName, formatAddressLines, namesCountry } from "./address.ts";
import type { Address } from "./order.ts";

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

describe("addresses in the destination country's format", () => {
  it("a free-text address (BrickLink's only one) gains the country line when it goes abroad", () => {
    const es = address({ full: "Ana García\nCalle Mayor 5\n28013 Madrid", countryCode: "ES" });
    expect(formatAddressLines(es, { fromCountry: "LU" })).toEqual([
      "Ana García",
      "Calle Mayor 5",
      "28013 Madrid",
      "SPAIN",
    ]);
    const bg = address({ full: "Дмитрий Иванов\r\nул. Ленина 1\r\n1000 София", countryCode: "BG" });
    expect(formatAddressLines(bg, { fromCountry: "LU", isoCode: true }).at(-1)).toBe("BULGARIA (BG)");
    // The sender's country unknown: the country is printed rather than guessed to be local.
    expect(formatAddressLines(bg).at(-1)).toBe("BULGARIA");
    // At home, no country line.
    expect(formatAddressLines(es, { fromCountry: "ES" })).toEqual([
      "Ana García",
      "Calle Mayor 5",
      "28013 Madrid",
    ]);
  });

  it("a free-text address that already ends with its country names it once, the way we print it", () => {
    for (const last of ["España", "SPAIN", "spain", "ES"]) {
      const es = address({ full: `Ana García\nCalle Mayor 5\n28013 Madrid\n${last}`, countryCode: "ES" });
      expect(formatAddressLines(es, { fromCountry: "LU", isoCode: true }), last).toEqual([
        "Ana García",
        "Calle Mayor 5",
        "28013 Madrid",
        "SPAIN (ES)",
      ]);
    }
    expect(namesCountry("България", "BG")).toBe(true);
    expect(namesCountry("United Kingdom", "GB")).toBe(true);
    expect(namesCountry("28013 Madrid", "ES")).toBe(false);
  });

  it("structured parts go in the country's order: postcode before the city in France, after it in the US and UK", () => {
    const fr = address({
      name: "Zoë Martin",
      line1: "12 Orchard Road",
      city: "Lyon",
      postalCode: "10115",
      countryCode: "FR",
    });
    expect(formatAddressLines(fr, { fromCountry: "FR" })).toEqual([
      "Zoë Martin",
      "12 Orchard Road",
      "10115 Lyon",
    ]);
    const us = address({
      name: "Chen Wei",
      line1: "1 Example Street",
      city: "Exampleville",
      region: "IN",
      postalCode: "00000",
      countryCode: "US",
    });
    expect(formatAddressLines(us, { fromCountry: "LU" })).toEqual([
      "Chen Wei",
      "1 Example Street",
      "Exampleville, IN 00000",
      "UNITED STATES",
    ]);
    const gb = address({
      name: "Seán",
      line1: "1 High St",
      city: "London",
      postalCode: "SW1A 1AA",
      countryCode: "GB",
    });
    expect(formatAddressLines(gb, { fromCountry: "GB" })).toEqual([
      "Seán",
      "1 High St",
      "London",
      "SW1A 1AA",
    ]);
    const ch = address({
      name: "Heidi",
      line1: "Bahnhofstrasse 1",
      city: "Zürich",
      postalCode: "8001",
      countryCode: "CH",
    });
    expect(formatAddressLines(ch, { fromCountry: "DE" })).toEqual([
      "Heidi",
      "Bahnhofstrasse 1",
      "CH-8001 Zürich",
      "SWITZERLAND",
    ]);
  });

  it("without a country the postcode goes before the city and nothing is dropped", () => {
    const a = address({ name: "X", line1: "Street 1", city: "Town", postalCode: "1234", region: "Region" });
    expect(formatAddressLines(a)).toEqual(["X", "Street 1", "1234 Town", "Region"]);
  });

  it("country names come in the document's language", () => {
    expect(countryName("ES")).toBe("Spain");
    expect(countryName("ES", "de")).toBe("Spanien");
    expect(countryLine("ES", { language: "fr", isoCode: true })).toBe("ESPAGNE (ES)");
    expect(countryName(null)).toBeNull();
  });
});
