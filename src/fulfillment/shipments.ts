import { createHash } from "node:crypto";
import { and, eq, inArray, sql } from "drizzle-orm";
import type { AppContext } from "../context.ts";
import { AppError, badRequest } from "../core/errors.ts";
import type { Address } from "../core/order.ts";
import type { Tx } from "../db/connection.ts";
import { connections, orderEvents, orders, outbox } from "../db/schema.ts";
import type { JobQueue } from "../jobs/queue.ts";
import { getAdapter } from "../marketplaces/registry.ts";
import type { MarketplaceManifest } from "../marketplaces/types.ts";
import { type OutboxHandler, type OutboxRow, requestDispatch } from "../sync/outbox.ts";

/** One marketplace call of a fulfilment push; a push runs its steps in order and remembers progress. */
export type Step =
  | {
      op: "shipment";
      carrier: string | null;
      trackingNumber: string | null;
      trackingUrl: string | null;
      shippedAt: string;
    }
  | { op: "status"; rawStatus: string }
  | { op: "drive_thru" };

export interface FulfilmentPayload {
  action: "ship" | "status";
  marketplace: string;
  externalOrderId: string;
  number: string;
  steps: Step[];
  /** Steps already done (a retry continues from here). */
  done: number;
  /** The last attempt may have been applied: read back before repeating it. */
  ambiguous?: boolean;
  combinedWith?: string[];
}

export const FULFILMENT_KIND = "fulfilment";

type OrderRef = Pick<
  typeof orders.$inferSelect,
  | "id"
  | "number"
  | "marketplace"
  | "connectionId"
  | "externalId"
  | "shippingAddress"
  | "rawStatus"
  | "buyerName"
> & { driveThruDefault: boolean };

async function loadOrders(
  ctx: AppContext | { db: Tx },
  accountId: number,
  ids: number[],
): Promise<OrderRef[]> {
  const rows = await ctx.db
    .select({
      id: orders.id,
      number: orders.number,
      marketplace: orders.marketplace,
      connectionId: orders.connectionId,
      externalId: orders.externalId,
      shippingAddress: orders.shippingAddress,
      rawStatus: orders.rawStatus,
      buyerName: orders.buyerName,
      driveThruDefault: sql<boolean>`coalesce(${connections.config}->>'driveThru', 'false') = 'true'`,
    })
    .from(orders)
    .innerJoin(connections, eq(connections.id, orders.connectionId))
    .where(and(eq(orders.accountId, accountId), inArray(orders.id, ids)));
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id)).filter((r): r is OrderRef => Boolean(r));
}

/** A status as the marketplace spells it, or null when a seller may not set it there. */
export function settableStatus(manifest: MarketplaceManifest, input: string): string | null {
  const v = input.trim();
  const alias = manifest.statusAliases?.[v];
  if (alias) return alias;
  return (
    manifest.settableStatuses?.find((s) => s.toLowerCase() === v.toLowerCase().replace(/_/g, " ")) ??
    manifest.settableStatuses?.find((s) => s.toLowerCase() === v.toLowerCase()) ??
    null
  );
}

const norm = (s: string | null | undefined) => (s ?? "").toLowerCase().replace(/\s+/g, " ").trim();

/** One parcel: the same recipient name and country, and the same postcode where both orders have one. */
function sameRecipient(list: unknown[]): boolean {
  const addrs = list.map((a) => a as Address | null);
  if (addrs.some((a) => !a?.name)) return false;
  const first = addrs[0]!;
  const postcodes = new Set(addrs.map((a) => norm(a!.postalCode).replace(/\s/g, "")).filter(Boolean));
  return (
    addrs.every((a) => norm(a!.name) === norm(first.name) && a!.countryCode === first.countryCode) &&
    postcodes.size <= 1
  );
}

export interface ShipInput {
  accountId: number;
  userId: number | null;
  orderIds: number[];
  carrier?: string | null;
  trackingNumber?: string | null;
  trackingUrl?: string | null;
  shippedAt?: Date;
  /** Also set the marketplace's shipped status (default true). */
  setStatus?: boolean;
  /** BrickLink: send the Drive Thru e-mail too. */
  driveThru?: boolean;
  /** One parcel: the orders must go to the same recipient. */
  combine?: boolean;
  /** Partial shipment by line ids; only where the marketplace ships by line. */
  lineIds?: number[] | null;
  dryRun?: boolean;
}

