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
