import { and, desc, eq, inArray, isNotNull, isNull, lte, or, sql } from "drizzle-orm";
import { ZodError } from "zod";
import type { AppContext } from "../context.ts";
import { isMarketplaceError, type MarketplaceError } from "../core/errors.ts";
import { MoneyParseError } from "../core/money.ts";
import type { OrderInput } from "../core/order.ts";
import type { Tx } from "../db/connection.ts";
import { describeDbError } from "../db/errors.ts";
import { refreshStatistics } from "../db/maintenance.ts";
import { readCursor, writeCursor } from "../db/repos/cursors.ts";
import { getSyncRun, isFinal, listSyncRuns, type SyncRunRow } from "../db/repos/sync-runs.ts";
import { connections, orders, syncRuns } from "../db/schema.ts";
import type { JobQueue } from "../jobs/queue.ts";
import type { ListedOrder, ListedSummary } from "../marketplaces/types.ts";
import { ingestOrders } from "./ingest.ts";
import { requestDispatch } from "./outbox.ts";
import { classify, defaultRetryPolicy, type RetryPolicy } from "./retry.ts";
import { type AdapterSession, openAdapter } from "./session.ts";
import { byPriority, markDetailed, needsAction, storedStates, storeListed } from "./summaries.ts";

export { getSyncRun, listSyncRuns };

/**
 * Why a run started, as the Sync log names it: the schedule, a seller's "Sync now", a marketplace's
 * notice, a single-order refresh, a new connection's first import, or the demo store's own activity.
 */
export type SyncTrigger = "schedule" | "manual" | "webhook" | "refresh" | "first_import" | "demo";
export type SyncMode = "incremental" | "full" | "targets";

export interface SyncRequest {
  accountId: number;
  connectionId: number;
  trigger: SyncTrigger;
  mode?: "incremental" | "full";
  includeArchived?: boolean;
  /** Fetch just these orders (webhook notices, single-order refresh, retry of failures). */
  targetIds?: string[];
}

const STREAM = "orders";
/** Waits longer than this end the job and come back later as a new job, instead of holding a worker. */
const MAX_INLINE_WAIT_MS = 60_000;
/** Orders stored per transaction inside a page, so progress is visible and a crash loses little. */
const BATCH = 50;
/** A running sync's lease, renewed every third of it; a run whose lease ran out lost its process. */
export const RUN_LEASE_MS = 30_000;

/**
 * One run per connection at a time: a second request joins the active run. Requests that name
 * orders add them to the active run's targets (fetched before it finishes). The run row and its
 * job are written in the caller's transaction.
 */
export async function requestSyncInTx(
  tx: Tx,
  queue: JobQueue,
  req: SyncRequest,
): Promise<{ runId: number; joined: boolean }> {
  const targets = req.targetIds?.length ? [...new Set(req.targetIds)] : null;
  const mode: SyncMode = targets ? "targets" : (req.mode ?? "incremental");
  const inserted = await tx
    .insert(syncRuns)
    .values({
      accountId: req.accountId,
      connectionId: req.connectionId,
      trigger: req.trigger,
      mode,
      includeArchived: Boolean(req.includeArchived),
      targetIds: targets,
    })
    .onConflictDoNothing({ target: syncRuns.connectionId, where: sql`state in ('queued', 'running')` })
    .returning({ id: syncRuns.id });
  if (inserted[0]) {
    await queue.send("sync.run", { runId: inserted[0].id }, { tx });
    return { runId: inserted[0].id, joined: false };
  }
  const [active] = await tx
    .select()
    .from(syncRuns)
    .where(and(eq(syncRuns.connectionId, req.connectionId), inArray(syncRuns.state, ["queued", "running"])))
    .for("update");
  if (!active) throw new Error("sync run vanished while joining it; try again");
  if (targets) {
    const merged = [...new Set([...(active.targetIds ?? []), ...targets])];
    await tx.update(syncRuns).set({ targetIds: merged }).where(eq(syncRuns.id, active.id));
  }
  // The running run may have read the notifications already: make it look again before it ends.
  if (req.trigger === "webhook")
    await tx.update(syncRuns).set({ noticesPending: true }).where(eq(syncRuns.id, active.id));
  return { runId: active.id, joined: true };
}

