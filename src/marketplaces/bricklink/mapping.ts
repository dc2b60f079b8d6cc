import { MarketplaceError } from "../../core/errors.ts";
import { parseDecimal } from "../../core/money.ts";
import {
  type Address,
  type ItemType,
  type OrderInput,
  type OrderLineInput,
  type OrderSummary,
  unifiedOrderProblem,
} from "../../core/order.ts";
import { type PaymentStatus, statusMapper } from "../../core/status.ts";
import type { MarketplaceLot } from "../types.ts";
import type {
  BrickLinkInventory,
  BrickLinkOrder,
  BrickLinkOrderItem,
  BrickLinkOrderSummary,
} from "./types.ts";

/** Seed 002's table, plus the undocumented PAID-PENDING and PURGED (DESIGN §4). */
export const mapBrickLinkStatus = statusMapper({
  PENDING: "pending",
  UPDATED: "pending",
  PROCESSING: "pending",
  READY: "pending",
  "PAID-PENDING": "pending",
  PAID: "processing",
  PACKED: "processing",
  SHIPPED: "shipped",
  RECEIVED: "completed",
  COMPLETED: "completed",
  PURGED: "completed",
  OCR: "on_hold",
  NPB: "problem",
  NPX: "problem",
  NRS: "problem",
  NSS: "problem",
  CANCELLED: "cancelled",
});

const PAYMENT: Record<string, PaymentStatus> = {
  none: "unpaid",
  sent: "pending",
  clearing: "pending",
  received: "paid",
  completed: "paid",
  returned: "refunded",
  bounced: "unpaid",
};

const NAMED: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: "\u00a0",
  euro: "€",
  pound: "£",
};

/** BrickLink HTML-encodes text (`&#39;`, `&#40;`, `&amp;`); decode named, decimal and hex entities once. */
export function decodeEntities(text: string): string;
export function decodeEntities(text: string | undefined | null): string | null;
export function decodeEntities(text: string | undefined | null): string | null {
  if (text === undefined || text === null) return null;
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-zA-Z]+);/g, (m, body: string) => {
    if (body[0] === "#") {
      const code =
        body[1] === "x" || body[1] === "X" ? Number.parseInt(body.slice(2), 16) : Number(body.slice(1));
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : m;
    }
    return NAMED[body.toLowerCase()] ?? m;
  });
}

/** ISO 3166-1 alpha-2, with BrickLink's `UK` for Great Britain corrected. */
export function countryCode(raw: string | undefined): string | null {
  if (!raw) return null;
  const c = raw.trim().toUpperCase();
  if (c === "UK") return "GB";
  return /^[A-Z]{2}$/.test(c) ? c : null;
}

const ITEM_TYPES: Record<string, ItemType> = {
  PART: "part",
  SET: "set",
  MINIFIG: "minifig",
  BOOK: "book",
  GEAR: "gear",
  CATALOG: "catalog",
  INSTRUCTION: "instruction",
  ORIGINAL_BOX: "original_box",
  UNSORTED_LOT: "unsorted_lot",
};

function contract(field: string, message: string) {
  return new MarketplaceError("contract_changed", {
    marketplace: "bricklink",
    operation: "mapping",
    message: `${field} ${message}`,
    field,
  });
}

function amount(value: string | undefined, field: string): number {
  if (value === undefined || value === "") return 0;
  try {
    return parseDecimal(value);
  } catch {
    throw contract(field, `is not a money amount: ${JSON.stringify(value)}`);
  }
}

/** A sum of amounts that must stay an exact integer. */
function sum(field: string, ...parts: number[]): number {
  const total = parts.reduce((a, b) => a + b, 0);
  if (!Number.isSafeInteger(total)) throw contract(field, "is too large to be a money amount");
  return total;
}

function date(value: string | undefined, field: string): Date | null {
  if (!value) return null;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw contract(field, `is not a timestamp: ${JSON.stringify(value)}`);
  return d;
}

export function mapSummary(s: BrickLinkOrderSummary): OrderSummary {
  return {
    externalId: String(s.order_id),
    changeMarker: s.date_status_changed,
    rawStatus: s.status,
    archived: Boolean(s.is_filed),
  };
}

function mapAddress(o: BrickLinkOrder): Address | null {
  const a = o.shipping?.address;
  if (!a) return null;
  const name =
    decodeEntities(a.name?.full ?? [a.name?.first, a.name?.last].filter(Boolean).join(" ")) || null;
  const parts = [a.address1, a.address2, [a.postal_code, a.city].filter(Boolean).join(" "), a.state]
    .filter(Boolean)
    .map((p) => decodeEntities(p!));
  const full =
    decodeEntities(a.full) || [name, ...parts, countryCode(a.country_code)].filter(Boolean).join("\n");
  return {
    name,
    company: null,
    line1: decodeEntities(a.address1),
    line2: decodeEntities(a.address2),
    line3: null,
    city: decodeEntities(a.city),
    region: decodeEntities(a.state),
    postalCode: a.postal_code ?? null,
    countryCode: countryCode(a.country_code),
    phone: a.phone_number ?? null,
    full,
  };
}