export interface PlannedPush {
  orderId: number;
  number: string;
  marketplace: string;
  calls: string[];
  pushId?: number;
  duplicate?: boolean;
}

function describe(step: Step, manifest: MarketplaceManifest): string {
  switch (step.op) {
    case "shipment":
      return `${manifest.displayName}: tracking ${step.trackingNumber ?? step.trackingUrl ?? "(none)"}${step.carrier ? ` (${step.carrier})` : ""}, shipped ${step.shippedAt.slice(0, 10)}`;
    case "status":
      return `${manifest.displayName}: status → ${step.rawStatus}`;
    case "drive_thru":
      return `${manifest.displayName}: Drive Thru e-mail to the buyer`;
  }
}

async function enqueue(
  tx: Tx,
  input: {
    accountId: number;
    userId: number | null;
    order: OrderRef;
    key: string;
    payload: FulfilmentPayload;
    event: string;
    detail: object;
    at: Date;
  },
): Promise<{ pushId: number; duplicate: boolean }> {
  const [row] = await tx
    .insert(outbox)
    .values({
      accountId: input.accountId,
      connectionId: input.order.connectionId,
      kind: FULFILMENT_KIND,
      payload: input.payload,
      idempotencyKey: input.key,
      orderId: input.order.id,
      // Stock pushes (priority 10) go first when the budget is tight; fulfilment follows.
      priority: 50,
      nextAttemptAt: input.at,
    })
    .onConflictDoNothing({ target: [outbox.accountId, outbox.idempotencyKey] })
    .returning({ id: outbox.id });
  if (!row) {
    const [existing] = await tx
      .select({ id: outbox.id })
      .from(outbox)
      .where(and(eq(outbox.accountId, input.accountId), eq(outbox.idempotencyKey, input.key)));
    return { pushId: existing!.id, duplicate: true };
  }
  await tx.insert(orderEvents).values({
    accountId: input.accountId,
    orderId: input.order.id,
    kind: input.event,
    source: input.userId ? `user:${input.userId}` : "user",
    at: input.at,
    detail: { ...input.detail, pushId: row.id },
  });
  return { pushId: row.id, duplicate: false };
}

/**
 * Mark orders shipped: each order gets an event and one outbox push (tracking, then the shipped
 * status, then Drive Thru if asked) in one transaction; the same request twice pushes once.
 */
