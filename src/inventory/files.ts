import { parse as parseCsv } from "csv-parse/sync";
import { and, asc, eq, gt } from "drizzle-orm";
import { XMLBuilder, XMLParser } from "fast-xml-parser";
import type { AppContext } from "../context.ts";
import { restoreNeutralised, writeCsv } from "../core/csv.ts";
import { badRequest } from "../core/errors.ts";
import { parseDecimal, toDecimalString } from "../core/money.ts";
import { inventoryLots } from "../db/schema.ts";

/** BrickLink's item type letters in the mass-upload XML. */
const TYPE_LETTER: Record<string, string> = {
  part: "P",
  set: "S",
  minifig: "M",
  book: "B",
  gear: "G",
  catalog: "C",
  instruction: "I",
  original_box: "O",
};
const LETTER_TYPE = Object.fromEntries(Object.entries(TYPE_LETTER).map(([k, v]) => [v, k]));

export interface FileLot {
  itemType: string;
  itemNo: string;
  colorId: string | null;
  colorName: string | null;
  condition: "new" | "used";
  quantity: number;
  price: number | null;
  location: string | null;
  description: string | null;
  /** Where in the file the lot was read ("ITEM 3", "line 7"), for errors found later. */
  where?: string;
}

/** Lots a page at a time, yielding between pages: a 200,000-lot export must not hold up the server. */
async function* lotPages(ctx: AppContext, accountId: number) {
  let after = 0;
  for (;;) {
    const page = await ctx.db
      .select()
      .from(inventoryLots)
      .where(and(eq(inventoryLots.accountId, accountId), gt(inventoryLots.id, after)))
      .orderBy(asc(inventoryLots.id))
      .limit(EXPORT_PAGE);
    if (page.length === 0) return;
    yield page;
    after = page.at(-1)!.id;
    await new Promise<void>((r) => setImmediate(r));
  }
}
const EXPORT_PAGE = 5_000;

/** The lots as BrickLink's mass-upload XML (ITEMTYPE, ITEMID, COLOR, QTY, PRICE, CONDITION, REMARKS, DESCRIPTION). */
export async function exportXml(ctx: AppContext, accountId: number): Promise<string> {
  const builder = new XMLBuilder({ format: true, suppressEmptyNode: true });
  const doc = (lots: (typeof inventoryLots.$inferSelect)[]) =>
    builder.build({
      INVENTORY: {
        ITEM: lots.map((l) => ({
          ITEMTYPE: TYPE_LETTER[l.itemType] ?? "P",
          ITEMID: l.itemNo ?? "",
          ...(l.colorId ? { COLOR: l.colorId } : {}),
          QTY: l.quantity,
          ...(l.price !== null
            ? { PRICE: toDecimalString(l.price, 4).replace(/0+$/, "").replace(/\.$/, "") }
            : {}),
          CONDITION: l.condition === "used" ? "U" : "N",
          ...(l.location ? { REMARKS: l.location } : {}),
          ...(l.description ? { DESCRIPTION: l.description } : {}),
        })),
      },
    }) as string;
  const parts: string[] = [];
  // Each page as a document of its own, its items kept and the INVENTORY lines around them dropped.
  for await (const page of lotPages(ctx, accountId))
    parts.push(doc(page).split("\n").slice(1, -2).join("\n"));
  return parts.length ? `<INVENTORY>\n${parts.join("\n")}\n</INVENTORY>\n` : doc([]);
}

const CSV_COLUMNS = [
  "lot_id",
  "item_type",
  "item_no",
  "color_id",
  "color",
  "condition",
  "quantity",
  "reserved",
  "price",
  "location",
  "description",
];

export async function exportCsv(ctx: AppContext, accountId: number): Promise<string> {
  const parts = [writeCsv([CSV_COLUMNS])];
  for await (const page of lotPages(ctx, accountId))
    parts.push(
      writeCsv(
        page.map((l) => [
          String(l.id),
          l.itemType,
          l.itemNo ?? "",
          l.colorId ?? "",
          l.colorName ?? "",
          l.condition,
          String(l.quantity),
          String(l.reserved),
          l.price === null ? "" : toDecimalString(l.price, 4),
          l.location ?? "",
          l.description ?? "",
        ]),
      ),
    );
  return parts.join("");
}

function fail(where: string, message: string): never {
  throw badRequest(`${where}: ${message}`, { where });
}

/** The largest quantity a lot can hold (the database keeps quantities as 32-bit integers). */
export const MAX_LOT_QUANTITY = 2_147_483_647;

function quantityOf(v: unknown, where: string, field: string): number {
  const s = String(v ?? "").trim();
  if (!/^\d+$/.test(s)) fail(where, `${field} must be a whole number (0 or more), not "${s.slice(0, 50)}"`);
  const n = Number(s);
  if (n > MAX_LOT_QUANTITY)
    fail(where, `${field} must be at most ${MAX_LOT_QUANTITY}, not ${s.slice(0, 50)}`);
  return n;
}

function priceOf(v: unknown, where: string, field: string): number | null {
  const s = String(v ?? "").trim();
  if (s === "") return null;
  // "12,50" must not quietly become 1250: a comma is refused rather than guessed at.
  if (s.includes(","))
    fail(where, `${field} must use a dot for decimals and no thousands separator, not "${s.slice(0, 50)}"`);
  let price: number;
  try {
    price = parseDecimal(s);
  } catch {
    fail(where, `${field} must be a decimal such as 0.125, not "${s.slice(0, 50)}"`);
  }
  if (price < 0) fail(where, `${field} must not be negative, not "${s.slice(0, 50)}"`);
  return price;
}