export async function requestSync(
  ctx: AppContext,
  queue: JobQueue,
  req: SyncRequest,
): Promise<{ runId: number; joined: boolean }> {
  const res = await ctx.db.transaction((tx) => requestSyncInTx(tx, queue, req));
  if (!res.joined) queue.nudge?.("sync.run");
  return res;
}

export async function cancelSync(
  ctx: AppContext,
  accountId: number,
  runId: number,
): Promise<SyncRunRow | null> {
  const run = await getSyncRun(ctx.db, accountId, runId);
  if (!run || isFinal(run.state)) return run;
  const now = ctx.clock.now();
  await ctx.db
    .update(syncRuns)
    .set({ cancelRequested: true })
    .where(and(eq(syncRuns.accountId, accountId), eq(syncRuns.id, runId)));
  // A queued run has no runner to notice the flag: cancel it here.
  await ctx.db
    .update(syncRuns)
    .set({ state: "cancelled", finishedAt: now })
    .where(and(eq(syncRuns.id, runId), eq(syncRuns.state, "queued")));
  return getSyncRun(ctx.db, accountId, runId);
}

export async function retryFailed(
  ctx: AppContext,
  queue: JobQueue,
  accountId: number,
  runId: number,
): Promise<{ runId: number; joined: boolean } | null> {
  const run = await getSyncRun(ctx.db, accountId, runId);
  if (!run) return null;
  const ids = run.failures.map((f) => f.externalId).filter((id) => id !== "*");
  if (ids.length === 0) return { runId: run.id, joined: true };
  return requestSync(ctx, queue, {
    accountId,
    connectionId: run.connectionId,
    trigger: "manual",
    targetIds: ids,
  });
}

class Deferred extends Error {
  constructor(readonly until: Date) {
    super("deferred");
  }
}
class Cancelled extends Error {}
/** The budget left for history details is spent: the rest waits for a later run. */
class HistoryBudgetSpent extends Error {}

function failureKind(err: unknown): { kind: string; reason: string } | null {
  if (isMarketplaceError(err)) return { kind: err.kind, reason: err.message };
  if (err instanceof ZodError) {
    const i = err.issues[0];
    return {
      kind: "contract_changed",
      reason: `unexpected data at ${i?.path.join(".") || "(root)"}: ${i?.message ?? ""}`,
    };
  }
  if (err instanceof MoneyParseError) return { kind: "contract_changed", reason: err.message };
  return null;
}

export interface RunOptions {
  signal?: AbortSignal;
  /** Queue to re-schedule long waits on; without one, long waits are slept through. */
  queue?: JobQueue;
  retryPolicy?: RetryPolicy;
}

/**
 * The sync job: walks the marketplace's order list, fetches only what is new or changed (or
 * everything, or just the targets), stores orders in batches and moves the cursor only together
 * with the last batch of its page. Re-running a run that was interrupted resumes it.
 */
export async function runSync(ctx: AppContext, runId: number, opts: RunOptions = {}): Promise<SyncRunRow> {
  const [first] = await ctx.db.select().from(syncRuns).where(eq(syncRuns.id, runId));
  if (!first) throw new Error(`sync run ${runId} does not exist`);
  if (isFinal(first.state)) return first;
  // One runner at a time: the lease is taken only where nobody holds it (or its holder is gone).
  const at = ctx.clock.now();
  const [claimed] = await ctx.db
    .update(syncRuns)
    .set({ leaseUntil: new Date(at.getTime() + RUN_LEASE_MS) })
    .where(and(eq(syncRuns.id, runId), or(isNull(syncRuns.leaseUntil), lte(syncRuns.leaseUntil, at))))
    .returning({ id: syncRuns.id });
  if (!claimed) {
    ctx.logger.info({ runId }, "sync run is being worked by another process; leaving it to that one");
    return first;
  }
  const renew = setInterval(() => {
    void ctx.db
      .update(syncRuns)
      .set({ leaseUntil: new Date(ctx.clock.now().getTime() + RUN_LEASE_MS) })
      .where(and(eq(syncRuns.id, runId), isNotNull(syncRuns.leaseUntil)))
      .catch((err) => ctx.logger.warn({ err, runId }, "could not renew the sync run's lease"));
  }, RUN_LEASE_MS / 3);
  renew.unref();
  try {
    return await runClaimed(ctx, first, opts);
  } finally {
    clearInterval(renew);
    await ctx.db
      .update(syncRuns)
      .set({ leaseUntil: null })
      .where(eq(syncRuns.id, runId))
      .catch((err) => ctx.logger.warn({ err, runId }, "could not release the sync run's lease"));
  }
}

