import { type AddressFormat, countryName, formatAddressLines } from "../core/address.ts";
import type { Address } from "../core/order.ts";
import type { Messages } from "./messages.ts";
import type { Sender } from "./model.ts";

export { countryName };

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

/**
 * An address as a postal service wants it for the destination country, the country named in
 * capitals on the last line when the parcel crosses a border (with its ISO code where a carrier
 * wants it). Free-text addresses keep their lines and gain the country line too.
 */
export function addressLines(
  a: Address | null,
  fromCountry: string | null = null,
  opts: Omit<AddressFormat, "fromCountry"> = {},
): string[] {
  return formatAddressLines(a, { ...opts, fromCountry });
}

const fold = (s: string) => s.normalize("NFKD").replace(/\p{M}/gu, "").trim().toLowerCase();

/**
 * The recipient block of a label or slip: the address for the destination country, led by the
 * buyer's name when the address does not start with it. Empty when the order has no address.
 */
export function recipientLines(
  o: { shippingAddress: Address | null; buyerName: string | null },
  fromCountry: string | null,
  opts: Omit<AddressFormat, "fromCountry"> = {},
): string[] {
  const a = o.shippingAddress;
  const lines = addressLines(a, fromCountry, opts);
  if (!lines.length || !a) return lines;
  const structured = a.line1 || a.city || a.postalCode;
  // A free-text address may leave out the name the marketplace gives beside it.
  const name = structured ? (a.name?.trim() ? null : o.buyerName?.trim()) : a.name?.trim();
  if (name && fold(lines[0]!) !== fold(name)) lines.unshift(name);
  return lines;
}

/**
 * The sender's lines: the store name, then the return address without a leading line that only
 * repeats the store name (an address with no name starts with its street, which stays).
 */
export function senderBlock(sender: Sender, toCountry: string | null, m: Messages): string[] {
  return [sender.storeName, ...returnAddressLines(sender, toCountry, m)];
}

/** The return address's lines, its name dropped only when it is the store name printed above it. */
export function returnAddressLines(sender: Sender, toCountry: string | null, m: Messages): string[] {
  const a = sender.returnAddress;
  const lines = addressLines(a, toCountry, { language: m.language });
  const fold = (t: string) => t.trim().toLowerCase();
  const first = lines[0];
  const named = Boolean(a?.name?.trim() && first && fold(first) === fold(a.name!));
  if (first && (named || fold(first) === fold(sender.storeName))) lines.shift();
  return lines;
}

/**
 * The ship-to block as the order panel shows and copies it: the recipient lines a label carries
 * (country named when abroad from the sender, also for free-text addresses), without the ISO code.
 */
export function shipToView(
  o: { shippingAddress: Address | null; buyerName: string | null },
  fromCountry: string | null,
) {
  const a = o.shippingAddress;
  if (!a) return null;
  const lines = recipientLines(o, fromCountry);
  return {
    lines,
    text: lines.join("\n"),
    countryCode: a.countryCode,
    countryName: countryName(a.countryCode),
  };
}

/** Condition as printed, with BrickLink's set completeness (C complete, B incomplete, S sealed). */
export function conditionText(
  condition: string,
  completeness: string | null,
  m: Pick<Messages, "condition" | "conditionShort" | "completeness">,
  short = false,
): string {
  const words = short ? m.conditionShort : m.condition;
  const c =
    condition === "unknown"
      ? ""
      : Object.hasOwn(words, condition)
        ? words[condition as keyof typeof words]
        : condition;
  if (!completeness) return c;
  const k = completeness.toUpperCase();
  const long = Object.hasOwn(m.completeness, k)
    ? m.completeness[k as keyof Messages["completeness"]]
    : completeness;
  return `${c} ${short ? k : long}`.trim();
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
