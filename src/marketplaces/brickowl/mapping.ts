import { formatAddressLines } from "../../core/address.ts";
import { MarketplaceError } from "../../core/errors.ts";
import { parseDecimal } from "../../core/money.ts";
import {
  type Address,
  type ChargeInput,
  type ItemType,
  type OrderInput,
  type OrderLineInput,
  type OrderSummary,
  unifiedOrderProblem,
} from "../../core/order.ts";
import { type PaymentStatus, statusMapper } from "../../core/status.ts";
import type { ListedOrder, MarketplaceLot } from "../types.ts";
import type {
  BrickOwlInventoryLot,
  BrickOwlOrder,
  BrickOwlOrderItem,
  BrickOwlOrderListEntry,
} from "./types.ts";

/** BrickOwl's status ids (reference B3). Ids 1–7 are the ones a seller may set. */
export const BRICKOWL_STATUSES: Readonly<Record<number, string>> = {
  0: "Pending",
  1: "Payment Submitted",
  2: "Payment Received",
  3: "Processing",
  4: "Processed",
  5: "Shipped",
  6: "Received",
  7: "On Hold",
  8: "Cancelled",
};

/** Mapped by id, never by the name (names are display text). Unknown ids → needs_review. */
export const mapBrickOwlStatus = statusMapper({
  "0": "pending",
  "1": "pending",
  "2": "processing",
  "3": "processing",
  "4": "processing",
  "5": "shipped",
  "6": "completed",
  "7": "on_hold",
  "8": "cancelled",
});

/** A status given as an id or a name ("processing", "On Hold") → its id, or null when unknown. */
export function brickOwlStatusId(value: string): number | null {
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) in BRICKOWL_STATUSES ? Number(v) : null;
  const hit = Object.entries(BRICKOWL_STATUSES).find(
    ([, name]) => name.toLowerCase() === v.toLowerCase().replace(/_/g, " "),
  );
  return hit ? Number(hit[0]) : null;
}

function statusName(id: number, name: string | null | undefined): string {
  return name?.trim() || BRICKOWL_STATUSES[id] || `Status ${id}`;
}

function paymentStatus(id: number): PaymentStatus {
  if (id === 0) return "unpaid";
  if (id === 1) return "pending";
  if (id >= 2 && id <= 7) return "paid";
  return "unknown";
}

function contract(field: string, message: string) {
  return new MarketplaceError("contract_changed", {
    marketplace: "brickowl",
    operation: "mapping",
    message: `${field} ${message}`,
    field,
  });
}

function amount(value: string | null | undefined, field: string): number {
  if (value === undefined || value === null || value.trim() === "") return 0;
  try {
    return parseDecimal(value);
  } catch {
    throw contract(field, `is not a money amount: ${JSON.stringify(value)}`);
  }
}

/** A Unix-seconds string ("1398775922"); 0 or empty means "none". */
export function unixTime(value: string | null | undefined, field: string): Date | null {
  if (value === undefined || value === null || value.trim() === "") return null;
  if (!/^\d+$/.test(value.trim())) throw contract(field, `is not a Unix time: ${JSON.stringify(value)}`);
  const n = Number(value);
  if (n === 0) return null;
  const d = new Date(n * 1000);
  if (Number.isNaN(d.getTime())) throw contract(field, `is not a Unix time: ${JSON.stringify(value)}`);
  return d;
}

/** ISO time with BrickOwl's UK offset; the 1970 epoch it shows for unprocessed orders means "none". */
export function isoTime(value: string | null | undefined, field: string): Date | null {
  if (!value) return null;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw contract(field, `is not a timestamp: ${JSON.stringify(value)}`);
  return d.getTime() <= 86_400_000 ? null : d;
}

/**
 * The list carries no change time, so the change marker is what the list does show: status, total,
 * quantity and lot count. An edited order or a status change moves it; an untouched one never does.
 */
export function changeMarker(o: {
  status_id: number;
  base_order_total?: string | null;
  total_quantity?: string | null;
  total_lots?: string | null;
}): string {
  let total = o.base_order_total ?? "";
  try {
    total = String(parseDecimal(total || "0"));
  } catch {
    // keep the text: it still changes when the total changes
  }
  return `s${o.status_id}|t${total}|q${(o.total_quantity ?? "").trim()}|l${(o.total_lots ?? "").trim()}`;
}