export async function shipOrders(ctx: AppContext, queue: JobQueue, input: ShipInput): Promise<PlannedPush[]> {
  if (input.orderIds.length === 0) throw badRequest("orders: name at least one order");
  if (!input.trackingNumber && !input.trackingUrl && input.setStatus === false)
    throw badRequest("nothing to send: give a tracking number or URL, or let the shipped status be set");
  const list = await loadOrders(ctx, input.accountId, input.orderIds);
  if (list.length !== input.orderIds.length)
    throw new AppError(404, "not_found", "some of the orders do not exist");
  const problems: string[] = [];
  for (const o of list) {
    const m = getAdapter(o.marketplace).manifest;
    if (m.capabilities.shipmentPush === "none")
      problems.push(`${o.number}: ${m.displayName} takes no shipment updates`);
    if (input.lineIds?.length && m.capabilities.shipmentPush !== "line")
      problems.push(`${o.number}: ${m.displayName} ships whole orders only (no partial shipment by line)`);
    if (input.driveThru === true && !getAdapter(o.marketplace).pushDriveThru)
      problems.push(`${o.number}: ${m.displayName} has no Drive Thru message`);
  }
  if (input.combine) {
    if (!sameRecipient(list.map((o) => o.shippingAddress)))
      problems.push(
        `combined shipment: the orders go to different recipients (${list.map((o) => `${o.number}: ${o.buyerName ?? "?"}`).join(", ")})`,
      );
  }
  if (problems.length) throw badRequest(problems.join("; "), { problems });
  const shippedAt = (input.shippedAt ?? ctx.clock.now()).toISOString();
  const numbers = list.map((o) => o.number);
  const plans = list.map((o) => {
    const adapter = getAdapter(o.marketplace);
    const m = adapter.manifest;
    const steps: Step[] = [];
    if (input.trackingNumber || input.trackingUrl)
      steps.push({
        op: "shipment",
        carrier: input.carrier ?? null,
        trackingNumber: input.trackingNumber ?? null,
        trackingUrl: input.trackingUrl ?? null,
        shippedAt,
      });
    if (
      input.setStatus !== false &&
      m.capabilities.statusPush &&
      m.shippedStatus &&
      o.rawStatus !== m.shippedStatus
    )
      steps.push({ op: "status", rawStatus: m.shippedStatus });
    // The action decides; without a word from it, the connection's default (BrickLink setting).
    const driveThru = input.driveThru ?? o.driveThruDefault;
    if (driveThru && adapter.pushDriveThru) steps.push({ op: "drive_thru" });
    return { o, m, steps };
  });
  const out: PlannedPush[] = plans.map(({ o, m, steps }) => ({
    orderId: o.id,
    number: o.number,
    marketplace: o.marketplace,
    calls: steps.map((s) => describe(s, m)),
  }));
  if (input.dryRun) return out;
  await ctx.db.transaction(async (tx) => {
    for (const [i, { o, steps }] of plans.entries()) {
      if (steps.length === 0) continue;
      // The request, not what is left to do: asking again for the same shipment pushes nothing new.
      const fingerprint = createHash("sha256")
        .update(
          JSON.stringify([
            input.carrier ?? null,
            input.trackingNumber ?? null,
            input.trackingUrl ?? null,
            shippedAt.slice(0, 10),
            input.setStatus !== false,
            input.driveThru ?? o.driveThruDefault,
          ]),
        )
        .digest("hex")
        .slice(0, 16);
      const res = await enqueue(tx, {
        accountId: input.accountId,
        userId: input.userId,
        order: o,
        key: `ship:${o.id}:${fingerprint}`,
        payload: {
          action: "ship",
          marketplace: o.marketplace,
          externalOrderId: o.externalId,
          number: o.number,
          steps,
          done: 0,
          ...(input.combine ? { combinedWith: numbers.filter((n) => n !== o.number) } : {}),
        },
        event: "ship_requested",
        at: ctx.clock.now(),
        detail: {
          carrier: input.carrier ?? null,
          trackingNumber: input.trackingNumber ?? null,
          trackingUrl: input.trackingUrl ?? null,
          shippedAt,
          ...(input.combine ? { combinedWith: numbers.filter((n) => n !== o.number) } : {}),
        },
      });
      Object.assign(out[i]!, res);
    }
  });
  await requestDispatch(queue);
  return out;
}

/** Set a marketplace status (PACKED on BrickLink, Processing on BrickOwl) on one or many orders. */
export async function setMarketplaceStatus(
  ctx: AppContext,
  queue: JobQueue,
  input: { accountId: number; userId: number | null; orderIds: number[]; status: string; dryRun?: boolean },
): Promise<PlannedPush[]> {
  if (input.orderIds.length === 0) throw badRequest("orders: name at least one order");
  const list = await loadOrders(ctx, input.accountId, input.orderIds);
  if (list.length !== input.orderIds.length)
    throw new AppError(404, "not_found", "some of the orders do not exist");
  const problems: string[] = [];
  const plans = list.map((o) => {
    const m = getAdapter(o.marketplace).manifest;
    const raw = m.capabilities.statusPush ? settableStatus(m, input.status) : null;
    if (!raw)
      problems.push(
        m.capabilities.statusPush
          ? `${o.number}: ${m.displayName} does not let a seller set "${input.status}" (it takes ${m.settableStatuses?.join(", ")})`
          : `${o.number}: ${m.displayName} takes no status updates`,
      );
    return { o, m, raw };
  });
  if (problems.length) throw badRequest(problems.join("; "), { problems });
  const out: PlannedPush[] = plans.map(({ o, m, raw }) => ({
    orderId: o.id,
    number: o.number,
    marketplace: o.marketplace,
    calls: [describe({ op: "status", rawStatus: raw! }, m)],
  }));
  if (input.dryRun) return out;
  await ctx.db.transaction(async (tx) => {
    for (const [i, { o, raw }] of plans.entries()) {
      const res = await enqueue(tx, {
        accountId: input.accountId,
        userId: input.userId,
        order: o,
        // The same request while the order still shows the same status pushes once.
        key: `status:${o.id}:${raw}:${o.rawStatus}`,
        payload: {
          action: "status",
          marketplace: o.marketplace,
          externalOrderId: o.externalId,
          number: o.number,
          steps: [{ op: "status", rawStatus: raw! }],
          done: 0,
        },
        event: "status_requested",
        at: ctx.clock.now(),
        detail: { rawStatus: raw, from: o.rawStatus },
      });
      Object.assign(out[i]!, res);
    }
  });
  await requestDispatch(queue);
  return out;
}

