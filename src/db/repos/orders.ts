import { createHash } from "node:crypto";
import { and, asc, desc, eq, gte, inArray, isNull, lt, type SQL, sql } from "drizzle-orm";
import { AppError } from "../../core/errors.ts";
import { type OrderInput, orderInputSchema, type UnifiedOrder } from "../../core/order.ts";
import type { OrderStatus } from "../../core/status.ts";
import { bulkInsert } from "../bulk.ts";
import type { DbOrTx } from "../connection.ts";
import { orderCounts, orderEvents, orderLines, orders } from "../schema.ts";

export type UpsertOutcome = "created" | "updated" | "unchanged";

export interface UpsertResult {
  orderId: number;
  externalId: string;
  outcome: UpsertOutcome;
  previousStatus: OrderStatus | null;
  status: OrderStatus;
}

export interface UpsertContext {
  accountId: number;
  connectionId: number;
  /** `marketplace:bricklink`, `user:42`, `system`. */
  source: string;
  at: Date;
}

/** Stable hash of what we show and act on; the raw payload is left out so noise does not count as change. */
export function contentHash(o: UnifiedOrder): string {
  const { raw: _raw, ...rest } = o;
  return createHash("sha256").update(stableJson(rest)).digest("hex").slice(0, 32);
}

function stableJson(v: unknown): string {
  if (v instanceof Date) return JSON.stringify(v.toISOString());
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (v && typeof v === "object") {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(v ?? null);
}

/** Lower case without accents, so "zoe" finds "Zoë". */
export function foldText(s: string): string {
  return s.toLowerCase().normalize("NFKD").replace(/\p{M}/gu, "");
}

function buyerSort(o: UnifiedOrder): string {
  return foldText([o.buyerName, o.buyerUsername, o.buyerEmail].filter(Boolean).join(" "));
}

export function orderRow(o: UnifiedOrder, ctx: UpsertContext, hash: string) {
  return {
    accountId: ctx.accountId,
    connectionId: ctx.connectionId,
    marketplace: o.marketplace,
    externalId: o.externalId,
    number: o.number,
    changeMarker: o.changeMarker,
    status: o.status,
    rawStatus: o.rawStatus,
    paymentStatus: o.paymentStatus,
    rawPaymentStatus: o.rawPaymentStatus,
    buyerName: o.buyerName,
    buyerUsername: o.buyerUsername,
    buyerEmail: o.buyerEmail,
    shippingAddress: o.shippingAddress,
    countryCode: o.shippingAddress?.countryCode ?? null,
    orderedAt: o.orderedAt,
    marketplaceUpdatedAt: o.updatedAt,
    statusChangedAt: o.statusChangedAt,
    currency: o.totals.currency,
    subtotal: o.totals.subtotal,
    shipping: o.totals.shipping,
    tax: o.totals.tax,
    fees: o.totals.fees,
    credits: o.totals.credits,
    grandTotal: o.totals.grandTotal,
    shippingMethod: o.shippingMethod,
    trackingNumbers: o.trackingNumbers,
    buyerRemarks: o.buyerRemarks,
    archived: o.archived,
    url: o.url,
    lotCount: o.lines.length,
    itemCount: o.lines.reduce((n, l) => n + l.quantity, 0),
    extra: o.extra,
    raw: o.raw ?? null,
    contentHash: hash,
    buyerSort: buyerSort(o),
    updatedAt: ctx.at,
  };
}

export function lineRows(o: UnifiedOrder, orderId: number, accountId: number) {
  return o.lines.map((l, position) => ({
    accountId,
    orderId,
    externalLineId: l.externalLineId,
    position,
    itemNo: l.itemNo,
    sku: l.sku,
    name: l.name,
    itemType: l.itemType,
    colorId: l.colorId,
    colorName: l.colorName,
    condition: l.condition,
    completeness: l.completeness,
    quantity: l.quantity,
    unitPrice: l.unitPrice,
    lineTotal: l.lineTotal,
    marketplaceLotId: l.marketplaceLotId,
    location: l.location,
    batch: l.batch,
    digital: l.digital,
    extra: l.extra,
    removedAt: null,
  }));
}

/**
 * Idempotent upsert of a batch of orders from one connection: new orders are inserted with their
 * lines, changed ones updated (lines upserted by their external id, vanished lines marked removed),
 * unchanged ones skipped by content hash. A status change appends an order_event. Run it inside the
 * transaction that also moves the sync cursor.
 */
export async function upsertOrders(
  db: DbOrTx,
  ctx: UpsertContext,
  inputs: OrderInput[],
): Promise<UpsertResult[]> {
  if (inputs.length === 0) return [];
  const parsed = inputs.map((i) => orderInputSchema.parse(i));
  const byKey = new Map<string, UnifiedOrder>();
  for (const o of parsed) byKey.set(`${o.marketplace}\u0000${o.externalId}`, o); // last one wins within a batch
  const unique = [...byKey.values()];
  const marketplaces = [...new Set(unique.map((o) => o.marketplace))];

  const existing = await db
    .select({
      id: orders.id,
      marketplace: orders.marketplace,
      externalId: orders.externalId,
      contentHash: orders.contentHash,
      status: orders.status,
    })
    .from(orders)
    .where(
      and(
        eq(orders.accountId, ctx.accountId),
        inArray(orders.marketplace, marketplaces),
        inArray(
          orders.externalId,
          unique.map((o) => o.externalId),
        ),
      ),
    )
    .for("update");
  const found = new Map(existing.map((e) => [`${e.marketplace}\u0000${e.externalId}`, e]));

  const results: UpsertResult[] = [];
  const toInsert: { o: UnifiedOrder; hash: string }[] = [];
  const toUpdate: { o: UnifiedOrder; hash: string; prev: (typeof existing)[number] }[] = [];
  for (const o of unique) {
    const hash = contentHash(o);
    const prev = found.get(`${o.marketplace}\u0000${o.externalId}`);
    if (!prev) toInsert.push({ o, hash });
    else if (prev.contentHash === hash) {
      results.push({
        orderId: prev.id,
        externalId: o.externalId,
        outcome: "unchanged",
        previousStatus: prev.status,
        status: prev.status,
      });
    } else toUpdate.push({ o, hash, prev });
  }

  if (toInsert.length) {
    const inserted = (await bulkInsert(
      db,
      orders,
      toInsert.map(({ o, hash }) => ({ ...orderRow(o, ctx, hash), createdAt: ctx.at })),
      { returning: ["id", "externalId"] },
    )) as { id: number | string; externalId: string }[];
    const idOf = new Map(inserted.map((r) => [r.externalId, Number(r.id)]));
    await bulkInsert(
      db,
      orderLines,
      toInsert.flatMap(({ o }) => lineRows(o, idOf.get(o.externalId)!, ctx.accountId)),
    );
    await bulkInsert(
      db,
      orderEvents,
      toInsert.map(({ o }) => ({
        accountId: ctx.accountId,
        orderId: idOf.get(o.externalId)!,
        kind: "created",
        fromStatus: null,
        toStatus: o.status,
        rawStatus: o.rawStatus,
        source: ctx.source,
        at: o.orderedAt,
        detail: {},
      })),
    );
    for (const { o } of toInsert) {
      results.push({
        orderId: idOf.get(o.externalId)!,
        externalId: o.externalId,
        outcome: "created",
        previousStatus: null,
        status: o.status,
      });
    }
  }

  for (const { o, hash, prev } of toUpdate) {
    await db
      .update(orders)
      .set(orderRow(o, ctx, hash))
      .where(eq(orders.id, prev.id));
    const rows = lineRows(o, prev.id, ctx.accountId);
    if (rows.length) {
      await db
        .insert(orderLines)
        .values(rows)
        .onConflictDoUpdate({
          target: [orderLines.orderId, orderLines.externalLineId],
          set: {
            position: sql`excluded.position`,
            itemNo: sql`excluded.item_no`,
            sku: sql`excluded.sku`,
            name: sql`excluded.name`,
            itemType: sql`excluded.item_type`,
            colorId: sql`excluded.color_id`,
            colorName: sql`excluded.color_name`,
            condition: sql`excluded.condition`,
            completeness: sql`excluded.completeness`,
            quantity: sql`excluded.quantity`,
            unitPrice: sql`excluded.unit_price`,
            lineTotal: sql`excluded.line_total`,
            marketplaceLotId: sql`excluded.marketplace_lot_id`,
            location: sql`excluded.location`,
            batch: sql`excluded.batch`,
            digital: sql`excluded.digital`,
            extra: sql`excluded.extra`,
            removedAt: sql`null`,
          },
        });
    }
    const keep = rows.map((r) => r.externalLineId);
    await db
      .update(orderLines)
      .set({ removedAt: ctx.at })
      .where(
        and(
          eq(orderLines.orderId, prev.id),
          isNull(orderLines.removedAt),
          keep.length ? sql`${orderLines.externalLineId} not in ${keep}` : undefined,
        ),
      );
    if (prev.status !== o.status) {
      await db.insert(orderEvents).values({
        accountId: ctx.accountId,
        orderId: prev.id,
        kind: "status_changed",
        fromStatus: prev.status,
        toStatus: o.status,
        rawStatus: o.rawStatus,
        source: ctx.source,
        at: o.statusChangedAt ?? ctx.at,
        detail: {},
      });
    }
    results.push({
      orderId: prev.id,
      externalId: o.externalId,
      outcome: "updated",
      previousStatus: prev.status,
      status: o.status,
    });
  }
  return results;
}

/** Change markers of stored orders, so an incremental sync fetches details only for new or changed ones. */
export async function changeMarkers(
  db: DbOrTx,
  accountId: number,
  marketplace: string,
  externalIds: string[],
): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  for (let i = 0; i < externalIds.length; i += 5000) {
    const part = externalIds.slice(i, i + 5000);
    const rows = await db
      .select({ externalId: orders.externalId, changeMarker: orders.changeMarker })
      .from(orders)
      .where(
        and(
          eq(orders.accountId, accountId),
          eq(orders.marketplace, marketplace),
          inArray(orders.externalId, part),
        ),
      );
    for (const r of rows) out.set(r.externalId, r.changeMarker);
  }
  return out;
}

