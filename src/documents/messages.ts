import type { ChargeRow } from "../core/charges.ts";
import { DIFFERENCE_LABELS } from "../core/charges.ts";
import type { ChargeKind } from "../core/order.ts";

/**
 * Every fixed text the printed documents carry, one table per language. Each table is a full
 * `Messages`: a key left out is a type error, so no language prints a stray English word. Text
 * that comes from the marketplace (item names, buyer remarks, raw statuses) is printed as given.
 */
export const DOCUMENT_LANGUAGES = ["en", "de", "fr"] as const;
export type DocumentLanguage = (typeof DOCUMENT_LANGUAGES)[number];
export const DEFAULT_DOCUMENT_LANGUAGE: DocumentLanguage = "en";

/** How the language is offered in Settings. */
export const DOCUMENT_LANGUAGE_NAMES: Record<DocumentLanguage, string> = {
  en: "English",
  de: "Deutsch",
  fr: "Français",
};

export interface Messages {
  /** BCP 47 tag: country names (Intl.DisplayNames), dates and numbers. */
  language: DocumentLanguage;
  locale: string;
  decimalSeparator: string;
  lots(n: number): string;
  items(n: number): string;
  condition: { new: string; used: string; refurbished: string };
  /** The same, short enough for the pick sheet's narrow column. */
  conditionShort: { new: string; used: string; refurbished: string };
  completeness: { C: string; B: string; S: string };
  label: {
    title(n: number): string;
    from: string;
    fromLine(text: string): string;
    shipTo: string;
    buyerUnknown: string;
    noAddress: string;
  };
  pickSheet: {
    title: string;
    metaTitle(orders: number): string;
    columns: {
      location: string;
      item: string;
      name: string;
      color: string;
      cond: string;
      qty: string;
      order: string;
    };
    location(name: string): string;
    noLocation: string;
    page(n: number, of: number): string;
    ordersInPick: string;
    orders(n: number): string;
    total(orders: number, lots: number, items: number): string;
  };
  packingSlip: {
    title: string;
    metaTitle(orders: number): string;
    continued: string;
    returnAddress(text: string): string;
    facts: {
      order: string;
      marketplace: string;
      date: string;
      status: string;
      shipping: string;
      buyer: string;
      email: string;
    };
    shipTo: string;
    noAddress: string;
    columns: {
      location: string;
      item: string;
      description: string;
      color: string;
      condition: string;
      qty: string;
      unit: string;
      total: string;
    };
    counts(lots: number, items: number): string;
    subtotal: string;
    total: string;
    buyerRemarks: string;
  };
  /** Charge lines by kind; "other" keeps the marketplace's own label. */
  charges: Record<Exclude<ChargeKind, "other">, string>;
  tax(rate: string | null, included: boolean): string;
  difference: Record<keyof typeof DIFFERENCE_LABELS, string>;
  /** Whether the marketplace's own charge labels are already in this language (more precise, kept). */
  keepsChargeLabels: boolean;
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
/** French counts 0 and 1 as singular. */
const pluralFr = (n: number, one: string, many: string) => `${n} ${Math.abs(n) < 2 ? one : many}`;

const en: Messages = {
  language: "en",
  locale: "en-GB",
  decimalSeparator: ".",
  lots: (n) => plural(n, "lot", "lots"),
  items: (n) => plural(n, "item", "items"),
  condition: { new: "New", used: "Used", refurbished: "Refurb." },
  conditionShort: { new: "New", used: "Used", refurbished: "Refurb." },
  completeness: { C: "complete", B: "incomplete", S: "sealed" },
  label: {
    title: (n) => `Shipping labels (${n})`,
    from: "FROM",
    fromLine: (t) => `From: ${t}`,
    shipTo: "SHIP TO",
    buyerUnknown: "Buyer unknown",
    noAddress: "No shipping address on the order",
  },
  pickSheet: {
    title: "Pick sheet",
    metaTitle: (n) => `Pick sheet (${n} orders)`,
    columns: {
      location: "Location",
      item: "Item",
      name: "Name",
      color: "Colour",
      cond: "Cond.",
      qty: "Qty",
      order: "Tote · Order",
    },
    location: (name) => `Location ${name}`,
    noLocation: "No location",
    page: (n, of) => `page ${n} of ${of}`,
    ordersInPick: "Orders in this pick",
    orders: (n) => plural(n, "order", "orders"),
    total: (o, l, i) => `Total: ${o} orders, ${l} lots, ${i} items`,
  },
  packingSlip: {
    title: "Packing slip",
    metaTitle: (n) => `Packing slips (${n})`,
    continued: "(continued)",
    returnAddress: (t) => `Return address: ${t}`,
    facts: {
      order: "Order",
      marketplace: "Marketplace",
      date: "Date",
      status: "Status",
      shipping: "Shipping",
      buyer: "Buyer",
      email: "E-mail",
    },
    shipTo: "Ship to",
    noAddress: "(no shipping address on the order)",
    columns: {
      location: "Location",
      item: "Item",
      description: "Description",
      color: "Colour",
      condition: "Condition",
      qty: "Qty",
      unit: "Unit",
      total: "Total",
    },
    counts: (l, i) => `${l} lots, ${i} items`,
    subtotal: "Subtotal",
    total: "Total",
    buyerRemarks: "Buyer remarks",
  },
  charges: {
    shipping: "Shipping",
    insurance: "Insurance",
    fee: "Fees",
    credit: "Credits and coupons",
    coupon: "Coupon",
    tax: "Tax",
    rounding: "Rounding",
  },
  tax: (rate, included) => `Tax${rate ? ` ${rate}` : ""}${included ? " included" : ""}`,
  difference: DIFFERENCE_LABELS,
  keepsChargeLabels: true,
};

const de: Messages = {
  language: "de",
  locale: "de-DE",
  decimalSeparator: ",",
  lots: (n) => `${n} Posten`,
  items: (n) => plural(n, "Teil", "Teile"),
  condition: { new: "Neu", used: "Gebraucht", refurbished: "Aufbereitet" },
  conditionShort: { new: "Neu", used: "Gebr.", refurbished: "Aufb." },
  completeness: { C: "vollständig", B: "unvollständig", S: "versiegelt" },
  label: {
    title: (n) => `Versandetiketten (${n})`,
    from: "ABSENDER",
    fromLine: (t) => `Absender: ${t}`,
    shipTo: "EMPFÄNGER",
    buyerUnknown: "Käufer unbekannt",
    noAddress: "Keine Lieferadresse in der Bestellung",
  },
  pickSheet: {
    title: "Pickliste",
    metaTitle: (n) => `Pickliste (${plural(n, "Bestellung", "Bestellungen")})`,
    columns: {
      location: "Lagerort",
      item: "Artikel",
      name: "Bezeichnung",
      color: "Farbe",
      cond: "Zust.",
      qty: "Anz.",
      order: "Kiste · Bestellung",
    },
    location: (name) => `Lagerort ${name}`,
    noLocation: "Ohne Lagerort",
    page: (n, of) => `Seite ${n} von ${of}`,
    ordersInPick: "Bestellungen in dieser Pickliste",
    orders: (n) => plural(n, "Bestellung", "Bestellungen"),
    total: (o, l, i) =>
      `Gesamt: ${plural(o, "Bestellung", "Bestellungen")}, ${l} Posten, ${plural(i, "Teil", "Teile")}`,
  },
  packingSlip: {
    title: "Lieferschein",
    metaTitle: (n) => `Lieferscheine (${n})`,
    continued: "(Fortsetzung)",
    returnAddress: (t) => `Rücksendeadresse: ${t}`,
    facts: {
      order: "Bestellung",
      marketplace: "Marktplatz",
      date: "Datum",
      status: "Status",
      shipping: "Versand",
      buyer: "Käufer",
      email: "E-Mail",
    },
    shipTo: "Empfänger",
    noAddress: "(keine Lieferadresse in der Bestellung)",
    columns: {
      location: "Lagerort",
      item: "Artikel",
      description: "Beschreibung",
      color: "Farbe",
      condition: "Zustand",
      qty: "Anz.",
      unit: "Preis",
      total: "Summe",
    },
    counts: (l, i) => `${l} Posten, ${plural(i, "Teil", "Teile")}`,
    subtotal: "Zwischensumme",
    total: "Gesamtbetrag",
    buyerRemarks: "Anmerkungen des Käufers",
  },
  charges: {
    shipping: "Versand",
    insurance: "Versicherung",
    fee: "Zusatzkosten",
    credit: "Gutschrift",
    coupon: "Gutschein",
    tax: "Steuer",
    rounding: "Rundung",
  },
  tax: (rate, included) => `${included ? "Enthaltene Steuer" : "Steuer"}${rate ? ` ${rate}` : ""}`,
  difference: {
    rounding: "Rundung durch den Marktplatz",
    unexplained: "Vom Marktplatz nicht aufgeschlüsselter Betrag",
    pending: "Noch nicht aufgeschlüsselt (Bestelldetails folgen)",
  },
  keepsChargeLabels: false,
};

const fr: Messages = {
  language: "fr",
  locale: "fr-FR",
  decimalSeparator: ",",
  lots: (n) => pluralFr(n, "lot", "lots"),
  items: (n) => pluralFr(n, "pièce", "pièces"),
  condition: { new: "Neuf", used: "Occasion", refurbished: "Reconditionné" },
  conditionShort: { new: "Neuf", used: "Occ.", refurbished: "Rec." },
  completeness: { C: "complet", B: "incomplet", S: "scellé" },
  label: {
    title: (n) => `Étiquettes d'expédition (${n})`,
    from: "EXPÉDITEUR",
    fromLine: (t) => `Exp. : ${t}`,
    shipTo: "DESTINATAIRE",
    buyerUnknown: "Acheteur inconnu",
    noAddress: "Pas d'adresse de livraison dans la commande",
  },
  pickSheet: {
    title: "Liste de préparation",
    metaTitle: (n) => `Liste de préparation (${pluralFr(n, "commande", "commandes")})`,
    columns: {
      location: "Emplacement",
      item: "Article",
      name: "Désignation",
      color: "Couleur",
      cond: "État",
      qty: "Qté",
      order: "Bac · Commande",
    },
    location: (name) => `Emplacement ${name}`,
    noLocation: "Sans emplacement",
    page: (n, of) => `page ${n} sur ${of}`,
    ordersInPick: "Commandes de cette préparation",
    orders: (n) => pluralFr(n, "commande", "commandes"),
    total: (o, l, i) =>
      `Total : ${pluralFr(o, "commande", "commandes")}, ${pluralFr(l, "lot", "lots")}, ${pluralFr(i, "pièce", "pièces")}`,
  },
  packingSlip: {
    title: "Bordereau de livraison",
    metaTitle: (n) => `Bordereaux de livraison (${n})`,
    continued: "(suite)",
    returnAddress: (t) => `Adresse de retour : ${t}`,
    facts: {
      order: "Commande",
      marketplace: "Place de marché",
      date: "Date",
      status: "Statut",
      shipping: "Expédition",
      buyer: "Acheteur",
      email: "E-mail",
    },
    shipTo: "Destinataire",
    noAddress: "(pas d'adresse de livraison dans la commande)",
    columns: {
      location: "Emplacement",
      item: "Article",
      description: "Description",
      color: "Couleur",
      condition: "État",
      qty: "Qté",
      unit: "Prix",
      total: "Total",
    },
    counts: (l, i) => `${pluralFr(l, "lot", "lots")}, ${pluralFr(i, "pièce", "pièces")}`,
    subtotal: "Sous-total",
    total: "Total",
    buyerRemarks: "Remarques de l'acheteur",
  },
  charges: {
    shipping: "Frais de port",
    insurance: "Assurance",
    fee: "Frais",
    credit: "Avoir",
    coupon: "Bon de réduction",
    tax: "Taxe",
    rounding: "Arrondi",
  },
  tax: (rate, included) => `${included ? "Taxe incluse" : "Taxe"}${rate ? ` ${rate}` : ""}`,
  difference: {
    rounding: "Arrondi de la place de marché",
    unexplained: "Écart non détaillé par la place de marché",
    pending: "Pas encore détaillé (détails de la commande à venir)",
  },
  keepsChargeLabels: false,
};

export const MESSAGES: Record<DocumentLanguage, Messages> = { en, de, fr };

export function messagesFor(language: DocumentLanguage): Messages {
  return MESSAGES[language];
}

/**
 * A charge line as printed: English keeps the marketplace's own, more precise wording ("Additional
 * charge 1", "VAT 19 % included"); other languages name the kind, keeping a tax rate the label
 * states. "Other" charges keep the marketplace's label in every language.
 */
export function chargeLabel(m: Messages, row: ChargeRow, included = false): string {
  if (row.kind === "difference") {
    const key = (Object.keys(DIFFERENCE_LABELS) as (keyof typeof DIFFERENCE_LABELS)[]).find(
      (k) => DIFFERENCE_LABELS[k] === row.label,
    );
    return key ? m.difference[key] : row.label;
  }
  if (m.keepsChargeLabels || row.kind === "other") return row.label;
  if (row.kind === "tax") {
    const rate = /(\d+(?:[.,]\d+)?)\s*%/.exec(row.label)?.[1];
    return m.tax(rate ? `${rate.replace(/[.,]/, m.decimalSeparator)} %` : null, included);
  }
  return m.charges[row.kind];
}

/** Dates as the language writes them, in the account's time zone ("1 Nov 2026", "01.11.2026"). */
const dateFormats = new Map<string, Intl.DateTimeFormat>();
export function formatDocumentDate(m: Messages, d: Date, timeZone: string): string {
  const key = `${m.locale}:${timeZone}`;
  let f = dateFormats.get(key);
  try {
    if (!f) {
      f = new Intl.DateTimeFormat(m.locale, { timeZone, dateStyle: "medium" });
      dateFormats.set(key, f);
    }
    return f.format(d);
  } catch {
    return d.toISOString().slice(0, 10);
  }
}

/** Weight as printed: grams, or kilograms with two decimals from 1 kg. */
export function formatWeight(m: Messages, grams: number): string {
  return grams >= 1000
    ? `${(grams / 1000).toFixed(2).replace(".", m.decimalSeparator)} kg`
    : `${Math.round(grams)} g`;
}
