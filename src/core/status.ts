import { z } from "zod";

/** The unified order statuses (DESIGN §4). `needs_review` holds a raw status we do not know yet. */
export const ORDER_STATUSES = [
  "pending",
  "processing",
  "shipped",
  "delivered",
  "completed",
  "fulfilled",
  "on_hold",
  "problem",
  "cancelled",
  "refunded",
  "partially_refunded",
  "needs_review",
] as const;
export const orderStatusSchema = z.enum(ORDER_STATUSES);
export type OrderStatus = z.infer<typeof orderStatusSchema>;

/** Open orders still need work from the seller and still hold stock. */
export const OPEN_STATUSES: readonly OrderStatus[] = [
  "pending",
  "processing",
  "on_hold",
  "problem",
  "needs_review",
];

export function isOpenStatus(s: OrderStatus): boolean {
  return OPEN_STATUSES.includes(s);
}

export const PAYMENT_STATUSES = [
  "unpaid",
  "pending",
  "paid",
  "partially_refunded",
  "refunded",
  "unknown",
] as const;
export const paymentStatusSchema = z.enum(PAYMENT_STATUSES);
export type PaymentStatus = z.infer<typeof paymentStatusSchema>;

/** Build a total status mapper: unknown raw values become `needs_review`, never an exception. */
export function statusMapper(table: Readonly<Record<string, OrderStatus>>) {
  const normalised = new Map(Object.entries(table).map(([k, v]) => [k.toUpperCase(), v]));
  return (raw: string | null | undefined): OrderStatus =>
    (raw == null ? undefined : normalised.get(String(raw).trim().toUpperCase())) ?? "needs_review";
}

/**
 * Where a status stands on an order's way from placed to done. Statuses off that way (on hold, a
 * problem, cancelled, refunded, needs review) have no place: moves to and from them are not backward.
 */
const PROGRESS: Partial<Record<OrderStatus, number>> = {
  pending: 0,
  processing: 1,
  shipped: 2,
  delivered: 3,
  completed: 4,
  fulfilled: 4,
};

/**
 * A marketplace reporting `to` for an order Orderhub holds as `from` would move it backwards
 * (shipped → processing, completed → shipped): Orderhub keeps `from` and flags the order for review.
 */
export function isBackwardMove(from: OrderStatus, to: OrderStatus): boolean {
  const a = PROGRESS[from];
  const b = PROGRESS[to];
  return a !== undefined && b !== undefined && b < a;
}

/** Why an order waits for the seller's review, with what the marketplace claimed and what was kept. */
export interface OrderReview {
  reason: "backward_status";
  /** What the marketplace reported. */
  claimedStatus: OrderStatus;
  claimedRawStatus: string;
  /** The marketplace's time for its claim (ISO), where it gives one. */
  marketplaceAt: string | null;
  /** What Orderhub kept. */
  keptStatus: OrderStatus;
  keptRawStatus: string;
  /** When Orderhub learnt of it (ISO). */
  at: string;
}
