import { createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { MarketplaceError, type MarketplaceErrorKind } from "../../core/errors.ts";
import type { OrderInput } from "../../core/order.ts";
import { statusMapper } from "../../core/status.ts";
import type {
  AdapterContext,
  MarketplaceAdapter,
  MarketplaceManifest,
  NoticesPort,
  ShipmentPush,
  ShipmentsPort,
} from "../types.ts";

/**
 * An in-memory marketplace behind the real adapter interface, for engine tests, the contract
 * suite and CLI checks. Its store is chosen by the connection's `store` setting; a store named
 * `seeded-N` starts with N orders, so a separate process sees the same data.
 */
export interface FakeOrder {
  id: string;
  status: string;
  version: number;
  buyer: string;
  placedAt: Date;
  lines: { sku: string; name: string; quantity: number; price: number }[];
}

/** A shipment as the fake marketplace records it: one parcel, its tracking and lines. */
export interface FakeShipment {
  id: string;
  orderId: string;
  trackingNumber: string | null;
  trackingUrl: string | null;
  carrier: string | null;
  shippedAt: Date;
  /** Line (SKU) → quantity in this parcel. */
  lines: { sku: string; quantity: number }[];
  idempotencyKey: string;
}

export class FakeStore {
  readonly orders = new Map<string, FakeOrder>();
  /** Every shipment created, in order; a marketplace that never deduplicates (as eBay and Etsy). */
  readonly shipments: FakeShipment[] = [];
  /** The next `n` shipment pushes are applied and then their answer is lost (an ambiguous write). */
  loseShipmentAnswers = 0;
  readonly calls = { list: 0, order: 0, test: 0 };
  private faults: { kind: MarketplaceErrorKind; count: number; orderId?: string }[] = [];
  private nextId = 1000;
  /** Called before each order fetch (tests use it to interrupt a run at a chosen moment). */
  onFetch: ((count: number) => void) | null = null;

  seed(n: number, start = new Date("2026-01-01T00:00:00Z")): string[] {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = String(this.nextId++);
      this.orders.set(id, {
        id,
        status: "NEW",
        version: 1,
        buyer: `Buyer ${id}`,
        placedAt: new Date(start.getTime() + i * 60_000),
        lines: [
          { sku: `SKU-${id}-A`, name: "Brick 2 x 4", quantity: 2, price: 1_2500 },
          { sku: `SKU-${id}-B`, name: "Plate 1 x 2", quantity: 5, price: 500 },
        ],
      });
      ids.push(id);
    }
    return ids;
  }

  /** Units of each line on shipments so far. */
  shippedOf(orderId: string): Map<string, number> {
    const out = new Map<string, number>();
    for (const sh of this.shipments.filter((x) => x.orderId === orderId))
      for (const l of sh.lines) out.set(l.sku, (out.get(l.sku) ?? 0) + l.quantity);
    return out;
  }

  /** Records a parcel; the order is SENT once every line is shipped in full. */
  ship(orderId: string, input: Omit<FakeShipment, "id" | "orderId">): FakeShipment {
    const o = this.orders.get(orderId);
    if (!o) throw new Error(`no fake order ${orderId}`);
    const sh: FakeShipment = { id: `SH-${this.shipments.length + 1}`, orderId, ...input };
    this.shipments.push(sh);
    const shipped = this.shippedOf(orderId);
    if (o.lines.every((l) => (shipped.get(l.sku) ?? 0) >= l.quantity)) o.status = "SENT";
    o.version++;
    return sh;
  }

  setStatus(id: string, raw: string): void {
    const o = this.orders.get(id);
    if (!o) throw new Error(`no fake order ${id}`);
    o.status = raw;
    o.version++;
  }

  touch(id: string): void {
    const o = this.orders.get(id);
    if (!o) throw new Error(`no fake order ${id}`);
    o.version++;
  }

  /** The next `count` calls fail with `kind` (only calls about `orderId`, when given). */
  failNext(kind: MarketplaceErrorKind, count = 1, orderId?: string): void {
    this.faults.push({ kind, count, ...(orderId ? { orderId } : {}) });
  }

  takeFault(orderId?: string): MarketplaceErrorKind | null {
    const f = this.faults.find((x) => x.count > 0 && (!x.orderId || x.orderId === orderId));
    if (!f) return null;
    f.count--;
    return f.kind;
  }
}

const stores = new Map<string, FakeStore>();

export function fakeStore(name: string): FakeStore {
  let s = stores.get(name);
  if (!s) {
    s = new FakeStore();
    const m = /^seeded-(\d+)$/.exec(name);
    if (m) s.seed(Number(m[1]));
    stores.set(name, s);
  }
  return s;
}

