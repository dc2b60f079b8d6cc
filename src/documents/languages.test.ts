import { describe, expect, it } from "vitest";
import { DIFFERENCE_LABELS } from "../core/charges.ts";
import { documentSettingsSchema, renderDocument } from "./index.ts";
import { renderLabels } from "./labels.ts";
import { chargeLabel, DOCUMENT_LANGUAGES, formatDocumentDate, MESSAGES, type Messages } from "./messages.ts";
import type { Sender } from "./model.ts";
import { renderPackingSlips } from "./packing-slip.ts";
import { renderPickSheet } from "./pick-sheet.ts";
import { makeOrders, NO_PDFTOTEXT, PDFTOTEXT, pdfText, sender } from "./testing.ts";
import { returnAddressLines } from "./text.ts";

const { de, fr, en } = MESSAGES;
/** pdftotext -layout may spread a line's words; compare with runs of spaces as one. */
const squash = (s: string) => s.replace(/[ \t]+/g, " ");

describe("document messages", () => {
  it("every language fills every text, none left empty", () => {
    const keys = (m: Messages) =>
      Object.entries(m).flatMap(([k, v]) =>
        v && typeof v === "object" ? Object.keys(v).map((n) => `${k}.${n}`) : [k],
      );
    for (const lang of DOCUMENT_LANGUAGES) {
      expect(keys(MESSAGES[lang]).sort()).toEqual(keys(en).sort());
      const texts = Object.values(MESSAGES[lang]).flatMap((v) =>
        v && typeof v === "object" ? Object.values(v) : [v],
      );
      for (const t of texts) if (typeof t === "string") expect(t.trim(), lang).not.toBe("");
    }
  });

  it("dates in the language, in the account's time zone", () => {
    // 23:30 UTC on 31 October is already 1 November in Luxembourg.
    const at = new Date("2026-10-31T23:30:00Z");
    expect(formatDocumentDate(en, at, "Europe/Luxembourg")).toBe("1 Nov 2026");
    expect(formatDocumentDate(de, at, "Europe/Luxembourg")).toBe("01.11.2026");
    expect(formatDocumentDate(fr, at, "Europe/Luxembourg")).toBe("1 nov. 2026");
    expect(formatDocumentDate(de, at, "UTC")).toBe("31.10.2026");
  });

  it("charge lines: English keeps the marketplace's wording; German and French name the kind, with the rate", () => {
    const vat = { kind: "tax" as const, label: "VAT 19 % included", amount: 1 };
    expect(chargeLabel(en, vat, true)).toBe("VAT 19 % included");
    expect(chargeLabel(de, vat, true)).toBe("Enthaltene Steuer 19 %");
    expect(chargeLabel(fr, { ...vat, label: "VAT 17.5 %" })).toBe("Taxe 17,5 %");
    expect(chargeLabel(de, { kind: "insurance", label: "Insurance", amount: 1 })).toBe("Versicherung");
    expect(chargeLabel(fr, { kind: "other", label: "Gift wrap", amount: 1 })).toBe("Gift wrap");
    const rounding = { kind: "difference" as const, label: DIFFERENCE_LABELS.rounding, amount: 1 };
    expect(chargeLabel(en, rounding)).toBe(DIFFERENCE_LABELS.rounding);
    expect(chargeLabel(de, rounding)).toBe("Rundung durch den Marktplatz");
  });

  it("the settings take en, de and fr, and name `language` for anything else", () => {
    expect(documentSettingsSchema.parse({ language: "fr" })).toEqual({ language: "fr" });
    const bad = documentSettingsSchema.safeParse({ language: "lb" });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.path).toEqual(["language"]);
    expect(bad.error!.issues[0]!.message).toBe("must be one of en, de, fr");
  });
});

const noName: Sender = {
  ...sender,
  returnAddress: { ...sender.returnAddress!, name: null, full: "Rue de la Gare 4\nL-1611 Luxembourg" },
};

describe("return address without a name", () => {
  it("keeps its street: only a leading name (or the store name) is left out under the store name", () => {
    expect(returnAddressLines(noName, "LU", en)).toEqual(["Rue de la Gare 4", "L-1611 Luxembourg"]);
    expect(returnAddressLines(sender, "LU", en)).toEqual(["Rue de la Gare 4", "L-1611 Luxembourg"]);
    const person = { ...sender, returnAddress: { ...sender.returnAddress!, name: "Anna Weber" } };
    expect(returnAddressLines(person, "LU", en)).toEqual(["Rue de la Gare 4", "L-1611 Luxembourg"]);
    expect(returnAddressLines(noName, "FR", fr).at(-1)).toBe("LUXEMBOURG");
    expect(returnAddressLines(noName, "DE", de).at(-1)).toBe("LUXEMBURG");
  });

  it.skipIf(!PDFTOTEXT)("the packing slip and the label print the street", async () => {
    const orders = makeOrders(1, 2);
    const slip = squash(
      pdfText(
        await renderPackingSlips(orders, {
          paper: "a4",
          sender: noName,
          timeZone: "UTC",
          messages: en,
        }),
        "lang-slip-noname",
      ),
    );
    expect(slip).toContain("Return address: Rue de la Gare 4 · L-1611 Luxembourg");
    const label = squash(
      pdfText(
        await renderLabels(orders, { layout: "a4-2x7", startAt: 1, sender: noName, messages: en }),
        "lang-label-noname",
      ),
    );
    expect(label).toContain("From: Brick Corner, Rue de la Gare 4, L-1611 Luxembourg, LUXEMBOURG");
  });
});

