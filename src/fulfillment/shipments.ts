import { createHash } from "node:crypto";
import { and, eq, inArray, ne, or, sql } from "drizzle-orm";
import type { AppContext } from "../context.ts";
import { AppError, badRequest } from "../core/errors.ts";
import type { Address } from "../core/order.ts";
import type { DbOrTx, Tx } from "../db/connection.ts";
import { connections, orderEvents, orders, outbox, shipmentLines, shipments } from "../db/schema.ts";
import type { JobQueue } from "../jobs/queue.ts";
import { getAdapter } from "../marketplaces/registry.ts";
import type { MarketplaceManifest, ShipmentLine } from "../marketplaces/types.ts";
import { requestDispatch } from "../sync/outbox.ts";
import { deductShipped, type LineState, leftToShip, lineStates, SHIPPED_STATUSES } from "./lines.ts";
import { FULFILMENT_KIND, type FulfilmentPayload, type Step } from "./payload.ts";
import { checkTrackingUrl, type TrackingRow } from "./tracking.ts";

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
  | "trackingNumbers"
  | "onHold"
  | "holdReason"
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
      trackingNumbers: orders.trackingNumbers,
      onHold: orders.onHold,
      holdReason: orders.holdReason,
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
  /**
   * An order that already left with a tracking number gets a different one only when this is true
   * (otherwise 409 `tracking_exists`, naming the orders and the tracking they have).
   */
  replaceTracking?: boolean;
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
  /** The tracking this order already has and this shipment would replace (ask before sending). */
  replacesTracking?: string[];
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
    /** Who asked, when it is not a user (an automation rule: `rule:7`). */
    source?: string;
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
    source: input.source ?? (input.userId ? `user:${input.userId}` : "user"),
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
  const checked = checkShipInput(input);
  if (input.dryRun) return shipIn(ctx, ctx.db, input, checked);
  const out = await ctx.db.transaction((tx) => shipIn(ctx, tx, input, checked));
  await requestDispatch(queue);
  return out;
}

export interface BatchShipEntry {
  orderId: number;
  /** How errors name this entry ("line 4"); problems name the order number anyway. */
  label?: string;
  carrier?: string | null;
  trackingNumber?: string | null;
  trackingUrl?: string | null;
}

export interface BatchShipInput {
  accountId: number;
  userId: number | null;
  entries: BatchShipEntry[];
  shippedAt?: Date;
  setStatus?: boolean;
  extras?: Record<string, boolean>;
  replaceTracking?: boolean;
  dryRun?: boolean;
}

/**
 * Each order with its own tracking (the batch dialog, a tracking CSV), all or nothing: every entry
 * is checked, and one that cannot ship leaves every other unwritten, with each problem named.
 */
export async function shipBatch(
  ctx: AppContext,
  queue: JobQueue,
  input: BatchShipInput,
): Promise<PlannedPush[]> {
  if (input.entries.length === 0) throw badRequest("shipments: name at least one order");
  const problems: string[] = [];
  const seen = new Map<number, string>();
  const prefix = (e: BatchShipEntry) => (e.label ? `${e.label}: ` : "");
  const plans = input.entries.map((e) => {
    const ship: ShipInput = {
      accountId: input.accountId,
      userId: input.userId,
      orderIds: [e.orderId],
      carrier: e.carrier ?? null,
      trackingNumber: e.trackingNumber ?? null,
      trackingUrl: e.trackingUrl ?? null,
      ...(input.shippedAt ? { shippedAt: input.shippedAt } : {}),
      ...(input.setStatus !== undefined ? { setStatus: input.setStatus } : {}),
      ...(input.extras ? { extras: input.extras } : {}),
      replaceTracking: Boolean(input.replaceTracking),
      dryRun: Boolean(input.dryRun),
    };
    const before = seen.get(e.orderId);
    if (before !== undefined)
      problems.push(`${prefix(e)}the same order as ${before || "another entry"} (one tracking per order)`);
    seen.set(e.orderId, e.label ?? "");
    try {
      return { e, ship, checked: checkShipInput(ship) };
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      problems.push(`${prefix(e)}${err.message}`);
      return null;
    }
  });
  if (problems.length) throw badRequest(problems.join("; "), { problems });
  const run = async (db: DbOrTx) => {
    const out: PlannedPush[] = [];
    const conflicts: { orderId: number; number: string; tracking: string[] }[] = [];
    for (const p of plans) {
      const { e, ship, checked } = p!;
      try {
        out.push(...(await shipIn(ctx, db, ship, checked)));
      } catch (err) {
        if (!(err instanceof AppError) || err.status >= 500) throw err;
        if (err.code === "tracking_exists")
          conflicts.push(...(err.details as { orders: typeof conflicts }).orders);
        problems.push(`${prefix(e)}${err.message}`);
      }
    }
    // Thrown inside the transaction: what earlier entries wrote is rolled back with it.
    if (problems.length && conflicts.length === problems.length)
      throw new AppError(409, "tracking_exists", problems.join("; "), { orders: conflicts, problems });
    if (problems.length) throw badRequest(problems.join("; "), { problems });
    return out;
  };
  if (input.dryRun) return run(ctx.db);
  const out = await ctx.db.transaction(run);
  await requestDispatch(queue);
  return out;
}