/** The seller's own note and tags on an order (no marketplace call). */
export async function annotateOrder(
  ctx: AppContext,
  input: {
    accountId: number;
    userId: number | null;
    orderId: number;
    internalNote?: string | null;
    tags?: string[];
  },
): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    await tx
      .update(orders)
      .set({
        ...(input.internalNote !== undefined ? { internalNote: input.internalNote } : {}),
        ...(input.tags !== undefined ? { tags: [...new Set(input.tags)] } : {}),
      })
      .where(and(eq(orders.accountId, input.accountId), eq(orders.id, input.orderId)));
    await tx.insert(orderEvents).values({
      accountId: input.accountId,
      orderId: input.orderId,
      kind: "note",
      source: input.userId ? `user:${input.userId}` : "user",
      at: ctx.clock.now(),
      detail: {
        ...(input.internalNote !== undefined ? { internalNote: input.internalNote } : {}),
        ...(input.tags !== undefined ? { tags: input.tags } : {}),
      },
    });
  });
}

// ------------------------------------------------------------------ pushing

/** Performs fulfilment pushes for the outbox dispatcher (registered by the worker wiring). */
export const fulfilmentPushHandler: OutboxHandler = {
  async push(row: OutboxRow, p) {
    let payload = row.payload as FulfilmentPayload;
    const { adapter, actx } = p;
    for (let i = payload.done; i < payload.steps.length; i++) {
      const step = payload.steps[i]!;
      let skip = false;
      if (payload.ambiguous) {
        // The last attempt of this step may have landed: never apply it twice.
        if (step.op === "status") {
          const now = await adapter.fetchOrder(actx, payload.externalOrderId);
          skip = now.rawStatus.toLowerCase() === step.rawStatus.toLowerCase();
        } else if (step.op === "drive_thru") {
          skip = true; // a second e-mail to the buyer is worse than none
        }
        // Setting the same tracking again changes nothing: repeat it.
      }
      if (!skip) {
        if (step.op === "shipment") {
          await adapter.pushShipment!(actx, {
            externalOrderId: payload.externalOrderId,
            carrier: step.carrier,
            trackingNumber: step.trackingNumber,
            trackingUrl: step.trackingUrl,
            shippedAt: new Date(step.shippedAt),
            lineIds: null,
            idempotencyKey: `${row.idempotencyKey}:${i}`,
          });
        } else if (step.op === "status") {
          await adapter.pushStatus!(actx, {
            externalOrderId: payload.externalOrderId,
            rawStatus: step.rawStatus,
            idempotencyKey: `${row.idempotencyKey}:${i}`,
          });
        } else {
          await adapter.pushDriveThru!(actx, payload.externalOrderId);
        }
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
    // What the marketplace now holds is known: apply it, so the next sync finds nothing to change.
    const status = [...payload.steps].reverse().find((s) => s.op === "status");
    const shipment = payload.steps.find((s) => s.op === "shipment");
    const tracking = shipment?.op === "shipment" ? shipment.trackingNumber : null;
    const patch: Partial<typeof orders.$inferInsert> = {};
    if (tracking && !order.trackingNumbers.includes(tracking))
      patch.trackingNumbers = [...order.trackingNumbers, tracking];
    if (status?.op === "status" && adapter.mapStatus && order.rawStatus !== status.rawStatus) {
      const next = adapter.mapStatus(status.rawStatus);
      patch.rawStatus = status.rawStatus;
      patch.status = next;
      patch.statusChangedAt = at;
      await tx.insert(orderEvents).values({
        accountId: row.accountId,
        orderId: order.id,
        kind: "status_changed",
        fromStatus: order.status,
        toStatus: next,
        rawStatus: status.rawStatus,
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
