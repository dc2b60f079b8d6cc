import { and, count, eq, inArray, sql } from "drizzle-orm";
import type { AppContext } from "../context.ts";
import { type OrderInput, unifiedOrderProblem } from "../core/order.ts";
import { isOpenStatus } from "../core/status.ts";
import { wellFormedDeep } from "../core/text.ts";
import type { DbOrTx, Tx } from "../db/connection.ts";
import { usageSince } from "../db/repos/api-usage.ts";
import type { ConnectionRow } from "../db/repos/connections.ts";
import { type UpsertResult, upsertOrders } from "../db/repos/orders.ts";
import { orders } from "../db/schema.ts";
import type { ListedOrder, ListedSummary, MarketplaceAdapter } from "../marketplaces/types.ts";
import { dailyLimit, dayStart, effectiveLimit } from "./budget.ts";
import { nextRunAt, validateSchedule } from "./scheduler.ts";

/**
 * Summary rows: an order stored from the marketplace's order list alone (number, buyer, date, status,
 * total), so the orders table is complete after one list call. Its details (lines, address) are
 * fetched afterwards — at once for orders that need action, later within what the budget leaves for
 * the rest (`orders.details` = 'pending' until then). An order whose details the marketplace no
 * longer gives stays a summary row for good ('unavailable').
 */

export type DetailsState = "complete" | "pending" | "unavailable";

export interface StoredOrderState {
  changeMarker: string | null;
  details: DetailsState;
}

/** What is stored of these orders: their change marker and whether their details are there. */
export async function storedStates(
  db: DbOrTx,
  accountId: number,
  marketplace: string,
  externalIds: string[],
): Promise<Map<string, StoredOrderState>> {
  const out = new Map<string, StoredOrderState>();
  for (let i = 0; i < externalIds.length; i += 5000) {
    const part = externalIds.slice(i, i + 5000);
    const rows = await db
      .select({ externalId: orders.externalId, changeMarker: orders.changeMarker, details: orders.details })
      .from(orders)
      .where(
        and(
          eq(orders.accountId, accountId),
          eq(orders.marketplace, marketplace),
          inArray(orders.externalId, part),
        ),
      );
    for (const r of rows) out.set(r.externalId, { changeMarker: r.changeMarker, details: r.details });
  }
  return out;
}

/** Needs the seller's action (pending, updated, paid, packed, on hold …): details first, newest first. */
export function needsAction(listed: ListedOrder): boolean {
  return isOpenStatus(listed.status);
}

/** Open orders first, then the rest; newest first within each. Orders without a summary keep their place last. */
export function byPriority<T extends ListedSummary>(list: readonly T[]): T[] {
  const rank = (s: T) => (s.listed ? (needsAction(s.listed) ? 0 : 1) : 2);
  return [...list].sort((a, b) => {
    const r = rank(a) - rank(b);
    if (r !== 0) return r;
    const ta = a.listed?.orderedAt.getTime() ?? 0;
    const tb = b.listed?.orderedAt.getTime() ?? 0;
    return tb - ta || b.externalId.localeCompare(a.externalId, "en", { numeric: true });
  });
}

/** The order a summary row stands for, in the unified model (no lines, no address). */
function summaryOrder(marketplace: string, s: ListedSummary & { listed: ListedOrder }): OrderInput {
  const l = s.listed;
  return {
    marketplace: marketplace as OrderInput["marketplace"],
    externalId: s.externalId,
    number: l.number,
    // The list's marker: a later run stores the row again only when the list shows a change
    // (`details` says whether the order itself is still to be fetched).
    changeMarker: s.changeMarker,
    status: l.status,
    rawStatus: l.rawStatus,
    paymentStatus: l.paymentStatus,
    rawPaymentStatus: l.rawPaymentStatus,
    buyerName: l.buyerName,
    buyerUsername: l.buyerUsername,
    buyerEmail: null,
    shippingAddress: null,
    orderedAt: l.orderedAt,
    updatedAt: l.statusChangedAt,
    statusChangedAt: l.statusChangedAt,
    totals: {
      currency: l.currency,
      subtotal: l.subtotal ?? l.grandTotal,
      grandTotal: l.grandTotal,
    },
    archived: l.archived,
    url: l.url,
    lines: [],
    extra: {},
    raw: null,
  };
}

export interface ListedSource {
  accountId: number;
  connectionId: number;
  marketplace: string;
  source: string;
  at: Date;
}

/**
 * Stores summary rows in the caller's transaction: new orders, and rows still without details whose
 * list entry changed. Returns what was written and the ids whose summary did not fit the unified
 * model (those are fetched whole instead).
 */