/** Text the database can keep: no NUL characters (PostgreSQL refuses them). */
function textOf(v: string, where: string, field: string): string {
  if (v.includes("\u0000")) fail(where, `${field} contains a NUL character`);
  return v;
}

/** One element's text: a repeated element or one with elements inside is refused, not joined. */
function elementText(raw: Record<string, unknown>, key: string, where: string): string | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) fail(where, `${key} is given ${v.length} times`);
  if (typeof v === "object") fail(where, `${key} must be plain text, not elements`);
  return textOf(String(v), where, key);
}

/** Reads BrickLink mass-upload XML; any bad item fails the whole file with the item named. */
export function parseXml(text: string): FileLot[] {
  let doc: unknown;
  try {
    doc = new XMLParser({ parseTagValue: false, trimValues: true, processEntities: true }).parse(
      text.replace(/^\uFEFF/, ""),
      true,
    );
  } catch (err) {
    const first = (err instanceof Error ? err.message : String(err)).split("\n")[0]!;
    // The parser ends its message with ":line:column".
    const at = /:(\d+):(\d+|undefined)$/.exec(first);
    const where = at ? ` at line ${at[1]}${at[2] !== "undefined" ? `, column ${at[2]}` : ""}` : "";
    throw badRequest(`the file is not well-formed XML${where}: ${at ? first.slice(0, at.index) : first}`);
  }
  const inv = (doc as { INVENTORY?: { ITEM?: unknown } }).INVENTORY;
  if (!inv || typeof inv !== "object")
    throw badRequest("the file has no <INVENTORY> element: is it BrickLink's mass-upload XML?");
  const items = Array.isArray(inv.ITEM) ? inv.ITEM : inv.ITEM ? [inv.ITEM] : [];
  if (items.length === 0) throw badRequest("the file lists no <ITEM>");
  return items.map((item: unknown, i: number) => {
    const where = `ITEM ${i + 1}`;
    if (!item || typeof item !== "object") fail(where, "has no elements (ITEMID, QTY, …)");
    const raw = item as Record<string, unknown>;
    const type = (elementText(raw, "ITEMTYPE", where) ?? "P").trim().toUpperCase();
    if (!LETTER_TYPE[type])
      fail(
        where,
        `ITEMTYPE must be one of ${Object.keys(LETTER_TYPE).join(", ")}, not "${type.slice(0, 50)}"`,
      );
    const itemNo = (elementText(raw, "ITEMID", where) ?? "").trim();
    if (!itemNo) fail(where, "ITEMID is missing");
    const cond = (elementText(raw, "CONDITION", where) ?? "N").trim().toUpperCase();
    if (cond !== "N" && cond !== "U") fail(where, `CONDITION must be N or U, not "${cond.slice(0, 50)}"`);
    const color = (elementText(raw, "COLOR", where) ?? "").trim();
    if (color && !/^\d{1,9}$/.test(color))
      fail(where, `COLOR must be a BrickLink colour id, not "${color.slice(0, 50)}"`);
    return {
      itemType: LETTER_TYPE[type]!,
      itemNo,
      colorId: color || null,
      colorName: null,
      condition: cond === "U" ? "used" : "new",
      quantity: quantityOf(elementText(raw, "QTY", where), where, "QTY"),
      price: priceOf(elementText(raw, "PRICE", where), where, "PRICE"),
      location: (elementText(raw, "REMARKS", where) ?? "").trim() || null,
      description: (elementText(raw, "DESCRIPTION", where) ?? "").trim() || null,
      where,
    } satisfies FileLot;
  });
}

/** Reads the CSV this module writes (item_no, color_id, color, condition, quantity, price, location, …). */
export function parseLotCsv(text: string): FileLot[] {
  let rows: { record: Record<string, string>; info: { lines: number } }[];
  try {
    rows = parseCsv(text, { columns: true, bom: true, skip_empty_lines: true, trim: true, info: true });
  } catch (err) {
    throw badRequest(`the CSV cannot be read: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (rows.length === 0) throw badRequest("the CSV has no rows");
  for (const col of ["item_no", "quantity"])
    if (!(col in rows[0]!.record))
      throw badRequest(
        `the CSV has no "${col}" column (columns: ${Object.keys(rows[0]!.record).join(", ").slice(0, 500)})`,
      );
  return rows.map(({ record, info }) => {
    const where = `line ${info.lines}`;
    // The export keeps formula-like text as text behind a `'`; reading it back takes that off.
    const r = Object.fromEntries(
      Object.entries(record).map(([k, v]) => [k, typeof v === "string" ? restoreNeutralised(v) : v]),
    ) as Record<string, string>;
    for (const [k, v] of Object.entries(r)) if (typeof v === "string") textOf(v, where, k);
    if (!r.item_no) fail(where, "item_no is missing");
    const cond = (r.condition || "new").toLowerCase();
    if (cond !== "new" && cond !== "used")
      fail(where, `condition must be new or used, not "${String(r.condition).slice(0, 50)}"`);
    const itemType = (r.item_type || "part").toLowerCase();
    if (!TYPE_LETTER[itemType])
      fail(
        where,
        `item_type must be one of ${Object.keys(TYPE_LETTER).join(", ")}, not "${itemType.slice(0, 50)}"`,
      );
    if (r.color_id && !/^\d{1,9}$/.test(r.color_id))
      fail(where, `color_id must be a BrickLink colour id, not "${r.color_id.slice(0, 50)}"`);
    return {
      itemType,
      itemNo: r.item_no!,
      colorId: r.color_id || null,
      colorName: r.color || null,
      condition: cond,
      quantity: quantityOf(r.quantity, where, "quantity"),
      price: priceOf(r.price, where, "price"),
      location: r.location || null,
      description: r.description || null,
      where,
    } satisfies FileLot;
  });
}