// ---------------------------------------------------------------- the table view query

export const ORDER_SORTS = [
  "number",
  "marketplace",
  "orderedAt",
  "buyer",
  "status",
  "total",
  "updatedAt",
] as const;
export type OrderSort = (typeof ORDER_SORTS)[number];

export interface OrderQuery {
  marketplace?: string[];
  status?: OrderStatus[];
  connectionId?: number;
  from?: Date;
  to?: Date;
  buyer?: string;
  q?: string;
  ids?: number[];
  sort?: OrderSort;
  dir?: "asc" | "desc";
  page?: number;
  pageSize?: number;
}

/** Sort keys match the table-view indexes (byte-order collation for the text columns). */
const sortColumn = {
  number: sql`(lower(${orders.number}) collate "C")`,
  marketplace: orders.marketplace,
  orderedAt: orders.orderedAt,
  buyer: sql`(${orders.buyerSort} collate "C")`,
  status: orders.status,
  total: orders.grandTotal,
  updatedAt: orders.updatedAt,
} as const;

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export function orderFilter(accountId: number, q: OrderQuery): SQL {
  const conds: (SQL | undefined)[] = [eq(orders.accountId, accountId)];
  if (q.marketplace?.length) conds.push(inArray(orders.marketplace, q.marketplace));
  if (q.status?.length) conds.push(inArray(orders.status, q.status));
  if (q.connectionId) conds.push(eq(orders.connectionId, q.connectionId));
  if (q.from) conds.push(gte(orders.orderedAt, q.from));
  if (q.to) conds.push(lt(orders.orderedAt, q.to));
  if (q.ids?.length) conds.push(inArray(orders.id, q.ids));
  if (q.buyer) {
    const p = `${escapeLike(foldText(q.buyer))}%`;
    conds.push(sql`(${orders.buyerSort} collate "C") like ${p}`);
  }
  if (q.q) {
    const term = q.q.trim().toLowerCase();
    const prefix = `${escapeLike(term)}%`;
    const digits = term.replace(/^[a-z]{2}-/, "");
    // One indexed lookup per kind of match, united, instead of an OR that scans every order.
    conds.push(
      sql`${orders.id} in (
        select ${orders.id} from ${orders} where ${orders.accountId} = ${accountId} and (lower(${orders.number}) collate "C") like ${prefix}
        union select ${orders.id} from ${orders} where ${orders.accountId} = ${accountId} and ${orders.externalId} = ${digits}
        union select ${orders.id} from ${orders} where ${orders.accountId} = ${accountId} and (${orders.buyerSort} collate "C") like ${`${escapeLike(foldText(term))}%`}
        union select ${orderLines.orderId} from ${orderLines} where ${orderLines.accountId} = ${accountId} and lower(${orderLines.itemNo}) = ${term})`,
    );
  }
  return and(...conds)!;
}

