import { createHash } from "node:crypto";
import { and, eq, inArray } from "drizzle-orm";
import type { AppContext } from "../context.ts";
import { AppError, badRequest } from "../core/errors.ts";
import type { Address } from "../core/order.ts";
import type { DbOrTx, Tx } from "../db/connection.ts";
import { connections, orderEvents, orders, outbox, shipmentLines, shipments } from "../db/schema.ts";
import type { JobQueue } from "../jobs/queue.ts";
import { getAdapter } from "../marketplaces/registry.ts";
import type { MarketplaceManifest, ShipmentLine } from "../marketplaces/types.ts";
import { requestDispatch } from "../sync/outbox.ts";
import { deductShipped, type LineState, leftToShip, lineStates } from "./lines.ts";
import { FULFILMENT_KIND, type FulfilmentPayload, type Step } from "./payload.ts";
import { checkTrackingUrl } from "./tracking.ts";

export { FULFILMENT_KIND, type FulfilmentPayload, type Step } from "./payload.ts";
export { fulfilmentPushHandler } from "./push.ts";

type OrderRef = Pick<
  typeof orders.$inferSelect,
  | "id"
  | "number"
  | "marketplace"
  | "connectionId"
  | "externalId"
  | "shippingAddress"
  | "rawStatus"
  | "status"
  | "buyerName"
> & { config: Record<string, string> };

async function loadOrders(
  db: DbOrTx,
  accountId: number,
  ids: number[],
  opts: { lock?: boolean } = {},
): Promise<OrderRef[]> {
  const q = db
    .select({
      id: orders.id,
      number: orders.number,
      marketplace: orders.marketplace,
      connectionId: orders.connectionId,
      externalId: orders.externalId,
      shippingAddress: orders.shippingAddress,
      rawStatus: orders.rawStatus,
      status: orders.status,
      buyerName: orders.buyerName,
      config: connections.config,
    })
    .from(orders)
    .innerJoin(connections, eq(connections.id, orders.connectionId))
    .where(and(eq(orders.accountId, accountId), inArray(orders.id, ids)))
    .orderBy(orders.id);
  // Two shipments of the same lines at once: the second waits and then sees what the first took.
  const rows = opts.lock ? await q.for("update", { of: orders }) : await q;
  const byId = new Map(rows.map((r) => [r.id, { ...r, config: (r.config ?? {}) as Record<string, string> }]));
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
  /**
   * Messages the marketplace offers on shipping (its shipments port's extras, by id): true sends,
   * false does not; an extra not named follows its connection setting.
   */
  extras?: Record<string, boolean>;
  /** One parcel: the orders must go to the same recipient. */
  combine?: boolean;
  /** A partial shipment: order line ids and quantities, only where the marketplace ships by line. */
  lines?: { lineId: number; quantity: number }[] | null;
  dryRun?: boolean;
}

export interface PlannedPush {
  orderId: number;
  number: string;
  marketplace: string;
  calls: string[];
  /** What this parcel carries (order line ids and quantities); empty when no line is left to ship. */
  lines: { lineId: number; externalLineId: string; quantity: number }[];
  pushId?: number;
  shipmentId?: number;
  duplicate?: boolean;
}

