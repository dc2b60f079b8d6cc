import { describe, expect, it } from "vitest";
import { isMarketplaceError, type MarketplaceErrorKind } from "../../core/errors.ts";
import { orderInputSchema } from "../../core/order.ts";
import type { AdapterContext, InboundNotice, MarketplaceAdapter, ShipmentPush } from "../types.ts";

/** What each marketplace provides to run the shared contract: its adapter and a backend to steer. */
export interface ContractHarness {
  adapter: MarketplaceAdapter<unknown>;
  /** A context with working credentials, pointed at the backend. */
  context(): AdapterContext;
  /** A context whose credentials the backend refuses. */
  badCredentials(): AdapterContext;
  /** Adds n orders to the backend; returns their external ids. */
  seedOrders(n: number): Promise<string[]>;
  /** Changes an order so that its change marker moves. */
  changeOrder(externalId: string): Promise<void>;
  /** The next `count` calls fail with this kind of error. */
  injectFault(kind: "rate_limited" | "transient", count: number): Promise<void>;
  /** A checkpoint far in the future (year 2200), in the adapter's own format. */
  futureCheckpoint(): unknown;
  /** A status the seller may set on a freshly seeded order (status port). */
  settableStatus?: string;
  /** A lot's id in the store (stock port). */
  lotId?(): Promise<string>;
  /** A notice as the marketplace would push it, naming these orders (payload notices). */
  notice?(orderIds: string[]): InboundNotice;
  /** The connection the notice is for, as verify sees it (payload notices). */
  noticeConnection?: {
    config: Record<string, string>;
    secrets: Record<string, string>;
    storeId: string | null;
  };
  close(): Promise<void>;
}

const ship = (externalOrderId: string, lines: ShipmentPush["lines"], tracking: string): ShipmentPush => ({
  externalOrderId,
  carrier: "DHL",
  trackingNumber: tracking,
  trackingUrl: null,
  shippedAt: new Date("2026-11-20T10:00:00Z"),
  lines,
  idempotencyKey: `contract:${externalOrderId}:${tracking}`,
});

async function walk(
  adapter: MarketplaceAdapter<unknown>,
  ctx: AdapterContext,
  start: unknown,
  mode: "incremental" | "full",
) {
  const seen = new Map<string, string | null>();
  const checkpoints: unknown[] = [];
  let checkpoint = start;
  for (let i = 0; i < 10_000; i++) {
    const page = await adapter.orders.page(ctx, { checkpoint, mode, includeArchived: false });
    expect(page.shape).toBe(adapter.manifest.capabilities.orderPages);
    for (const s of page.summaries) seen.set(s.externalId, s.changeMarker);
    if (page.shape === "orders")
      // A page of whole orders holds exactly the orders it lists.
      expect(page.orders.map((o) => o.externalId).sort()).toEqual(
        page.summaries.map((x) => x.externalId).sort(),
      );
    checkpoints.push(page.checkpoint);
    checkpoint = page.checkpoint;
    if (page.done) return { seen, checkpoints, last: checkpoint };
  }
  throw new Error("the order list never ended");
}

async function expectKind(p: Promise<unknown>, kinds: MarketplaceErrorKind[]) {
  try {
    await p;
  } catch (err) {
    expect(isMarketplaceError(err), String(err)).toBe(true);
    if (isMarketplaceError(err)) expect(kinds).toContain(err.kind);
    return err;
  }
  throw new Error(`expected a ${kinds.join("/")} error`);
}