async function runClaimed(ctx: AppContext, first: SyncRunRow, opts: RunOptions): Promise<SyncRunRow> {
  const runId = first.id;
  const [conn] = await ctx.db.select().from(connections).where(eq(connections.id, first.connectionId));
  if (!conn) throw new Error(`connection ${first.connectionId} does not exist`);
  const log = ctx.logger.child({ runId, connectionId: conn.id, marketplace: conn.marketplace });
  const resumed = first.startedAt !== null;
  const now = () => ctx.clock.now();
  await ctx.db
    .update(syncRuns)
    .set({ state: "running", startedAt: first.startedAt ?? now(), waitingUntil: null })
    .where(eq(syncRuns.id, runId));
  await ctx.db.update(connections).set({ lastSyncState: "running" }).where(eq(connections.id, conn.id));

  const counters = {
    seen: first.seen,
    total: first.total,
    created: first.created,
    updated: first.updated,
    skipped: first.skipped,
    failed: first.failed,
    apiCalls: first.apiCalls,
  };
  const failures = new Map(first.failures.map((f) => [f.externalId, f]));
  const session = await openAdapter(ctx, conn, "orders", {
    logger: log,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const { adapter, actx, budget } = session;
  const baseCalls = counters.apiCalls;
  const policy = opts.retryPolicy ?? defaultRetryPolicy;
  const source = `marketplace:${conn.marketplace}`;
  const done = new Set<string>();
  /** The session history details are fetched in (their own budget category), opened when needed. */
  let history: AdapterSession | null = null;

  const publishProgress = async (state: string) => {
    counters.apiCalls = baseCalls + budget.spent + (history?.budget.spent ?? 0);
    await ctx.events.publish(conn.accountId, {
      type: "sync.progress",
      runId,
      connectionId: conn.id,
      state,
      seen: counters.total === null ? counters.seen : Math.min(counters.seen, counters.total),
      total: counters.total,
      created: counters.created,
      updated: counters.updated,
      skipped: counters.skipped,
      failed: counters.failed,
    });
  };

  // Asking the database on every order would cost a query per order; a few times a second is enough.
  let lastCancelCheck = 0;
  const checkCancel = async () => {
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error("aborted");
    if (Date.now() - lastCancelCheck < 250) return;
    const [r] = await ctx.db
      .select({ c: syncRuns.cancelRequested })
      .from(syncRuns)
      .where(eq(syncRuns.id, runId));
    // Counted from when the answer came: on a busy database the check must not run before every order.
    lastCancelCheck = Date.now();
    if (r?.c) throw new Cancelled();
  };

  /** Calls the marketplace, waiting out rate limits and transient failures per the classifier. */
  async function withRetry<T>(fn: () => Promise<T>, history = false): Promise<T> {
    let attempt = 1;
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        const d = classify(err, attempt, policy);
        if (!d.retry) throw err;
        if (d.burnsAttempt) attempt++;
        const until = new Date(now().getTime() + d.delayMs);
        // History never holds the run for long: a later run goes on where this one stopped.
        if (
          history &&
          isMarketplaceError(err) &&
          err.kind === "rate_limited" &&
          d.delayMs > MAX_INLINE_WAIT_MS
        )
          throw new HistoryBudgetSpent();
        if (d.delayMs > MAX_INLINE_WAIT_MS && opts.queue) throw new Deferred(until);
        await ctx.db.update(syncRuns).set({ waitingUntil: until }).where(eq(syncRuns.id, runId));
        log.info({ delayMs: d.delayMs, reason: d.reason }, "waiting before the next call");
        await ctx.clock.sleep(d.delayMs, opts.signal);
        await ctx.db.update(syncRuns).set({ waitingUntil: null }).where(eq(syncRuns.id, runId));
      }
    }
  }

  /** Stores fetched orders (and, at the end of a page, the cursor) through the ingest pipeline. */
  let nextAnalyze = Math.max(1_000, counters.created * 2);
  const store = async (batch: OrderInput[], cursor: { value: unknown } | null) => {
    counters.apiCalls = baseCalls + budget.spent + (history?.budget.spent ?? 0);
    const outcome = await ingestOrders(
      ctx,
      { accountId: conn.accountId, connectionId: conn.id, marketplace: conn.marketplace, source, at: now() },
      batch,
      {
        async inTransaction(tx, { results, failures: refused }) {
          // A summary row whose details came in is an order taken in whole now: counted as created.
          const completed = await markDetailed(
            tx,
            results.map((r) => r.orderId),
          );
          for (const r of results) {
            counters.seen++;
            if (r.outcome === "created" || completed.has(r.orderId)) counters.created++;
            else if (r.outcome === "updated") counters.updated++;
            else counters.skipped++;
            failures.delete(r.externalId);
          }
          // An order the unified model or the database refused fails alone; the run goes on.
          for (const f of refused) {
            counters.seen++;
            if (!failures.has(f.externalId)) counters.failed++;
            failures.set(f.externalId, { externalId: f.externalId, kind: f.kind, reason: f.reason });
          }
          if (cursor) await writeCursor(tx, conn.id, STREAM, cursor.value, now());
          await tx
            .update(syncRuns)
            .set({ ...counters, failures: [...failures.values()] })
            .where(eq(syncRuns.id, runId));
        },
      },
    );
    if (outcome.dispatch && opts.queue) await requestDispatch(opts.queue);
    // A large first import changes the tables' shape as it goes: the planner learns it on the way
    // (at 1,000 new orders, 2,000, 4,000, …), or the table's searches crawl until the run ends.
    if (counters.created >= nextAnalyze) {
      nextAnalyze = counters.created * 2;
      await refreshStatistics(ctx.database).catch((err) =>
        log.warn({ err }, "could not refresh planner statistics"),
      );
    }
    await publishProgress("running");
  };

  /** Fetches one order; a failure that needs a person is recorded and the run goes on. */
  const fetchOne = async (externalId: string, inHistory = false): Promise<OrderInput | null> => {
    try {
      const order = await withRetry(
        () => adapter.orders.fetchOrder(inHistory && history ? history.actx : actx, externalId),
        inHistory,
      );
      done.add(externalId);
      return order;
    } catch (err) {
      if (err instanceof Deferred || err instanceof Cancelled || err instanceof HistoryBudgetSpent) throw err;
      if (isMarketplaceError(err) && err.kind === "auth") throw err;
      if (opts.signal?.aborted) throw err;
      const f = failureKind(err) ?? {
        kind: "error",
        reason: err instanceof Error ? err.message : String(err),
      };
      log.warn({ externalId, kind: f.kind, reason: f.reason }, "order could not be synced");
      counters.seen++;
      if (!failures.has(externalId)) counters.failed++;
      // A marketplace may echo a credential in its error text: it is never stored.
      failures.set(externalId, { externalId, ...f, reason: ctx.secrets.scrub(f.reason) });
      done.add(externalId);
      return null;
    }
  };

  /** Fetches (or takes from the page, where it carried whole orders) and stores them in batches. */
  const fetchAndStore = async (
    ids: string[],
    cursor: { value: unknown } | null,
    given: ReadonlyMap<string, OrderInput> = new Map(),
    inHistory = false,
  ) => {
    let batch: OrderInput[] = [];
    try {
      for (const id of ids) {
        await checkCancel();
        const whole = given.get(id);
        if (whole) done.add(id);
        const o = whole ?? (await fetchOne(id, inHistory));
        if (o) batch.push(o);
        if (batch.length >= BATCH) {
          await store(batch, null);
          batch = [];
        }
      }
    } catch (err) {
      // Keep what was already fetched (the calls are spent); the cursor stays where it was.
      if (batch.length && !opts.signal?.aborted) await store(batch, null);
      throw err;
    }
    await store(batch, cursor);
  };

  /** Stores the list's summary rows (new orders, rows still without details) and tells the UI. */
  const storeSummaries = async (list: (ListedSummary & { listed: ListedOrder })[]): Promise<string[]> => {
    const unfit: string[] = [];
    let created = 0;
    for (let i = 0; i < list.length; i += 1000) {
      const part = list.slice(i, i + 1000);
      const listedOf = new Map(part.map((p) => [p.externalId, p.listed]));
      const src = {
        accountId: conn.accountId,
        connectionId: conn.id,
        marketplace: conn.marketplace,
        source,
        at: now(),
      };
      const written = await ctx.db.transaction(async (tx) => {
        const out = await storeListed(tx, src, part);
        // A row whose details never come is done; the others count when their details are in.
        for (const r of out.results) {
          const final = listedOf.get(r.externalId)?.detailsAvailable === false;
          if (!final) continue;
          counters.seen++;
          if (r.outcome === "created") counters.created++;
          else if (r.outcome === "updated") counters.updated++;
          else counters.skipped++;
        }
        counters.apiCalls = baseCalls + budget.spent + (history?.budget.spent ?? 0);
        await tx
          .update(syncRuns)
          .set({ ...counters, failures: [...failures.values()] })
          .where(eq(syncRuns.id, runId));
        return out;
      });
      unfit.push(...written.unfit);
      created += written.results.filter((r) => r.outcome === "created").length;
      for (const r of written.results) {
        if (r.outcome === "unchanged") continue;
        const number = listedOf.get(r.externalId)!.number;
        await ctx.events.publish(
          conn.accountId,
          r.outcome === "created"
            ? { type: "order.created", orderId: r.orderId, number, marketplace: conn.marketplace }
            : {
                type: "order.updated",
                orderId: r.orderId,
                number,
                marketplace: conn.marketplace,
                status: r.status,
              },
        );
      }
      await publishProgress("running");
    }
    // A first import lists thousands of orders at once: the planner learns the table's new shape now.
    if (created >= 1_000)
      await refreshStatistics(ctx.database).catch((err) =>
        log.warn({ err }, "could not refresh planner statistics"),
      );
    return unfit;
  };

  /**
   * Targets: the run's own (refresh, webhook, retry), any added while it ran, and orders named by
   * push notifications that arrived meanwhile.
   */
  const drainTargets = async () => {
    for (;;) {
      const [flag] = await ctx.db
        .update(syncRuns)
        .set({ noticesPending: false })
        .where(and(eq(syncRuns.id, runId), eq(syncRuns.noticesPending, true)))
        .returning({ id: syncRuns.id });
      if (flag && adapter.notices.style === "ping") {
        const notices = adapter.notices;
        const notice = await withRetry(() => notices.drain(actx));
        const fresh = notice.externalOrderIds.filter((id) => !done.has(id));
        if (fresh.length) {
          const [cur] = await ctx.db
            .select({ t: syncRuns.targetIds })
            .from(syncRuns)
            .where(eq(syncRuns.id, runId));
          await ctx.db
            .update(syncRuns)
            .set({ targetIds: [...new Set([...(cur?.t ?? []), ...fresh])] })
            .where(eq(syncRuns.id, runId));
        }
      }
      const [r] = await ctx.db.select({ t: syncRuns.targetIds }).from(syncRuns).where(eq(syncRuns.id, runId));
      const pending = (r?.t ?? []).filter((id) => !done.has(id));
      if (pending.length === 0 && flag) continue;
      if (pending.length === 0) break;
      if (first.mode === "targets") counters.total = (r?.t ?? []).length;
      await fetchAndStore(pending, null);
    }
  };

  /** Details of summary rows still without them, newest first, batch by batch; intake goes between. */
  const fetchHistory = async () => {
    let left = 0;
    for (;;) {
      await checkCancel();
      const rows = await ctx.db
        .select({ externalId: orders.externalId })
        .from(orders)
        .where(and(eq(orders.connectionId, conn.id), eq(orders.details, "pending")))
        .orderBy(desc(orders.orderedAt), desc(orders.id))
        .limit(BATCH + left);
      // Orders tried in this run and still without details (they failed) are not tried again.
      const ids = rows.map((r) => r.externalId).filter((id) => !done.has(id));
      left = rows.length - ids.length;
      if (ids.length === 0) return;
      history ??= await openAdapter(ctx, conn, "history", {
        logger: log,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      try {
        await fetchAndStore(ids, null, new Map(), true);
      } catch (err) {
        if (!(err instanceof HistoryBudgetSpent)) throw err;
        log.info("the budget left for order history is spent; the rest comes with later runs");
        return;
      }
      await drainTargets();
    }
  };

  try {
    let walk = first.mode !== "targets";
    const notices = adapter.notices;
    if (first.trigger === "webhook" && notices.style === "ping" && first.mode !== "full") {
      // A push ping: ask which orders changed and fetch just those; the schedule keeps polling anyway.
      const notice = await withRetry(() => notices.drain(actx));
      const [r] = await ctx.db.select({ t: syncRuns.targetIds }).from(syncRuns).where(eq(syncRuns.id, runId));
      const merged = [...new Set([...(r?.t ?? []), ...notice.externalOrderIds])];
      await ctx.db.update(syncRuns).set({ targetIds: merged }).where(eq(syncRuns.id, runId));
      walk = false;
    }
    if (walk) {
      const stored = first.mode === "full" && !resumed ? null : await readCursor(ctx.db, conn.id, STREAM);
      const parsed = stored === null ? null : adapter.orders.checkpointSchema.safeParse(stored);
      let checkpoint: unknown = parsed?.success ? parsed.data : null;
      if (parsed && !parsed.success) log.warn("stored cursor no longer fits; starting from the beginning");
      for (;;) {
        await checkCancel();
        const page = await withRetry(() =>
          adapter.orders.page(actx, {
            checkpoint,
            mode: first.mode === "full" ? "full" : "incremental",
            includeArchived: first.includeArchived,
          }),
        );
        const summaries = page.summaries.filter((s) => first.includeArchived || !s.archived);
        if (page.total !== undefined) counters.total = page.total;
        const states = await storedStates(
          ctx.db,
          conn.accountId,
          conn.marketplace,
          summaries.map((s) => s.externalId),
        );
        const toFetch: ListedSummary[] = [];
        const toList: (ListedSummary & { listed: ListedOrder })[] = [];
        for (const s of summaries) {
          const known = states.get(s.externalId);
          const failedBefore = failures.has(s.externalId);
          if (known?.details === "complete") {
            const unchanged =
              first.mode !== "full" && s.changeMarker !== null && known.changeMarker === s.changeMarker;
            // No details any more (purged): what is stored stays as it is.
            if ((unchanged && !failedBefore) || s.listed?.detailsAvailable === false) {
              counters.seen++;
              counters.skipped++;
              done.add(s.externalId);
            } else toFetch.push(s);
            continue;
          }
          if (!s.listed) {
            toFetch.push(s);
            continue;
          }
          // New, or a summary row the list shows changed: the list's fields are stored at once.
          if (!known || s.changeMarker === null || known.changeMarker !== s.changeMarker)
            toList.push(s as ListedSummary & { listed: ListedOrder });
          else if (!s.listed.detailsAvailable) {
            counters.seen++;
            counters.skipped++;
          }
          if (s.listed.detailsAvailable && (needsAction(s.listed) || failedBefore)) toFetch.push(s);
          else if (!s.listed.detailsAvailable) done.add(s.externalId);
          // The rest (history) is fetched after intake, within what the budget leaves.
        }
        // A summary that does not fit the unified model is fetched whole instead.
        const unfit = new Set(await storeSummaries(toList));
        for (const s of toList) if (unfit.has(s.externalId) && !toFetch.includes(s)) toFetch.push(s);
        // Pages that carry whole orders need no fetch per order (eBay, Etsy, Amazon searchOrders).
        const given =
          page.shape === "orders" ? new Map(page.orders.map((o) => [o.externalId, o])) : undefined;
        // The list is in: progress starts from what is already done (unchanged orders), not from all.
        await publishProgress("running");
        // Orders that need action first, newest first: a short budget goes to them.
        const ordered = toFetch.some((x) => x.listed) ? byPriority(toFetch) : toFetch;
        await fetchAndStore(
          ordered.map((s) => s.externalId),
          { value: page.checkpoint },
          given,
        );
        checkpoint = page.checkpoint;
        if (page.done) break;
      }
      if (counters.total === null) counters.total = counters.seen;
    }
    await drainTargets();
    // History: details of listed orders that need no action, newest first, within what the budget
    // leaves after intake (never from the share kept for new orders); the rest waits for later runs.
    if (walk) await fetchHistory();
    return await finish(counters.failed > 0 ? "completed_with_errors" : "completed", null);
  } catch (err) {
    if (err instanceof Deferred && opts.queue) {
      await ctx.db.transaction(async (tx) => {
        await tx
          .update(syncRuns)
          .set({ waitingUntil: err.until, ...counters })
          .where(eq(syncRuns.id, runId));
        await opts.queue!.send("sync.run", { runId }, { tx, startAfter: err.until });
      });
      log.info({ until: err.until }, "sync paused until the marketplace budget allows more calls");
      await publishProgress("waiting");
      const [row] = await ctx.db.select().from(syncRuns).where(eq(syncRuns.id, runId));
      return row!;
    }
    if (err instanceof Cancelled) return await finish("cancelled", null);
    if (opts.signal?.aborted) throw err;
    if (isMarketplaceError(err)) {
      const d = classify(err, policy.maxAttempts, policy);
      return await finish("failed", actionable(err, d.reason));
    }
    log.error({ err }, "sync run failed");
    return await finish("failed", `sync failed: ${describeDbError(err)}`);
  } finally {
    // Calls leased but not made go back to the shared budget.
    await session.close().catch((err) => log.warn({ err }, "could not return unused API calls"));
    await (history as AdapterSession | null)
      ?.close()
      .catch((err) => log.warn({ err }, "could not return unused API calls"));
  }

  async function finish(state: SyncRunRow["state"], raw: string | null): Promise<SyncRunRow> {
    const error = raw === null ? null : ctx.secrets.scrub(raw);
    counters.apiCalls = baseCalls + budget.spent + (history?.budget.spent ?? 0);
    const at = now();
    const [row] = await ctx.db
      .update(syncRuns)
      .set({
        ...counters,
        state,
        error,
        finishedAt: at,
        waitingUntil: null,
        failures: [...failures.values()],
      })
      .where(eq(syncRuns.id, runId))
      .returning();
    await ctx.db
      .update(connections)
      .set({
        lastSyncAt: at,
        lastSyncState: state,
        lastError: error,
        ...(state === "completed" || state === "completed_with_errors"
          ? { baselineAt: conn!.baselineAt ?? at }
          : {}),
      })
      .where(eq(connections.id, conn!.id));
    await publishProgress(state);
    await ctx.events.publish(conn!.accountId, { type: "connection.updated", connectionId: conn!.id });
    log.info({ state, ...counters }, "sync run finished");
    return row!;
  }
}

/** What the seller should do about it, in words. */
function actionable(err: MarketplaceError, reason: string): string {
  switch (err.kind) {
    case "auth":
      return `${err.message} — reconnect this store with valid credentials`;
    case "rate_limited":
      return `${err.message} — the sync will continue when the budget allows`;
    case "transient":
      return `${err.message} — the marketplace is not answering; try again later`;
    default:
      return `${err.message} (${reason})`;
  }
}
