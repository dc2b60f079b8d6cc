import type { AppContext } from "../context.ts";
import { type OrderInput, unifiedOrderProblem } from "../core/order.ts";
import { wellFormedDeep } from "../core/text.ts";
import type { Tx } from "../db/connection.ts";
import { type UpsertResult, upsertOrders } from "../db/repos/orders.ts";

/** Where a batch of orders comes from. */
export interface IngestSource {
  accountId: number;
  connectionId: number;
  marketplace: string;
  /** Recorded on each event: `marketplace:bricklink`, `storefront`, `user:42`. */
  source: string;
  at: Date;
}

/** What a subscriber sees of a stored batch, inside the batch's transaction. */
export interface IngestBatch {
  source: IngestSource;
  results: UpsertResult[];
  /** Orders created or changed by this batch (unchanged ones left out). */
  touched: number[];
}

/**
 * Runs inside the transaction that stores the orders, so what it writes commits or rolls back with
 * them (stock reservations today; the production queue, digital delivery and metrics next).
 */
export interface IngestSubscriber {
  name: string;
  onOrders(tx: Tx, batch: IngestBatch): Promise<{ dispatch?: boolean } | undefined>;
}

export interface IngestFailure {
  externalId: string;
  kind: "contract_changed" | "error";
  reason: string;
}

export interface IngestOutcome {
  results: UpsertResult[];
  failures: IngestFailure[];
  /** A subscriber queued outbox work that should go out now (a sale moving stock elsewhere). */
  dispatch: boolean;
}

export interface IngestOptions {
  /** More work for the same transaction (a sync's cursor and run counters), after the orders are stored. */
  inTransaction?: (tx: Tx, outcome: Omit<IngestOutcome, "dispatch">) => Promise<void>;
}

/**
 * The one way orders enter Orderhub — sync runs, webhooks carrying orders and direct pushes (the
 * storefront) all come through here: text is made valid, each order is checked against the unified
 * model, orders and lines are upserted with their events, subscribers run, all in one transaction;
 * live events go out after the commit. An order the database refuses fails alone: the batch is
 * stored again without it, so one bad order never stops the others.
 */
export async function ingestOrders(
  ctx: AppContext,
  src: IngestSource,
  batch: OrderInput[],
  opts: IngestOptions = {},
): Promise<IngestOutcome> {
  const failures: IngestFailure[] = [];
  let good: OrderInput[] = [];
  for (const raw of batch) {
    // A lone surrogate (or a NUL) from a marketplace would make the database refuse the whole batch.
    const o = wellFormedDeep(raw);
    const problem = unifiedOrderProblem(o);
    if (problem) {
      failures.push({
        externalId: o.externalId,
        kind: "contract_changed",
        reason: `${problem.field}: ${problem.message}`,
      });
      continue;
    }
    good.push(o);
  }
  for (;;) {
    try {
      const stored = await store(ctx, src, good, failures, opts);
      await publish(ctx, src, good, stored.results);
      return { ...stored, failures };
    } catch (err) {
      if (good.length === 0) throw err;
      // Find the order the database refuses by storing each alone; the rest go in again together.
      const bad = await firstRefused(ctx, src, good);
      if (!bad) throw err;
      ctx.logger.warn({ externalId: bad.order.externalId, err: bad.error }, "order could not be stored");
      failures.push({
        externalId: bad.order.externalId,
        kind: "error",
        reason: `could not be stored: ${bad.error}`,
      });
      good = good.filter((o) => o !== bad.order);
    }
  }
}

async function store(
  ctx: AppContext,
  src: IngestSource,
  batch: OrderInput[],
  failures: IngestFailure[],
  opts: IngestOptions,
): Promise<Omit<IngestOutcome, "failures">> {
  return ctx.db.transaction(async (tx) => {
    const results = await upsertOrders(
      tx,
      { accountId: src.accountId, connectionId: src.connectionId, source: src.source, at: src.at },
      batch,
    );
    const touched = results.filter((r) => r.outcome !== "unchanged").map((r) => r.orderId);
    let dispatch = false;
    if (touched.length) {
      for (const s of ctx.ingestSubscribers) {
        const r = await s.onOrders(tx, { source: src, results, touched });
        if (r?.dispatch) dispatch = true;
      }
    }
    await opts.inTransaction?.(tx, { results, failures });
    return { results, dispatch };
  });
}

/** Stores each order alone in a transaction that is rolled back, to name the one the database refuses. */
async function firstRefused(
  ctx: AppContext,
  src: IngestSource,
  batch: OrderInput[],
): Promise<{ order: OrderInput; error: string } | null> {
  const probe = new Error("probe");
  for (const order of batch) {
    try {
      await ctx.db.transaction(async (tx) => {
        await upsertOrders(
          tx,
          { accountId: src.accountId, connectionId: src.connectionId, source: src.source, at: src.at },
          [order],
        );
        throw probe;
      });
    } catch (err) {
      if (err === probe) continue;
      return { order, error: ctx.secrets.scrub(err instanceof Error ? err.message : String(err)) };
    }
  }
  return null;
}

async function publish(ctx: AppContext, src: IngestSource, batch: OrderInput[], results: UpsertResult[]) {
  const byId = new Map(batch.map((o) => [o.externalId, o]));
  for (const r of results) {
    const o = byId.get(r.externalId);
    if (!o || r.outcome === "unchanged") continue;
    if (r.refusedStatus)
      ctx.logger.warn(
        { orderId: r.orderId, number: o.number, kept: r.status, reported: o.rawStatus },
        "the marketplace reported an older status: kept ours, the order is flagged for review",
      );
    await ctx.events.publish(
      src.accountId,
      r.outcome === "created"
        ? { type: "order.created", orderId: r.orderId, number: o.number, marketplace: o.marketplace }
        : {
            type: "order.updated",
            orderId: r.orderId,
            number: o.number,
            marketplace: o.marketplace,
            status: r.status,
          },
    );
  }
}