/** The behaviour every adapter must show (STYLE §8). */
export function runAdapterContract(name: string, makeHarness: () => Promise<ContractHarness>): void {
  describe(`${name}: adapter contract`, () => {
    it("pages to the end and every order it lists can be fetched and fits the unified model", async () => {
      const h = await makeHarness();
      try {
        const ids = await h.seedOrders(7);
        const { seen } = await walk(h.adapter, h.context(), null, "full");
        for (const id of ids) expect(seen.has(id), `order ${id} listed`).toBe(true);
        for (const id of ids) {
          const o = await h.adapter.orders.fetchOrder(h.context(), id);
          const parsed = orderInputSchema.parse(o);
          expect(parsed.externalId).toBe(id);
          expect(parsed.marketplace).toBe(h.adapter.manifest.id);
          expect(parsed.number.length).toBeGreaterThan(0);
        }
      } finally {
        await h.close();
      }
    });

    it("resuming from any checkpoint loses nothing, and a changed order shows a new change marker", async () => {
      const h = await makeHarness();
      try {
        const ids = await h.seedOrders(5);
        const first = await walk(h.adapter, h.context(), null, "incremental");
        for (const cp of [null, ...first.checkpoints]) {
          const again = await walk(h.adapter, h.context(), cp, "incremental");
          for (const [id, marker] of again.seen) expect(first.seen.get(id)).toBe(marker);
        }
        await h.changeOrder(ids[1]!);
        const after = await walk(h.adapter, h.context(), null, "incremental");
        expect(after.seen.get(ids[1]!)).not.toBe(first.seen.get(ids[1]!));
        expect(after.seen.get(ids[0]!)).toBe(first.seen.get(ids[0]!));
      } finally {
        await h.close();
      }
    });

    it("reports rate limits as rate_limited (with a wait when the marketplace says one) and outages as transient", async () => {
      const h = await makeHarness();
      try {
        await h.seedOrders(1);
        await h.injectFault("rate_limited", 1);
        const err = await expectKind(
          h.adapter.orders.page(h.context(), { checkpoint: null, mode: "full", includeArchived: false }),
          ["rate_limited"],
        );
        if (isMarketplaceError(err) && err.retryAfterMs !== null) expect(err.retryAfterMs).toBeGreaterThan(0);
        await h.injectFault("transient", 1);
        await expectKind(
          h.adapter.orders.page(h.context(), { checkpoint: null, mode: "full", includeArchived: false }),
          ["transient"],
        );
      } finally {
        await h.close();
      }
    });

    it("reports refused credentials as auth", async () => {
      const h = await makeHarness();
      try {
        await expectKind(h.adapter.testConnection(h.badCredentials()), ["auth"]);
        await expectKind(
          h.adapter.orders.page(h.badCredentials(), {
            checkpoint: null,
            mode: "full",
            includeArchived: false,
          }),
          ["auth"],
        );
      } finally {
        await h.close();
      }
    });

    it("a checkpoint in the year 2200 neither crashes nor moves backwards into nonsense", async () => {
      const h = await makeHarness();
      try {
        await h.seedOrders(2);
        const future = h.futureCheckpoint();
        expect(h.adapter.orders.checkpointSchema.safeParse(future).success).toBe(true);
        const page = await h.adapter.orders.page(h.context(), {
          checkpoint: future,
          mode: "incremental",
          includeArchived: false,
        });
        expect(h.adapter.orders.checkpointSchema.safeParse(page.checkpoint).success).toBe(true);
      } finally {
        await h.close();
      }
    });

    it("declares its capabilities honestly: each port's variant is the one the manifest names", async () => {
      const h = await makeHarness();
      try {
        const { adapter } = h;
        const c = adapter.manifest.capabilities;
        expect(adapter.shipments.granularity).toBe(c.shipmentPush);
        expect(adapter.status.kind === "settable").toBe(c.statusPush);
        expect(adapter.stock.mode).toBe(c.stockPush);
        expect(adapter.acceptance.kind).toBe(c.acceptance);
        expect(adapter.notices.style).toBe(c.webhooks);
        if (c.stockSource !== "none") expect(adapter.stock.mode).not.toBe("none");
        if (c.statusPush) expect(adapter.manifest.settableStatuses?.length ?? 0).toBeGreaterThan(0);
        if (adapter.manifest.auth.kind === "oauth2")
          expect(adapter.manifest.config.map((f) => f.key)).toContain(adapter.manifest.auth.refreshTokenKey);
        for (const f of adapter.manifest.config) expect(f.key).toMatch(/^[a-z][A-Za-z0-9]*$/);
      } finally {
        await h.close();
      }
    });

    it("a shipment that landed is found by its read-back (so a lost answer is never sent twice); one never sent is not", async () => {
      const h = await makeHarness();
      try {
        const port = h.adapter.shipments;
        if (port.granularity === "none") return;
        const [a, b] = await h.seedOrders(2);
        const ctx = h.context();
        const order = await h.adapter.orders.fetchOrder(ctx, a!);
        const lines =
          port.granularity === "line"
            ? order.lines.map((l) => ({ externalLineId: l.externalLineId, quantity: l.quantity }))
            : null;
        const push = ship(a!, lines, "JJD0001");
        expect(await port.readBack(ctx, push)).toBeNull();
        await port.push(ctx, push);
        expect(await port.readBack(ctx, push)).not.toBeNull();
        expect(await port.readBack(ctx, ship(b!, null, "JJD0002"))).toBeNull();
      } finally {
        await h.close();
      }
    });

    it("a status it takes is read back as set", async () => {
      const h = await makeHarness();
      try {
        const port = h.adapter.status;
        if (port.kind === "none") return;
        expect(h.settableStatus, "the harness names a settable status").toBeDefined();
        const [a] = await h.seedOrders(1);
        const ctx = h.context();
        await port.push(ctx, {
          externalOrderId: a!,
          rawStatus: h.settableStatus!,
          idempotencyKey: "contract:status",
        });
        expect((await port.readBack(ctx, a!)).toLowerCase()).toBe(h.settableStatus!.toLowerCase());
      } finally {
        await h.close();
      }
    });

    it("a stock change is visible in its read-back, so a lost answer can be settled by reading", async () => {
      const h = await makeHarness();
      try {
        const port = h.adapter.stock;
        if (port.mode === "none") return;
        expect(h.lotId, "the harness names a lot").toBeDefined();
        const ctx = h.context();
        const lot = await h.lotId!();
        const inventory = await port.fetchInventory(ctx);
        const listed = inventory.find((l) => l.externalId === lot);
        expect(listed, `lot ${lot} listed`).toBeDefined();
        if (port.mode === "delta") {
          const before = await port.fetchQuantity(ctx, lot);
          expect(before).toBe(listed!.quantity);
          await port.pushDelta(ctx, { externalId: lot, delta: 2, description: listed!.description });
          expect(await port.fetchQuantity(ctx, lot)).toBe(before + 2);
        } else {
          const [r] = await port.pushBatch(ctx, [{ externalId: lot, quantity: 3 }]);
          expect(r).toMatchObject({ externalId: lot, ok: true, quantity: 3 });
          // Absolute: the same push twice leaves the same quantity.
          await port.pushBatch(ctx, [{ externalId: lot, quantity: 3 }]);
          expect((await port.fetchInventory(ctx)).find((l) => l.externalId === lot)?.quantity).toBe(3);
        }
      } finally {
        await h.close();
      }
    });

    it("notices: a ping drains to the orders that changed; a pushed payload is verified and parsed", async () => {
      const h = await makeHarness();
      try {
        const port = h.adapter.notices;
        const ctx = h.context();
        if (port.style === "ping") {
          await port.drain(ctx);
          const [a] = await h.seedOrders(1);
          expect((await port.drain(ctx)).externalOrderIds).toContain(a);
          expect((await port.drain(ctx)).externalOrderIds).toEqual([]);
        } else if (port.style === "payload") {
          expect(h.notice && h.noticeConnection, "the harness builds notices").toBeTruthy();
          const n = h.notice!(["1234"]);
          expect(port.verify(n, h.noticeConnection!)).toBe(true);
          expect(port.parse(n).externalOrderIds).toEqual(["1234"]);
          const forged = { ...n, query: { ...n.query }, headers: { ...n.headers }, body: `${n.body} ` };
          for (const k of Object.keys(forged.query)) if (/store/.test(k)) forged.query[k] = "999999";
          for (const k of Object.keys(forged.headers))
            if (/signature/.test(k)) forged.headers[k] = "0".repeat(64);
          expect(port.verify(forged, h.noticeConnection!)).toBe(false);
        }
      } finally {
        await h.close();
      }
    });
  });
}