/**
 * A tracking file's lines as batch entries: each order found by its number (any case) or, where the
 * seller wrote the marketplace's own id, by that when it names one order. Lines naming no order,
 * or several, are refused together, each named.
 */
export async function trackingFileEntries(
  db: DbOrTx,
  accountId: number,
  rows: TrackingRow[],
): Promise<BatchShipEntry[]> {
  const keys = [...new Set(rows.map((r) => r.order.toLowerCase()))];
  const found = await db
    .select({ id: orders.id, number: orders.number, externalId: orders.externalId })
    .from(orders)
    .where(
      and(
        eq(orders.accountId, accountId),
        or(
          inArray(sql`lower(${orders.number})`, keys),
          inArray(
            orders.externalId,
            rows.map((r) => r.order),
          ),
        ),
      ),
    );
  const problems: string[] = [];
  const entries = rows.flatMap((r) => {
    const byNumber = found.filter((o) => o.number.toLowerCase() === r.order.toLowerCase());
    const hits = byNumber.length ? byNumber : found.filter((o) => o.externalId === r.order);
    if (hits.length !== 1) {
      problems.push(
        hits.length
          ? `line ${r.line}: "${r.order}" names ${hits.length} orders (${hits.map((h) => h.number).join(", ")}): write the order number`
          : `line ${r.line}: no order "${r.order}"`,
      );
      return [];
    }
    return [
      {
        orderId: hits[0]!.id,
        label: `line ${r.line}`,
        carrier: r.carrier,
        trackingNumber: r.trackingNumber,
        trackingUrl: r.trackingUrl,
      },
    ];
  });
  if (problems.length) throw badRequest(`file: ${problems.join("; ")}`, { problems });
  return entries;
}

type CheckedShip = { trackingUrl: string | null; asked: { lineId: number; quantity: number }[] | null };

/** What can be said of a ship request before any order is read. */
function checkShipInput(input: ShipInput): CheckedShip {
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
  return { trackingUrl, asked };
}

/** Tracking on the orders' own shipments (failed pushes left out: that tracking never arrived). */
async function shipmentTracking(
  db: DbOrTx,
  accountId: number,
  ids: number[],
): Promise<Map<number, string[]>> {
  const rows = await db
    .select({
      orderId: shipments.orderId,
      trackingNumber: shipments.trackingNumber,
      trackingUrl: shipments.trackingUrl,
    })
    .from(shipments)
    .where(
      and(eq(shipments.accountId, accountId), inArray(shipments.orderId, ids), ne(shipments.state, "failed")),
    );
  const out = new Map<number, string[]>();
  for (const r of rows) {
    const list = out.get(r.orderId) ?? [];
    const t = r.trackingNumber ?? r.trackingUrl;
    if (t && !list.includes(t)) list.push(t);
    out.set(r.orderId, list);
  }
  return out;
}

/**
 * One ship request in `db` (a transaction, or the plain database for a dry run, which writes
 * nothing): checks every order, then writes shipments, events and pushes.
 */