export interface OrderListRow {
  id: number;
  number: string;
  marketplace: string;
  connectionId: number;
  externalId: string;
  status: OrderStatus;
  rawStatus: string;
  paymentStatus: string;
  buyerName: string | null;
  buyerUsername: string | null;
  orderedAt: Date;
  updatedAt: Date;
  currency: string;
  grandTotal: number;
  lotCount: number;
  itemCount: number;
  countryCode: string | null;
  tags: string[];
}

export async function listOrders(
  db: DbOrTx,
  accountId: number,
  q: OrderQuery,
): Promise<{ rows: OrderListRow[]; total: number; page: number; pageSize: number }> {
  const where = orderFilter(accountId, q);
  const page = Math.max(1, q.page ?? 1);
  const pageSize = Math.min(500, Math.max(1, q.pageSize ?? 50));
  const col = sortColumn[q.sort ?? "orderedAt"];
  const dir =
    (q.dir ?? (q.sort && q.sort !== "orderedAt" && q.sort !== "total" ? "asc" : "desc")) === "asc"
      ? asc
      : desc;
  // Page through ids alone (index-only), then read just the rows shown: deep pages stay cheap.
  const [idRows, count] = await Promise.all([
    db
      .select({ id: orders.id })
      .from(orders)
      .where(where)
      // Within a status by date, one direction throughout, so the (account, status, ordered_at) index serves it.
      .orderBy(
        ...(q.sort === "status"
          ? [dir(col), dir(orders.orderedAt), dir(orders.id)]
          : [dir(col), dir(orders.id)]),
      )
      .limit(pageSize)
      .offset((page - 1) * pageSize),
    countOrders(db, accountId, q, where),
  ]);
  const ids = idRows.map((r) => r.id);
  const found = ids.length
    ? await db
        .select({
          id: orders.id,
          number: orders.number,
          marketplace: orders.marketplace,
          connectionId: orders.connectionId,
          externalId: orders.externalId,
          status: orders.status,
          rawStatus: orders.rawStatus,
          paymentStatus: orders.paymentStatus,
          buyerName: orders.buyerName,
          buyerUsername: orders.buyerUsername,
          orderedAt: orders.orderedAt,
          updatedAt: orders.updatedAt,
          currency: orders.currency,
          grandTotal: orders.grandTotal,
          lotCount: orders.lotCount,
          itemCount: orders.itemCount,
          countryCode: orders.countryCode,
          tags: orders.tags,
        })
        .from(orders)
        .where(and(eq(orders.accountId, accountId), inArray(orders.id, ids)))
    : [];
  const byId = new Map(found.map((r) => [r.id, r]));
  const rows = ids.map((id) => byId.get(id)).filter((r): r is OrderListRow => r !== undefined);
  return { rows, total: count, page, pageSize };
}

