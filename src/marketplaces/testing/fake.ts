import { z } from "zod";
import { MarketplaceError, type MarketplaceErrorKind } from "../../core/errors.ts";
import type { OrderInput } from "../../core/order.ts";
import { statusMapper } from "../../core/status.ts";
import type { AdapterContext, MarketplaceAdapter, MarketplaceManifest } from "../types.ts";

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

export class FakeStore {
  readonly orders = new Map<string, FakeOrder>();
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
    archivedOrders: false,
    webhooks: "payload",
    stockPush: "none",
    shipmentPush: "none",
    statusPush: false,
    digitalDelivery: false,
  },
  rateLimit: {
    limits: [{ type: "fixed_window", window: "day", limit: 10_000 }],
    orderIntakeReserve: 0.2,
    defaultDailyBudget: 10_000,
  },
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

export const fakeAdapter: MarketplaceAdapter<FakeCheckpoint> = {
  manifest: fakeManifest,
  checkpointSchema,
  async testConnection(ctx) {
    const store = await call(ctx, "test");
    store.calls.test++;
    return { storeName: ctx.config.store ?? null, currency: "EUR" };
  },
  async fetchOrderPage(ctx, req) {
    const store = await call(ctx, "listOrders");
    store.calls.list++;
    const size = Number(ctx.config.pageSize ?? 50) || 50;
    const all = [...store.orders.values()].sort((a, b) => Number(a.id) - Number(b.id));
    // Incremental walks from the start every time: change markers tell what changed.
    const offset = Math.min(req.checkpoint?.offset ?? 0, all.length);
    const page = all.slice(offset, offset + size);
    const next = offset + page.length;
    return {
      summaries: page.map((o) => ({
        externalId: o.id,
        changeMarker: String(o.version),
        rawStatus: o.status,
      })),
      checkpoint: { offset: next >= all.length ? 0 : next },
      done: next >= all.length,
      total: all.length,
    };
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
  fetchNotices: null,
  pushShipment: null,
  pushStatus: null,
};
