import { and, asc, eq, inArray, isNull, sql } from "drizzle-orm";
import type { Address } from "../core/order.ts";
import type { DbOrTx } from "../db/connection.ts";
import { type OrderQuery, orderFilter } from "../db/repos/orders.ts";
import { orderLines, orders } from "../db/schema.ts";
import { getAdapter, hasAdapter } from "../marketplaces/registry.ts";
import type { DocLine, DocOrder } from "./model.ts";

type LineTuple = [
  position: number,
  itemNo: string | null,
  name: string,
  itemType: string,
  colorName: string | null,
  condition: string,
  completeness: string | null,
  quantity: number,
  unitPrice: number | string,
  lineTotal: number | string,
  location: string | null,
];

/** Documents are made for at most this many orders at once. */
export const MAX_DOCUMENT_ORDERS = 5_000;

/** The ids of the orders a filter matches (oldest first), up to the document limit plus one. */
export async function idsForFilter(db: DbOrTx, accountId: number, q: OrderQuery): Promise<number[]> {
  const rows = await db
    .select({ id: orders.id })
    .from(orders)
    .where(orderFilter(accountId, q))
    .orderBy(asc(orders.orderedAt), asc(orders.id))
    .limit(MAX_DOCUMENT_ORDERS + 1);
  return rows.map((r) => r.id);
}

/**
 * The orders with their live lines, in the order of `ids`, in two queries whatever their number.
 * Ids of other accounts or of no order are left out (the caller compares counts).
 */
export async function loadDocumentOrders(db: DbOrTx, accountId: number, ids: number[]): Promise<DocOrder[]> {
  if (ids.length === 0) return [];
  // Named columns only: `raw` holds the marketplace's whole payload (all its lines again).
  const rows = await db
    .select({
      id: orders.id,
      number: orders.number,
      marketplace: orders.marketplace,
      externalId: orders.externalId,
      status: orders.status,
      rawStatus: orders.rawStatus,
      orderedAt: orders.orderedAt,
      buyerName: orders.buyerName,
      buyerUsername: orders.buyerUsername,
      buyerEmail: orders.buyerEmail,
      shippingAddress: orders.shippingAddress,
      currency: orders.currency,
      subtotal: orders.subtotal,
      shipping: orders.shipping,
      tax: orders.tax,
      fees: orders.fees,
      credits: orders.credits,
      grandTotal: orders.grandTotal,
      charges: orders.charges,
      shippingMethod: orders.shippingMethod,
      trackingNumbers: orders.trackingNumbers,
      buyerRemarks: orders.buyerRemarks,
      paymentStatus: orders.paymentStatus,
      tags: orders.tags,
      internalNote: orders.internalNote,
      url: orders.url,
      extra: orders.extra,
    })
    .from(orders)
    .where(and(eq(orders.accountId, accountId), inArray(orders.id, ids)));
  // One row per order with its lines as a JSON array: turning 30,000 rows into objects through
  // the driver cost ~5× more than parsing the same data as one JSON text per order.
  const lineRows = await db
    .select({
      orderId: orderLines.orderId,
      lines: sql<string>`json_agg(json_build_array(${orderLines.position}, ${orderLines.itemNo}, ${orderLines.name}, ${orderLines.itemType}, ${orderLines.colorName}, ${orderLines.condition}, ${orderLines.completeness}, ${orderLines.quantity}, ${orderLines.unitPrice}, ${orderLines.lineTotal}, ${orderLines.location}) order by ${orderLines.position}, ${orderLines.id})::text`,
    })
    .from(orderLines)
    .where(
      and(
        eq(orderLines.accountId, accountId),
        inArray(orderLines.orderId, ids),
        isNull(orderLines.removedAt),
      ),
    )
    .groupBy(orderLines.orderId);
  const byOrder = new Map<number, DocLine[]>();
  for (const { orderId, lines } of lineRows) {
    const list = (JSON.parse(lines) as LineTuple[]).map(
      ([
        position,
        itemNo,
        name,
        itemType,
        colorName,
        condition,
        completeness,
        quantity,
        unitPrice,
        lineTotal,
        location,
      ]) => ({
        position,
        itemNo,
        name,
        itemType,
        colorName,
        condition,
        completeness,
        quantity,
        unitPrice: Number(unitPrice),
        lineTotal: Number(lineTotal),
        location,
      }),
    );
    byOrder.set(Number(orderId), list);
  }
  const byId = new Map(rows.map((r) => [r.id, r]));
  const out: DocOrder[] = [];
  for (const id of ids) {
    const r = byId.get(id);
    if (!r) continue;
    out.push({
      id: r.id,
      number: r.number,
      marketplace: r.marketplace,
      marketplaceName: hasAdapter(r.marketplace)
        ? getAdapter(r.marketplace).manifest.displayName
        : r.marketplace,
      externalId: r.externalId,
      status: r.status,
      rawStatus: r.rawStatus,
      orderedAt: r.orderedAt,
      buyerName: r.buyerName,
      buyerUsername: r.buyerUsername,
      buyerEmail: r.buyerEmail,
      shippingAddress: (r.shippingAddress as Address | null) ?? null,
      currency: r.currency,
      subtotal: Number(r.subtotal),
      shipping: Number(r.shipping),
      tax: Number(r.tax),
      fees: Number(r.fees),
      credits: Number(r.credits),
      grandTotal: Number(r.grandTotal),
      charges: r.charges ?? [],
      shippingMethod: r.shippingMethod,
      trackingNumbers: r.trackingNumbers,
      buyerRemarks: r.buyerRemarks,
      paymentStatus: r.paymentStatus,
      tags: r.tags ?? [],
      internalNote: r.internalNote,
      url: r.url,
      extra: (r.extra as Record<string, unknown>) ?? {},
      lines: byOrder.get(id) ?? [],
    });
  }
  return out;
}