function describe(step: Step, manifest: MarketplaceManifest): string {
  switch (step.op) {
    case "shipment": {
      const lines = step.lines?.length
        ? `, lines ${step.lines.map((l) => `${l.externalLineId} ×${l.quantity}`).join(", ")}`
        : "";
      return `${manifest.displayName}: tracking ${step.trackingNumber ?? step.trackingUrl ?? "(none)"}${step.carrier ? ` (${step.carrier})` : ""}, shipped ${step.shippedAt.slice(0, 10)}${lines}`;
    }
    case "status":
      return `${manifest.displayName}: status → ${step.rawStatus}`;
    case "extra":
    case "drive_thru": {
      const id = step.op === "extra" ? step.id : "drive_thru";
      const port = getAdapter(manifest.id).shipments;
      const label = port.granularity === "none" ? id : (port.extras.find((e) => e.id === id)?.label ?? id);
      return `${manifest.displayName}: ${label}`;
    }
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

/** The parcel's lines per order: the lines asked for (checked), or what is left of every line. */
function parcelLines(
  o: OrderRef,
  states: LineState[],
  asked: { lineId: number; quantity: number }[] | null,
  problems: string[],
): { line: LineState; quantity: number }[] {
  if (!asked)
    return states.filter((l) => leftToShip(l) > 0).map((l) => ({ line: l, quantity: leftToShip(l) }));
  const out: { line: LineState; quantity: number }[] = [];
  for (const a of asked) {
    const line = states.find((l) => l.id === a.lineId);
    if (!line) continue;
    const left = leftToShip(line);
    if (line.removed)
      problems.push(
        `lines: line ${line.id} (${line.externalLineId}) of ${o.number} was removed from the order`,
      );
    else if (a.quantity > left)
      problems.push(
        `lines: line ${line.id} (${line.externalLineId}) of ${o.number} has ${left} left to ship (${line.quantity} ordered, ${line.shipped} shipped), not ${a.quantity}`,
      );
    else out.push({ line, quantity: a.quantity });
  }
  return out;
}

/**
 * Mark orders shipped: each order gets a shipment (tracking, and the lines with quantities it
 * carries), an event and one outbox push (the shipment, then the shipped status, then the extras
 * asked for) in one transaction; the same request twice pushes once. Lines are taken where the
 * marketplace ships by line; elsewhere a shipment is the whole order, as the marketplace has it.
 */
export async function shipOrders(ctx: AppContext, queue: JobQueue, input: ShipInput): Promise<PlannedPush[]> {
  if (input.orderIds.length === 0) throw badRequest("orders: name at least one order");
  const trackingUrl = checkTrackingUrl(input.trackingUrl);
  const asked = input.lines?.length ? input.lines : null;
  if (!input.trackingNumber && !trackingUrl && input.setStatus === false && !asked)
    throw badRequest("nothing to send: give a tracking number or URL, or let the shipped status be set");
  if (asked) {
    const seen = new Set<number>();
    for (const l of asked) {
      if (!Number.isInteger(l.quantity) || l.quantity < 1)
        throw badRequest(`lines: line ${l.lineId} needs a quantity of at least 1`, { lineId: l.lineId });
      if (seen.has(l.lineId))
        throw badRequest(`lines: line ${l.lineId} is named twice`, { lineId: l.lineId });
      seen.add(l.lineId);
    }
  }
  const shippedAt = (input.shippedAt ?? ctx.clock.now()).toISOString();
  const out: PlannedPush[] = [];
  const run = async (db: DbOrTx) => {
    const list = await loadOrders(db, input.accountId, input.orderIds, { lock: !input.dryRun });
    if (list.length !== input.orderIds.length)
      throw new AppError(404, "not_found", "some of the orders do not exist");
    const problems: string[] = [];
    for (const o of list) {
      const port = getAdapter(o.marketplace).shipments;
      const m = getAdapter(o.marketplace).manifest;
      if (port.granularity === "none")
        problems.push(`${o.number}: ${m.displayName} takes no shipment updates`);
      else {
        if (asked && port.granularity !== "line")
          problems.push(
            `${o.number}: ${m.displayName} ships whole orders only (no partial shipment by line)`,
          );
        for (const id of Object.keys(input.extras ?? {}))
          if (input.extras![id] && !port.extras.some((e) => e.id === id))
            problems.push(`${o.number}: ${m.displayName} has no "${id}" message`);
      }
    }
    if (input.combine && !sameRecipient(list.map((o) => o.shippingAddress)))
      problems.push(
        `combined shipment: the orders go to different recipients (${list.map((o) => `${o.number}: ${o.buyerName ?? "?"}`).join(", ")})`,
      );
    if (problems.length) throw badRequest(problems.join("; "), { problems });
    const states = await lineStates(db, input.accountId, list);
    if (asked) {
      const known = new Set([...states.values()].flat().map((l) => l.id));
      const stray = asked.filter((l) => !known.has(l.lineId)).map((l) => l.lineId);
      if (stray.length)
        problems.push(
          `lines: ${stray.map((id) => `line ${id}`).join(", ")} is not a line of the orders named`,
        );
      for (const o of list)
        if (!states.get(o.id)!.some((l) => asked.some((a) => a.lineId === l.id)))
          problems.push(`lines: no line of ${o.number} is named (name its lines, or ship it on its own)`);
    }
    const numbers = list.map((o) => o.number);
    const plans = list.map((o) => {
      const adapter = getAdapter(o.marketplace);
      const m = adapter.manifest;
      const port = adapter.shipments;
      const byLine = port.granularity === "line";
      // The request, not what is left to do: asking again for the same shipment pushes nothing new.
      const extras =
        port.granularity === "none"
          ? []
          : port.extras
              .filter((e) => input.extras?.[e.id] ?? o.config[e.settingKey] === "true")
              .map((e) => e.id);
      const fingerprint = createHash("sha256")
        .update(
          JSON.stringify([
            input.carrier ?? null,
            input.trackingNumber ?? null,
            trackingUrl,
            shippedAt.slice(0, 10),
            input.setStatus !== false,
            extras,
            ...(asked ? [asked.map((a) => [a.lineId, a.quantity]).sort((x, y) => x[0]! - y[0]!)] : []),
          ]),
        )
        .digest("hex")
        .slice(0, 16);
      return { o, m, byLine, extras, key: `ship:${o.id}:${fingerprint}` };
    });
    // A request already queued is the same shipment: it is answered as a duplicate, not checked again.
    const existing = new Map(
      (
        await db
          .select({ id: outbox.id, key: outbox.idempotencyKey })
          .from(outbox)
          .where(
            and(
              eq(outbox.accountId, input.accountId),
              inArray(
                outbox.idempotencyKey,
                plans.map((p) => p.key),
              ),
            ),
          )
      ).map((r) => [r.key, r.id]),
    );
    const steps = plans.map(({ o, m, byLine, extras, key }) => {
      const lines = existing.has(key) ? [] : parcelLines(o, states.get(o.id)!, asked, problems);
      if (byLine && !existing.has(key) && !asked && lines.length === 0)
        problems.push(`${o.number}: every line is already shipped`);
      const pushLines: ShipmentLine[] | null = byLine
        ? lines.map((l) => ({ externalLineId: l.line.externalLineId, quantity: l.quantity }))
        : null;
      const list: Step[] = [];
      if (input.trackingNumber || trackingUrl || byLine)
        list.push({
          op: "shipment",
          carrier: input.carrier ?? null,
          trackingNumber: input.trackingNumber ?? null,
          trackingUrl,
          shippedAt,
          ...(pushLines ? { lines: pushLines } : {}),
        });
      // Where shipments go by line, the marketplace marks the order shipped when every line is.
      if (
        input.setStatus !== false &&
        !byLine &&
        m.capabilities.statusPush &&
        m.shippedStatus &&
        o.rawStatus !== m.shippedStatus
      )
        list.push({ op: "status", rawStatus: m.shippedStatus });
      for (const id of extras) list.push({ op: "extra", id });
      return { lines, steps: list };
    });
    if (problems.length) throw badRequest(problems.join("; "), { problems });
    // Writes happen only inside the transaction (a dry run stops before each of them).
    const tx = db as Tx;
    for (const [i, { o, m, key }] of plans.entries()) {
      const { lines, steps: planned } = steps[i]!;
      const plan: PlannedPush = {
        orderId: o.id,
        number: o.number,
        marketplace: o.marketplace,
        calls: planned.map((s) => describe(s, m)),
        lines: lines.map((l) => ({
          lineId: l.line.id,
          externalLineId: l.line.externalLineId,
          quantity: l.quantity,
        })),
      };
      out.push(plan);
      if (input.dryRun || planned.length === 0) continue;
      const combinedWith = input.combine ? { combinedWith: numbers.filter((n) => n !== o.number) } : {};
      const res = await enqueue(tx, {
        accountId: input.accountId,
        userId: input.userId,
        order: o,
        key,
        payload: {
          action: "ship",
          marketplace: o.marketplace,
          externalOrderId: o.externalId,
          number: o.number,
          steps: planned,
          done: 0,
          ...combinedWith,
        },
        event: "ship_requested",
        at: ctx.clock.now(),
        detail: {
          carrier: input.carrier ?? null,
          trackingNumber: input.trackingNumber ?? null,
          trackingUrl,
          shippedAt,
          ...(asked ? { lines: plan.lines } : {}),
          ...combinedWith,
        },
      });
      Object.assign(plan, res);
      if (res.duplicate) {
        const [s] = await tx
          .select({ id: shipments.id })
          .from(shipments)
          .where(eq(shipments.pushId, res.pushId));
        if (s) plan.shipmentId = s.id;
        plan.lines = [];
        continue;
      }
      const [s] = await tx
        .insert(shipments)
        .values({
          accountId: input.accountId,
          orderId: o.id,
          connectionId: o.connectionId,
          carrier: input.carrier ?? null,
          trackingNumber: input.trackingNumber ?? null,
          trackingUrl,
          shippedAt: new Date(shippedAt),
          pushId: res.pushId,
        })
        .returning({ id: shipments.id });
      plan.shipmentId = s!.id;
      if (lines.length) {
        await tx
          .insert(shipmentLines)
          .values(lines.map((l) => ({ shipmentId: s!.id, orderLineId: l.line.id, quantity: l.quantity })));
        await deductShipped(tx, {
          accountId: input.accountId,
          number: o.number,
          shipmentId: s!.id,
          lines: lines.map((l) => ({ lineId: l.line.id, quantity: l.quantity })),
        });
      }
    }
  };
  if (input.dryRun) {
    await run(ctx.db);
    return out;
  }
  await ctx.db.transaction(run);
  await requestDispatch(queue);
  return out;
}

/** Set a marketplace status (one of the manifest's settable statuses) on one or many orders. */
export async function setMarketplaceStatus(
  ctx: AppContext,
  queue: JobQueue,
  input: { accountId: number; userId: number | null; orderIds: number[]; status: string; dryRun?: boolean },
): Promise<PlannedPush[]> {
  if (input.orderIds.length === 0) throw badRequest("orders: name at least one order");
  const list = await loadOrders(ctx.db, input.accountId, input.orderIds);
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
    lines: [],
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
