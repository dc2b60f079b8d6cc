import { z } from "zod";
import { marketplaceIdSchema } from "./marketplace-ids.ts";
import { currencySchema } from "./money.ts";
import { orderStatusSchema, paymentStatusSchema } from "./status.ts";

const amount = z.number().int().describe("ten-thousandths of the order currency");
const isoTime = z.date();

export const addressSchema = z.object({
  name: z.string().nullable(),
  company: z.string().nullable().default(null),
  line1: z.string().nullable(),
  line2: z.string().nullable().default(null),
  line3: z.string().nullable().default(null),
  city: z.string().nullable(),
  region: z.string().nullable().default(null),
  postalCode: z.string().nullable(),
  /** ISO 3166-1 alpha-2 ("GB", never "UK"). */
  countryCode: z
    .string()
    .regex(/^[A-Z]{2}$/)
    .nullable(),
  phone: z.string().nullable().default(null),
  /** Always the full text as the marketplace gave it, for label software and addresses we cannot split. */
  full: z.string(),
});
export type Address = z.infer<typeof addressSchema>;

export const itemTypeSchema = z.enum([
  "part",
  "set",
  "minifig",
  "book",
  "gear",
  "catalog",
  "instruction",
  "original_box",
  "unsorted_lot",
  "product",
  "digital",
  "other",
]);
export type ItemType = z.infer<typeof itemTypeSchema>;

export const conditionSchema = z.enum(["new", "used", "refurbished", "unknown"]);

/** One line of an order as a marketplace reports it, after mapping. */
export const orderLineInputSchema = z.object({
  /** Stable within the order: lot id + batch, transaction id, line item id, order item id. */
  externalLineId: z.string().min(1),
  itemNo: z.string().nullable(),
  sku: z.string().nullable().default(null),
  name: z.string(),
  itemType: itemTypeSchema.default("other"),
  colorId: z.string().nullable().default(null),
  colorName: z.string().nullable().default(null),
  condition: conditionSchema.default("unknown"),
  /** BrickLink completeness (C/B/S) for sets; null elsewhere. */
  completeness: z.string().nullable().default(null),
  quantity: z.number().int().nonnegative(),
  unitPrice: amount,
  lineTotal: amount,
  /** The marketplace's inventory lot / listing / offer id, used to match stock. */
  marketplaceLotId: z.string().nullable().default(null),
  /** Bin or drawer where the seller keeps it (BrickLink remarks, BrickOwl personal note). */
  location: z.string().nullable().default(null),
  batch: z.number().int().nullable().default(null),
  digital: z.boolean().default(false),
  /** Marketplace-specific extras that have no column of their own. */
  extra: z.record(z.string(), z.unknown()).default({}),
});
export type OrderLineInput = z.input<typeof orderLineInputSchema>;
export type OrderLine = z.output<typeof orderLineInputSchema>;

/** What a charge between the items' subtotal and the grand total is. */
export const CHARGE_KINDS = [
  "shipping",
  "insurance",
  "fee",
  "credit",
  "coupon",
  "tax",
  "rounding",
  "other",
] as const;
export const chargeKindSchema = z.enum(CHARGE_KINDS);
export type ChargeKind = z.infer<typeof chargeKindSchema>;

/**
 * One component of an order's total as the marketplace itemises it ("Insurance", "Additional
 * charge 1", "VAT 19 %"), signed as it moves what the buyer pays: credits and coupons are negative.
 */
export const chargeSchema = z.object({
  kind: chargeKindSchema,
  /** The marketplace's own name for it, for people. */
  label: z.string().min(1),
  amount,
  /** Already inside the other amounts (VAT in the prices): shown beside the total, never added. */
  included: z.boolean().default(false),
});
export type ChargeInput = z.input<typeof chargeSchema>;
export type Charge = z.output<typeof chargeSchema>;

export const totalsSchema = z.object({
  currency: currencySchema,
  subtotal: amount,
  shipping: amount.default(0),
  tax: amount.default(0),
  fees: amount.default(0),
  credits: amount.default(0),
  grandTotal: amount,
  /**
   * Every component between subtotal and grand total, as the marketplace itemises it; empty when it
   * does not (the sums above are then all there is).
   */
  charges: z.array(chargeSchema).default([]),
});

/** An order as every marketplace maps it: the unified model of DESIGN §4. */
export const orderInputSchema = z.object({
  marketplace: marketplaceIdSchema,
  externalId: z.string().min(1),
  /** Shown to people: "BL-12345678", "BO-3506238", "123-1234567-1234567". */
  number: z.string().min(1),
  /** The marketplace's own change marker, compared by incremental syncs (e.g. date_status_changed). */
  changeMarker: z.string().nullable().default(null),
  status: orderStatusSchema,
  rawStatus: z.string(),
  paymentStatus: paymentStatusSchema.default("unknown"),
  rawPaymentStatus: z.string().nullable().default(null),
  buyerName: z.string().nullable(),
  buyerUsername: z.string().nullable().default(null),
  buyerEmail: z.string().nullable().default(null),
  shippingAddress: addressSchema.nullable().default(null),
  orderedAt: isoTime,
  updatedAt: isoTime.nullable().default(null),
  statusChangedAt: isoTime.nullable().default(null),
  totals: totalsSchema,
  shippingMethod: z.string().nullable().default(null),
  trackingNumbers: z.array(z.string()).default([]),
  buyerRemarks: z.string().nullable().default(null),
  /** True when the marketplace archived the order (BrickLink "filed"). */
  archived: z.boolean().default(false),
  url: z.string().nullable().default(null),
  lines: z.array(orderLineInputSchema),
  /** Typed per-marketplace extras, not new optional fields on the shared type. */
  extra: z.record(z.string(), z.unknown()).default({}),
  raw: z.unknown(),
});
export type OrderInput = z.input<typeof orderInputSchema>;

/** Where a mapped order does not fit the unified model (the field and why), or null when it fits. */
export function unifiedOrderProblem(order: OrderInput): { field: string; message: string } | null {
  const r = orderInputSchema.safeParse(order);
  if (r.success) return null;
  const issue = r.error.issues[0]!;
  return {
    field: issue.path.join(".") || "order",
    message: `does not fit the unified order: ${issue.message}`,
  };
}
export type UnifiedOrder = z.output<typeof orderInputSchema>;

/** What an incremental sync compares before deciding to fetch details. */
export const orderSummarySchema = z.object({
  externalId: z.string().min(1),
  changeMarker: z.string().nullable(),
  rawStatus: z.string().nullable().default(null),
  archived: z.boolean().default(false),
});
export type OrderSummary = z.input<typeof orderSummarySchema>;

export const EVENT_SOURCES = ["marketplace", "user", "system"] as const;
