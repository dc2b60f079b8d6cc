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

/**
 * The summary row of a listed order (number, buyer, date, status, total), stored before its details.
 * A PURGED order has no items any more: its details are never fetched.
 */
export function mapListedOrder(s: BrickLinkOrderSummary): ListedOrder {
  const currency = (s.cost.currency_code ?? "").trim().toUpperCase();
  if (!/^[A-Z]{3}$/.test(currency))
    throw contract("cost.currency_code", `is not a currency: ${JSON.stringify(s.cost.currency_code)}`);
  const orderedAt = date(s.date_ordered, "date_ordered");
  if (!orderedAt) throw contract("date_ordered", "is missing: the order has no time");
  const rawPayment = s.payment?.status ?? null;
  return {
    number: `BL-${s.order_id}`,
    rawStatus: s.status,
    status: mapBrickLinkStatus(s.status),
    rawPaymentStatus: rawPayment,
    paymentStatus: rawPayment ? (PAYMENT[rawPayment.toLowerCase()] ?? "unknown") : "unknown",
    buyerName: decodeEntities(s.buyer_name),
    buyerUsername: decodeEntities(s.buyer_name),
    orderedAt,
    statusChangedAt: date(s.date_status_changed, "date_status_changed"),
    currency,
    subtotal: amount(s.cost.subtotal, "cost.subtotal"),
    grandTotal: amount(s.cost.grand_total, "cost.grand_total"),
    lotCount: s.unique_count ?? null,
    itemCount: s.total_count ?? null,
    archived: Boolean(s.is_filed),
    url: `https://www.bricklink.com/orderDetail.asp?ID=${s.order_id}`,
    detailsAvailable: s.status.trim().toUpperCase() !== "PURGED",
  };
}

function mapAddress(o: BrickLinkOrder): Address | null {
  const a = o.shipping?.address;
  if (!a) return null;
  const name =
    decodeEntities(a.name?.full ?? [a.name?.first, a.name?.last].filter(Boolean).join(" ")) || null;
  const address: Address = {
    name,
    company: null,
    line1: decodeEntities(a.address1) || null,
    line2: decodeEntities(a.address2) || null,
    line3: null,
    city: decodeEntities(a.city) || null,
    region: decodeEntities(a.state) || null,
    postalCode: a.postal_code?.trim() || null,
    countryCode: countryCode(a.country_code),
    phone: a.phone_number ?? null,
    full: "",
  };
  // `full` is often the only address BrickLink gives, and it leaves out the country: it stays as
  // given (the documents add the country line); parts alone are written in the country's order.
  const full = decodeEntities(a.full) || formatAddressLines(address).join("\n");
  return { ...address, full };
}

const rate = (r: string | undefined) => {
  const n = r ? Number(r) : 0;
  return Number.isFinite(n) && n !== 0 ? ` ${String(n)} %` : "";
};

/**
 * Every component BrickLink itemises between the items and the grand total. Whether VAT and sales
 * tax are inside the prices or added on top is read from BrickLink's own figures (its documented
 * example carries 19 % VAT inside a grand total of subtotal + shipping).
 */
export function mapCharges(c: BrickLinkOrder["cost"]): ChargeInput[] {
  const charges: ChargeInput[] = [
    { kind: "shipping", label: "Shipping", amount: amount(c.shipping, "cost.shipping") },
  ];
  const add = (kind: ChargeInput["kind"], label: string, value: number) => {
    if (value !== 0) charges.push({ kind, label, amount: value });
  };
  add("insurance", "Insurance", amount(c.insurance, "cost.insurance"));
  add("fee", "Additional charge 1", amount(c.etc1, "cost.etc1"));
  add("fee", "Additional charge 2", amount(c.etc2, "cost.etc2"));
  add("credit", "Credit", -amount(c.credit, "cost.credit"));
  add("coupon", "Coupon", -amount(c.coupon, "cost.coupon"));
  const vat = amount(c.vat_amount, "cost.vat_amount");
  const salesTax = amount(c.salesTax_collected_by_BL, "cost.salesTax_collected_by_BL");
  const base = sum("cost", amount(c.subtotal, "cost.subtotal"), ...charges.map((x) => x.amount));
  const grand = amount(c.grand_total, "cost.grand_total");
  // The first reading under which BrickLink's figures add up; else VAT inside, sales tax on top.
  const readings: [vatAdded: boolean, taxAdded: boolean][] = [
    [false, true],
    [true, true],
    [false, false],
    [true, false],
  ];
  const [vatAdded, taxAdded] = readings.find(
    ([v, t]) => base + (v ? vat : 0) + (t ? salesTax : 0) === grand,
  ) ?? [false, true];
  if (vat !== 0)
    charges.push({
      kind: "tax",
      label: vatAdded ? `VAT${rate(c.vat_rate)}` : `VAT${rate(c.vat_rate)} included`,
      amount: vat,
      included: !vatAdded,
    });
  if (salesTax !== 0)
    charges.push({
      kind: "tax",
      label: taxAdded ? "Sales tax collected by BrickLink" : "Sales tax collected by BrickLink, included",
      amount: salesTax,
      included: !taxAdded,
    });
  return charges;
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
      charges: mapCharges(c),
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
