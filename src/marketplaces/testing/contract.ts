import { describe, expect, it } from "vitest";
import { isMarketplaceError, type MarketplaceErrorKind } from "../../core/errors.ts";
import { orderInputSchema } from "../../core/order.ts";
import type { AdapterContext, MarketplaceAdapter } from "../types.ts";

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
  close(): Promise<void>;
}

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
    const page = await adapter.fetchOrderPage(ctx, { checkpoint, mode, includeArchived: false });
    for (const s of page.summaries) seen.set(s.externalId, s.changeMarker);
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
          const o = await h.adapter.fetchOrder(h.context(), id);
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
          h.adapter.fetchOrderPage(h.context(), { checkpoint: null, mode: "full", includeArchived: false }),
          ["rate_limited"],
        );
        if (isMarketplaceError(err) && err.retryAfterMs !== null) expect(err.retryAfterMs).toBeGreaterThan(0);
        await h.injectFault("transient", 1);
        await expectKind(
          h.adapter.fetchOrderPage(h.context(), { checkpoint: null, mode: "full", includeArchived: false }),
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
          h.adapter.fetchOrderPage(h.badCredentials(), {
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
        expect(h.adapter.checkpointSchema.safeParse(future).success).toBe(true);
        const page = await h.adapter.fetchOrderPage(h.context(), {
          checkpoint: future,
          mode: "incremental",
          includeArchived: false,
        });
        expect(h.adapter.checkpointSchema.safeParse(page.checkpoint).success).toBe(true);
      } finally {
        await h.close();
      }
    });

    it("declares its capabilities honestly: a port exists exactly when its capability is declared", async () => {
      const h = await makeHarness();
      try {
        const { capabilities } = h.adapter.manifest;
        expect(h.adapter.pushShipment !== null).toBe(capabilities.shipmentPush !== "none");
        expect(h.adapter.pushStatus !== null).toBe(capabilities.statusPush);
        expect(h.adapter.fetchNotices !== null).toBe(capabilities.webhooks === "ping");
        for (const f of h.adapter.manifest.config) expect(f.key).toMatch(/^[a-z][A-Za-z0-9]*$/);
      } finally {
        await h.close();
      }
    });
  });
}
