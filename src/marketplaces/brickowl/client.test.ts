import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../core/clock.ts";
import type { MarketplaceError } from "../../core/errors.ts";
import { silentLogger } from "../../core/logger.ts";
import { noTokens, openBudget } from "../testing/context.ts";
import { runAdapterContract } from "../testing/contract.ts";
import type { AdapterContext } from "../types.ts";
import { brickowlAdapter, LOOKBACK_DAYS, listingStart } from "./adapter.ts";
import { BrickOwlClient } from "./client.ts";
import { type BrickOwlSimulator, startBrickOwlSimulator } from "./simulator/server.ts";
import { ukIso } from "./simulator/store.ts";

let sim: BrickOwlSimulator;
beforeAll(async () => {
  sim = await startBrickOwlSimulator({ seed: 5, orders: 40 });
});
afterAll(async () => {
  await sim.close();
});

function ctx(key = sim.apiKey, s = sim): AdapterContext {
  const seen: { url: string; init?: RequestInit }[] = [];
  return Object.assign(
    {
      connectionId: 1,
      baseUrl: s.baseUrl,
      config: {},
      secrets: { apiKey: key },
      http: (u: string, i?: RequestInit) => {
        seen.push({ url: u, ...(i ? { init: i } : {}) });
        return fetch(u, i);
      },
      budget: openBudget(),
      tokens: noTokens,
      clock: systemClock,
      logger: silentLogger,
    },
    { seen },
  );
}
const fails = async (p: Promise<unknown>) =>
  (await p.then(
    () => null,
    (e) => e,
  )) as MarketplaceError;

describe("BrickOwl client against the simulator", () => {
  it("sends the key as a query parameter on GET and in a form body on POST", async () => {
    const c = ctx() as AdapterContext & { seen: { url: string; init?: RequestInit }[] };
    const client = new BrickOwlClient(c, sim.apiKey);
    const [first] = await client.listOrders();
    await client.setTracking(first!.order_id, "RR123456789GB");
    const get = c.seen[0]!;
    expect(new URL(get.url).searchParams.get("key")).toBe(sim.apiKey);
    const post = c.seen[1]!;
    expect(post.url).not.toContain("key=");
    expect((post.init!.headers as Record<string, string>)["content-type"]).toBe(
      "application/x-www-form-urlencoded",
    );
    expect(new URLSearchParams(String(post.init?.body)).get("key")).toBe(sim.apiKey);
    expect(sim.control.state.orders.get(first!.order_id)!.order.tracking_number).toBe("RR123456789GB");
  });

  it("order/list: newest first, filters by status id or name and by order time, obeys the limit", async () => {
    const client = new BrickOwlClient(ctx(), sim.apiKey);
    const all = await client.listOrders();
    expect(all).toHaveLength(40);
    const times = all.map((o) => Number(o.order_date));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    const byId = await client.listOrders({ status: 5 });
    const byName = await client.listOrders({ status: "Shipped" });
    expect(byId.length).toBeGreaterThan(0);
    expect(byName.map((o) => o.order_id)).toEqual(byId.map((o) => o.order_id));
    expect(byId.every((o) => o.status_id === 5)).toBe(true);
    const since = times[9]!;
    expect((await client.listOrders({ orderTime: since })).length).toBe(10);
    expect(await client.listOrders({ limit: 3 })).toHaveLength(3);
  });

  it("set_status accepts 1–7 only; BrickOwl's reason reaches the seller", async () => {
    const client = new BrickOwlClient(ctx(), sim.apiKey);
    const [o] = await client.listOrders({ status: 2 });
    await client.setOrderStatus(o!.order_id, 3);
    expect(sim.control.state.orders.get(o!.order_id)!.order.status).toBe("Processing");
    const err = await fails(client.setOrderStatus(o!.order_id, 8));
    expect(err).toMatchObject({ kind: "invalid_request" });
    expect(err.message).toContain("Invalid status_id");
    const status = brickowlAdapter.status;
    if (status.kind !== "settable") throw new Error("BrickOwl takes statuses");
    const refused = await fails(
      status.push(ctx(), {
        externalOrderId: o!.order_id,
        rawStatus: "Cancelled",
        idempotencyKey: "x",
      }),
    );
    expect(refused.message).toMatch(/only Payment Submitted.*not "Cancelled"/);
  });

  it("inventory/update: exactly one identifier, relative or absolute quantity, for_sale apart from quantity", async () => {
    const client = new BrickOwlClient(ctx(), sim.apiKey);
    const [lot] = await client.listInventory();
    const before = lot!.qty;
    await client.updateInventory(lot!.lot_id, { relativeQuantity: -2 });
    expect((await client.listInventory({ lotId: lot!.lot_id }))[0]!.qty).toBe(before - 2);
    await client.updateInventory(lot!.lot_id, { absoluteQuantity: 7 });
    expect((await client.listInventory({ lotId: lot!.lot_id }))[0]!.qty).toBe(7);
    const both = await fails(
      client.updateInventory(lot!.lot_id, { absoluteQuantity: 1, relativeQuantity: 1 }),
    );
    expect(both.message).toContain("not both");
    // Lots mirror the BrickLink simulator's lots of the same seed: linked by external lot id.
    expect(lot!.external_lot_ids?.other).toMatch(/^5\d{5}$/);
  });

  it("a refused key is auth; 429 is rate_limited with a wait; HTML 503, 500 and a garbled body are transient", async () => {
    expect(await fails(new BrickOwlClient(ctx("wrong"), "wrong").listOrders())).toMatchObject({
      kind: "auth",
    });
    const client = new BrickOwlClient(ctx(), sim.apiKey);
    sim.control.fault("rate_limit");
    expect(await fails(client.listOrders())).toMatchObject({ kind: "rate_limited" });
    sim.control.fault("html503");
    expect(await fails(client.listOrders())).toMatchObject({ kind: "transient" });
    sim.control.fault("server_error");
    expect(await fails(client.listOrders())).toMatchObject({ kind: "transient" });
    sim.control.fault("malformed");
    expect(await fails(client.listOrders())).toMatchObject({ kind: "transient" });
    sim.control.fault("truncated");
    expect(await fails(client.getOrder("3500000"))).toMatchObject({ kind: "transient" });
  });

  it("a write cut off after it was applied is ambiguous, never silently repeated", async () => {
    const client = new BrickOwlClient(ctx(), sim.apiKey);
    const [lot] = await client.listInventory();
    sim.control.fault("drop_after_apply", 1, { path: "inventory/update" });
    const writes = sim.control.state.writes.length;
    expect(await fails(client.updateInventory(lot!.lot_id, { relativeQuantity: 1 }))).toMatchObject({
      kind: "ambiguous_write",
    });
    expect(sim.control.state.writes.length).toBe(writes + 1);
  });

  it("the per-minute limit answers 429 with Retry-After", async () => {
    const small = await startBrickOwlSimulator({ seed: 6, orders: 2, perMinute: 3 });
    try {
      const client = new BrickOwlClient(ctx(small.apiKey, small), small.apiKey);
      for (let i = 0; i < 3; i++) await client.listOrders();
      const err = await fails(client.listOrders());
      expect(err.kind).toBe("rate_limited");
      expect(err.retryAfterMs).toBeGreaterThan(0);
      expect(err.retryAfterMs).toBeLessThanOrEqual(60_000);
    } finally {
      await small.close();
    }
  });
});