export const fakeManifest: MarketplaceManifest = {
  id: "fake",
  displayName: "Fake marketplace",
  orderNumberPrefix: "FK-",
  defaultBaseUrl: "memory://fake",
  config: [
    {
      key: "store",
      label: "Store name",
      secret: false,
      required: true,
      help: "seeded-N starts with N orders",
    },
    { key: "apiKey", label: "API key", secret: true, required: true, flag: "--api-key" },
    { key: "pageSize", label: "Page size", secret: false, required: false, default: "50", kind: "integer" },
  ],
  capabilities: {
    orderCursor: "change_marker",
    orderPages: "summaries",
    archivedOrders: false,
    webhooks: "payload",
    stockPush: "none",
    shipmentPush: "line",
    stockSource: "none",
    statusPush: false,
    acceptance: "none",
    digitalDelivery: false,
  },
  auth: { kind: "static" },
  rateLimit: {
    limits: [{ type: "fixed_window", window: "day", limit: 10_000 }],
    orderIntakeReserve: 0.2,
    defaultDailyBudget: 10_000,
  },
  // The status the fake gives an order once every line is shipped.
  shippedStatus: "SENT",
  orderUrl: (id) => `https://fake.example/orders/${id}`,
  internal: true,
};

const checkpointSchema = z.object({ offset: z.number().int().nonnegative() });
type FakeCheckpoint = z.infer<typeof checkpointSchema>;

const mapStatus = statusMapper({
  NEW: "pending",
  PAID: "processing",
  SENT: "shipped",
  DONE: "completed",
  HOLD: "on_hold",
  CANCELLED: "cancelled",
});

function storeOf(ctx: AdapterContext): FakeStore {
  const name = ctx.config.store;
  if (!name)
    throw new MarketplaceError("invalid_request", {
      marketplace: "fake",
      operation: "config",
      message: "store is not set",
    });
  return fakeStore(name);
}

async function call(ctx: AdapterContext, operation: string, orderId?: string): Promise<FakeStore> {
  const store = storeOf(ctx);
  if (ctx.secrets.apiKey !== "good-key") {
    throw new MarketplaceError("auth", {
      marketplace: "fake",
      operation,
      message: "the API key was refused: reconnect with a valid key",
    });
  }
  await ctx.budget.spend(operation);
  const fault = store.takeFault(orderId);
  if (fault) {
    throw new MarketplaceError(fault, {
      marketplace: "fake",
      operation,
      message: `injected ${fault}`,
      retryAfterMs: fault === "rate_limited" ? 30_000 : null,
      field: fault === "contract_changed" ? "status" : null,
    });
  }
  return store;
}

export function mapFakeOrder(o: FakeOrder): OrderInput {
  const subtotal = o.lines.reduce((n, l) => n + l.price * l.quantity, 0);
  return {
    marketplace: "fake",
    externalId: o.id,
    number: `FK-${o.id}`,
    changeMarker: String(o.version),
    status: mapStatus(o.status),
    rawStatus: o.status,
    buyerName: o.buyer,
    orderedAt: o.placedAt,
    totals: { currency: "EUR", subtotal, shipping: 4_5000, grandTotal: subtotal + 4_5000 },
    url: `https://fake.example/orders/${o.id}`,
    lines: o.lines.map((l) => ({
      externalLineId: l.sku,
      itemNo: l.sku,
      sku: l.sku,
      name: l.name,
      quantity: l.quantity,
      unitPrice: l.price,
      lineTotal: l.price * l.quantity,
    })),
    raw: { ...o, placedAt: o.placedAt.toISOString() },
  };
}

const shipmentFields = (push: ShipmentPush) => ({
  trackingNumber: push.trackingNumber,
  trackingUrl: push.trackingUrl,
  carrier: push.carrier,
  shippedAt: push.shippedAt,
});

/** Shipments by line, with quantities, checked the way a marketplace checks them. */
export const fakeShipments: ShipmentsPort = {
  granularity: "line",
  async push(ctx, push) {
    const store = await call(ctx, "createShipment", push.externalOrderId);
    const o = store.orders.get(push.externalOrderId);
    if (!o)
      throw new MarketplaceError("not_found", {
        marketplace: "fake",
        operation: "createShipment",
        message: `order ${push.externalOrderId} not found`,
      });
    const shipped = store.shippedOf(o.id);
    const lines =
      push.lines ??
      o.lines.map((l) => ({ externalLineId: l.sku, quantity: l.quantity - (shipped.get(l.sku) ?? 0) }));
    for (const l of lines) {
      const line = o.lines.find((x) => x.sku === l.externalLineId);
      const left = line ? line.quantity - (shipped.get(line.sku) ?? 0) : 0;
      if (!line || l.quantity < 1 || l.quantity > left)
        throw new MarketplaceError("invalid_request", {
          marketplace: "fake",
          operation: "createShipment",
          message: `line ${l.externalLineId} of order ${o.id} has ${left} left to ship, not ${l.quantity}`,
        });
    }
    const sh = store.ship(o.id, {
      ...shipmentFields(push),
      lines: lines
        .filter((l) => l.quantity > 0)
        .map((l) => ({ sku: l.externalLineId, quantity: l.quantity })),
      idempotencyKey: push.idempotencyKey,
    });
    if (store.loseShipmentAnswers > 0) {
      store.loseShipmentAnswers--;
      throw new MarketplaceError("ambiguous_write", {
        marketplace: "fake",
        operation: "createShipment",
        message: "the answer to createShipment was lost",
      });
    }
    return { externalShipmentId: sh.id };
  },
  async readBack(ctx, push) {
    // The fake's order view lists its shipments; ours is the one with the same tracking and lines.
    const store = await call(ctx, "getShipments", push.externalOrderId);
    const want = JSON.stringify((push.lines ?? []).map((l) => [l.externalLineId, l.quantity]).sort());
    const held = store.shipments.find(
      (x) =>
        x.orderId === push.externalOrderId &&
        x.trackingNumber === push.trackingNumber &&
        x.trackingUrl === push.trackingUrl &&
        (push.lines === null || JSON.stringify(x.lines.map((l) => [l.sku, l.quantity]).sort()) === want),
    );
    return held ? { externalShipmentId: held.id } : null;
  },
  extras: [],
};

