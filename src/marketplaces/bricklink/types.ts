import { z } from "zod";

/** Raw BrickLink Store API v1 shapes, as lenient as the API is (null keys are omitted, ids are numbers). */
const money = z.string();
const time = z.string();

export const brickLinkMetaSchema = z.object({
  description: z.string().optional().default(""),
  message: z.string().optional().default(""),
  code: z.coerce.number().int(),
});
export type BrickLinkMeta = z.infer<typeof brickLinkMetaSchema>;

export const brickLinkEnvelopeSchema = z.object({ meta: brickLinkMetaSchema, data: z.unknown().optional() });

const costSchema = z
  .object({
    currency_code: z.string(),
    subtotal: money,
    grand_total: money,
    final_total: money.optional(),
    etc1: money.optional(),
    etc2: money.optional(),
    insurance: money.optional(),
    shipping: money.optional(),
    credit: money.optional(),
    coupon: money.optional(),
    vat_rate: z.string().optional(),
    vat_amount: money.optional(),
    salesTax_collected_by_BL: money.optional(),
  })
  .passthrough();

const paymentSchema = z
  .object({
    method: z.string().optional(),
    currency_code: z.string().optional(),
    date_paid: time.optional(),
    status: z.string().optional(),
  })
  .passthrough();

export const brickLinkOrderSummarySchema = z
  .object({
    order_id: z.union([z.number().int(), z.string().regex(/^\d+$/)]).transform(Number),
    date_ordered: time,
    date_status_changed: time,
    seller_name: z.string().optional(),
    store_name: z.string().optional(),
    buyer_name: z.string().optional(),
    status: z.string(),
    total_count: z.number().int().optional(),
    unique_count: z.number().int().optional(),
    is_filed: z.boolean().optional().default(false),
    payment: paymentSchema.optional(),
    cost: costSchema,
    disp_cost: costSchema.optional(),
  })
  .passthrough();
export type BrickLinkOrderSummary = z.infer<typeof brickLinkOrderSummarySchema>;

const addressSchema = z
  .object({
    name: z
      .object({ full: z.string().optional(), first: z.string().optional(), last: z.string().optional() })
      .optional(),
    full: z.string().optional(),
    address1: z.string().optional(),
    address2: z.string().optional(),
    city: z.string().optional(),
    state: z.string().optional(),
    postal_code: z.string().optional(),
    country_code: z.string().optional(),
    phone_number: z.string().optional(),
  })
  .passthrough();

export const brickLinkOrderSchema = brickLinkOrderSummarySchema.extend({
  buyer_email: z.string().optional(),
  remarks: z.string().optional(),
  total_weight: z.string().optional(),
  drive_thru_sent: z.boolean().optional(),
  shipping: z
    .object({
      method: z.string().optional(),
      method_id: z.union([z.number(), z.string()]).optional(),
      tracking_no: z.string().optional(),
      tracking_link: z.string().optional(),
      date_shipped: time.optional(),
      address: addressSchema.optional(),
    })
    .passthrough()
    .optional(),
});
export type BrickLinkOrder = z.infer<typeof brickLinkOrderSchema>;

export const brickLinkOrderItemSchema = z
  .object({
    inventory_id: z.number().int().optional(),
    item: z.object({
      no: z.string(),
      name: z.string().optional().default(""),
      type: z.string(),
      category_id: z.number().optional(),
    }),
    color_id: z.number().int().optional(),
    color_name: z.string().optional(),
    quantity: z.number().int(),
    new_or_used: z.string().optional(),
    completeness: z.string().optional(),
    unit_price: money,
    unit_price_final: money.optional(),
    disp_unit_price: money.optional(),
    disp_unit_price_final: money.optional(),
    currency_code: z.string().optional(),
    disp_currency_code: z.string().optional(),
    remarks: z.string().optional(),
    description: z.string().optional(),
    weight: z.string().optional(),
    order_cost: money.optional(),
  })
  .passthrough();
export type BrickLinkOrderItem = z.infer<typeof brickLinkOrderItemSchema>;

/** Items come as batches: an array of arrays. */
export const brickLinkOrderItemsSchema = z.array(z.array(brickLinkOrderItemSchema));

export const brickLinkNotificationSchema = z.object({
  event_type: z.string(),
  resource_id: z.union([z.number().int(), z.string()]).transform(String),
  timestamp: time,
});
export type BrickLinkNotification = z.infer<typeof brickLinkNotificationSchema>;

export const brickLinkInventorySchema = z
  .object({
    inventory_id: z.number().int(),
    item: z.object({
      no: z.string(),
      name: z.string().optional(),
      type: z.string(),
      category_id: z.number().optional(),
    }),
    color_id: z.number().int(),
    color_name: z.string().optional(),
    quantity: z.number().int(),
    new_or_used: z.string(),
    completeness: z.string().optional(),
    unit_price: money,
    bind_id: z.number().optional(),
    description: z.string().optional(),
    remarks: z.string().optional(),
    bulk: z.number().optional(),
    is_retain: z.boolean().optional(),
    is_stock_room: z.boolean().optional(),
    stock_room_id: z.string().optional(),
    date_created: time.optional(),
    my_cost: money.optional(),
    sale_rate: z.number().optional(),
  })
  .passthrough();
export type BrickLinkInventory = z.infer<typeof brickLinkInventorySchema>;
