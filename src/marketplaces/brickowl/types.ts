import { z } from "zod";

/*
 * BrickOwl sends almost every scalar as a JSON string ("3506238", "23.87", "1"/"0"), a few as real
 * numbers or booleans, explicit nulls, and the same key can change type between responses
 * (`tax_rate` "0.00" vs 0). These schemas read all of that leniently and keep unknown keys.
 */

/** A string, or a number/boolean written as text; null and absent stay null. */
export const text = z.preprocess(
  (v) => (typeof v === "number" || typeof v === "boolean" ? String(v) : v),
  z.string().nullable().optional(),
);

/** An integer that may arrive as "12" or 12. */
export const int = z.preprocess(
  (v) => (typeof v === "string" && /^-?\d+$/.test(v.trim()) ? Number(v.trim()) : v),
  z.number().int(),
);

/** "1"/"0", 1/0, true/false. */
export const flag = z.preprocess((v) => {
  if (v === "1" || v === 1 || v === "true") return true;
  if (v === "0" || v === 0 || v === "false" || v === "") return false;
  return v;
}, z.boolean());

/** `{"other":"55984791"}` when set, `[]` when not (PHP's empty array). */
export const externalLotIds = z.preprocess(
  (v) => (Array.isArray(v) && v.length === 0 ? {} : v),
  z.record(z.string(), text).nullable().optional(),
);

const ids = z.array(z.object({ id: text, type: text }).loose()).optional();

export const boOrderListEntrySchema = z
  .object({
    order_id: text.pipe(z.string().regex(/^\d+$/, "must be a numeric order id")),
    order_date: text,
    total_quantity: text,
    total_lots: text,
    base_order_total: text,
    base_currency: text,
    status: text,
    status_id: int,
  })
  .loose();
export type BrickOwlOrderListEntry = z.infer<typeof boOrderListEntrySchema>;

export const boOrderSchema = z
  .object({
    order_id: text.pipe(z.string().regex(/^\d+$/, "must be a numeric order id")),
    order_time: text,
    processed_time: text,
    iso_order_time: text,
    iso_processed_time: text,
    store_id: text,
    ship_method_name: text,
    status: text,
    status_id: int,
    weight: text,
    ship_total: text,
    buyer_note: text,
    total_quantity: text,
    total_lots: text,
    base_currency: text,
    payment_method_type: text,
    payment_currency: text,
    payment_total: text,
    base_order_total: text,
    sub_total: text,
    coupon_discount: text,
    tax_rate: text,
    tax_amount: text,
    tracking_number: text,
    tracking_advice: text,
    buyer_name: text,
    combine_with: text,
    refund_total: text,
    affiliate_fee: text,
    brickowl_fee: text,
    seller_note: text,
    customer_email: text,
    customer_user_id: text,
    customer_username: text,
    ship_first_name: text,
    ship_last_name: text,
    ship_country_code: text,
    ship_country: text,
    ship_post_code: text,
    ship_street_1: text,
    ship_street_2: text,
    ship_city: text,
    ship_region: text,
    ship_phone: text,
  })
  .loose();
export type BrickOwlOrder = z.infer<typeof boOrderSchema>;

export const boOrderItemSchema = z
  .object({
    order_item_id: text.pipe(z.string().min(1, "must be present")),
    lot_id: text,
    boid: text,
    name: text,
    type: text,
    color_id: text,
    color_name: text,
    condition: text,
    full_con: text,
    ordered_quantity: int,
    refunded_quantity: text,
    remaining_quantity: text,
    base_price: text,
    weight: text,
    public_note: text,
    personal_note: text,
    bl_lot_id: text,
    external_lot_ids: externalLotIds,
    image_small: text,
    ids,
  })
  .loose();
export type BrickOwlOrderItem = z.infer<typeof boOrderItemSchema>;

export const boInventoryLotSchema = z
  .object({
    lot_id: text.pipe(z.string().min(1, "must be present")),
    boid: text,
    type: text,
    con: text,
    full_con: text,
    qty: int,
    price: text,
    for_sale: flag.optional(),
    personal_note: text,
    public_note: text,
    external_lot_ids: externalLotIds,
    ids,
  })
  .loose();
export type BrickOwlInventoryLot = z.infer<typeof boInventoryLotSchema>;

export const boTokenDetailsSchema = z
  .object({
    username: text,
    uid: text,
    has_store: flag.optional(),
    store_details: z
      .object({ store_id: text, name: text, base_currency: text, country: text, url: text })
      .loose()
      .nullable()
      .optional(),
  })
  .loose();
export type BrickOwlTokenDetails = z.infer<typeof boTokenDetailsSchema>;

export const boErrorSchema = z.object({
  error: z.object({ status: text }).loose(),
});

export const boStatusSchema = z.object({ status: text }).loose();