export function mapSummary(e: BrickOwlOrderListEntry): OrderSummary {
  return {
    externalId: e.order_id,
    changeMarker: changeMarker(e),
    rawStatus: statusName(e.status_id, e.status),
    archived: false,
  };
}

/**
 * The summary row of a listed order, stored before its details: the list has number, date, status,
 * total and counts (no buyer: that comes with the details).
 */
export function mapListedOrder(e: BrickOwlOrderListEntry): ListedOrder {
  const placed = unixTime(e.order_date, "order_date");
  if (!placed) throw contract("order_date", "is missing: the order has no time");
  const currency = (e.base_currency ?? "").trim().toUpperCase();
  if (!/^[A-Z]{3}$/.test(currency))
    throw contract("base_currency", `is not a currency: ${JSON.stringify(e.base_currency)}`);
  const count = (v: string | null | undefined) => (v && /^\d+$/.test(v.trim()) ? Number(v.trim()) : null);
  return {
    number: `BO-${e.order_id}`,
    rawStatus: statusName(e.status_id, e.status),
    status: mapBrickOwlStatus(String(e.status_id)),
    rawPaymentStatus: null,
    paymentStatus: paymentStatus(e.status_id),
    buyerName: null,
    buyerUsername: null,
    orderedAt: placed,
    statusChangedAt: null,
    currency,
    subtotal: null,
    grandTotal: amount(e.base_order_total, "base_order_total"),
    lotCount: count(e.total_lots),
    itemCount: count(e.total_quantity),
    archived: false,
    url: `https://www.brickowl.com/mystore/orders/history/${e.order_id}`,
    detailsAvailable: true,
  };
}

const ITEM_TYPES: Record<string, ItemType> = {
  part: "part",
  set: "set",
  minifigure: "minifig",
  gear: "gear",
  sticker: "part",
  minibuild: "set",
  instructions: "instruction",
  packaging: "original_box",
};

/** `full_con`: new, news (sealed), newc/newi (complete/incomplete), usedc/usedi/usedn/usedg/useda, other. */
function condition(it: BrickOwlOrderItem): {
  condition: "new" | "used" | "unknown";
  completeness: string | null;
} {
  const full = (it.full_con ?? "").toLowerCase();
  const coarse = full || (it.condition ?? "").toLowerCase();
  const cond = coarse.startsWith("new") ? "new" : coarse.startsWith("used") ? "used" : "unknown";
  const completeness =
    full === "news" ? "S" : full.endsWith("c") && full !== "" ? "C" : full.endsWith("i") ? "B" : null;
  return { condition: cond, completeness };
}

/** The item number a seller knows: BrickLink's, else the design id, else the BOID. */
function itemNumber(it: BrickOwlOrderItem): string | null {
  const of = (type: string) => it.ids?.find((x) => x.type === type && x.id)?.id ?? null;
  return of("bl_item_no") ?? of("design_id") ?? boidOf(it);
}

/** The linked BrickLink lot: `bl_lot_id`, else the first external lot id. */
export function linkedBrickLinkLot(it: {
  bl_lot_id?: string | null;
  external_lot_ids?: Record<string, string | null | undefined> | null;
}): string | null {
  if (it.bl_lot_id?.trim()) return it.bl_lot_id.trim();
  const ext = it.external_lot_ids ?? {};
  return (
    ext.other?.trim() ||
    Object.values(ext)
      .find((v) => v?.trim())
      ?.trim() ||
    null
  );
}

/** The BOID: its own field in newer answers, only in `ids` in older ones. */
function boidOf(it: BrickOwlOrderItem): string | null {
  return it.boid?.trim() || it.ids?.find((x) => x.type === "boid" && x.id)?.id || null;
}