export async function storeListed(
  tx: Tx,
  src: ListedSource,
  list: readonly (ListedSummary & { listed: ListedOrder })[],
): Promise<{ results: UpsertResult[]; unfit: string[] }> {
  const unfit: string[] = [];
  const good: { input: OrderInput; listed: ListedOrder }[] = [];
  for (const s of list) {
    const input = wellFormedDeep(summaryOrder(src.marketplace, s));
    if (unifiedOrderProblem(input)) unfit.push(s.externalId);
    else good.push({ input, listed: s.listed });
  }
  if (good.length === 0) return { results: [], unfit };
  const results = await upsertOrders(
    tx,
    { accountId: src.accountId, connectionId: src.connectionId, source: src.source, at: src.at },
    good.map((g) => g.input),
  );
  const byExternal = new Map(good.map((g) => [g.input.externalId, g.listed]));
  const rows = results
    .filter((r) => r.outcome !== "unchanged")
    .map((r) => {
      const l = byExternal.get(r.externalId)!;
      return sql`(${r.orderId}::bigint, ${l.detailsAvailable ? "pending" : "unavailable"}::text, ${l.lotCount ?? 0}::int, ${l.itemCount ?? 0}::int)`;
    });
  // The counts come from the list (a row without lines would show 0 items).
  for (let i = 0; i < rows.length; i += 1000) {
    await tx.execute(sql`
      update orders set details = v.details, lot_count = v.lots, item_count = v.items
      from (values ${sql.join(rows.slice(i, i + 1000), sql`, `)}) as v(id, details, lots, items)
      where orders.id = v.id`);
  }
  return { results, unfit };
}

/** Orders whose details have now been stored whole; returns those that were summary rows until now. */
export async function markDetailed(tx: Tx, orderIds: number[]): Promise<Set<number>> {
  if (orderIds.length === 0) return new Set();
  const rows = await tx
    .update(orders)
    .set({ details: "complete" })
    .where(and(inArray(orders.id, orderIds), sql`${orders.details} <> 'complete'`))
    .returning({ id: orders.id });
  return new Set(rows.map((r) => Number(r.id)));
}

export interface DetailsBacklog {
  /** Orders listed whose details (lines, address) are still to be fetched. */
  pending: number;
  /** Calls those details cost. */
  callsNeeded: number;
  /** Calls a day the budget leaves for them after intake (null: no daily limit). */
  callsPerDay: number | null;
  /** When they will all be in at the current budget and schedule (null when none wait). */
  estimatedDoneAt: Date | null;
}

const DAY = 86_400_000;

/** Runs a day on the connection's schedule (0 when it is switched off or never fires). */
function runsPerDay(conn: Pick<ConnectionRow, "schedule" | "scheduleEnabled">, now: Date): number {
  if (!conn.scheduleEnabled) return 0;
  try {
    const schedule = validateSchedule(conn.schedule);
    if (schedule.kind === "interval") return Math.ceil((24 * 60) / schedule.minutes);
    let n = 0;
    let t = now;
    while (n < 1440) {
      t = nextRunAt(schedule, t);
      if (t.getTime() > now.getTime() + DAY) break;
      n++;
    }
    return n;
  } catch {
    return 0;
  }
}

/** How many listed orders still wait for details, and when they will be done at the current budget. */
export async function detailsBacklog(
  ctx: AppContext,
  conn: ConnectionRow,
  adapter: MarketplaceAdapter<unknown>,
  now: Date = ctx.clock.now(),
): Promise<DetailsBacklog> {
  const [row] = await ctx.db
    .select({ n: count() })
    .from(orders)
    .where(and(eq(orders.connectionId, conn.id), eq(orders.details, "pending")));
  const pending = Number(row?.n ?? 0);
  const perOrder = adapter.orders.cost?.perOrder ?? 1;
  const callsNeeded = pending * perOrder;
  const manifest = adapter.manifest;
  const day = dailyLimit(conn, manifest);
  const nextRun = conn.nextSyncAt && conn.scheduleEnabled ? conn.nextSyncAt : null;
  if (day === null) {
    return {
      pending,
      callsNeeded,
      callsPerDay: null,
      estimatedDoneAt: pending === 0 ? null : (nextRun ?? now),
    };
  }
  // History details never dip into the share kept for order intake; the schedule's list calls come first.
  const cap = effectiveLimit(day, "history", manifest.rateLimit.orderIntakeReserve);
  const listCalls = adapter.orders.cost?.listCalls({ includeArchived: false, orders: pending }) ?? 1;
  const callsPerDay = Math.max(0, cap - runsPerDay(conn, now) * listCalls);
  if (pending === 0) return { pending, callsNeeded, callsPerDay, estimatedDoneAt: null };
  const today = dayStart(now);
  const roomToday = Math.max(0, cap - (await usageSince(ctx.db, conn.id, today)));
  if (callsNeeded <= roomToday) return { pending, callsNeeded, callsPerDay, estimatedDoneAt: nextRun ?? now };
  if (callsPerDay === 0 || !nextRun) return { pending, callsNeeded, callsPerDay, estimatedDoneAt: null };
  const days = Math.ceil((callsNeeded - roomToday) / callsPerDay);
  // The last part comes with the first scheduled run of that day.
  const lastDay = new Date(today.getTime() + days * DAY);
  let at = nextRun;
  try {
    at = nextRunAt(validateSchedule(conn.schedule), new Date(lastDay.getTime() - 1));
  } catch {
    at = lastDay;
  }
  return { pending, callsNeeded, callsPerDay, estimatedDoneAt: at };
}

