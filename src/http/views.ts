import { chargeBreakdownView } from "../core/charges.ts";
import { toDecimalString } from "../core/money.ts";
import type { Address } from "../core/order.ts";
import type { LineLot } from "../db/repos/order-lots.ts";
import type { OrderListRow } from "../db/repos/orders.ts";
import type { SyncRunRow } from "../db/repos/sync-runs.ts";
import type { orderEvents, orderLines, orders } from "../db/schema.ts";
import { shipToView } from "../documents/text.ts";

/** Totals show two decimals; unit prices keep BrickLink's four where they are used (0.0125). */
export function displayAmount(amount: number, precise = false): string {
  if (!precise) return toDecimalString(amount, 2);
  return toDecimalString(amount, 4).replace(/(\.\d{2}\d*?)0+$/, "$1");
}

export function moneyView(amount: number, currency: string, precise = false) {
  return { amount, currency, display: displayAmount(amount, precise) };
}

export function orderRowView(r: OrderListRow) {
  return {
    id: r.id,
    number: r.number,
    marketplace: r.marketplace,
    connectionId: r.connectionId,
    externalId: r.externalId,
    status: r.status,
    rawStatus: r.rawStatus,
    paymentStatus: r.paymentStatus,
    buyerName: r.buyerName,
    buyerUsername: r.buyerUsername,
    orderedAt: r.orderedAt,
    updatedAt: r.updatedAt,
    grandTotal: moneyView(r.grandTotal, r.currency),
    lotCount: r.lotCount,
    itemCount: r.itemCount,
    countryCode: r.countryCode,
    shippingMethod: r.shippingMethod,
    tags: r.tags,
    needsReview: r.needsReview,
    onHold: r.onHold,
  };
}

type OrderRow = typeof orders.$inferSelect;
type LineRow = typeof orderLines.$inferSelect;
type EventRow = typeof orderEvents.$inferSelect;

/** What the order panel shows beyond the row itself: the lots lines were matched to, the sender's country. */
export interface OrderDetailContext {
  lots?: Map<number, LineLot>;
  /** The account's return-address country: the ship-to names the destination's country when it differs. */
  fromCountry?: string | null;
}

export function orderDetailView(
  o: OrderRow,
  lines: LineRow[],
  events: EventRow[],
  withRaw: boolean,
  more: OrderDetailContext = {},
) {
  const m = (a: number) => moneyView(a, o.currency);
  return {
    ...orderRowView(o),
    buyerEmail: o.buyerEmail,
    shippingAddress: o.shippingAddress,
    shipTo: shipToView(
      { shippingAddress: o.shippingAddress as Address | null, buyerName: o.buyerName },
      more.fromCountry ?? null,
    ),
    charges: chargeBreakdownView(
      { ...o, detailsPending: (o as { details?: string }).details === "pending" },
      o.currency,
    ),
    statusChangedAt: o.statusChangedAt,
    marketplaceUpdatedAt: o.marketplaceUpdatedAt,
    totals: {
      subtotal: m(o.subtotal),
      shipping: m(o.shipping),
      tax: m(o.tax),
      fees: m(o.fees),
      credits: m(o.credits),
      grandTotal: m(o.grandTotal),
    },
    shippingMethod: o.shippingMethod,
    trackingNumbers: o.trackingNumbers,
    buyerRemarks: o.buyerRemarks,
    internalNote: o.internalNote,
    onHold: o.onHold,
    holdReason: o.holdReason,
    review: o.review,
    archived: o.archived,
    url: o.url,
    extra: o.extra,
    lines: lines.map((l) => ({
      id: l.id,
      externalLineId: l.externalLineId,
      itemNo: l.itemNo,
      sku: l.sku,
      name: l.name,
      itemType: l.itemType,
      colorId: l.colorId,
      colorName: l.colorName,
      condition: l.condition,
      completeness: l.completeness,
      quantity: l.quantity,
      unitPrice: moneyView(l.unitPrice, o.currency, true),
      lineTotal: m(l.lineTotal),
      marketplaceLotId: l.marketplaceLotId,
      lot: l.lotId !== null ? (more.lots?.get(Number(l.lotId)) ?? null) : null,
      location: l.location,
      batch: l.batch,
      digital: l.digital,
      removedAt: l.removedAt,
    })),
    events: events.map((e) => ({
      id: e.id,
      kind: e.kind,
      fromStatus: e.fromStatus,
      toStatus: e.toStatus,
      rawStatus: e.rawStatus,
      source: e.source,
      at: e.at,
      marketplaceAt: e.marketplaceAt,
      detail: e.detail,
    })),
    ...(withRaw ? { raw: o.raw } : {}),
  };
}

export function runView(r: SyncRunRow) {
  return {
    id: r.id,
    connectionId: r.connectionId,
    trigger: r.trigger,
    mode: r.mode,
    includeArchived: r.includeArchived,
    targetIds: r.targetIds,
    state: r.state,
    seen: r.seen,
    total: r.total,
    created: r.created,
    updated: r.updated,
    skipped: r.skipped,
    failed: r.failed,
    failures: r.failures,
    apiCalls: r.apiCalls,
    error: r.error,
    waitingUntil: r.waitingUntil,
    cancelRequested: r.cancelRequested,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    createdAt: r.createdAt,
    durationMs: r.startedAt && r.finishedAt ? r.finishedAt.getTime() - r.startedAt.getTime() : null,
  };
}
