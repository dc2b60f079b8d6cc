import { randomUUID } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import type { Tx } from "../db/connection.ts";
import { connections, inventoryLedger, inventoryLots, listings, outbox } from "../db/schema.ts";

export const STOCK_KIND = "stock";
/** Quantity pushes go before fulfilment (50) and anything else when the budget is tight. */
const STOCK_PRIORITY = 10;

export interface StockPushPayload {
  listingId: number;
  marketplace: string;
  externalId: string;
  /** The signed change still to send; coalesced pushes add up here. */
  delta: number;
  /** The quantity the marketplace showed before this push (for read-back after an ambiguous failure). */
  expectFrom?: number | null;
  ambiguous?: boolean;
  /**
   * Set once the change is known to have landed; the listing's known quantity moves by the delta in
   * the same transaction that marks the push sent.
   */
  landed?: boolean;
  /**
   * A read-back that could not explain the lot's quantity: the quantity seen, since when it has
   * been seen unchanged, and when the first such read-back was (ISO times).
   */
  unexplained?: { since: string; seen: number; first: string };
}

export interface LedgerEntry {
  accountId: number;
  lotId: number;
  kind: "reserve" | "release" | "deduct" | "adjust" | "reconcile" | "import";
  quantityDelta: number;
  reservedDelta: number;
  reason: string;
  orderLineId?: number | null;
  userId?: number | null;
  /** Makes the write idempotent: a second write with the same key changes nothing. */
  dedupeKey?: string | null;
}

/**
 * Writes one ledger row and moves the lot's cached numbers with it, in the caller's transaction.
 * Returns false when the dedupe key was seen before (nothing changed).
 */
export async function writeLedger(tx: Tx, e: LedgerEntry): Promise<boolean> {
  const [row] = await tx
    .insert(inventoryLedger)
    .values({
      accountId: e.accountId,
      lotId: e.lotId,
      kind: e.kind,
      quantityDelta: e.quantityDelta,
      reservedDelta: e.reservedDelta,
      reason: e.reason,
      orderLineId: e.orderLineId ?? null,
      userId: e.userId ?? null,
      dedupeKey: e.dedupeKey ?? null,
    })
    .onConflictDoNothing()
    .returning({ id: inventoryLedger.id });
  if (!row) return false;
  await tx
    .update(inventoryLots)
    .set({
      quantity: sql`${inventoryLots.quantity} + ${e.quantityDelta}`,
      reserved: sql`${inventoryLots.reserved} + ${e.reservedDelta}`,
      updatedAt: sql`now()`,
    })
    .where(eq(inventoryLots.id, e.lotId));
  return true;
}

/**
 * Queues a quantity change for the lot's listings (all of them, or all but one marketplace's), in
 * the caller's transaction. A change for a listing that already has a push waiting is added to it:
 * one call carries the sum.
 */
export async function queueStockPush(
  tx: Tx,
  input: {
    accountId: number;
    lotId: number;
    delta: number;
    exceptMarketplace?: string | null;
    reason: string;
    at: Date;
  },
): Promise<number> {
  if (input.delta === 0) return 0;
  const targets = await tx
    .select({ listing: listings, marketplace: connections.marketplace })
    .from(listings)
    .innerJoin(connections, eq(connections.id, listings.connectionId))
    .where(and(eq(listings.lotId, input.lotId), sql`${connections.disabledAt} is null`));
  let queued = 0;
  for (const { listing, marketplace } of targets) {
    if (input.exceptMarketplace && marketplace === input.exceptMarketplace) continue;
    await queueListingPush(tx, {
      accountId: input.accountId,
      listing,
      marketplace,
      delta: input.delta,
      at: input.at,
    });
    queued++;
  }
  return queued;
}

/**
 * Queues a quantity change for one listing, in the caller's transaction; a push already waiting for
 * it (and not in doubt after a lost answer) carries the sum.
 */
export async function queueListingPush(
  tx: Tx,
  input: {
    accountId: number;
    listing: typeof listings.$inferSelect;
    marketplace: string;
    delta: number;
    at: Date;
  },
): Promise<void> {
  const { listing, marketplace } = input;
  if (input.delta === 0) return;
  const [waiting] = await tx
    .select({ id: outbox.id, payload: outbox.payload })
    .from(outbox)
    .where(
      and(
        eq(outbox.accountId, input.accountId),
        eq(outbox.kind, STOCK_KIND),
        eq(outbox.status, "pending"),
        eq(outbox.connectionId, listing.connectionId),
        sql`(${outbox.payload}->>'listingId') = ${String(listing.id)}`,
        sql`coalesce((${outbox.payload}->>'ambiguous')::boolean, false) = false`,
      ),
    )
    .for("update")
    .limit(1);
  if (waiting) {
    const p = waiting.payload as StockPushPayload;
    await tx
      .update(outbox)
      .set({ payload: { ...p, delta: p.delta + input.delta } })
      .where(eq(outbox.id, waiting.id));
  } else {
    const payload: StockPushPayload = {
      listingId: listing.id,
      marketplace,
      externalId: listing.externalId,
      delta: input.delta,
    };
    await tx.insert(outbox).values({
      accountId: input.accountId,
      connectionId: listing.connectionId,
      kind: STOCK_KIND,
      payload,
      idempotencyKey: `stock:${listing.id}:${randomUUID()}`,
      priority: STOCK_PRIORITY,
      lotId: listing.lotId,
      nextAttemptAt: input.at,
    });
  }
}
