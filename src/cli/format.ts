/** Plain aligned columns for people; `--json` output never goes through here. */
export function table(
  rows: Record<string, unknown>[],
  columns: { key: string; label: string; right?: boolean }[],
): string {
  if (rows.length === 0) return "(none)";
  const cells = rows.map((r) => columns.map((c) => cell(r[c.key])));
  const widths = columns.map((c, i) => Math.max(c.label.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => (columns[i]!.right ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(columns.map((c) => c.label)), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join(
    "\n",
  );
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (v instanceof Date) return v.toISOString();
  if (typeof v === "object") return plain(JSON.stringify(v), { oneLine: true });
  return plain(String(v), { oneLine: true });
}

// ESC/CSI sequences (colours, cursor moves, OSC title/clipboard up to BEL or ST) and single C1 codes.
const ESCAPES =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  /(?:\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b\[[0-?]*[ -/]*[@-~]|\u009b[0-?]*[ -/]*[@-~]|\u009d[^\u0007\u009c]*[\u0007\u009c]?|\u001b[@-_]?)/g;
// Every other control character except tab and line feed; bidi overrides too (they reorder text).
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text from marketplaces (buyer names, remarks) made safe for a terminal: escape sequences and
 * control characters are dropped, so a name cannot retitle the window, write the clipboard or
 * move the cursor. `oneLine` also turns line breaks and tabs into spaces (table cells).
 */
export function plain(text: string, opts: { oneLine?: boolean } = {}): string {
  const out = text.replace(ESCAPES, "").replace(CONTROLS, "");
  return opts.oneLine ? out.replace(/[\t\n]/g, " ") : out;
}

export function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

type Shown = { label?: string; display?: string; currency?: string };

/** The ship-to block of `orders show`: the lines a label prints, country named when abroad. */
export function shipToText(shipTo: unknown): string[] {
  const s = shipTo as { lines?: string[] } | null | undefined;
  if (!s?.lines?.length) return ["Ship to: (no shipping address on the order)"];
  return ["Ship to:", ...s.lines.map((l) => `  ${plain(l, { oneLine: true })}`)];
}

/** Subtotal, each charge (a difference the marketplace left as its own line), total, what is inside it. */
export function chargesText(charges: unknown): string[] {
  const c = charges as
    | { subtotal: Shown; rows: Shown[]; grandTotal: Shown; included: Shown[] }
    | null
    | undefined;
  if (!c) return [];
  const rows: [string, Shown][] = [
    ["Subtotal", c.subtotal],
    ...c.rows.map((r): [string, Shown] => [r.label ?? "", r]),
    ["Total", c.grandTotal],
    ...c.included.map((r): [string, Shown] => [`  ${r.label ?? ""}`, r]),
  ];
  const money = (m: Shown) => `${m.display ?? ""} ${m.currency ?? ""}`.trim();
  const width = Math.max(...rows.map(([k]) => k.length));
  const amounts = Math.max(...rows.map(([, m]) => money(m).length));
  return [
    "",
    ...rows.map(([k, m]) => `${plain(k, { oneLine: true }).padEnd(width)}  ${money(m).padStart(amounts)}`),
  ];
}

/** A line's matched lot for a table cell: "#17 bricklink:1000017 brickowl:2726001", or "not matched". */
export function lotText(line: Record<string, unknown>): string {
  const lot = line.lot as
    | { id: number; listings: { marketplace: string; externalId: string }[] }
    | null
    | undefined;
  if (!lot) return "not matched";
  return [`#${lot.id}`, ...lot.listings.map((l) => `${l.marketplace}:${l.externalId}`)].join(" ");
}
