import { formatAddress } from "localized-address-format";
import type { Address } from "./order.ts";

/** Documents and screens speak English today; country names follow the language they are printed in. */
export const DEFAULT_LANGUAGE = "en";

const displayNames = new Map<string, Intl.DisplayNames>();
function regionNames(language: string): Intl.DisplayNames {
  let names = displayNames.get(language);
  if (!names) {
    names = new Intl.DisplayNames([language, DEFAULT_LANGUAGE], { type: "region", fallback: "code" });
    displayNames.set(language, names);
  }
  return names;
}

/** A country's name in a language ("ES" → "Spain", in German "Spanien"); the code itself when unknown. */
export function countryName(code: string | null, language = DEFAULT_LANGUAGE): string | null {
  if (!code) return null;
  try {
    return regionNames(language).of(code) ?? code;
  } catch {
    return code;
  }
}

/** The language people in the country write addresses in ("BG" → "bg"), or null when none is known. */
function countryLanguage(code: string): string | null {
  try {
    const language = new Intl.Locale("und", { region: code }).maximize().language;
    return language && language !== "und" ? language : null;
  } catch {
    return null;
  }
}

const fold = (s: string) =>
  s
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .replace(/[^\p{L}\p{N}]+/gu, " ")
    .trim()
    .toLowerCase();

/**
 * Whether a line of free text is just the country's name or code, in English, in the document's
 * language or in the country's own ("Spain", "ESPAÑA", "es", "България"), so it is not printed twice.
 */
export function namesCountry(line: string, code: string, language = DEFAULT_LANGUAGE): boolean {
  const text = fold(line);
  if (!text) return false;
  const own = countryLanguage(code);
  const names = [code, countryName(code, DEFAULT_LANGUAGE), countryName(code, language)];
  if (own) names.push(countryName(code, own));
  if (code === "GB") names.push("UK", "Great Britain", "England", "Scotland", "Wales", "Northern Ireland");
  if (code === "US") names.push("USA", "United States of America");
  return names.some((n) => n && fold(n) === text);
}

export interface AddressFormat {
  /**
   * The sender's country: the destination's name is printed only when the parcel leaves it. Null
   * (sender's country unknown) prints it always, so an order abroad never looks local.
   */
  fromCountry?: string | null;
  /** Language of the document (country names). */
  language?: string;
  /** Add the ISO code after the country name, as carriers' systems want it: "SPAIN (ES)". */
  isoCode?: boolean;
}

/** The country line of an address abroad: the name in capitals (UPU), with the ISO code when asked. */
export function countryLine(code: string, f: AddressFormat = {}): string {
  const name = (countryName(code, f.language ?? DEFAULT_LANGUAGE) ?? code).toLocaleUpperCase(
    f.language ?? DEFAULT_LANGUAGE,
  );
  return f.isoCode && name !== code ? `${name} (${code})` : name;
}

/** Latin letters only (or no letters at all): the address is written for a reader of Latin script. */
const LATIN = /^[\p{Script=Latin}\P{L}]*$/u;

/**
 * An address as a postal service wants it for the destination country: the parts in that country's
 * order (Google's libaddressinput formats: "10115 Berlin", "Portland, OR 97201", London then the
 * postcode), and the country named on the last line when the parcel crosses a border. An address
 * that came only as free text keeps its lines, and gains the country line too.
 */
export function formatAddressLines(a: Address | null, f: AddressFormat = {}): string[] {
  if (!a) return [];
  const cc = a.countryCode;
  const abroad = Boolean(cc && cc !== (f.fromCountry ?? null));
  const language = f.language ?? DEFAULT_LANGUAGE;
  const structured = a.line1 || a.city || a.postalCode;
  let lines: string[];
  if (!structured) {
    lines = a.full
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter(Boolean);
    // The marketplace's text may already end with the country: print it once, the way we print it.
    if (abroad && lines.length > 1 && namesCountry(lines.at(-1)!, cc!, language)) lines.pop();
  } else {
    const streets = [a.line1, a.line2, a.line3].map((l) => l?.trim() ?? "").filter(Boolean);
    const parts = {
      name: a.name?.trim() || undefined,
      organization: a.company?.trim() || undefined,
      addressLines: streets,
      locality: a.city?.trim() || undefined,
      administrativeArea: a.region?.trim() || undefined,
      postalCode: a.postalCode?.trim() || undefined,
    };
    if (cc) {
      const text = Object.values(parts).flat().join(" ");
      // Some formats print a prefix before the postcode ("L-1611", "CH-8001"): once, if it was typed too.
      lines = formatAddress({ ...parts, postalCountry: cc }, LATIN.test(text) ? "latin" : "local").map((l) =>
        l.replace(/\b([A-Z]{1,3})([- ])\1[- ](?=\d)/, "$1$2"),
      );
    } else {
      // No country: the most common order (postcode before the city), nothing dropped.
      lines = [
        parts.name,
        parts.organization,
        ...streets,
        [parts.postalCode, parts.locality].filter(Boolean).join(" "),
        parts.administrativeArea,
      ].filter((l): l is string => Boolean(l));
    }
  }
  if (abroad) lines.push(countryLine(cc!, f));
  return lines.map((l) => l.trim()).filter(Boolean);
}
