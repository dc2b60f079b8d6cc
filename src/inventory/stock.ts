import { and, eq, inArray, isNotNull, isNull, sql } from "drizzle-orm";
import type { Tx } from "../db/connection.ts";
import { connections, inventoryLots, listings, orderLines, orders } from "../db/schema.ts";
import type { IngestSubscriber } from "../sync/ingest.ts";
import { queueStockPush, writeLedger } from "./ledger.ts";
import { truthMarketplaces } from "./truth.ts";

/** Statuses where the goods have left: reservations become deductions. */
const SHIPPED = new Set(["shipped", "delivered", "completed", "fulfilled"]);
/** Statuses where the sale is off: what was not shipped goes back on the shelf. */
const OFF = new Set(["cancelled", "refunded"]);

export interface StockContext {
  accountId: number;
  marketplace: string;
  connectionId: number;
  /** Orders first seen before this moment are history: BrickLink's quantities already hold them. */
  baselineAt: Date | null;
  at: Date;
}

/** Finds a line's lot: the marketplace lot first, the linked BrickLink lot, then item + colour + condition if unique. */
async function matchLot(
  tx: Tx,
  ctx: StockContext,
  line: typeof orderLines.$inferSelect,
): Promise<number | null> {
  if (line.marketplaceLotId) {
    const [l] = await tx
      .select({ lotId: listings.lotId })
      .from(listings)
      .where(
        and(eq(listings.connectionId, ctx.connectionId), eq(listings.externalId, line.marketplaceLotId)),
      );
    if (l) return l.lotId;
  }
  const linked = (line.extra as { brickLinkLotId?: string | null }).brickLinkLotId;
  if (linked) {
    const [l] = await tx
      .select({ lotId: listings.lotId })
      .from(listings)
      .where(
        and(
          eq(listings.accountId, ctx.accountId),
          inArray(listings.marketplace, truthMarketplaces().ids),
          eq(listings.externalId, linked),
        ),
      );
    if (l) return l.lotId;
  }
  if (!line.itemNo) return null;
  const candidates = await tx
    .select({ id: inventoryLots.id })
    .from(inventoryLots)
    .where(
      and(
        eq(inventoryLots.accountId, ctx.accountId),
        sql`lower(${inventoryLots.itemNo}) = ${line.itemNo.toLowerCase()}`,
        line.colorName ? sql`lower(${inventoryLots.colorName}) = ${line.colorName.toLowerCase()}` : sql`true`,
        eq(inventoryLots.condition, line.condition),
        line.location ? sql`coalesce(${inventoryLots.location}, '') = ${line.location}` : sql`true`,
      ),
    )
    .limit(2);
  // Ambiguous or missing: listed for a person, never guessed.
  return candidates.length === 1 ? candidates[0]!.id : null;
}

/**
 * Brings the stock in line with these orders, in the sync's transaction: each line is matched to a
 * lot and reserved; shipped lines are deducted; cancelled ones released and restocked; edits move by
 * the difference. Every change is a ledger row keyed by the line's state, so a line is never applied
 * twice. Sales and restocks are queued as pushes to the other marketplaces — except for orders that
 * were already there before the connection's first sync, or stored or placed before the lot's
 * quantity was read from the marketplace they were sold on (history: that quantity holds them).
 */
