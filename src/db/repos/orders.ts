import { createHash } from "node:crypto";
import { TZDate } from "@date-fns/tz";
import { and, asc, desc, eq, gte, inArray, isNull, lt, not, or, type SQL, sql } from "drizzle-orm";
import { AppError } from "../../core/errors.ts";
import { type OrderInput, orderInputSchema, type UnifiedOrder } from "../../core/order.ts";
import { isBackwardMove, type OrderReview, type OrderStatus } from "../../core/status.ts";
import { bulkInsert } from "../bulk.ts";
import type { DbOrTx } from "../connection.ts";
import { accounts, orderCounts, orderEvents, orderLines, orderSearchTerms, orders } from "../schema.ts";

export type UpsertOutcome = "created" | "updated" | "unchanged";

export interface UpsertResult {
  orderId: number;
  externalId: string;
  outcome: UpsertOutcome;
  previousStatus: OrderStatus | null;
  status: OrderStatus;
  /** The marketplace reported an older status: ours was kept and the order flagged for review. */
  refusedStatus?: OrderStatus;
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

/** Letters that carry no accent to strip (Ł is not L + a mark), spelt as a seller would type them. */
const PLAIN_LETTERS: Record<string, string> = {
  ł: "l",
  ø: "o",
  đ: "d",
  ð: "d",
  ħ: "h",
  ı: "i",
  ŀ: "l",
  ŧ: "t",
  ß: "ss",
  æ: "ae",
  œ: "oe",
  þ: "th",
};

/** Lower case without accents, so "zoe" finds "Zoë" and "lukasz" finds "Łukasz". */
export function foldText(s: string): string {
  return s
    .toLowerCase()
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .replace(/[łøđðħıŀŧßæœþ]/g, (c) => PLAIN_LETTERS[c]!);
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
    charges: o.totals.charges,
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
      rawStatus: orders.rawStatus,
      statusChangedAt: orders.statusChangedAt,
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
    await writeSearchTerms(
      db,
      ctx.accountId,
      toInsert.map(({ o }) => ({ orderId: idOf.get(o.externalId)!, order: o })),
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
        at: ctx.at,
        marketplaceAt: o.orderedAt,
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
    // An older status than ours (a shipped order reported as paid) is a claim, never a silent move back.
    const backward = isBackwardMove(prev.status, o.status);
    const review: OrderReview | null = backward
      ? {
          reason: "backward_status",
          claimedStatus: o.status,
          claimedRawStatus: o.rawStatus,
          marketplaceAt: o.statusChangedAt?.toISOString() ?? null,
          keptStatus: prev.status,
          keptRawStatus: prev.rawStatus,
          at: ctx.at.toISOString(),
        }
      : null;
    await db
      .update(orders)
      .set({
        ...orderRow(o, ctx, hash),
        ...(review
          ? {
              status: prev.status,
              rawStatus: prev.rawStatus,
              statusChangedAt: prev.statusChangedAt,
              needsReview: true,
              review,
            }
          : {}),
      })
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
        kind: review ? "status_refused" : "status_changed",
        fromStatus: prev.status,
        toStatus: o.status,
        rawStatus: o.rawStatus,
        source: ctx.source,
        at: ctx.at,
        marketplaceAt: o.statusChangedAt,
        detail: review ? { keptRawStatus: prev.rawStatus } : {},
      });
    }
    results.push({
      orderId: prev.id,
      externalId: o.externalId,
      outcome: "updated",
      previousStatus: prev.status,
      status: review ? prev.status : o.status,
      ...(review ? { refusedStatus: o.status } : {}),
    });
  }
  if (toUpdate.length) {
    await writeSearchTerms(
      db,
      ctx.accountId,
      toUpdate.map(({ o, prev }) => ({ orderId: prev.id, order: o })),
      { replace: true },
    );
  }
  return results;
}

// ---------------------------------------------------------------- search terms (written with the order)

/** The longest word kept: longer ones are cut (a pasted paragraph is not a search term). */
const MAX_TERM = 100;
const WORD_SPLIT = /[^\p{L}\p{N}]+/u;

/** Folded words of a text, two characters or more. */
/**
 * Folded words of a text, two characters or more: the pieces between spaces as they are ("o'brien",
 * "18mm") and the letters-and-digits words within them ("brien").
 */
