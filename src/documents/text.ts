import type { Address } from "../core/order.ts";

/** Natural order for bin locations: "A-2" before "A-10", case and accents ignored. */
const collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });
export const naturalCompare = (a: string, b: string) => collator.compare(a, b);

/** Tote letters for the n-th order of a pick: A … Z, AA … AZ, BA … */
export function toteLetter(index: number): string {
  let n = index;
  let s = "";
  do {
    s = String.fromCharCode(65 + (n % 26)) + s;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return s;
}

const regionNames = new Intl.DisplayNames(["en"], { type: "region" });
export function countryName(code: string | null): string | null {
  if (!code) return null;
  try {
    return regionNames.of(code) ?? code;
  } catch {
    return code;
  }
}

/** Where the postcode goes: after the city (with the region) in North America and Australia, on its own line in the UK, before the city elsewhere. */
const CITY_REGION_POSTAL = new Set(["US", "CA", "AU"]);
const POSTAL_OWN_LINE = new Set(["GB", "IE"]);

/**
 * An address as a postal service wants it for the destination country, the country named in
 * capitals on the last line when the parcel crosses a border.
 */
export function addressLines(a: Address | null, fromCountry: string | null = null): string[] {
  if (!a) return [];
  const structured = a.line1 || a.city || a.postalCode;
  if (!structured)
    return a.full
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter(Boolean);
  const cc = a.countryCode;
  const lines = [a.name, a.company, a.line1, a.line2, a.line3].filter((x): x is string => Boolean(x?.trim()));
  if (cc && CITY_REGION_POSTAL.has(cc)) {
    lines.push([[a.city, a.region].filter(Boolean).join(", "), a.postalCode].filter(Boolean).join(" "));
  } else if (cc && POSTAL_OWN_LINE.has(cc)) {
    if (a.city) lines.push(a.city);
    if (a.region) lines.push(a.region);
    if (a.postalCode) lines.push(a.postalCode);
  } else {
    lines.push([a.postalCode, a.city].filter(Boolean).join(" "));
    if (a.region) lines.push(a.region);
  }
  if (cc && cc !== fromCountry) lines.push((countryName(cc) ?? cc).toUpperCase());
  return lines.map((l) => l.trim()).filter(Boolean);
}

/**
 * The recipient block of a label or slip: the address for the destination country, led by the
 * buyer's name when the address itself has none. Empty when the order has no address.
 */
export function recipientLines(
  o: { shippingAddress: Address | null; buyerName: string | null },
  fromCountry: string | null,
): string[] {
  const a = o.shippingAddress;
  const lines = addressLines(a, fromCountry);
  if (lines.length && a && !a.name?.trim() && (a.line1 || a.city || a.postalCode) && o.buyerName?.trim())
    lines.unshift(o.buyerName.trim());
  return lines;
}

/** Condition as printed, with BrickLink's set completeness (C complete, B incomplete, S sealed). */
const CONDITION: Record<string, string> = { new: "New", used: "Used", refurbished: "Refurb.", unknown: "" };
const COMPLETENESS: Record<string, string> = { C: "complete", B: "incomplete", S: "sealed" };
export function conditionText(condition: string, completeness: string | null, short = false): string {
  const c = CONDITION[condition] ?? condition;
  if (!completeness) return c;
  const k = completeness.toUpperCase();
  return `${c} ${short ? k : (COMPLETENESS[k] ?? completeness)}`.trim();
}

/** `orderhub-<kind>-<YYYYMMDD-HHmmss>.<ext>` in the account's time zone. */
export function documentFileName(kind: string, ext: string, at: Date, timeZone: string): string {
  let parts: Record<string, string>;
  try {
    parts = Object.fromEntries(
      formatter(timeZone, "parts")
        .formatToParts(at)
        .map((p) => [p.type, p.value]),
    );
  } catch {
    return documentFileName(kind, ext, at, "UTC");
  }
  return `orderhub-${kind}-${parts.year}${parts.month}${parts.day}-${parts.hour}${parts.minute}${parts.second}.${ext}`;
}

/** Intl formatters are costly to build: one per time zone and style. */
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string, style: "date" | "parts"): Intl.DateTimeFormat {
  const key = `${style}:${timeZone}`;
  let f = formatters.get(key);
  if (!f) {
    f =
      style === "date"
        ? new Intl.DateTimeFormat("en-GB", { timeZone, dateStyle: "medium" })
        : new Intl.DateTimeFormat("en-GB", {
            timeZone,
            year: "numeric",
            month: "2-digit",
            day: "2-digit",
            hour: "2-digit",
            minute: "2-digit",
            second: "2-digit",
            hourCycle: "h23",
          });
    formatters.set(key, f);
  }
  return f;
}

/** A date as the seller reads it, in their time zone. */
export function formatDate(d: Date, timeZone: string): string {
  try {
    return formatter(timeZone, "date").format(d);
  } catch {
    return d.toISOString().slice(0, 10);
  }
}
