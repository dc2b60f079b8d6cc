import type { Address, Charge } from "../core/order.ts";

/** What every document needs of an order: the order, its live lines, nothing else. */
export interface DocOrder {
  id: number;
  number: string;
  marketplace: string;
  /** The marketplace as people know it ("BrickLink"), from its manifest. */
  marketplaceName: string;
  externalId: string;
  status: string;
  rawStatus: string;
  orderedAt: Date;
  buyerName: string | null;
  buyerUsername: string | null;
  buyerEmail: string | null;
  shippingAddress: Address | null;
  currency: string;
  subtotal: number;
  shipping: number;
  tax: number;
  fees: number;
  credits: number;
  grandTotal: number;
  /** The marketplace's itemisation of the total; [] when it gave none. */
  charges: Charge[];
  shippingMethod: string | null;
  trackingNumbers: string[];
  buyerRemarks: string | null;
  paymentStatus: string;
  tags: string[];
  internalNote: string | null;
  url: string | null;
  extra: Record<string, unknown>;
  lines: DocLine[];
}

export interface DocLine {
  position: number;
  itemNo: string | null;
  name: string;
  itemType: string;
  colorName: string | null;
  condition: string;
  completeness: string | null;
  quantity: number;
  unitPrice: number;
  lineTotal: number;
  location: string | null;
}

/** The seller's details printed on documents (account settings → documents). */
export interface Sender {
  storeName: string;
  returnAddress: Address | null;
  email: string | null;
}

/** Weight in grams when the marketplace told us (BrickOwl `weight`, BrickLink `total_weight`). */
export function weightGrams(o: DocOrder): number | null {
  const raw = o.extra.weightGrams ?? o.extra.totalWeight;
  const n = typeof raw === "number" ? raw : typeof raw === "string" ? Number(raw) : Number.NaN;
  return Number.isFinite(n) && n > 0 ? n : null;
}

export function itemCount(o: DocOrder): number {
  return o.lines.reduce((n, l) => n + l.quantity, 0);
}
