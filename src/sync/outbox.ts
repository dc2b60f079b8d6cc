import { and, asc, eq, inArray, min, sql } from "drizzle-orm";
import type { AppContext } from "../context.ts";
import { isMarketplaceError } from "../core/errors.ts";
import type { ConnectionRow } from "../db/repos/connections.ts";
import { connections, outbox } from "../db/schema.ts";
import type { JobQueue } from "../jobs/queue.ts";
import type { AdapterContext, MarketplaceAdapter } from "../marketplaces/types.ts";
import { classify, defaultRetryPolicy, type RetryPolicy } from "./retry.ts";
import { type AdapterSession, openAdapter } from "./session.ts";

export type OutboxRow = typeof outbox.$inferSelect;

/**
 * Claimed rows are leased this long, renewed every third of it while the push runs; a process that
 * dies mid-push gives its row back when the lease runs out.
 */
const LEASE_MS = 30_000;
/**
 * Transient failures are retried this many times (backing off to 5 minutes apart: about an hour
 * of a marketplace failing) before a person is asked. Rate-limit waits do not count.
 */
export const MAX_PUSH_ATTEMPTS = 20;
/** How long after a write whose answer was lost the push reads back: late requests land first. */
const AMBIGUOUS_WAIT_MS = 60_000;
const pushRetryPolicy: RetryPolicy = { ...defaultRetryPolicy, maxAttempts: MAX_PUSH_ATTEMPTS };

export interface PushContext {
  adapter: MarketplaceAdapter<unknown>;
  actx: AdapterContext;
  connection: ConnectionRow;
  /** Stores progress of a multi-step push, so a retry continues where it stopped. */
  saveProgress(payload: unknown): Promise<void>;
}

/**
 * What a kind of outbox row does. `push` performs the marketplace calls (throwing MarketplaceErrors
 * as they come); `onSent`/`onFailed` run in the transaction that settles the row.
 */
export interface OutboxHandler {
  push(row: OutboxRow, p: PushContext): Promise<void>;
  onSent?(
    tx: Parameters<Parameters<AppContext["db"]["transaction"]>[0]>[0],
    row: OutboxRow,
    at: Date,
  ): Promise<void>;
  onFailed?(
    tx: Parameters<Parameters<AppContext["db"]["transaction"]>[0]>[0],
    row: OutboxRow,
    reason: string,
    at: Date,
  ): Promise<void>;
}

const handlers = new Map<string, OutboxHandler>();
export function registerOutboxHandler(kind: string, h: OutboxHandler): void {
  handlers.set(kind, h);
}

/** Takes the next due row (quantity pushes before others by priority), leased to this process. */
async function claim(ctx: AppContext, now: Date): Promise<OutboxRow | null> {
  const lease = new Date(now.getTime() + LEASE_MS);
  const rows = await ctx.db.execute<Record<string, unknown>>(sql`
    with picked as (
      select id, status as was from ${outbox} o
      where status in ('pending', 'sending') and next_attempt_at <= ${now}
        -- One listing's stock pushes go out one at a time, in order: a read-back after a lost answer
        -- can then tell exactly whether that one change landed.
        and (o.kind <> 'stock' or not exists (
          select 1 from ${outbox} e
          where e.kind = 'stock' and e.status in ('pending', 'sending')
            and (e.payload->>'listingId') = (o.payload->>'listingId') and e.id < o.id))
      order by priority, id
      limit 1
      for update skip locked
    )
    update ${outbox} set status = 'sending', attempts = ${outbox.attempts} + 1, next_attempt_at = ${lease}
    from picked where ${outbox.id} = picked.id
    returning ${outbox.id} as id, picked.was as was`);
  const picked =
    (rows as unknown as { rows?: { id: number; was: string }[] }).rows?.[0] ??
    (rows as unknown as { id: number; was: string }[])[0];
  if (picked === undefined) return null;
  const [row] = await ctx.db
    .select()
    .from(outbox)
    .where(eq(outbox.id, Number(picked.id)));
  if (!row) return null;
  if (picked.was === "sending") {
    // Its last attempt was cut off (the process died mid-push): the write may have landed, so the
    // handler reads back before repeating it.
    const payload = { ...(row.payload as object), ambiguous: true };
    await ctx.db.update(outbox).set({ payload }).where(eq(outbox.id, row.id));
    return { ...row, payload };
  }
  return row;
}

