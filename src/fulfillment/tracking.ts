import { parse as parseCsv } from "csv-parse/sync";
import { badRequest } from "../core/errors.ts";

/**
 * Why a tracking URL may not be stored or pushed, or null when it may: only absolute http(s)
 * links, since marketplaces show them to buyers as links (javascript: and data: would run there).
 */
export function trackingUrlProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return "must be an absolute http:// or https:// link";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    return `must be an http:// or https:// link (not ${url.protocol})`;
  if (!url.hostname) return "must name a host";
  return null;
}

/** The URL as given, or a 400 naming `field`. */
export function checkTrackingUrl(value: string | null | undefined, field = "trackingUrl"): string | null {
  if (value === null || value === undefined || value.trim() === "") return null;
  const problem = trackingUrlProblem(value);
  if (problem) throw badRequest(`${field}: ${problem}`, { field });
  return value.trim();
}

/** One line of a tracking file: the order as the seller wrote it, and its parcel's tracking. */
export interface TrackingRow {
  /** Line number in the file (1 is the first line, the header when there is one). */
  line: number;
  order: string;
  carrier: string | null;
  trackingNumber: string | null;
  trackingUrl: string | null;
}

const HEADERS: Record<string, "order" | "carrier" | "tracking" | "url"> = {
  order: "order",
  "order number": "order",
  "order no": "order",
  "order id": "order",
  number: "order",
  carrier: "carrier",
  tracking: "tracking",
  "tracking number": "tracking",
  "tracking no": "tracking",
  "tracking link": "url",
  "tracking url": "url",
  url: "url",
};

const headerKey = (cell: string) =>
  HEADERS[cell.trim().toLowerCase().replace(/[_-]+/g, " ").replace(/\s+/g, " ")];

/**
 * A tracking CSV (order number, carrier, tracking — with or without a header naming them; comma,
 * semicolon or tab separated). All or nothing: every bad line is named, and then nothing is read.
 * A tracking that is an http(s) link is taken as the tracking link.
 */
export function parseTrackingCsv(text: string): TrackingRow[] {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parseCsv(text.replace(/^\uFEFF/, ""), {
      delimiter: [",", ";", "\t"],
      relax_column_count: true,
      skip_empty_lines: true,
      trim: true,
      info: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (err) {
    const e = err as { message?: string; lines?: number };
    throw badRequest(`file: line ${e.lines ?? "?"}: not readable as CSV (${e.message ?? String(err)})`);
  }
  if (records.length === 0) throw badRequest("file: the file holds no lines");
  const first = records[0]!.record;
  const named = first.map(headerKey);
  const hasHeader = named.includes("order") && named.includes("tracking");
  if (!hasHeader && first.some((c) => headerKey(c)))
    throw badRequest(
      `file: line 1: a header needs an "order" and a "tracking" column (found ${first.map((c) => `"${c}"`).join(", ")})`,
    );
  const col = hasHeader
    ? {
        order: named.indexOf("order"),
        carrier: named.indexOf("carrier"),
        tracking: named.indexOf("tracking"),
        url: named.indexOf("url"),
      }
    : { order: 0, carrier: 1, tracking: 2, url: -1 };
  const width = hasHeader ? first.length : 3;
  const problems: string[] = [];
  const rows: TrackingRow[] = [];
  const seen = new Map<string, number>();
  for (const { record, info } of hasHeader ? records.slice(1) : records) {
    const line = info.lines;
    const cell = (i: number) => (i >= 0 ? (record[i] ?? "").trim() : "");
    if (record.every((c) => !c.trim())) continue;
    if (record.length > width && record.slice(width).some((c) => c.trim())) {
      problems.push(
        `line ${line}: ${record.length} columns, expected ${width} (${hasHeader ? first.join(", ") : "order, carrier, tracking"})`,
      );
      continue;
    }
    const order = cell(col.order);
    const tracking = cell(col.tracking);
    const url = cell(col.url);
    if (!order) {
      problems.push(`line ${line}: no order number`);
      continue;
    }
    if (!tracking && !url) {
      problems.push(`line ${line}: no tracking for ${order}`);
      continue;
    }
    const isLink = /^https?:\/\//i.test(tracking);
    const link = url || (isLink ? tracking : "");
    const linkProblem = link ? trackingUrlProblem(link) : null;
    if (linkProblem) {
      problems.push(`line ${line}: tracking link ${linkProblem}`);
      continue;
    }
    if (tracking.length > 200) {
      problems.push(`line ${line}: the tracking number is longer than 200 characters`);
      continue;
    }
    const before = seen.get(order.toLowerCase());
    if (before !== undefined) {
      problems.push(`line ${line}: ${order} is already on line ${before} (one tracking per order)`);
      continue;
    }
    seen.set(order.toLowerCase(), line);
    rows.push({
      line,
      order,
      carrier: cell(col.carrier) || null,
      trackingNumber: tracking && !isLink ? tracking : null,
      trackingUrl: link || null,
    });
  }
  if (problems.length) throw badRequest(`file: ${problems.join("; ")}`, { problems });
  if (rows.length === 0) throw badRequest("file: no order with tracking in the file");
  return rows;
}