describe("incremental listing window", () => {
  const now = new Date("2026-06-01T00:00:00Z");
  const s = (d: string) => Math.floor(Date.parse(d) / 1000);
  it("starts at the oldest open order, but never further back than the look-back window", () => {
    expect(
      listingStart({ newestOrderTime: s("2026-05-30"), oldestOpenOrderTime: s("2026-05-20") }, now),
    ).toBe(s("2026-05-20"));
    expect(
      listingStart({ newestOrderTime: s("2026-05-30"), oldestOpenOrderTime: s("2025-01-01") }, now),
    ).toBe(s("2026-06-01") - LOOKBACK_DAYS * 86_400);
    expect(listingStart({ newestOrderTime: s("2026-05-30"), oldestOpenOrderTime: null }, now)).toBe(
      s("2026-05-30"),
    );
  });
  it("UK offsets: +01:00 in summer, +00:00 in winter", () => {
    expect(ukIso(new Date("2014-04-29T12:52:02Z"))).toBe("2014-04-29T13:52:02+01:00");
    expect(ukIso(new Date("2014-01-29T12:52:02Z"))).toBe("2014-01-29T12:52:02+00:00");
  });
});

runAdapterContract("BrickOwl", async () => {
  const s = await startBrickOwlSimulator({ seed: 9, orders: 0 });
  return {
    adapter: brickowlAdapter as never,
    context: () => ctx(s.apiKey, s),
    badCredentials: () => ctx("not-a-key", s),
    async seedOrders(n) {
      return Array.from({ length: n }, () => s.control.createOrder({ lines: 2 }));
    },
    async changeOrder(id) {
      s.control.setStatus(id, 5);
    },
    async injectFault(kind, count) {
      s.control.fault(kind === "rate_limited" ? "rate_limit" : "server_error", count);
    },
    futureCheckpoint: () => ({
      newestOrderTime: Math.floor(Date.parse("2200-01-01") / 1000),
      oldestOpenOrderTime: Math.floor(Date.parse("2200-01-01") / 1000),
    }),
    settableStatus: "Processed",
    lotId: async () => String([...s.control.state.inventory.keys()][0]),
    notice: (orderIds) => ({
      query: { order_id: orderIds[0], store_id: s.control.state.storeId },
      headers: {},
      body: "",
    }),
    noticeConnection: { config: {}, secrets: {}, storeId: s.control.state.storeId },
    close: () => s.close(),
  };
});
