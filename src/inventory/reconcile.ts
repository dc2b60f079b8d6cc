import { and, eq, inArray, sql } from "drizzle-orm";
import type { AppContext } from "../context.ts";
import { badRequest, notFound } from "../core/errors.ts";
import { connections, inventoryLedger, inventoryLots, listings, outbox } from "../db/schema.ts";
import type { JobQueue } from "../jobs/queue.ts";
import { getAdapter } from "../marketplaces/registry.ts";
import type { MarketplaceLot } from "../marketplaces/types.ts";
import { requestSync } from "../sync/engine.ts";
import { requestDispatch } from "../sync/outbox.ts";
import { openAdapter } from "../sync/session.ts";
import { queueStockPush, type StockPushPayload, writeLedger } from "./ledger.ts";
import { truthMarketplaces } from "./truth.ts";

export interface ReconcileResult {
  checked: number;
  /** Lots where BrickLink's quantity won (a "reconcile" ledger row each). */
  adopted: { lotId: number; externalId: string; was: number; now: number }[];
  /** Lots a pending push explains: left alone. */
  explained: number;
  proposals: {
    create: { externalId: string; itemNo: string | null; colorName: string | null; quantity: number }[];
    delete: { lotId: number; externalId: string; itemNo: string | null; quantity: number }[];
  };
  applied: { created: number; deleted: number };
}

/** Waits for the connection's order sync, so an order that just arrived is applied before stock is compared. */
async function syncFirst(ctx: AppContext, queue: JobQueue, accountId: number, connectionId: number) {
  const { runId } = await requestSync(ctx, queue, { accountId, connectionId, trigger: "manual" });
  const deadline = Date.now() + 120_000;
  for (;;) {
    const r = await ctx.db.execute<{ state: string }>(sql`select state from sync_runs where id = ${runId}`);
    const state = ((r as unknown as { rows?: { state: string }[] }).rows ??
      (r as unknown as { state: string }[]))[0]?.state;
    if (state && !["queued", "running"].includes(state)) return;
    if (Date.now() > deadline)
      throw badRequest("the order sync before the reconcile did not finish in 2 minutes; try again");
    // Without a worker polling in this process (the CLI), run the queue here.
    if (!queue.worksJobs) await queue.runUntilIdle({ maxJobs: 5 });
    await new Promise((res) => setTimeout(res, 200));
  }
}

/**
 * BrickLink is the truth (seed 3.4.3): orders are synced first, then BrickLink's inventory is
 * compared with the lots. Where a lot differs and no pending push explains it, BrickLink's quantity
 * is adopted (a "reconcile" ledger row) and the difference goes to the other marketplaces. Lots on
 * one side only are proposed — created or deleted only with `approve`, never silently.
 */