export function mapItems(batches: BrickLinkOrderItem[][]): OrderLineInput[] {
  const lines: OrderLineInput[] = [];
  batches.forEach((batch, b) => {
    batch.forEach((it, i) => {
      const unit = amount(it.unit_price_final ?? it.unit_price, "items.unit_price_final");
      if (!Number.isSafeInteger(it.quantity) || it.quantity < 0)
        throw contract("items.quantity", `is not a quantity: ${JSON.stringify(it.quantity)}`);
      const lineTotal = unit * it.quantity;
      if (!Number.isSafeInteger(lineTotal))
        throw contract("items.quantity", "times items.unit_price_final is too large to be a money amount");
      const lot = it.inventory_id !== undefined ? String(it.inventory_id) : null;
      lines.push({
        // A lot can appear in several batches; batch + position keeps each line apart.
        externalLineId: `${b + 1}:${lot ?? `${it.item.type}-${it.item.no}-${it.color_id ?? 0}`}:${i}`,
        itemNo: it.item.no,
        sku: null,
        name: decodeEntities(it.item.name) ?? it.item.no,
        itemType: ITEM_TYPES[it.item.type.toUpperCase()] ?? "other",
        colorId: it.color_id !== undefined ? String(it.color_id) : null,
        colorName: decodeEntities(it.color_name),
        condition: it.new_or_used === "N" ? "new" : it.new_or_used === "U" ? "used" : "unknown",
        completeness: it.completeness ?? null,
        quantity: it.quantity,
        unitPrice: unit,
        lineTotal,
        marketplaceLotId: lot,
        location: decodeEntities(it.remarks),
        batch: b + 1,
        extra: {
          description: decodeEntities(it.description),
          unitPrice: it.unit_price,
          currency: it.currency_code ?? null,
          dispUnitPrice: it.disp_unit_price_final ?? it.disp_unit_price ?? null,
          dispCurrency: it.disp_currency_code ?? null,
          weight: it.weight ?? null,
        },
      });
    });
  });
  return lines;
}

/** A full BrickLink order (detail + items) in the unified model. Pure and total. */
export function mapOrder(o: BrickLinkOrder, items: BrickLinkOrderItem[][]): OrderInput {
  const c = o.cost;
  const currency = (c.currency_code ?? "").trim().toUpperCase();
  if (!/^[A-Z]{3}$/.test(currency))
    throw contract("cost.currency_code", `is not a currency: ${JSON.stringify(c.currency_code)}`);
  const orderedAt = date(o.date_ordered, "date_ordered");
  if (!orderedAt) throw contract("date_ordered", "is missing: the order has no time");
  const status = mapBrickLinkStatus(o.status);
  const rawPayment = o.payment?.status ?? null;
  return checked({
    marketplace: "bricklink",
    externalId: String(o.order_id),
    number: `BL-${o.order_id}`,
    changeMarker: o.date_status_changed,
    status,
    rawStatus: o.status,
    paymentStatus: rawPayment ? (PAYMENT[rawPayment.toLowerCase()] ?? "unknown") : "unknown",
    rawPaymentStatus: rawPayment,
    buyerName: decodeEntities(o.shipping?.address?.name?.full) ?? decodeEntities(o.buyer_name),
    buyerUsername: decodeEntities(o.buyer_name),
    buyerEmail: o.buyer_email ?? null,
    shippingAddress: mapAddress(o),
    orderedAt,
    updatedAt: date(o.date_status_changed, "date_status_changed"),
    statusChangedAt: date(o.date_status_changed, "date_status_changed"),
    totals: {
      currency,
      subtotal: amount(c.subtotal, "cost.subtotal"),
      shipping: sum(
        "cost.shipping",
        amount(c.shipping, "cost.shipping"),
        amount(c.insurance, "cost.insurance"),
      ),
      tax: sum(
        "cost.vat_amount",
        amount(c.vat_amount, "cost.vat_amount"),
        amount(c.salesTax_collected_by_BL, "cost.salesTax_collected_by_BL"),
      ),
      fees: sum("cost.etc1", amount(c.etc1, "cost.etc1"), amount(c.etc2, "cost.etc2")),
      credits: sum("cost.credit", amount(c.credit, "cost.credit"), amount(c.coupon, "cost.coupon")),
      grandTotal: amount(c.grand_total, "cost.grand_total"),
    },
    shippingMethod: decodeEntities(o.shipping?.method),
    trackingNumbers: o.shipping?.tracking_no ? [o.shipping.tracking_no] : [],
    buyerRemarks: decodeEntities(o.remarks),
    archived: Boolean(o.is_filed),
    url: `https://www.bricklink.com/orderDetail.asp?ID=${o.order_id}`,
    lines: mapItems(items),
    extra: {
      storeName: o.store_name ?? null,
      paymentMethod: o.payment?.method ?? null,
      datePaid: o.payment?.date_paid ?? null,
      finalTotal: c.final_total ?? null,
      dispCost: o.disp_cost ?? null,
      totalWeight: o.total_weight ?? null,
      trackingLink: o.shipping?.tracking_link ?? null,
      dateShipped: o.shipping?.date_shipped ?? null,
      driveThruSent: o.drive_thru_sent ?? null,
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

/** A BrickLink store lot in unified terms (remarks are the bin location, as on order lines). */
export function mapInventoryLot(l: BrickLinkInventory): MarketplaceLot {
  return {
    externalId: String(l.inventory_id),
    itemNo: l.item.no,
    itemType: ITEM_TYPES[l.item.type.toUpperCase()] ?? "other",
    colorId: String(l.color_id),
    colorName: decodeEntities(l.color_name) ?? null,
    condition: l.new_or_used === "N" ? "new" : l.new_or_used === "U" ? "used" : "unknown",
    completeness: l.completeness ?? null,
    name: decodeEntities(l.item.name) ?? null,
    quantity: l.quantity,
    price: amount(l.unit_price, "unit_price"),
    location: decodeEntities(l.remarks) || null,
    description: l.description ?? null,
    linkedExternalId: null,
  };
}