/**
 * The total for the table view. Filters on marketplace and status alone (the common case) are
 * answered from order_counts, which triggers keep exact; anything else counts the matching rows.
 */
async function countOrders(db: DbOrTx, accountId: number, q: OrderQuery, where: SQL): Promise<number> {
  const narrow = !q.from && !q.to && !q.buyer && !q.q && !q.ids?.length && !q.connectionId;
  if (narrow) {
    const [row] = await db
      .select({ n: sql<string>`coalesce(sum(${orderCounts.n}), 0)` })
      .from(orderCounts)
      .where(
        and(
          eq(orderCounts.accountId, accountId),
          q.marketplace?.length ? inArray(orderCounts.marketplace, q.marketplace) : undefined,
          q.status?.length ? inArray(orderCounts.status, q.status) : undefined,
        ),
      );
    return Number(row?.n ?? 0);
  }
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(orders).where(where);
  return row?.n ?? 0;
}

/** An order by id or by its number (`BL-123`), within the account. */
export async function findOrderId(db: DbOrTx, accountId: number, ref: string): Promise<number | null> {
  const asId = /^\d+$/.test(ref) ? Number(ref) : null;
  const rows = await db
    .select({ id: orders.id })
    .from(orders)
    .where(
      and(
        eq(orders.accountId, accountId),
        asId !== null
          ? sql`(${orders.id} = ${asId} or lower(${orders.number}) = ${ref.toLowerCase()})`
          : sql`lower(${orders.number}) = ${ref.toLowerCase()}`,
      ),
    )
    .orderBy(asId !== null ? sql`(${orders.id} = ${asId}) desc` : asc(orders.id))
    .limit(1);
  return rows[0]?.id ?? null;
}