/**
 * Pushed notices: a JSON body `{"orderIds": […], "orders"?: [fake orders]}` signed with
 * HMAC-SHA256 of the body under the API key (`x-fake-signature`), the way real payload webhooks sign.
 */
export function signFakeNotice(body: string, apiKey: string): string {
  return createHmac("sha256", apiKey).update(body).digest("hex");
}

const fakeNotices: NoticesPort = {
  style: "payload",
  verify(notice, connection) {
    const key = connection.secrets.apiKey;
    const sig = notice.headers["x-fake-signature"];
    if (!key || !sig) return false;
    const want = Buffer.from(signFakeNotice(notice.body, key));
    const got = Buffer.from(sig);
    return want.length === got.length && timingSafeEqual(want, got);
  },
  parse(notice) {
    let body: unknown;
    try {
      body = JSON.parse(notice.body);
    } catch {
      throw new MarketplaceError("contract_changed", {
        marketplace: "fake",
        operation: "notice",
        message: "the notice is not JSON",
        field: "body",
      });
    }
    const b = body as { orderIds?: unknown; orders?: unknown };
    if (!Array.isArray(b.orderIds) || !b.orderIds.every((x) => typeof x === "string"))
      throw new MarketplaceError("contract_changed", {
        marketplace: "fake",
        operation: "notice",
        message: "orderIds must be a list of order ids",
        field: "orderIds",
      });
    const orders = Array.isArray(b.orders)
      ? (b.orders as (FakeOrder & { placedAt: string })[]).map((o) =>
          mapFakeOrder({ ...o, placedAt: new Date(o.placedAt) }),
        )
      : undefined;
    return { externalOrderIds: b.orderIds as string[], ...(orders ? { orders } : {}) };
  },
};

/**
 * The fake marketplace. `pages: "orders"` makes its order list carry whole orders (as eBay, Etsy and
 * Amazon's searchOrders do) — tests register that variant with `registerAdapter` when they need it.
 */
export function makeFakeAdapter(
  opts: { pages?: "summaries" | "orders" } = {},
): MarketplaceAdapter<FakeCheckpoint> {
  const pages = opts.pages ?? "summaries";
  return {
    manifest: { ...fakeManifest, capabilities: { ...fakeManifest.capabilities, orderPages: pages } },
    async testConnection(ctx) {
      const store = await call(ctx, "test");
      store.calls.test++;
      return { storeName: ctx.config.store ?? null, currency: "EUR" };
    },
    orders: {
      checkpointSchema,
      async page(ctx, req) {
        const store = await call(ctx, "listOrders");
        store.calls.list++;
        const size = Number(ctx.config.pageSize ?? 50) || 50;
        const all = [...store.orders.values()].sort((a, b) => Number(a.id) - Number(b.id));
        // Incremental walks from the start every time: change markers tell what changed.
        const offset = Math.min(req.checkpoint?.offset ?? 0, all.length);
        const page = all.slice(offset, offset + size);
        const next = offset + page.length;
        const base = {
          summaries: page.map((o) => ({
            externalId: o.id,
            changeMarker: String(o.version),
            rawStatus: o.status,
          })),
          checkpoint: { offset: next >= all.length ? 0 : next },
          done: next >= all.length,
          total: all.length,
        };
        return pages === "orders"
          ? { ...base, shape: "orders" as const, orders: page.map(mapFakeOrder) }
          : { ...base, shape: "summaries" as const };
      },
      async fetchOrder(ctx, externalId) {
        const store = await call(ctx, "getOrder", externalId);
        store.onFetch?.(store.calls.order);
        if (ctx.signal?.aborted) throw ctx.signal.reason ?? new Error("aborted");
        store.calls.order++;
        const o = store.orders.get(externalId);
        if (!o)
          throw new MarketplaceError("not_found", {
            marketplace: "fake",
            operation: "getOrder",
            message: `order ${externalId} not found`,
          });
        return mapFakeOrder(o);
      },
      mapStatus,
    },
    notices: fakeNotices,
    shipments: fakeShipments,
    status: { kind: "none" },
    stock: { mode: "none" },
    acceptance: { kind: "none" },
  };
}

export const fakeAdapter = makeFakeAdapter();
