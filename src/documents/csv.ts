import { neutralise, writeCsv } from "../core/csv.ts";
import { toDecimalString } from "../core/money.ts";
import { type DocOrder, itemCount, weightGrams } from "./model.ts";

/** Exact decimal (no float), trailing zeros trimmed to two places: "12.34", "0.104", "7.00". */
export function csvMoney(amount: number): string {
  return toDecimalString(amount, 4)
    .replace(/(\.\d\d\d?)0+$/, "$1")
    .replace(/(\.\d\d)0$/, "$1");
}

/** Text a spreadsheet would run as a formula (=, +, -, @, tab, CR, LF at the start) is kept as text. */
export const csvText = neutralise;

const ORDER_COLUMNS = [
  "order_number",
  "marketplace",
  "marketplace_order_id",
  "ordered_at",
  "status",
  "marketplace_status",
  "payment_status",
  "payment_method",
  "buyer_name",
  "buyer_username",
  "buyer_email",
  "currency",
  "subtotal",
  "shipping",
  "tax",
  "fees",
  "credits",
  "total",
  "lots",
  "items",
  "weight_g",
  "shipping_method",
  "tracking_numbers",
  "ship_name",
  "ship_company",
  "ship_line1",
  "ship_line2",
  "ship_line3",
  "ship_city",
  "ship_region",
  "ship_postal_code",
  "ship_country",
  "ship_phone",
  "buyer_remarks",
  "tags",
  "internal_note",
  "order_url",
];

/** Orders: the table view's columns plus address, payment and shipping fields. UTF-8 with a BOM for spreadsheets. */
export function ordersCsv(orders: DocOrder[]): Buffer {
  const rows = orders.map((o) => {
    const a = o.shippingAddress;
    return [
      o.number,
      o.marketplace,
      o.externalId,
      o.orderedAt.toISOString(),
      o.status,
      csvText(o.rawStatus),
      o.paymentStatus,
      csvText(typeof o.extra.paymentMethod === "string" ? o.extra.paymentMethod : null),
      csvText(o.buyerName),
      csvText(o.buyerUsername),
      csvText(o.buyerEmail),
      o.currency,
      csvMoney(o.subtotal),
      csvMoney(o.shipping),
      csvMoney(o.tax),
      csvMoney(o.fees),
      csvMoney(o.credits),
      csvMoney(o.grandTotal),
      String(o.lines.length),
      String(itemCount(o)),
      String(weightGrams(o) ?? ""),
      csvText(o.shippingMethod),
      csvText(o.trackingNumbers.join(" ")),
      csvText(a?.name),
      csvText(a?.company),
      csvText(a?.line1),
      csvText(a?.line2),
      csvText(a?.line3),
      csvText(a?.city),
      csvText(a?.region),
      csvText(a?.postalCode),
      a?.countryCode ?? "",
      csvText(a?.phone),
      csvText(o.buyerRemarks),
      csvText(o.tags.join(", ")),
      csvText(o.internalNote),
      o.url ?? "",
    ];
  });
  return Buffer.from(`\ufeff${writeCsv([ORDER_COLUMNS, ...rows])}`, "utf8");
}

const LINE_COLUMNS = [
  "order_number",
  "marketplace",
  "line",
  "item_no",
  "name",
  "item_type",
  "color",
  "condition",
  "completeness",
  "quantity",
  "unit_price",
  "line_total",
  "currency",
  "location",
];

/** Order lines: one row per line with its order number. */
export function linesCsv(orders: DocOrder[]): Buffer {
  const rows: string[][] = [];
  for (const o of orders) {
    for (const l of o.lines) {
      rows.push([
        o.number,
        o.marketplace,
        String(l.position + 1),
        csvText(l.itemNo),
        csvText(l.name),
        l.itemType,
        csvText(l.colorName),
        l.condition,
        csvText(l.completeness),
        String(l.quantity),
        csvMoney(l.unitPrice),
        csvMoney(l.lineTotal),
        o.currency,
        csvText(l.location),
      ]);
    }
  }
  return Buffer.from(`\ufeff${writeCsv([LINE_COLUMNS, ...rows])}`, "utf8");
}