export async function applyOrdersToStock(
  tx: Tx,
  ctx: StockContext,
  orderIds: number[],
): Promise<{ unmatched: number; pushes: number }> {
  if (orderIds.length === 0) return { unmatched: 0, pushes: 0 };
  // Without any lot there is no stock to keep: nothing to do (and no cost for stores that keep none).
  const [anyLot] = await tx
    .select({ id: inventoryLots.id })
    .from(inventoryLots)
    .where(eq(inventoryLots.accountId, ctx.accountId))
    .limit(1);
  if (!anyLot) return { unmatched: 0, pushes: 0 };
  // One stock writer per account at a time (a reconcile waits for this, or this for it).
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext('stock'), ${ctx.accountId}::int)`);
  const os = await tx
    .select({
      id: orders.id,
      status: orders.status,
      createdAt: orders.createdAt,
      orderedAt: orders.orderedAt,
      number: orders.number,
    })
    .from(orders)
    .where(and(eq(orders.accountId, ctx.accountId), inArray(orders.id, orderIds)));
  const lines = await tx
    .select()
    .from(orderLines)
    .where(and(eq(orderLines.accountId, ctx.accountId), inArray(orderLines.orderId, orderIds)));
  let unmatched = 0;
  let pushes = 0;
  /**
   * Where the lot's quantity was read from this connection (the truth's import): when, and the
   * newest order stored by then. A sale there stored by then, or placed before then, is already in
   * that quantity.
   */
  const sources = new Map<number, { at: Date; orderId: number } | null>();
  const sourceOf = async (lotId: number) => {
    if (!sources.has(lotId)) {
      const [l] = await tx
        .select({ at: listings.stockBaselineAt, orderId: listings.stockBaselineOrderId })
        .from(listings)
        .where(
          and(
            eq(listings.lotId, lotId),
            eq(listings.connectionId, ctx.connectionId),
            isNotNull(listings.stockBaselineAt),
          ),
        )
        .limit(1);
      sources.set(lotId, l?.at ? { at: l.at, orderId: l.orderId ?? 0 } : null);
    }
    return sources.get(lotId)!;
  };
  for (const line of lines) {
    const o = os.find((x) => x.id === line.orderId)!;
    let lotId = line.lotId;
    if (lotId === null) {
      lotId = await matchLot(tx, ctx, line);
      if (lotId === null) {
        if (!line.removedAt && !OFF.has(o.status)) unmatched++;
        continue;
      }
      await tx.update(orderLines).set({ lotId }).where(eq(orderLines.id, line.id));
    }
    const curRes = line.reservedQty;
    const curShip = line.shippedQty;
    const gone = line.removedAt !== null || OFF.has(o.status);
    const soldTarget = gone ? curShip : line.quantity;
    const shipTarget = SHIPPED.has(o.status) ? soldTarget : Math.min(curShip, soldTarget);
    const resTarget = soldTarget - shipTarget;
    const dSold = soldTarget - (curRes + curShip);
    if (dSold === 0 && resTarget === curRes && shipTarget === curShip) continue;
    // A sale the lot's quantity already holds is history. Where that quantity was read from this
    // marketplace: an order stored or placed before it was read. Elsewhere: an order stored during or
    // before the connection's first complete sync (the marketplaces already counted it).
    let history = false;
    if (dSold > 0) {
      const source = await sourceOf(lotId);
      history = source
        ? o.id <= source.orderId || o.orderedAt < source.at
        : ctx.baselineAt === null || o.createdAt <= ctx.baselineAt;
    }
    // A sale the marketplace quantities already hold (history) does not move the shelf count again.
    const quantityDelta = dSold > 0 ? (history ? 0 : -dSold) : -dSold;
    const kind = dSold > 0 ? "reserve" : dSold < 0 ? "release" : shipTarget > curShip ? "deduct" : "adjust";
    const applied = await writeLedger(tx, {
      accountId: ctx.accountId,
      lotId,
      kind,
      quantityDelta,
      reservedDelta: resTarget - curRes,
      reason: `${o.number} ${kind === "reserve" ? "sold" : kind === "release" ? "cancelled: back on the shelf" : kind === "deduct" ? "shipped" : "changed"}`,
      orderLineId: line.id,
      dedupeKey: `line:${line.id}:s${soldTarget}:h${shipTarget}`,
    });
    if (!applied) continue;
    await tx
      .update(orderLines)
      .set({ reservedQty: resTarget, shippedQty: shipTarget })
      .where(eq(orderLines.id, line.id));
    if (quantityDelta !== 0 && dSold > 0) {
      // The marketplace the sale happened on took it off its own lot: what we know it holds follows.
      await tx
        .update(listings)
        .set({ quantitySeen: sql`${listings.quantitySeen} + ${quantityDelta}` })
        .where(
          and(
            eq(listings.lotId, lotId),
            eq(listings.connectionId, ctx.connectionId),
            isNotNull(listings.quantitySeen),
          ),
        );
    }
    if (quantityDelta !== 0) {
      // A sale: the marketplace it happened on took it off itself; the others follow. A restock: everyone.
      pushes += await queueStockPush(tx, {
        accountId: ctx.accountId,
        lotId,
        delta: quantityDelta,
        exceptMarketplace: dSold > 0 ? ctx.marketplace : null,
        reason: o.number,
        at: ctx.at,
      });
    }
  }
  return { unmatched, pushes };
}

/** Lines of open orders that match no lot: for the seller to link or fix. */
export async function unmatchedLines(tx: Tx | import("../db/connection.ts").DbOrTx, accountId: number) {
  return tx
    .select({
      lineId: orderLines.id,
      orderId: orders.id,
      number: orders.number,
      itemNo: orderLines.itemNo,
      name: orderLines.name,
      colorName: orderLines.colorName,
      condition: orderLines.condition,
      quantity: orderLines.quantity,
    })
    .from(orderLines)
    .innerJoin(orders, eq(orders.id, orderLines.orderId))
    .where(
      and(
        eq(orderLines.accountId, accountId),
        isNull(orderLines.lotId),
        isNull(orderLines.removedAt),
        inArray(orders.status, ["pending", "processing", "on_hold", "problem", "needs_review"]),
      ),
    )
    .limit(1000);
}

/** Stock follows the orders in the ingest transaction: a reservation never goes missing or twice. */
export const stockSubscriber: IngestSubscriber = {
  name: "stock",
  async onOrders(tx, batch) {
    const [c] = await tx
      .select({ baselineAt: connections.baselineAt })
      .from(connections)
      .where(eq(connections.id, batch.source.connectionId));
    const stock = await applyOrdersToStock(
      tx,
      {
        accountId: batch.source.accountId,
        marketplace: batch.source.marketplace,
        connectionId: batch.source.connectionId,
        baselineAt: c?.baselineAt ?? null,
        at: batch.source.at,
      },
      batch.touched,
    );
    // A sale here takes the lot down on the other marketplaces now, not at the next sweep.
    return { dispatch: stock.pushes > 0 };
  },
};