export interface DispatchResult {
  sent: number;
  retried: number;
  failed: number;
}

/**
 * Sends due outbox rows until none is due: each row's push runs through the connection's budget;
 * success settles it, a transient failure or a spent budget puts it back with a time, anything a
 * person has to fix fails it with the marketplace's reason. Nothing is dropped.
 */
export async function dispatchOutbox(
  ctx: AppContext,
  opts: { queue?: JobQueue; signal?: AbortSignal; retryPolicy?: RetryPolicy; maxRows?: number } = {},
): Promise<DispatchResult> {
  const result: DispatchResult = { sent: 0, retried: 0, failed: 0 };
  const policy = opts.retryPolicy ?? pushRetryPolicy;
  const sessions = new Map<string, AdapterSession>();
  try {
    for (let n = 0; n < (opts.maxRows ?? 10_000); n++) {
      if (opts.signal?.aborted) break;
      const now = ctx.clock.now();
      const row = await claim(ctx, now);
      if (!row) break;
      const handler = handlers.get(row.kind);
      const [conn] = await ctx.db.select().from(connections).where(eq(connections.id, row.connectionId));
      if (!handler || !conn) {
        await settleFailed(ctx, row, handler, !handler ? `no handler for ${row.kind}` : "connection removed");
        result.failed++;
        continue;
      }
      // One session per connection and purpose: a fulfilment push is never counted as stock work.
      const purpose = row.kind.startsWith("stock") ? "stock" : "fulfilment";
      const key = `${conn.id}:${purpose}`;
      let session = sessions.get(key);
      if (!session) {
        session = await openAdapter(ctx, conn, purpose, opts.signal ? { signal: opts.signal } : {});
        sessions.set(key, session);
      }
      const { adapter } = session;
      const actx: AdapterContext = {
        ...session.actx,
        logger: ctx.logger.child({ outboxId: row.id, connectionId: conn.id, marketplace: conn.marketplace }),
      };
      let payload = row.payload;
      const renew = setInterval(() => {
        void ctx.db
          .update(outbox)
          .set({ nextAttemptAt: new Date(ctx.clock.now().getTime() + LEASE_MS) })
          .where(and(eq(outbox.id, row.id), eq(outbox.status, "sending")))
          .catch((err) => ctx.logger.warn({ err, outboxId: row.id }, "could not renew a push's lease"));
      }, LEASE_MS / 3);
      renew.unref();
      try {
        try {
          await handler.push(row, {
            adapter,
            actx,
            connection: conn,
            async saveProgress(p) {
              payload = p;
              await ctx.db.update(outbox).set({ payload: p }).where(eq(outbox.id, row.id));
            },
          });
        } finally {
          clearInterval(renew);
        }
        const at = ctx.clock.now();
        await ctx.db.transaction(async (tx) => {
          await tx
            .update(outbox)
            .set({ status: "sent", sentAt: at, lastError: null, payload })
            .where(eq(outbox.id, row.id));
          await handler.onSent?.(tx, { ...row, payload }, at);
        });
        result.sent++;
        ctx.logger.debug({ outboxId: row.id, kind: row.kind, attempts: row.attempts }, "push sent");
        await ctx.events.publish(row.accountId, {
          type: "push.updated",
          pushId: row.id,
          orderId: row.orderId,
          state: "sent",
        });
      } catch (err) {
        if (opts.signal?.aborted) {
          // Stopping: the row goes back as it was; the lease makes sure nobody else took it meanwhile.
          await ctx.db
            .update(outbox)
            .set({ status: "pending", nextAttemptAt: ctx.clock.now() })
            .where(eq(outbox.id, row.id));
          break;
        }
        const d = classify(err, row.attempts, policy);
        const message = ctx.secrets.scrub(err instanceof Error ? err.message : String(err));
        const ambiguous = isMarketplaceError(err) && err.kind === "ambiguous_write";
        if (
          (d.retry && row.attempts < MAX_PUSH_ATTEMPTS) ||
          (ambiguous && row.attempts < MAX_PUSH_ATTEMPTS)
        ) {
          // An ambiguous write is looked at again after a while (a request we gave up on may still
          // be carried out there meanwhile): the handler reads back before repeating it.
          const delay = ambiguous ? Math.max(AMBIGUOUS_WAIT_MS, d.delayMs) : d.delayMs;
          await ctx.db
            .update(outbox)
            .set({
              status: "pending",
              nextAttemptAt: new Date(ctx.clock.now().getTime() + delay),
              lastError: message,
              payload: ambiguous ? { ...(payload as object), ambiguous: true } : payload,
              // Waits the marketplace imposed (rate limits) do not use up attempts.
              ...(d.burnsAttempt ? {} : { attempts: Math.max(0, row.attempts - 1) }),
            })
            .where(eq(outbox.id, row.id));
          result.retried++;
          ctx.logger.info(
            { outboxId: row.id, kind: row.kind, attempts: row.attempts, delayMs: delay, reason: message },
            "push will be tried again",
          );
          await ctx.events.publish(row.accountId, {
            type: "push.updated",
            pushId: row.id,
            orderId: row.orderId,
            state: "pending",
          });
        } else {
          await settleFailed(ctx, { ...row, payload }, handler, message);
          result.failed++;
        }
      }
    }
  } finally {
    for (const x of sessions.values()) await x.close().catch(() => {});
  }
  if (opts.queue) await scheduleNext(ctx, opts.queue);
  return result;
}