export function mapItems(items: BrickOwlOrderItem[]): OrderLineInput[] {
  return items.map((it, i) => {
    const boid = boidOf(it);
    const unit = amount(it.base_price, `items.${i}.base_price`);
    if (!Number.isSafeInteger(it.ordered_quantity) || it.ordered_quantity < 0)
      throw contract(
        `items.${i}.ordered_quantity`,
        `is not a quantity: ${JSON.stringify(it.ordered_quantity)}`,
      );
    const lineTotal = unit * it.ordered_quantity;
    if (!Number.isSafeInteger(lineTotal))
      throw contract(`items.${i}.ordered_quantity`, "times base_price is too large to be a money amount");
    const { condition: cond, completeness } = condition(it);
    return {
      externalLineId: it.order_item_id,
      itemNo: itemNumber(it),
      sku: boid,
      name: it.name?.trim() || boid || `item ${it.order_item_id}`,
      itemType: ITEM_TYPES[(it.type ?? "part").toLowerCase()] ?? "other",
      colorId: it.color_id ?? null,
      colorName: it.color_name ?? null,
      condition: cond,
      completeness,
      quantity: it.ordered_quantity,
      unitPrice: unit,
      lineTotal,
      marketplaceLotId: it.lot_id ?? null,
      location: it.personal_note?.trim() || null,
      batch: null,
      extra: {
        boid,
        fullCondition: it.full_con ?? null,
        brickLinkLotId: linkedBrickLinkLot(it),
        refundedQuantity: it.refunded_quantity ? Number(it.refunded_quantity) : 0,
        remainingQuantity: it.remaining_quantity ? Number(it.remaining_quantity) : null,
        publicNote: it.public_note ?? null,
        weight: it.weight ?? null,
        image: it.image_small ? it.image_small.replace(/^\/\//, "https://") : null,
      },
    };
  });
}

function mapAddress(o: BrickOwlOrder): Address | null {
  const name =
    [o.ship_first_name, o.ship_last_name]
      .map((s) => s?.trim())
      .filter(Boolean)
      .join(" ") || null;
  const line1 = o.ship_street_1?.trim() || null;
  const city = o.ship_city?.trim() || null;
  if (!name && !line1 && !city) return null;
  const cc = o.ship_country_code?.trim().toUpperCase();
  const countryCode = cc === "UK" ? "GB" : cc && /^[A-Z]{2}$/.test(cc) ? cc : null;
  const line2 = o.ship_street_2?.trim() || null;
  const region = o.ship_region?.trim() || null;
  const postalCode = o.ship_post_code?.trim() || null;
  const address: Address = {
    name,
    company: null,
    line1,
    line2,
    line3: null,
    city,
    region,
    postalCode,
    countryCode,
    phone: o.ship_phone?.trim() || null,
    full: "",
  };
  // The full text in the destination's order ("10115 Berlin", "Portland, IN 00000"), country last.
  const lines = formatAddressLines(address, { fromCountry: null });
  const country = o.ship_country?.trim();
  if (country && !countryCode) lines.push(country);
  return { ...address, full: lines.join("\n") };
}

const rateText = (r: string | number | null | undefined) => {
  const n = Number(r ?? 0);
  return Number.isFinite(n) && n !== 0 ? ` ${String(n)} %` : "";
};

/**
 * The components BrickOwl itemises: shipping, coupon, tax. Whether the tax was added or is inside
 * the prices is read from BrickOwl's own figures; what still does not add up (BrickOwl rounds the
 * subtotal and the total each on its own) is left for the breakdown to show as rounding.
 */
export function mapCharges(o: BrickOwlOrder): ChargeInput[] {
  const sub = amount(o.sub_total, "sub_total");
  const ship = amount(o.ship_total, "ship_total");
  const coupon = amount(o.coupon_discount, "coupon_discount");
  const tax = amount(o.tax_amount, "tax_amount");
  const total = amount(o.base_order_total, "base_order_total");
  const charges: ChargeInput[] = [{ kind: "shipping", label: "Shipping", amount: ship }];
  if (coupon !== 0) charges.push({ kind: "coupon", label: "Coupon", amount: -Math.abs(coupon) });
  if (tax !== 0) {
    const before = sub + ship - Math.abs(coupon);
    const included = before === total && before + tax !== total;
    const label = `Tax${rateText(o.tax_rate)}`;
    charges.push({ kind: "tax", label: included ? `${label} included` : label, amount: tax, included });
  }
  return charges;
}

/** A full BrickOwl order (order/view + order/items) in the unified model. Pure and total. */
export function mapOrder(o: BrickOwlOrder, items: BrickOwlOrderItem[]): OrderInput {
  const placed = unixTime(o.order_time, "order_time") ?? isoTime(o.iso_order_time, "iso_order_time");
  if (!placed) throw contract("order_time", "is missing: the order has no time");
  const processed =
    unixTime(o.processed_time, "processed_time") ?? isoTime(o.iso_processed_time, "iso_processed_time");
  const currency = (o.base_currency ?? "").trim().toUpperCase();
  if (!/^[A-Z]{3}$/.test(currency))
    throw contract("base_currency", `is not a currency: ${JSON.stringify(o.base_currency)}`);
  const raw = statusName(o.status_id, o.status);
  const tracking = o.tracking_number?.trim();
  return checked({
    marketplace: "brickowl",
    externalId: o.order_id,
    number: `BO-${o.order_id}`,
    changeMarker: changeMarker(o),
    status: mapBrickOwlStatus(String(o.status_id)),
    rawStatus: raw,
    paymentStatus: paymentStatus(o.status_id),
    rawPaymentStatus: o.payment_method_type ?? null,
    buyerName:
      o.buyer_name?.trim() ||
      [o.ship_first_name, o.ship_last_name].filter(Boolean).join(" ").trim() ||
      o.customer_username ||
      null,
    buyerUsername: o.customer_username ?? null,
    buyerEmail: o.customer_email ?? null,
    shippingAddress: mapAddress(o),
    orderedAt: placed,
    updatedAt: null,
    statusChangedAt: null,
    totals: {
      currency,
      subtotal: amount(o.sub_total, "sub_total"),
      shipping: amount(o.ship_total, "ship_total"),
      tax: amount(o.tax_amount, "tax_amount"),
      fees: 0,
      credits: amount(o.coupon_discount, "coupon_discount"),
      grandTotal: amount(o.base_order_total, "base_order_total"),
      charges: mapCharges(o),
    },
    shippingMethod: o.ship_method_name?.trim() || null,
    trackingNumbers: tracking ? [tracking] : [],
    buyerRemarks: o.buyer_note?.trim() || null,
    archived: false,
    url: `https://www.brickowl.com/mystore/orders/history/${o.order_id}`,
    lines: mapItems(items),
    extra: {
      statusId: o.status_id,
      storeId: o.store_id ?? null,
      processedAt: processed?.toISOString() ?? null,
      paymentCurrency: o.payment_currency ?? null,
      paymentTotal: o.payment_total ?? null,
      paymentMethod: o.payment_method_type ?? null,
      weightGrams: o.weight ?? null,
      taxRate: o.tax_rate ?? null,
      refundTotal: o.refund_total ?? null,
      brickowlFee: o.brickowl_fee ?? null,
      affiliateFee: o.affiliate_fee ?? null,
      sellerNote: o.seller_note ?? null,
      combineWith: o.combine_with ?? null,
      trackingAdvice: o.tracking_advice || null,
    },
    raw: { order: o, items },
  });
}

/** The last guard: an order that does not fit the unified model is a contract change, named by field. */
function checked(order: OrderInput): OrderInput {
  const problem = unifiedOrderProblem(order);
  if (problem) throw contract(problem.field, problem.message);
  return order;
}

/** A BrickOwl store lot in unified terms; the item number is BrickLink's where BrickOwl knows it. */
export function mapInventoryLot(l: BrickOwlInventoryLot): MarketplaceLot {
  const of = (type: string) => l.ids?.find((x) => x.type === type && x.id)?.id ?? null;
  const full = (l.full_con ?? l.con ?? "").toLowerCase();
  const rec = l as Record<string, unknown>;
  return {
    externalId: l.lot_id,
    itemNo: of("bl_item_no") ?? of("design_id") ?? l.boid ?? null,
    itemType: ITEM_TYPES[(l.type ?? "part").toLowerCase()] ?? "other",
    colorId: typeof rec.color_id === "string" ? rec.color_id : (l.boid?.split("-")[1] ?? null),
    colorName: typeof rec.color_name === "string" ? rec.color_name : null,
    condition: full.startsWith("new") ? "new" : full.startsWith("used") ? "used" : "unknown",
    completeness: null,
    name: typeof rec.name === "string" ? rec.name : null,
    quantity: l.qty,
    price: l.price ? amount(l.price, "price") : null,
    location: l.personal_note?.trim() || null,
    description: l.public_note ?? null,
    linkedExternalId: linkedBrickLinkLot(l),
  };
}
