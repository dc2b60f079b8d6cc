import { and, eq, sql } from "drizzle-orm";
import { MarketplaceError } from "../core/errors.ts";
import type { MarketplaceId } from "../core/marketplace-ids.ts";
import { orderEvents, orders, shipments } from "../db/schema.ts";
import { getAdapter } from "../marketplaces/registry.ts";
import type { ShipmentPush } from "../marketplaces/types.ts";
import type { OutboxHandler, OutboxRow } from "../sync/outbox.ts";
import { leftToShip, lineStates, SHIPPED_STATUSES } from "./lines.ts";
import type { FulfilmentPayload, Step } from "./payload.ts";

const refused = (marketplace: string, operation: string, message: string) =>
  new MarketplaceError("invalid_request", { marketplace: marketplace as MarketplaceId, operation, message });

const extraId = (step: Step) =>
  step.op === "drive_thru" ? "drive_thru" : step.op === "extra" ? step.id : null;

/**
 * Performs fulfilment pushes for the outbox dispatcher (registered by the worker wiring). A step
 * whose last attempt may have landed (the row is marked ambiguous) is read back first: a shipment
 * the marketplace already holds is never created a second time.
 */
export const fulfilmentPushHandler: OutboxHandler = {
  async push(row: OutboxRow, p) {
    let payload = row.payload as FulfilmentPayload;
    const { adapter, actx } = p;
    const name = adapter.manifest.displayName;
    for (let i = payload.done; i < payload.steps.length; i++) {
      const step = payload.steps[i]!;
      const key = `${row.idempotencyKey}:${i}`;
      if (step.op === "shipment") {
        const port = adapter.shipments;
        if (port.granularity === "none")
          throw refused(payload.marketplace, "shipment", `${name} takes no shipment updates`);
        const push: ShipmentPush = {
          externalOrderId: payload.externalOrderId,
          carrier: step.carrier,
          trackingNumber: step.trackingNumber,
          trackingUrl: step.trackingUrl,
          shippedAt: new Date(step.shippedAt),
          lines: port.granularity === "line" ? (step.lines ?? null) : null,
          idempotencyKey: key,
        };
        const held = payload.ambiguous ? await port.readBack(actx, push) : null;
        const receipt = held ?? (await port.push(actx, push));
        payload = { ...payload, receipt: { externalShipmentId: receipt.externalShipmentId ?? null } };
      } else if (step.op === "status") {
        const port = adapter.status;
        if (port.kind === "none")
          throw refused(payload.marketplace, "status", `${name} takes no status updates`);
        const now = payload.ambiguous ? await port.readBack(actx, payload.externalOrderId) : null;
        if (now?.toLowerCase() !== step.rawStatus.toLowerCase())
          await port.push(actx, {
            externalOrderId: payload.externalOrderId,
            rawStatus: step.rawStatus,
            idempotencyKey: key,
          });
      } else {
        const id = extraId(step)!;
        const port = adapter.shipments;
        const extra = port.granularity === "none" ? undefined : port.extras.find((e) => e.id === id);
        if (!extra) throw refused(payload.marketplace, id, `${name} has no "${id}" message`);
        // A second message to the buyer is worse than none: after a lost answer it is not sent again.
        if (!payload.ambiguous) await extra.send(actx, payload.externalOrderId);
      }
      payload = { ...payload, done: i + 1, ambiguous: false };
      await p.saveProgress(payload);
    }
  },
  async onSent(tx, row, at) {
    const payload = row.payload as FulfilmentPayload;
    const adapter = getAdapter(payload.marketplace);
    const source = `marketplace:${payload.marketplace}`;
    const [order] = await tx.select().from(orders).where(eq(orders.id, row.orderId!));
    if (!order) return;
    await tx.insert(orderEvents).values({
      accountId: row.accountId,
      orderId: order.id,
      kind: "push_sent",
      source,
      at,
      detail: { pushId: row.id, action: payload.action, steps: payload.steps },
    });
    await tx
      .update(shipments)
      .set({ state: "sent", externalShipmentId: payload.receipt?.externalShipmentId ?? null })
      .where(and(eq(shipments.pushId, row.id), eq(shipments.accountId, row.accountId)));
    // What the marketplace now holds is known: apply it, so the next sync finds nothing to change.
    let status = [...payload.steps].reverse().find((s) => s.op === "status")?.rawStatus ?? null;
    const shipment = payload.steps.find((s) => s.op === "shipment");
    const tracking = shipment?.op === "shipment" ? shipment.trackingNumber : null;
    const patch: Partial<typeof orders.$inferInsert> = {};
    if (tracking && !order.trackingNumbers.includes(tracking))
      patch.trackingNumbers = [...order.trackingNumbers, tracking];
    let next = status ? adapter.orders.mapStatus(status) : null;
    if (
      !status &&
      shipment &&
      adapter.shipments.granularity === "line" &&
      !SHIPPED_STATUSES.has(order.status)
    ) {
      // Where shipments go by line, the order is shipped once confirmed shipments cover every line.
      const lines = (await lineStates(tx, row.accountId, [order], { sentOnly: true })).get(order.id) ?? [];
      if (lines.some((l) => !l.removed) && lines.every((l) => leftToShip(l) === 0)) {
        status = adapter.manifest.shippedStatus ?? order.rawStatus;
        next = "shipped";
      }
    }
    if (status && next && (order.rawStatus !== status || (next === "shipped" && order.status !== next))) {
      patch.rawStatus = status;
      patch.status = next;
      patch.statusChangedAt = at;
      await tx.insert(orderEvents).values({
        accountId: row.accountId,
        orderId: order.id,
        kind: "status_changed",
        fromStatus: order.status,
        toStatus: next,
        rawStatus: status,
        source,
        at,
        detail: { confirmedPush: row.id },
      });
    }
    if (Object.keys(patch).length)
      await tx
        .update(orders)
        .set({ ...patch, updatedAt: sql`now()` })
        .where(eq(orders.id, order.id));
  },
  async onFailed(tx, row, reason, at) {
    if (!row.orderId) return;
    const payload = row.payload as FulfilmentPayload;
    await tx
      .update(shipments)
      .set({ state: "failed" })
      .where(and(eq(shipments.pushId, row.id), eq(shipments.accountId, row.accountId)));
    await tx.insert(orderEvents).values({
      accountId: row.accountId,
      orderId: row.orderId,
      kind: "push_failed",
      source: "system",
      at,
      detail: { pushId: row.id, action: payload.action, reason },
    });
  },
};