async function settleFailed(
  ctx: AppContext,
  row: OutboxRow,
  handler: OutboxHandler | undefined,
  reason: string,
) {
  const at = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    await tx
      .update(outbox)
      .set({ status: "failed", lastError: reason, payload: row.payload })
      .where(eq(outbox.id, row.id));
    await handler?.onFailed?.(tx, row, reason, at);
  });
  ctx.logger.warn({ outboxId: row.id, reason }, "push failed; it needs a person");
  await ctx.events.publish(row.accountId, {
    type: "push.updated",
    pushId: row.id,
    orderId: row.orderId,
    state: "failed",
  });
}

/**
 * Asks for the dispatcher now, after the transaction that queued pushes has committed (a job that has
 * not started yet then sees them; a crash before this call is covered by the worker's start-up check
 * and its sweep).
 */
export async function requestDispatch(queue: JobQueue): Promise<void> {
  await queue.sendUnlessWaiting("outbox.dispatch");
  queue.nudge?.("outbox.dispatch");
}

/** Queues the dispatcher for the earliest row still waiting (retries, budget waits). */
export async function scheduleNext(ctx: AppContext, queue: JobQueue): Promise<void> {
  const [next] = await ctx.db
    .select({ at: min(outbox.nextAttemptAt) })
    .from(outbox)
    .where(inArray(outbox.status, ["pending", "sending"]));
  if (next?.at) await queue.sendUnlessWaiting("outbox.dispatch", next.at);
}

/** Puts failed pushes back in line (the seller's "Retry"). Returns the rows reset. */
export async function retryPushes(ctx: AppContext, accountId: number, ids: number[]): Promise<OutboxRow[]> {
  if (ids.length === 0) return [];
  return ctx.db
    .update(outbox)
    .set({ status: "pending", attempts: 0, nextAttemptAt: ctx.clock.now() })
    .where(and(eq(outbox.accountId, accountId), inArray(outbox.id, ids), eq(outbox.status, "failed")))
    .returning();
}

export async function pushesForOrders(ctx: AppContext, accountId: number, orderIds: number[]) {
  if (orderIds.length === 0) return [];
  return ctx.db
    .select()
    .from(outbox)
    .where(and(eq(outbox.accountId, accountId), inArray(outbox.orderId, orderIds)))
    .orderBy(asc(outbox.id));
}
