import { and, eq } from "drizzle-orm";
import type { OrderReview } from "../../core/status.ts";
import type { Db } from "../connection.ts";
import { orderEvents, orders } from "../schema.ts";

export interface ClearedReview {
  orderId: number;
  number: string;
  marketplace: string;
  status: string;
  /** False when the order was not flagged (nothing changed). */
  cleared: boolean;
}

/**
 * The seller has looked at an order flagged for review and keeps Orderhub's status: the flag goes,
 * the marketplace's claim stays on the timeline, and the clearing is recorded there too.
 */
export async function clearOrderReview(
  db: Db,
  input: { accountId: number; orderId: number; userId: number | null; at: Date },
): Promise<ClearedReview | null> {
  return db.transaction(async (tx) => {
    const [order] = await tx
      .select({
        id: orders.id,
        number: orders.number,
        marketplace: orders.marketplace,
        status: orders.status,
        needsReview: orders.needsReview,
        review: orders.review,
      })
      .from(orders)
      .where(and(eq(orders.accountId, input.accountId), eq(orders.id, input.orderId)))
      .for("update");
    if (!order) return null;
    const out = {
      orderId: order.id,
      number: order.number,
      marketplace: order.marketplace,
      status: order.status,
    };
    if (!order.needsReview) return { ...out, cleared: false };
    await tx
      .update(orders)
      .set({ needsReview: false, review: null })
      .where(and(eq(orders.accountId, input.accountId), eq(orders.id, order.id)));
    const review = order.review as OrderReview | null;
    await tx.insert(orderEvents).values({
      accountId: input.accountId,
      orderId: order.id,
      kind: "review_cleared",
      source: input.userId ? `user:${input.userId}` : "user",
      at: input.at,
      detail: review ? { keptStatus: review.keptStatus, claimedRawStatus: review.claimedRawStatus } : {},
    });
    return { ...out, cleared: true };
  });
}