export async function getOrderDetail(db: DbOrTx, accountId: number, id: number) {
  const [order] = await db
    .select()
    .from(orders)
    .where(and(eq(orders.accountId, accountId), eq(orders.id, id)));
  if (!order) return null;
  const [lines, events] = await Promise.all([
    db
      .select()
      .from(orderLines)
      .where(and(eq(orderLines.accountId, accountId), eq(orderLines.orderId, id)))
      .orderBy(asc(orderLines.position), asc(orderLines.id)),
    db
      .select()
      .from(orderEvents)
      .where(and(eq(orderEvents.accountId, accountId), eq(orderEvents.orderId, id)))
      .orderBy(asc(orderEvents.at), asc(orderEvents.id)),
  ]);
  return { order, lines, events };
}

/**
 * Order refs (ids or numbers such as BL-123, any case) → ids in one query, in the order given,
 * duplicates dropped; refs that name no order of the account are answered as a 404 naming them.
 */
export async function orderIdsOrThrow(
  db: DbOrTx,
  accountId: number,
  refs: (number | string)[],
): Promise<number[]> {
  const wanted = refs.map((r) => String(r).trim()).filter(Boolean);
  if (wanted.length === 0) return [];
  const numeric = [...new Set(wanted.filter((r) => /^\d+$/.test(r)).map(Number))];
  const numbers = [...new Set(wanted.map((r) => r.toLowerCase()))];
  const rows = await db
    .select({ id: orders.id, number: orders.number })
    .from(orders)
    .where(
      and(
        eq(orders.accountId, accountId),
        numeric.length
          ? sql`(${inArray(orders.id, numeric)} or ${inArray(sql`lower(${orders.number})`, numbers)})`
          : inArray(sql`lower(${orders.number})`, numbers),
      ),
    );
  const byNumber = new Map(rows.map((r) => [r.number.toLowerCase(), r.id]));
  const byId = new Set(rows.map((r) => r.id));
  const ids: number[] = [];
  const missing: string[] = [];
  for (const r of wanted) {
    const id = /^\d+$/.test(r) && byId.has(Number(r)) ? Number(r) : byNumber.get(r.toLowerCase());
    if (id === undefined) missing.push(r);
    else if (!ids.includes(id)) ids.push(id);
  }
  if (missing.length) {
    throw new AppError(
      404,
      "not_found",
      `orders not found: ${missing.slice(0, 20).join(", ")}${missing.length > 20 ? ` and ${missing.length - 20} more` : ""}`,
      { missing },
    );
  }
  return ids;
}