/**
 * Documents are not made from summary rows (they would print an order without lines or address):
 * the orders among `ids` whose details are not there, with why.
 */
export async function ordersWithoutDetails(
  db: DbOrTx,
  accountId: number,
  ids: number[],
): Promise<{ number: string; details: DetailsState }[]> {
  const out: { number: string; details: DetailsState }[] = [];
  for (let i = 0; i < ids.length; i += 5000) {
    const rows = await db
      .select({ number: orders.number, details: orders.details })
      .from(orders)
      .where(
        and(
          eq(orders.accountId, accountId),
          inArray(orders.id, ids.slice(i, i + 5000)),
          sql`${orders.details} <> 'complete'`,
        ),
      );
    out.push(...rows);
  }
  return out;
}

/** Why a document cannot be made for these orders, in words (null when all are whole). */
export function withoutDetailsMessage(list: { number: string; details: DetailsState }[]): string | null {
  if (list.length === 0) return null;
  const names = (l: typeof list) =>
    `${l
      .slice(0, 5)
      .map((o) => o.number)
      .join(", ")}${l.length > 5 ? ` and ${l.length - 5} more` : ""}`;
  const pending = list.filter((o) => o.details === "pending");
  const gone = list.filter((o) => o.details === "unavailable");
  return [
    pending.length
      ? `details not fetched yet for ${names(pending)}: they come with the next syncs (or refresh the order)`
      : null,
    gone.length ? `the marketplace no longer gives the details of ${names(gone)}` : null,
  ]
    .filter(Boolean)
    .join("; ");
}

export interface SyncEstimate {
  mode: "incremental" | "full";
  includeArchived: boolean;
  /** Orders whose details the run fetches (a full sync: every stored order that has details). */
  orders: number;
  listCalls: number;
  perOrder: number;
  /** What the run costs in API calls (an incremental one: plus `perOrder` for each new or changed order). */
  calls: number;
  dailyLimit: number | null;
  remainingToday: number | null;
  /** Days of the daily budget the run needs beyond what is left today (0: it fits today). */
  extraDays: number | null;
}

/** What a sync will cost, asked before a full sync is started. */
export async function syncEstimate(
  ctx: AppContext,
  conn: ConnectionRow,
  adapter: MarketplaceAdapter<unknown>,
  req: { mode: "incremental" | "full"; includeArchived: boolean },
  now: Date = ctx.clock.now(),
): Promise<SyncEstimate> {
  const [row] = await ctx.db
    .select({ n: count() })
    .from(orders)
    .where(
      and(
        eq(orders.connectionId, conn.id),
        sql`${orders.details} <> 'unavailable'`,
        req.includeArchived ? undefined : eq(orders.archived, false),
      ),
    );
  const stored = Number(row?.n ?? 0);
  const perOrder = adapter.orders.cost?.perOrder ?? 1;
  const listCalls =
    adapter.orders.cost?.listCalls({ includeArchived: req.includeArchived, orders: stored }) ?? 1;
  const fetched = req.mode === "full" ? stored : 0;
  const calls = listCalls + perOrder * fetched;
  const limit = dailyLimit(conn, adapter.manifest);
  const remainingToday =
    limit === null ? null : Math.max(0, limit - (await usageSince(ctx.db, conn.id, dayStart(now))));
  const extraDays =
    limit === null || remainingToday === null
      ? null
      : calls <= remainingToday
        ? 0
        : Math.ceil((calls - remainingToday) / limit);
  return {
    mode: req.mode,
    includeArchived: req.includeArchived,
    orders: fetched,
    listCalls,
    perOrder,
    calls,
    dailyLimit: limit,
    remainingToday,
    extraDays,
  };
}