export async function reconcile(
  ctx: AppContext,
  queue: JobQueue,
  input: { accountId: number; connectionId: number; approve?: boolean; userId?: number | null },
): Promise<ReconcileResult> {
  const [conn] = await ctx.db
    .select()
    .from(connections)
    .where(and(eq(connections.accountId, input.accountId), eq(connections.id, input.connectionId)));
  if (!conn || conn.disabledAt) throw notFound("connection");
  const adapter = getAdapter(conn.marketplace);
  const stock = adapter.stock;
  const truthName = adapter.manifest.displayName;
  if (stock.mode === "none" || adapter.manifest.capabilities.stockSource !== "truth")
    throw badRequest(
      `reconcile runs against the ${truthMarketplaces().name} connection (${truthMarketplaces().name} is the truth)`,
    );
  await syncFirst(ctx, queue, input.accountId, conn.id);
  const session = await openAdapter(ctx, conn, "stock", {
    logger: ctx.logger.child({ connectionId: conn.id, reconcile: true }),
  });
  let remote: MarketplaceLot[];
  try {
    remote = await stock.fetchInventory(session.actx);
  } finally {
    await session.close();
  }
  const result: ReconcileResult = {
    checked: remote.length,
    adopted: [],
    explained: 0,
    proposals: { create: [], delete: [] },
    applied: { created: 0, deleted: 0 },
  };
  await ctx.db.transaction(async (tx) => {
    // One stock writer per account at a time: order intake waits for this, or this for it.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('stock'), ${input.accountId}::int)`);
    const local = await tx
      .select({ listing: listings, lot: inventoryLots })
      .from(listings)
      .innerJoin(inventoryLots, eq(inventoryLots.id, listings.lotId))
      .where(eq(listings.connectionId, conn.id));
    const byExternal = new Map(local.map((l) => [l.listing.externalId, l]));
    const pending = await tx
      .select({ payload: outbox.payload })
      .from(outbox)
      .where(
        and(
          eq(outbox.connectionId, conn.id),
          eq(outbox.kind, "stock"),
          inArray(outbox.status, ["pending", "sending"]),
        ),
      );
    const waiting = new Map<number, number>();
    for (const p of pending) {
      const pl = p.payload as StockPushPayload;
      waiting.set(pl.listingId, (waiting.get(pl.listingId) ?? 0) + pl.delta);
    }
    // A push that failed is not on its way: it waits for exactly this (often "reconcile it before
    // sending more"). BrickLink's quantity now settles the lot, so the push is closed for good —
    // sending its delta later would count it twice.
    await tx
      .update(outbox)
      .set({
        status: "dead",
        lastError: sql`coalesce(${outbox.lastError}, '') || ${` — settled by the reconcile of ${ctx.clock.now().toISOString()}: ${truthName}'s quantity was taken`}`,
      })
      .where(and(eq(outbox.connectionId, conn.id), eq(outbox.kind, "stock"), eq(outbox.status, "failed")));
    const seen = new Set<string>();
    for (const r of remote) {
      seen.add(r.externalId);
      const l = byExternal.get(r.externalId);
      if (!l) {
        result.proposals.create.push({
          externalId: r.externalId,
          itemNo: r.itemNo,
          colorName: r.colorName,
          quantity: r.quantity,
        });
        continue;
      }
      await tx
        .update(listings)
        .set({ quantitySeen: r.quantity, syncedAt: ctx.clock.now() })
        .where(eq(listings.id, l.listing.id));
      if (r.quantity === l.lot.quantity) continue;
      if (waiting.has(l.listing.id)) {
        // A push on its way explains (or may explain) the difference: leave it to land.
        result.explained++;
        continue;
      }
      const diff = r.quantity - l.lot.quantity;
      await writeLedger(tx, {
        accountId: input.accountId,
        lotId: l.lot.id,
        kind: "reconcile",
        quantityDelta: diff,
        reservedDelta: 0,
        reason: `${truthName} shows ${r.quantity}, Orderhub had ${l.lot.quantity}: ${truthName} wins`,
        userId: input.userId ?? null,
      });
      await queueStockPush(tx, {
        accountId: input.accountId,
        lotId: l.lot.id,
        delta: diff,
        exceptMarketplace: conn.marketplace,
        reason: "reconcile",
        at: ctx.clock.now(),
      });
      result.adopted.push({
        lotId: l.lot.id,
        externalId: r.externalId,
        was: l.lot.quantity,
        now: r.quantity,
      });
    }
    for (const l of local) {
      if (!seen.has(l.listing.externalId))
        result.proposals.delete.push({
          lotId: l.lot.id,
          externalId: l.listing.externalId,
          itemNo: l.lot.itemNo,
          quantity: l.lot.quantity,
        });
    }
    if (!input.approve) return;
    for (const d of result.proposals.delete) {
      // BrickLink no longer has the lot: take it off sale everywhere, keep the lot and its history.
      const [lot] = await tx.select().from(inventoryLots).where(eq(inventoryLots.id, d.lotId));
      if (lot && lot.quantity !== 0) {
        await writeLedger(tx, {
          accountId: input.accountId,
          lotId: d.lotId,
          kind: "reconcile",
          quantityDelta: -lot.quantity,
          reservedDelta: 0,
          reason: `${truthName} lot ${d.externalId} is gone (deletion approved)`,
          userId: input.userId ?? null,
        });
        await queueStockPush(tx, {
          accountId: input.accountId,
          lotId: d.lotId,
          delta: -lot.quantity,
          exceptMarketplace: conn.marketplace,
          reason: "reconcile delete",
          at: ctx.clock.now(),
        });
      }
      await tx
        .delete(listings)
        .where(and(eq(listings.connectionId, conn.id), eq(listings.externalId, d.externalId)));
      result.applied.deleted++;
    }
    for (const c of result.proposals.create) {
      const r = remote.find((x) => x.externalId === c.externalId)!;
      const [lot] = await tx
        .insert(inventoryLots)
        .values({
          accountId: input.accountId,
          itemType: r.itemType,
          itemNo: r.itemNo,
          colorId: r.colorId,
          colorName: r.colorName,
          condition: r.condition,
          completeness: r.completeness,
          name: r.name,
          location: r.location,
          price: r.price,
          currency: conn.currency,
          description: r.description,
        })
        .returning({ id: inventoryLots.id });
      await tx.insert(listings).values({
        accountId: input.accountId,
        lotId: lot!.id,
        connectionId: conn.id,
        marketplace: conn.marketplace,
        externalId: r.externalId,
        quantitySeen: r.quantity,
        syncedAt: ctx.clock.now(),
      });
      await tx.insert(inventoryLedger).values({
        accountId: input.accountId,
        lotId: lot!.id,
        kind: "import",
        quantityDelta: r.quantity,
        reservedDelta: 0,
        reason: `new on ${truthName} (creation approved)`,
        userId: input.userId ?? null,
      });
      await tx.update(inventoryLots).set({ quantity: r.quantity }).where(eq(inventoryLots.id, lot!.id));
      result.applied.created++;
    }
  });
  await requestDispatch(queue);
  return result;
}