function words(s: string | null | undefined): string[] {
  if (!s) return [];
  const tokens = foldText(s).split(/\s+/);
  return [...tokens, ...tokens.flatMap((t) => t.split(WORD_SPLIT))].filter((w) => w.length >= 2);
}

type SearchSource = Pick<UnifiedOrder, "externalId" | "buyerName" | "buyerUsername" | "buyerEmail"> & {
  lines: Pick<UnifiedOrder["lines"][number], "itemNo" | "sku" | "name">[];
};

/**
 * The words an order is found by, as the table shows it: buyer name, username and e-mail (whole, and
 * the words of the name, username and the e-mail's local part), the order's own id (its number without
 * the marketplace prefix), and each line's item number, SKU and part-name words. Folded and distinct.
 */
export function searchTerms(o: SearchSource): string[] {
  const out = new Set<string>();
  const whole = (s: string | null | undefined) => {
    const f = s ? foldText(s.trim()) : "";
    if (f) out.add(f.slice(0, MAX_TERM));
  };
  const add = (ws: string[]) => {
    for (const w of ws) out.add(w.slice(0, MAX_TERM));
  };
  add(words(o.buyerName));
  whole(o.buyerUsername);
  add(words(o.buyerUsername));
  whole(o.buyerEmail);
  add(words(o.buyerEmail?.split("@")[0]));
  whole(o.externalId);
  for (const l of o.lines) {
    whole(l.itemNo);
    whole(l.sku);
    add(words(l.name));
  }
  return [...out];
}

/**
 * Stores the search words of orders (every writer of orders or their lines calls this in the same
 * transaction); `replace` drops the words an order had before.
 */
export async function writeSearchTerms(
  db: DbOrTx,
  accountId: number,
  entries: { orderId: number; order: SearchSource }[],
  opts: { replace?: boolean } = {},
): Promise<void> {
  if (entries.length === 0) return;
  if (opts.replace) {
    await db.delete(orderSearchTerms).where(
      inArray(
        orderSearchTerms.orderId,
        entries.map((e) => e.orderId),
      ),
    );
  }
  const rows = entries.flatMap((e) =>
    searchTerms(e.order).map((term) => ({ accountId, term, orderId: e.orderId })),
  );
  if (rows.length) await bulkInsert(db, orderSearchTerms, rows);
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
  /** An instant, or a calendar day (`2026-12-01`) in `timeZone`: ordered on or after it. */
  from?: Date | string;
  /** An instant (ordered before it), or a calendar day in `timeZone`: ordered on or before that day. */
  to?: Date | string;
  /** The account's IANA time zone, for calendar days (UTC when absent or unknown). */
  timeZone?: string;
  buyer?: string;
  q?: string;
  ids?: number[];
  /** Only orders flagged for the seller's review (true) or only those not flagged (false). */
  needsReview?: boolean;
  /** Orders on hold (true): held by Orderhub (a rule or a person) or "on hold" at the marketplace; false: neither. */
  onHold?: boolean;
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
  if (q.from)
    conds.push(gte(orders.orderedAt, typeof q.from === "string" ? dayStart(q.from, q.timeZone) : q.from));
  if (q.to) conds.push(lt(orders.orderedAt, typeof q.to === "string" ? dayStart(q.to, q.timeZone, 1) : q.to));
  if (q.ids?.length) conds.push(inArray(orders.id, q.ids));
  if (q.needsReview !== undefined) conds.push(eq(orders.needsReview, q.needsReview));
  if (q.onHold !== undefined) {
    const held = or(eq(orders.onHold, true), eq(orders.status, "on_hold"))!;
    conds.push(q.onHold ? held : not(held));
  }
  if (q.buyer) {
    const p = `${escapeLike(foldText(q.buyer))}%`;
    conds.push(sql`(${orders.buyerSort} collate "C") like ${p}`);
  }
  if (q.q?.trim()) conds.push(sql`${orders.id} in (${searchIds(accountId, q.q)})`);
  return and(...conds)!;
}

/** The query with the account's time zone, where it names calendar days (one small read, only then). */
export async function withTimeZone<Q extends OrderQuery>(db: DbOrTx, accountId: number, q: Q): Promise<Q> {
  if (typeof q.from !== "string" && typeof q.to !== "string") return q;
  const [a] = await db
    .select({ timezone: accounts.timezone })
    .from(accounts)
    .where(eq(accounts.id, accountId));
  return { ...q, timeZone: a?.timezone ?? "UTC" };
}

