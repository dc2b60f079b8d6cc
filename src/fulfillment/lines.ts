import { and, asc, eq, inArray, sql } from "drizzle-orm";
import type { DbOrTx, Tx } from "../db/connection.ts";
import { orderLines, outbox, shipmentLines, shipments } from "../db/schema.ts";
import { writeLedger } from "../inventory/ledger.ts";

/** Statuses where the marketplace says the goods have left (the same set stock keeping uses). */
export const SHIPPED_STATUSES = new Set(["shipped", "delivered", "completed", "fulfilled"]);

export interface LineState {
  id: number;
  orderId: number;
  externalLineId: string;
  name: string;
  quantity: number;
  /** Units on shipments of ours or deducted as shipped by stock keeping, whichever is more. */
  shipped: number;
  removed: boolean;
}

export const leftToShip = (l: LineState) => (l.removed ? 0 : Math.max(0, l.quantity - l.shipped));

/**
 * Lines of these orders with what is shipped of each. An order the marketplace already calls
 * shipped has nothing left; `sentOnly` counts only shipments the marketplace confirmed.
 */
export async function lineStates(
  db: DbOrTx,
  accountId: number,
  orders: { id: number; status: string }[],
  opts: { sentOnly?: boolean } = {},
): Promise<Map<number, LineState[]>> {
  const out = new Map<number, LineState[]>(orders.map((o) => [o.id, []]));
  if (orders.length === 0) return out;
  const shippedOrders = new Set(orders.filter((o) => SHIPPED_STATUSES.has(o.status)).map((o) => o.id));
  const onShipments = db
    .select({
      orderLineId: shipmentLines.orderLineId,
      qty: sql<number>`sum(${shipmentLines.quantity})::int`.as("qty"),
    })
    .from(shipmentLines)
    .innerJoin(shipments, eq(shipments.id, shipmentLines.shipmentId))
    .where(
      and(
        eq(shipments.accountId, accountId),
        inArray(
          shipments.orderId,
          orders.map((o) => o.id),
        ),
        // A failed push still means the parcel left: it counts until a person retries or fixes it.
        opts.sentOnly ? eq(shipments.state, "sent") : undefined,
      ),
    )
    .groupBy(shipmentLines.orderLineId)
    .as("on_shipments");
  const rows = await db
    .select({
      id: orderLines.id,
      orderId: orderLines.orderId,
      externalLineId: orderLines.externalLineId,
      name: orderLines.name,
      quantity: orderLines.quantity,
      shippedQty: orderLines.shippedQty,
      onShipments: sql<number>`coalesce(${onShipments.qty}, 0)::int`,
      removedAt: orderLines.removedAt,
    })
    .from(orderLines)
    .leftJoin(onShipments, eq(onShipments.orderLineId, orderLines.id))
    .where(
      and(
        eq(orderLines.accountId, accountId),
        inArray(
          orderLines.orderId,
          orders.map((o) => o.id),
        ),
      ),
    )
    .orderBy(asc(orderLines.position), asc(orderLines.id));
  for (const r of rows) {
    out.get(r.orderId)!.push({
      id: r.id,
      orderId: r.orderId,
      externalLineId: r.externalLineId,
      name: r.name,
      quantity: r.quantity,
      shipped: shippedOrders.has(r.orderId)
        ? r.quantity
        : Math.max(opts.sentOnly ? 0 : r.shippedQty, Number(r.onShipments)),
      removed: r.removedAt !== null,
    });
  }
  return out;
}

/**
 * Moves what a shipment carries from reserved to shipped on lines that keep stock, with a ledger
 * row (the shelf count does not change: the sale already took it). Lines without a lot are left to
 * stock keeping, which deducts them when the order's status says shipped.
 */
export async function deductShipped(
  tx: Tx,
  input: {
    accountId: number;
    number: string;
    shipmentId: number;
    lines: { lineId: number; quantity: number }[];
  },
): Promise<void> {
  if (input.lines.length === 0) return;
  const rows = await tx
    .select()
    .from(orderLines)
    .where(
      and(
        eq(orderLines.accountId, input.accountId),
        inArray(
          orderLines.id,
          input.lines.map((l) => l.lineId),
        ),
        sql`${orderLines.lotId} is not null and ${orderLines.reservedQty} > 0`,
      ),
    );
  if (rows.length === 0) return;
  // The same lock stock keeping takes: one stock writer per account at a time.
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext('stock'), ${input.accountId}::int)`);
  for (const line of rows) {
    const [cur] = await tx
      .select({ reservedQty: orderLines.reservedQty, shippedQty: orderLines.shippedQty })
      .from(orderLines)
      .where(eq(orderLines.id, line.id));
    const asked = input.lines.find((l) => l.lineId === line.id)!.quantity;
    const move = Math.min(asked, cur!.reservedQty);
    if (move <= 0) continue;
    const applied = await writeLedger(tx, {
      accountId: input.accountId,
      lotId: line.lotId!,
      kind: "deduct",
      quantityDelta: 0,
      reservedDelta: -move,
      reason: `${input.number} shipped`,
      orderLineId: line.id,
      // Keyed by the shipment, never by the line's state: stock keeping may reach that state later itself.
      dedupeKey: `shipment:${input.shipmentId}:line:${line.id}`,
    });
    if (!applied) continue;
    await tx
      .update(orderLines)
      .set({ reservedQty: cur!.reservedQty - move, shippedQty: cur!.shippedQty + move })
      .where(eq(orderLines.id, line.id));
  }
}

/** Shipments of orders as the order API shows them: tracking, lines, and how the push went. */
export async function shipmentsForOrders(db: DbOrTx, accountId: number, orderIds: number[]) {
  if (orderIds.length === 0) return [];
  const rows = await db
    .select({ s: shipments, pushState: outbox.status, pushError: outbox.lastError })
    .from(shipments)
    .leftJoin(outbox, eq(outbox.id, shipments.pushId))
    .where(and(eq(shipments.accountId, accountId), inArray(shipments.orderId, orderIds)))
    .orderBy(asc(shipments.id));
  const lines = rows.length
    ? await db
        .select({
          shipmentId: shipmentLines.shipmentId,
          lineId: shipmentLines.orderLineId,
          quantity: shipmentLines.quantity,
          externalLineId: orderLines.externalLineId,
          name: orderLines.name,
        })
        .from(shipmentLines)
        .innerJoin(orderLines, eq(orderLines.id, shipmentLines.orderLineId))
        .where(
          inArray(
            shipmentLines.shipmentId,
            rows.map((r) => r.s.id),
          ),
        )
        .orderBy(asc(orderLines.position), asc(orderLines.id))
    : [];
  return rows.map(({ s, pushState, pushError }) => ({
    id: s.id,
    orderId: s.orderId,
    carrier: s.carrier,
    trackingNumber: s.trackingNumber,
    trackingUrl: s.trackingUrl,
    shippedAt: s.shippedAt,
    state: s.state,
    externalShipmentId: s.externalShipmentId,
    push: s.pushId
      ? {
          id: s.pushId,
          // A claimed push is still on its way, as the pushes list shows it.
          state: pushState === "sending" ? "pending" : (pushState ?? "pending"),
          lastError: pushError ?? null,
        }
      : null,
    lines: lines
      .filter((l) => l.shipmentId === s.id)
      .map((l) => ({
        lineId: l.lineId,
        externalLineId: l.externalLineId,
        name: l.name,
        quantity: l.quantity,
      })),
  }));
}