describe.skipIf(!PDFTOTEXT)(`documents in German and French${PDFTOTEXT ? "" : ` (${NO_PDFTOTEXT})`}`, () => {
  const orders = () => {
    const list = makeOrders(2, 3);
    list[0]!.lines[0]!.condition = "used";
    list[0]!.lines[0]!.completeness = "B";
    list[0]!.charges = [
      { kind: "shipping", label: "Shipping", amount: 4_5000, included: false },
      { kind: "tax", label: "VAT 17 % included", amount: 1_0000, included: true },
    ];
    return list;
  };
  const slips = (messages: Messages, name: string) =>
    renderPackingSlips(orders(), { paper: "a4", sender, timeZone: "Europe/Luxembourg", messages }).then(
      (pdf) => squash(pdfText(pdf, name)),
    );
  const labels = (messages: Messages, name: string) =>
    renderLabels(orders(), { layout: "4x6", startAt: 1, sender, messages }).then((pdf) =>
      squash(pdfText(pdf, name)),
    );
  const pick = (messages: Messages, name: string) =>
    renderPickSheet(orders(), {
      paper: "a4",
      sender,
      timeZone: "Europe/Luxembourg",
      generatedAt: new Date("2026-11-22T23:30:00Z"),
      messages,
    }).then((pdf) => squash(pdfText(pdf, name)));

  it("packing slip in German: headings, columns, totals, date, country names; buyer text as given", async () => {
    const text = await slips(de, "lang-slip-de");
    for (const t of [
      "Lieferschein",
      "Rücksendeadresse: Rue de la Gare 4 · L-1611 Luxembourg · LUXEMBURG",
      "Bestellung",
      "Marktplatz",
      "Datum 01.11.2026",
      "Käufer",
      "Empfänger",
      "POLEN",
      "Lagerort",
      "Beschreibung",
      "Farbe",
      "Zustand",
      "Gebraucht",
      "Zwischensumme 123,45 EUR",
      "Versand 4,50 EUR",
      "Gesamtbetrag 127,95 EUR",
      "Enthaltene Steuer 17 % 1,00 EUR",
      "3 Posten",
      "Anmerkungen des Käufers",
      "Please pack the minifigures separately — danke!",
    ])
      expect(text).toContain(t);
    for (const t of ["Packing slip", "Ship to", "Subtotal", "Return address", "POLAND"])
      expect(text).not.toContain(t);
  });

  it("packing slip in French", async () => {
    const text = await slips(fr, "lang-slip-fr");
    for (const t of [
      "Bordereau de livraison",
      "Adresse de retour : Rue de la Gare 4 · L-1611 Luxembourg · LUXEMBOURG",
      "Commande",
      "Place de marché",
      "Date 1 nov. 2026",
      "Acheteur",
      "Destinataire",
      "POLOGNE",
      "Emplacement",
      "Couleur",
      "Occasion",
      "Sous-total 123,45 EUR",
      "Frais de port 4,50 EUR",
      "Taxe incluse 17 % 1,00 EUR",
      "Remarques de l'acheteur",
    ])
      expect(text).toContain(t);
    expect(text).not.toContain("Packing slip");
  });

  it("labels in German and French: sender, recipient heading, country, counts", async () => {
    const g = await labels(de, "lang-labels-de");
    for (const t of ["ABSENDER", "EMPFÄNGER", "POLEN (PL)", "3 Posten", "Teile", "121 g"])
      expect(g).toContain(t);
    expect(g).not.toContain("SHIP TO");
    const f = await labels(fr, "lang-labels-fr");
    for (const t of ["EXPÉDITEUR", "DESTINATAIRE", "POLOGNE (PL)", "3 lots", "pièces"])
      expect(f).toContain(t);
    expect(f).not.toContain("FROM");
  });

  it("pick sheet in German and French: title, columns, page numbers, totals, date", async () => {
    const g = await pick(de, "lang-pick-de");
    for (const t of [
      "Pickliste",
      "Lagerort",
      "Bezeichnung",
      "Kiste · Bestellung",
      "Seite 1 von 1",
      "23.11.2026",
      "Bestellungen in dieser Pickliste",
      "Gesamt: 2 Bestellungen, 6 Posten",
      "Gebr. B",
    ])
      expect(g).toContain(t);
    expect(g).not.toContain("Used");
    const f = await pick(fr, "lang-pick-fr");
    for (const t of [
      "Liste de préparation",
      "Emplacement",
      "Désignation",
      "Bac · Commande",
      "page 1 sur 1",
      "23 nov. 2026",
      "Commandes de cette préparation",
      "Total : 2 commandes, 6 lots",
      "Occ. B",
    ])
      expect(f).toContain(t);
  });

  it("renderDocument prints in the account's language unless the print asks for another", async () => {
    const ctx = { sender, settings: { language: "de" as const }, timeZone: "UTC", now: new Date() };
    const german = await renderDocument("packing-slips", orders(), ctx);
    expect(pdfText(german.body, "lang-doc-de")).toContain("Lieferschein");
    const french = await renderDocument("packing-slips", orders(), { ...ctx, language: "fr" });
    expect(pdfText(french.body, "lang-doc-fr")).toContain("Bordereau de livraison");
    const english = await renderDocument("packing-slips", orders(), { ...ctx, settings: {} });
    expect(pdfText(english.body, "lang-doc-en")).toContain("Packing slip");
  });
});
