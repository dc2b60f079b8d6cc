import { parse as parseCsv } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";
import { asc, eq } from "drizzle-orm";
import { XMLBuilder, XMLParser } from "fast-xml-parser";
import type { AppContext } from "../context.ts";
import { badRequest } from "../core/errors.ts";
import { parseDecimal, toDecimalString } from "../core/money.ts";
import { inventoryLots } from "../db/schema.ts";
import { writeLedger } from "./ledger.ts";

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
}

/** The lots as BrickLink's mass-upload XML (ITEMTYPE, ITEMID, COLOR, QTY, PRICE, CONDITION, REMARKS, DESCRIPTION). */
export async function exportXml(ctx: AppContext, accountId: number): Promise<string> {
  const lots = await ctx.db
    .select()
    .from(inventoryLots)
    .where(eq(inventoryLots.accountId, accountId))
    .orderBy(asc(inventoryLots.id));
  const builder = new XMLBuilder({ format: true, suppressEmptyNode: true });
  return builder.build({
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
  });
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
  const lots = await ctx.db
    .select()
    .from(inventoryLots)
    .where(eq(inventoryLots.accountId, accountId))
    .orderBy(asc(inventoryLots.id));
  return stringify(
    [
      CSV_COLUMNS,
      ...lots.map((l) => [
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
    ],
    { record_delimiter: "\r\n" },
  );
}

function fail(where: string, message: string): never {
  throw badRequest(`${where}: ${message}`, { where });
}

function quantityOf(v: unknown, where: string): number {
  const s = String(v ?? "").trim();
  if (!/^\d+$/.test(s)) fail(where, `QTY must be a whole number (0 or more), not "${s}"`);
  return Number(s);
}

function priceOf(v: unknown, where: string): number | null {
  const s = String(v ?? "").trim();
  if (s === "") return null;
  try {
    return parseDecimal(s);
  } catch {
    fail(where, `PRICE must be a decimal such as 0.125, not "${s}"`);
  }
}

/** Reads BrickLink mass-upload XML; any bad item fails the whole file with the item named. */
export function parseXml(text: string): FileLot[] {
  let doc: unknown;
  try {
    doc = new XMLParser({ parseTagValue: false, trimValues: true, processEntities: true }).parse(text, true);
  } catch (err) {
    throw badRequest(
      `the file is not well-formed XML: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`,
    );
  }
  const inv = (doc as { INVENTORY?: { ITEM?: unknown } }).INVENTORY;
  if (!inv || typeof inv !== "object")
    throw badRequest("the file has no <INVENTORY> element: is it BrickLink's mass-upload XML?");
  const items = Array.isArray(inv.ITEM) ? inv.ITEM : inv.ITEM ? [inv.ITEM] : [];
  if (items.length === 0) throw badRequest("the file lists no <ITEM>");
  return items.map((raw: Record<string, unknown>, i: number) => {
    const where = `ITEM ${i + 1}`;
    const type = String(raw.ITEMTYPE ?? "P")
      .trim()
      .toUpperCase();
    if (!LETTER_TYPE[type])
      fail(where, `ITEMTYPE must be one of ${Object.keys(LETTER_TYPE).join(", ")}, not "${type}"`);
    const itemNo = String(raw.ITEMID ?? "").trim();
    if (!itemNo) fail(where, "ITEMID is missing");
    const cond = String(raw.CONDITION ?? "N")
      .trim()
      .toUpperCase();
    if (cond !== "N" && cond !== "U") fail(where, `CONDITION must be N or U, not "${cond}"`);
    const color = String(raw.COLOR ?? "").trim();
    if (color && !/^\d+$/.test(color)) fail(where, `COLOR must be a BrickLink colour id, not "${color}"`);
    return {
      itemType: LETTER_TYPE[type]!,
      itemNo,
      colorId: color || null,
      colorName: null,
      condition: cond === "U" ? "used" : "new",
      quantity: quantityOf(raw.QTY, where),
      price: priceOf(raw.PRICE, where),
      location: String(raw.REMARKS ?? "").trim() || null,
      description: String(raw.DESCRIPTION ?? "").trim() || null,
    } satisfies FileLot;
  });
}

/** Reads the CSV this module writes (item_no, color_id, color, condition, quantity, price, location, …). */
export function parseLotCsv(text: string): FileLot[] {
  let rows: Record<string, string>[];
  try {
    rows = parseCsv(text, { columns: true, bom: true, skip_empty_lines: true, trim: true });
  } catch (err) {
    throw badRequest(`the CSV cannot be read: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (rows.length === 0) throw badRequest("the CSV has no rows");
  for (const col of ["item_no", "quantity"])
    if (!(col in rows[0]!))
      throw badRequest(`the CSV has no "${col}" column (columns: ${Object.keys(rows[0]!).join(", ")})`);
  return rows.map((r, i) => {
    const where = `row ${i + 2}`;
    if (!r.item_no) fail(where, "item_no is missing");
    const cond = (r.condition || "new").toLowerCase();
    if (cond !== "new" && cond !== "used") fail(where, `condition must be new or used, not "${r.condition}"`);
    return {
      itemType: r.item_type || "part",
      itemNo: r.item_no!,
      colorId: r.color_id || null,
      colorName: r.color || null,
      condition: cond,
      quantity: quantityOf(r.quantity, where),
      price: priceOf(r.price, where),
      location: r.location || null,
      description: r.description || null,
    } satisfies FileLot;
  });
}

/**
 * Adds the file's lots: a lot with the same item, colour, condition and location gets the quantity
 * added, others are created — every change an "import" ledger row. All in one transaction: a bad
 * line means nothing is written.
 */
export async function importFile(
  ctx: AppContext,
  input: { accountId: number; userId: number | null; lots: FileLot[]; name: string },
): Promise<{ created: number; added: number }> {
  let created = 0;
  let added = 0;
  await ctx.db.transaction(async (tx) => {
    const key = (itemNo: string | null, colorId: string | null, condition: string, location: string | null) =>
      `${(itemNo ?? "").toLowerCase()}|${colorId ?? ""}|${condition}|${location ?? ""}`;
    const existing = await tx
      .select({
        id: inventoryLots.id,
        itemNo: inventoryLots.itemNo,
        colorId: inventoryLots.colorId,
        condition: inventoryLots.condition,
        location: inventoryLots.location,
      })
      .from(inventoryLots)
      .where(eq(inventoryLots.accountId, input.accountId));
    const byKey = new Map(existing.map((l) => [key(l.itemNo, l.colorId, l.condition, l.location), l.id]));
    for (const f of input.lots) {
      const k = key(f.itemNo, f.colorId, f.condition, f.location);
      const same = byKey.has(k) ? { id: byKey.get(k)! } : undefined;
      let lotId = same?.id;
      if (!lotId) {
        const [lot] = await tx
          .insert(inventoryLots)
          .values({
            accountId: input.accountId,
            itemType: f.itemType,
            itemNo: f.itemNo,
            colorId: f.colorId,
            colorName: f.colorName,
            condition: f.condition,
            location: f.location,
            price: f.price,
            description: f.description,
          })
          .returning({ id: inventoryLots.id });
        lotId = lot!.id;
        byKey.set(k, lotId);
        created++;
      } else added++;
      await writeLedger(tx, {
        accountId: input.accountId,
        lotId,
        kind: "import",
        quantityDelta: f.quantity,
        reservedDelta: 0,
        reason: `from ${input.name}`,
        userId: input.userId,
      });
    }
  });
  return { created, added };
}