async function shipIn(
  ctx: AppContext,
  db: DbOrTx,
  input: ShipInput,
  checked: CheckedShip,
): Promise<PlannedPush[]> {
  const { trackingUrl, asked } = checked;
  const shippedAt = (input.shippedAt ?? ctx.clock.now()).toISOString();
  const out: PlannedPush[] = [];
  {
    const list = await loadOrders(db, input.accountId, input.orderIds, { lock: !input.dryRun });
    if (list.length !== input.orderIds.length)
      throw new AppError(404, "not_found", "some of the orders do not exist");
    const problems: string[] = [];
    for (const o of list) {
      const port = getAdapter(o.marketplace).shipments;
      const m = getAdapter(o.marketplace).manifest;
      if (o.onHold)
        problems.push(
          `${o.number}: on hold${o.holdReason ? ` (${o.holdReason})` : ""} — release the hold before shipping it`,
        );
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
    // Where a marketplace keeps one tracking per order, a new number on a shipped order replaces it.
    const replaced = new Map<number, string[]>();
    const newTracking = input.trackingNumber ?? trackingUrl;
    if (newTracking) {
      const own = await shipmentTracking(
        db,
        input.accountId,
        list.map((o) => o.id),
      );
      for (const { o, byLine, key } of plans) {
        if (byLine || existing.has(key)) continue;
        // Shipped as the order's status says (a tracking sent alone, --no-status, is not asked about).
        if (!SHIPPED_STATUSES.has(o.status)) continue;
        const had = [...new Set([...(o.trackingNumbers ?? []), ...(own.get(o.id) ?? [])])];
        if (had.length > 0 && !had.includes(newTracking)) replaced.set(o.id, had);
      }
      if (replaced.size && !input.dryRun && !input.replaceTracking) {
        const which = list.filter((o) => replaced.has(o.id));
        throw new AppError(
          409,
          "tracking_exists",
          `${which.map((o) => `${o.number} already shipped with tracking ${replaced.get(o.id)!.join(", ")}`).join("; ")} — replacing it needs replaceTracking (CLI: --replace-tracking)`,
          { orders: which.map((o) => ({ orderId: o.id, number: o.number, tracking: replaced.get(o.id) })) },
        );
      }
    }
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
        ...(replaced.has(o.id) ? { replacesTracking: replaced.get(o.id)! } : {}),
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
  }
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

/**
 * An automation rule's "set status" on one order, inside the rule's transaction: the marketplace's
 * spelling of the status is checked as for a seller, and one rule sets one status on one order at
 * most once (two rules answering each other's status cannot loop).
 */
export async function queueRuleStatus(
  tx: DbOrTx,
  input: {
    accountId: number;
    orderId: number;
    status: string;
    rule: { id: number; name: string };
    at: Date;
    dryRun?: boolean;
  },
): Promise<{ done: true; description: string; pushId?: number } | { done: false; reason: string }> {
  const [o] = await loadOrders(tx, input.accountId, [input.orderId]);
  if (!o) return { done: false, reason: "the order no longer exists" };
  const m = getAdapter(o.marketplace).manifest;
  const raw = m.capabilities.statusPush ? settableStatus(m, input.status) : null;
  if (!raw)
    return {
      done: false,
      reason: m.capabilities.statusPush
        ? `${m.displayName} does not let a seller set "${input.status}"`
        : `${m.displayName} takes no status updates`,
    };
  if (o.rawStatus.toLowerCase() === raw.toLowerCase())
    return { done: false, reason: `${m.displayName} already shows ${raw}` };
  const description = describe({ op: "status", rawStatus: raw }, m);
  if (input.dryRun) return { done: true, description };
  const res = await enqueue(tx as Tx, {
    accountId: input.accountId,
    userId: null,
    source: `rule:${input.rule.id}`,
    order: o,
    key: `rule:${input.rule.id}:status:${o.id}:${raw}`,
    payload: {
      action: "status",
      marketplace: o.marketplace,
      externalOrderId: o.externalId,
      number: o.number,
      steps: [{ op: "status", rawStatus: raw }],
      done: 0,
      ruleId: input.rule.id,
    },
    event: "status_requested",
    at: input.at,
    detail: { rawStatus: raw, from: o.rawStatus, rule: input.rule },
  });
  if (res.duplicate) return { done: false, reason: `this rule already set ${raw} on this order once` };
  return { done: true, description, pushId: res.pushId };
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
    /** Hold the order in Orderhub (not shipped until released) or release it. */
    hold?: boolean;
  },
): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    await tx
      .update(orders)
      .set({
        ...(input.internalNote !== undefined ? { internalNote: input.internalNote } : {}),
        ...(input.tags !== undefined ? { tags: [...new Set(input.tags)] } : {}),
        ...(input.hold !== undefined ? { onHold: input.hold, holdReason: null } : {}),
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
        ...(input.hold !== undefined ? { hold: input.hold } : {}),
      },
    });
  });
}