/** Midnight starting `day` (plus `addDays`) in the time zone, UTC when it is absent or unknown. */
export function dayStart(day: string, timeZone: string | undefined, addDays = 0): Date {
  const [y, m, d] = day.split("-").map(Number) as [number, number, number];
  return new Date(new TZDate(y, m - 1, d + addDays, knownTimeZone(timeZone) ?? "UTC").getTime());
}

function knownTimeZone(tz: string | undefined): string | null {
  if (!tz) return null;
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return tz;
  } catch {
    return null;
  }
}

/**
 * What the search box matches, each kind an index lookup, united (an OR would scan every order):
 * the order number's start (`BL-12`), the order's own id after a marketplace prefix (`bl-123` → `123`),
 * the whole text as the start of one search word (an e-mail, a username, an item number, a name), and
 * for several words (split at spaces) every one of them as the start of some word of the same order
 * ("lukasz nowak", "space police"). A piece such as `o'brien` or `tile-2x2` also matches as its
 * letters-and-digits words when each has two characters or more; one-character words ("2 x 4") are
 * left out unless nothing else is left. `IN` needs no duplicates removed: the parts are `union all`.
 */
function searchIds(accountId: number, text: string): SQL {
  const raw = text.trim().toLowerCase();
  const folded = foldText(raw);
  const digits = raw.replace(/^[a-z]{2}-/, "");
  const term = (t: string) =>
    sql`(select ${orderSearchTerms.orderId} from ${orderSearchTerms} where ${orderSearchTerms.accountId} = ${accountId} and ${orderSearchTerms.term} like ${`${escapeLike(t.slice(0, MAX_TERM))}%`})`;
  const piece = (t: string) => {
    const ws = [...new Set(t.split(WORD_SPLIT).filter(Boolean))];
    return ws.length > 1 && ws.every((w) => w.length >= 2)
      ? sql`(${term(t)} union all (${sql.join(ws.map(term), sql` intersect `)}))`
      : term(t);
  };
  const tokens = [...new Set(folded.split(/\s+/).filter(Boolean))];
  const long = tokens.filter((t) => t.length >= 2);
  const pieces = long.length ? long : tokens;
  const parts: SQL[] = [
    sql`(select ${orders.id} from ${orders} where ${orders.accountId} = ${accountId} and (lower(${orders.number}) collate "C") like ${`${escapeLike(raw)}%`})`,
    sql`(select ${orders.id} from ${orders} where ${orders.accountId} = ${accountId} and ${orders.externalId} = ${digits})`,
  ];
  if (pieces.length > 1) {
    parts.push(sql`(${sql.join(pieces.map(piece), sql` intersect `)})`);
  } else if (pieces.length === 1) parts.push(piece(pieces[0]!));
  return sql.join(parts, sql` union all `);
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
  shippingMethod: string | null;
  tags: string[];
  needsReview: boolean;
  onHold: boolean;
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
          shippingMethod: orders.shippingMethod,
          tags: orders.tags,
          needsReview: orders.needsReview,
          onHold: orders.onHold,
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
/** How many orders a filter matches (a saved view's count), answered the way the table's total is. */
export async function countMatching(db: DbOrTx, accountId: number, q: OrderQuery): Promise<number> {
  return countOrders(db, accountId, q, orderFilter(accountId, q));
}

async function countOrders(db: DbOrTx, accountId: number, q: OrderQuery, where: SQL): Promise<number> {
  const narrow =
    !q.from &&
    !q.to &&
    !q.buyer &&
    !q.q &&
    !q.ids?.length &&
    !q.connectionId &&
    q.needsReview === undefined &&
    q.onHold === undefined;
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
  const searchOnly =
    q.q?.trim() &&
    !q.marketplace?.length &&
    !q.status?.length &&
    !q.from &&
    !q.to &&
    !q.buyer &&
    !q.ids?.length &&
    !q.connectionId &&
    q.needsReview === undefined &&
    q.onHold === undefined;
  if (searchOnly) {
    // The search alone: its ids are all of the account's orders already (each lookup names the account),
    // so they are counted without reading an order.
    const [row] = await db
      .select({
        n: sql<number>`(select count(distinct s.id)::int from (${searchIds(accountId, q.q!)}) as s(id))`,
      })
      .from(accounts)
      .where(eq(accounts.id, accountId));
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
      // By when Orderhub learnt each event; the marketplace's own time is shown beside it.
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
