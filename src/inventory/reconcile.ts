import { and, eq, gt, inArray, isNull, max, ne, sql } from "drizzle-orm";
import type { AppContext } from "../context.ts";
import { badRequest, notFound } from "../core/errors.ts";
import type { Tx } from "../db/connection.ts";
import { connections, inventoryLedger, inventoryLots, listings, orders, outbox } from "../db/schema.ts";
import type { JobQueue } from "../jobs/queue.ts";
import { getAdapter } from "../marketplaces/registry.ts";
import type { MarketplaceLot } from "../marketplaces/types.ts";
import { requestSync } from "../sync/engine.ts";
import { requestDispatch } from "../sync/outbox.ts";
import { openAdapter, withAdapter } from "../sync/session.ts";
import { queueListingPush, queueStockPush, type StockPushPayload, writeLedger } from "./ledger.ts";
import { truthMarketplaces } from "./truth.ts";

export interface ReconcileResult {
  checked: number;
  /** Lots where BrickLink's quantity won (a "reconcile" ledger row each). */
  adopted: { lotId: number; externalId: string; was: number; now: number }[];
  /** Lots a change still on its way explains (or that moved while the reconcile ran): left alone. */
  explained: number;
  /** Linked lots on the other marketplaces sent what brings them to BrickLink's quantity. */
  aligned: { lotId: number; marketplace: string; externalId: string; was: number; now: number }[];
  /** Lots nothing explains: nothing was pushed for them; the reason stays on the lot until it is in step. */
  flagged: { lotId: number; marketplace: string; externalId: string; reason: string }[];
  /** Linked marketplaces whose inventory could not be read (their lots were left as they are). */
  unread: { connectionId: number; name: string; error: string }[];
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

/** One linked marketplace's lots as read for this reconcile. */
interface OtherStore {
  conn: typeof connections.$inferSelect;
  name: string;
  remote: Map<string, MarketplaceLot>;
}

/**
 * BrickLink is the truth (seed 3.4.3). Orders of every linked marketplace are synced first, so each
 * sale is applied and what another marketplace sold is on its way to BrickLink (a push waiting for
 * BrickLink is counted, never overwritten). Then BrickLink's inventory is compared with the lots:
 * where a lot differs and no change on its way explains it, BrickLink's quantity is adopted (a
 * "reconcile" ledger row). Every linked marketplace is then brought to that quantity, read back
 * from the marketplace itself rather than assumed — unless its quantity is not what Orderhub knows
 * it holds (a sale not synced yet, a change by hand): such a lot is flagged with the reason and
 * nothing is sent for it (`approve` sends it anyway). Lots on one side only are proposed — created
 * or deleted only with `approve`, never silently.
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
  // The other marketplaces whose lots are linked to these lots and take stock changes.
  const linked = (
    await ctx.db
      .select()
      .from(connections)
      .where(
        and(
          eq(connections.accountId, input.accountId),
          ne(connections.id, conn.id),
          isNull(connections.disabledAt),
          sql`exists (select 1 from ${listings} where ${listings.connectionId} = ${connections.id})`,
        ),
      )
  ).filter((c) => getAdapter(c.marketplace).stock.mode === "delta");
  await syncFirst(ctx, queue, input.accountId, conn.id);
  for (const c of linked) await syncFirst(ctx, queue, input.accountId, c.id);
  // A lot whose ledger moves from here on changed while the stores were read: left for next time.
  const [mark] = await ctx.db
    .select({ id: max(inventoryLedger.id) })
    .from(inventoryLedger)
    .where(eq(inventoryLedger.accountId, input.accountId));
  const markId = Number(mark?.id ?? 0);
  // Likewise a listing whose known quantity moves from here on (a push landed while BrickLink was read).
  const seenBefore = new Map(
    (
      await ctx.db
        .select({ id: listings.id, quantitySeen: listings.quantitySeen })
        .from(listings)
        .where(eq(listings.connectionId, conn.id))
    ).map((l) => [l.id, l.quantitySeen]),
  );
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
    aligned: [],
    flagged: [],
    unread: [],
    proposals: { create: [], delete: [] },
    applied: { created: 0, deleted: 0 },
  };
  const others: OtherStore[] = [];
  for (const c of linked) {
    const a = getAdapter(c.marketplace);
    const port = a.stock;
    if (port.mode === "none") continue;
    try {
      const lots = await withAdapter(ctx, c, "stock", (s) => port.fetchInventory(s.actx));
      others.push({
        conn: c,
        name: a.manifest.displayName,
        remote: new Map(lots.map((l) => [l.externalId, l])),
      });
    } catch (err) {
      result.unread.push({
        connectionId: c.id,
        name: c.name,
        error: ctx.secrets.scrub(err instanceof Error ? err.message : String(err)),
      });
    }
  }
  await ctx.db.transaction(async (tx) => {
    // One stock writer per account at a time: order intake waits for this, or this for it.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('stock'), ${input.accountId}::int)`);
    const now = ctx.clock.now();
    const local = await tx
      .select({ listing: listings, lot: inventoryLots })
      .from(listings)
      .innerJoin(inventoryLots, eq(inventoryLots.id, listings.lotId))
      .where(eq(listings.connectionId, conn.id));
    const byExternal = new Map(local.map((l) => [l.listing.externalId, l]));
    const moved = new Set(
      (
        await tx
          .selectDistinct({ lotId: inventoryLedger.lotId })
          .from(inventoryLedger)
          .where(and(eq(inventoryLedger.accountId, input.accountId), gt(inventoryLedger.id, markId)))
      ).map((r) => r.lotId),
    );
    // Changes on their way, per listing (any connection of the account); one whose answer was lost
    // is in doubt until its read-back settles it.
    const pending = await tx
      .select({ connectionId: outbox.connectionId, payload: outbox.payload })
      .from(outbox)
      .where(
        and(
          eq(outbox.accountId, input.accountId),
          eq(outbox.kind, "stock"),
          inArray(outbox.status, ["pending", "sending"]),
        ),
      );
    const waiting = new Map<number, { delta: number; inDoubt: boolean }>();
    for (const p of pending) {
      const pl = p.payload as StockPushPayload;
      const w = waiting.get(pl.listingId) ?? { delta: 0, inDoubt: false };
      w.delta += pl.delta;
      w.inDoubt ||= Boolean(pl.ambiguous) || pl.unexplained !== undefined;
      waiting.set(pl.listingId, w);
    }
    // A push that failed is not on its way: it waits for exactly this (often "reconcile it before
    // sending more"). BrickLink's quantity now settles the lot, so the push is closed for good —
    // sending its delta later would count it twice.
    await closeFailed(tx, {
      connectionId: conn.id,
      listingIds: null,
      why: `${truthName}'s quantity was taken`,
      at: now,
    });
    /** The quantity each lot in step should show everywhere (BrickLink's, with what is on its way). */
    const target = new Map<number, number>();
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
      if (moved.has(l.lot.id) || seenBefore.get(l.listing.id) !== l.listing.quantitySeen) {
        result.explained++;
        continue;
      }
      const w = waiting.get(l.listing.id);
      if (w) {
        // A change on its way to BrickLink explains the difference when it adds up; either way it is
        // left to land rather than counted twice (and what the listing is known to hold stays as the
        // push's read-back expects it).
        result.explained++;
        if (!w.inDoubt && r.quantity + w.delta === l.lot.quantity) target.set(l.lot.id, l.lot.quantity);
        continue;
      }
      await tx
        .update(listings)
        .set({ quantitySeen: r.quantity, syncedAt: now })
        .where(eq(listings.id, l.listing.id));
      target.set(l.lot.id, r.quantity);
      if (r.quantity === l.lot.quantity) continue;
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
      result.adopted.push({
        lotId: l.lot.id,
        externalId: r.externalId,
        was: l.lot.quantity,
        now: r.quantity,
      });
    }
    // Every linked marketplace to that quantity: what it shows now, read back, not what we assume.
    const flags = new Map<number, string[]>();
    for (const o of others) {
      const ls = await tx.select().from(listings).where(eq(listings.connectionId, o.conn.id));
      const settled: number[] = [];
      for (const l of ls) {
        const want = target.get(l.lotId);
        if (want === undefined) continue;
        const here = o.remote.get(l.externalId);
        const flag = (reason: string) => {
          flags.set(l.lotId, [...(flags.get(l.lotId) ?? []), reason]);
          result.flagged.push({
            lotId: l.lotId,
            marketplace: o.conn.marketplace,
            externalId: l.externalId,
            reason,
          });
        };
        if (!here) {
          flag(
            `${o.name} lot ${l.externalId} is not in the ${o.name} inventory any more: link or list it again`,
          );
          continue;
        }
        const w = waiting.get(l.id);
        if (w?.inDoubt) {
          result.explained++;
          continue;
        }
        if (l.quantitySeen !== null && here.quantity !== l.quantitySeen && !input.approve) {
          flag(
            `${o.name} shows ${here.quantity}, Orderhub expected ${l.quantitySeen} and no synced order explains it (a sale there not synced yet, or changed by hand): nothing was sent; check the lot on ${o.name}, then reconcile again, or approve to set it to ${truthName}'s ${want}`,
          );
          continue;
        }
        const send = want - here.quantity - (w?.delta ?? 0);
        await tx
          .update(listings)
          .set({ quantitySeen: here.quantity, syncedAt: now })
          .where(eq(listings.id, l.id));
        settled.push(l.id);
        if (send === 0 || want < 0) continue;
        await queueListingPush(tx, {
          accountId: input.accountId,
          listing: l,
          marketplace: o.conn.marketplace,
          delta: send,
          at: now,
        });
        result.aligned.push({
          lotId: l.lotId,
          marketplace: o.conn.marketplace,
          externalId: l.externalId,
          was: here.quantity,
          now: want,
        });
      }
      // Failed pushes of listings just brought in step are settled by this: never sent again.
      await closeFailed(tx, {
        connectionId: o.conn.id,
        listingIds: settled,
        why: `${o.name} was brought to ${truthName}'s quantity`,
        at: now,
      });
    }
    // Flags: set where nothing explains a lot, cleared where the lot was found in step.
    for (const [lotId, reasons] of flags)
      await tx
        .update(inventoryLots)
        .set({ flagReason: reasons.join("; "), flaggedAt: now })
        .where(eq(inventoryLots.id, lotId));
    const inStep = [...target.keys()].filter((id) => !flags.has(id));
    for (let i = 0; i < inStep.length; i += 1000)
      await tx
        .update(inventoryLots)
        .set({ flagReason: null, flaggedAt: null })
        .where(
          and(
            inArray(inventoryLots.id, inStep.slice(i, i + 1000)),
            sql`${inventoryLots.flaggedAt} is not null`,
          ),
        );
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
          at: now,
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
        syncedAt: now,
        // Taken as BrickLink shows it now: the orders already stored are in that quantity.
        stockBaselineAt: now,
        stockBaselineOrderId: sql`(select coalesce(max(id), 0) from ${orders})`,
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

/**
 * Closes a connection's failed stock pushes (all, or those of the listings named): the reconcile
 * settled their lots, and a Retry would otherwise send their delta a second time.
 */
async function closeFailed(
  tx: Tx,
  input: { connectionId: number; listingIds: number[] | null; why: string; at: Date },
) {
  const { connectionId, listingIds, why } = input;
  if (listingIds !== null && listingIds.length === 0) return;
  await tx
    .update(outbox)
    .set({
      status: "dead",
      lastError: sql`coalesce(${outbox.lastError}, '') || ${` — settled by the reconcile of ${input.at.toISOString()}: ${why}`}`,
    })
    .where(
      and(
        eq(outbox.connectionId, connectionId),
        eq(outbox.kind, "stock"),
        eq(outbox.status, "failed"),
        listingIds === null ? undefined : inArray(sql`(${outbox.payload}->>'listingId')::bigint`, listingIds),
      ),
    );
}
