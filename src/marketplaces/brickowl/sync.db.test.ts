import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../test/helpers/db.ts";
import { bearer, seedAccount, type TestApi, testApi } from "../../../test/helpers/http.ts";
import { findOrderId, getOrderDetail, listOrders } from "../../db/repos/orders.ts";
import { connections, syncRuns } from "../../db/schema.ts";
import { startNoticeListener } from "../../http/notice-listener.ts";
import { cancelSync, requestSync, retryFailed, runSync } from "../../sync/engine.ts";
import { type BrickLinkSimulator, startBrickLinkSimulator } from "../bricklink/simulator/server.ts";
import { type BrickOwlSimulator, startBrickOwlSimulator } from "./simulator/server.ts";

const clock = new ManualClock("2026-03-01T12:00:00Z");
let api: TestApi;
let sim: BrickOwlSimulator;
let bl: BrickLinkSimulator;
let accountId: number;
let token: string;
let connectionId: number;

beforeAll(async () => {
  api = await testApi({ clock });
  await api.queue.work("sync.run", async (d) => {
    await runSync(api.ctx, Number(d.runId), { queue: api.queue });
  });
  sim = await startBrickOwlSimulator({ seed: 21, orders: 30 });
  // The simulator's per-minute window runs on the same clock as Orderhub.
  sim.control.state.now = () => clock.now();
  bl = await startBrickLinkSimulator({ seed: 21, orders: 40 });
  const seeded = await seedAccount(api);
  accountId = seeded.account.id;
  token = seeded.tokens.owner;
  const res = await api.app.inject({
    method: "POST",
    url: "/api/connections",
    headers: bearer(token),
    payload: {
      marketplace: "brickowl",
      name: "My BrickOwl",
      baseUrl: sim.baseUrl,
      config: { apiKey: sim.apiKey },
      test: true,
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  connectionId = res.json().connection.id;
});
afterAll(async () => {
  await api.close();
  await sim.close();
  await bl.close();
});

async function sync(
  req: { mode?: "incremental" | "full"; trigger?: "manual" | "webhook"; targetIds?: string[] } = {},
) {
  const before = sim.control.calls();
  const { runId } = await requestSync(api.ctx, api.queue, {
    accountId,
    connectionId,
    trigger: req.trigger ?? "manual",
    ...req,
  });
  await api.queue.runUntilIdle();
  const [run] = await api.ctx.db.select().from(syncRuns).where(eq(syncRuns.id, runId));
  return { run: run!, calls: sim.control.calls() - before };
}

const orderOf = async (id: string) =>
  (await getOrderDetail(api.ctx.db, accountId, (await findOrderId(api.ctx.db, accountId, `BO-${id}`))!))!;

describe("BrickOwl order sync against the simulator", () => {
  it("connecting tests the key and learns the store (name, currency, store id for notifications)", async () => {
    const [c] = await api.ctx.db.select().from(connections).where(eq(connections.id, connectionId));
    expect(c).toMatchObject({ storeName: "Sim Owl Bricks", currency: "GBP" });
    expect(c!.config.storeId).toBe("907");
    const bad = await api.app.inject({
      method: "POST",
      url: "/api/connections",
      headers: bearer(token),
      payload: {
        marketplace: "brickowl",
        name: "Bad",
        baseUrl: sim.baseUrl,
        config: { apiKey: "nope" },
        test: true,
      },
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().error.message).toContain("BrickOwl refused the API key");
    expect(bad.body).not.toContain(sim.apiKey);
  });

  it("a first sync stores every order with 1 list call + 2 per order", async () => {
    const { run, calls } = await sync();
    expect(run).toMatchObject({ state: "completed", created: 30, failed: 0 });
    expect(calls).toBe(1 + 2 * 30);
    expect(run.apiCalls).toBe(calls);
    const d = await orderOf([...sim.control.state.orders.keys()][0]!);
    expect(d.order.number).toMatch(/^BO-\d+$/);
    expect(d.lines.length).toBeGreaterThan(0);
    expect(d.lines[0]!.location).toMatch(/^[A-E]-\d+$/);
    expect((d.lines[0]!.extra as { brickLinkLotId: string }).brickLinkLotId).toMatch(/^5\d{5}$/);
  });

  it("incremental: nothing changed costs one call; status changes, an edit and a new order cost 1 + 2k", async () => {
    expect((await sync()).calls).toBe(1);
    const ids = [...sim.control.state.orders.keys()];
    const open = ids.filter((id) =>
      ["2", "3"].includes(String(sim.control.state.orders.get(id)!.order.status_id)),
    );
    sim.control.setStatus(open[0]!, 5);
    sim.control.setStatus(open[1]!, 7);
    sim.control.editOrder(open[2]!);
    clock.advance(60_000);
    const fresh = sim.control.createOrder({ lines: 2 });
    const { run, calls } = await sync();
    expect(calls).toBe(1 + 2 * 4);
    expect(run).toMatchObject({ created: 1, updated: 3, failed: 0 });
    const shipped = await orderOf(open[0]!);
    expect(shipped.order).toMatchObject({ status: "shipped", rawStatus: "Shipped" });
    expect(shipped.events.at(-1)).toMatchObject({
      kind: "status_changed",
      toStatus: "shipped",
      source: "marketplace:brickowl",
    });
    expect((await orderOf(open[1]!)).order.status).toBe("on_hold");
    expect((await orderOf(fresh)).order.status).toBe("processing");
    expect((await sync()).calls).toBe(1);
  });

  it("one order failing gives a partial result that retry-failed repairs", async () => {
    clock.advance(60_000);
    const id = sim.control.createOrder();
    // Garbled on every one of the run's five tries (a single garbled answer is simply read again).
    sim.control.fault("malformed", 5, { path: `order/items?` });
    const { run } = await sync();
    expect(run.state).toBe("completed_with_errors");
    expect(run.failures.map((f) => f.externalId)).toEqual([id]);
    expect(run.failures[0]!.kind).toBe("transient");
    expect(run.failures[0]!.reason).toMatch(/not JSON/);
    const retried = await retryFailed(api.ctx, api.queue, accountId, run.id);
    await api.queue.runUntilIdle();
    const [r2] = await api.ctx.db.select().from(syncRuns).where(eq(syncRuns.id, retried!.runId));
    expect(r2).toMatchObject({ state: "completed", created: 1 });
  });

  it("BrickOwl's per-minute limit makes the run wait, never fail", async () => {
    for (let i = 0; i < 6; i++) sim.control.createOrder();
    sim.control.state.perMinute = 5;
    sim.control.state.minute = { start: clock.now().getTime(), count: 0, batch: 0 };
    const start = clock.now().getTime();
    try {
      const { run } = await sync();
      expect(run).toMatchObject({ state: "completed", created: 6, failed: 0 });
      // 13 calls at 5 a minute: at least two waits for the window to roll over.
      expect(clock.now().getTime() - start).toBeGreaterThanOrEqual(120_000);
    } finally {
      sim.control.state.perMinute = 600;
    }
  });

  it("cancels a run in the middle; the next run picks up the rest", async () => {
    const ids = Array.from({ length: 6 }, () => sim.control.createOrder());
    sim.control.fault("slow", 12, { delayMs: 150, path: "order/items" });
    const { runId } = await requestSync(api.ctx, api.queue, { accountId, connectionId, trigger: "manual" });
    const running = api.queue.runUntilIdle();
    const items = () => sim.control.callsByPath()["GET /v1/order/items"] ?? 0;
    const start = items();
    while (items() === start) await new Promise((r) => setTimeout(r, 10));
    await cancelSync(api.ctx, accountId, runId);
    await running;
    sim.control.clearFaults();
    const [run] = await api.ctx.db.select().from(syncRuns).where(eq(syncRuns.id, runId));
    expect(run!.state).toBe("cancelled");
    expect(run!.created).toBeLessThan(ids.length);
    const { run: next } = await sync();
    expect(run!.created + next.created).toBe(ids.length);
  });

  it("a process killed in the middle of a sync resumes without duplicates", async () => {
    for (let i = 0; i < 8; i++) sim.control.createOrder();
    const before = (await listOrders(api.ctx.db, accountId, {})).total;
    const { runId } = await requestSync(api.ctx, api.queue, { accountId, connectionId, trigger: "manual" });
    const abort = new AbortController();
    sim.control.fault("slow", 100, { delayMs: 30, path: "order/items" });
    setTimeout(() => abort.abort(new Error("killed")), 200);
    await expect(runSync(api.ctx, runId, { signal: abort.signal })).rejects.toThrow();
    sim.control.clearFaults();
    const after = await runSync(api.ctx, runId, { queue: api.queue });
    expect(after.state).toBe("completed");
    const list = await listOrders(api.ctx.db, accountId, { pageSize: 500 });
    expect(list.total).toBe(before + 8);
    expect(new Set(list.rows.map((r) => r.externalId)).size).toBe(list.rows.length);
  });

  it("order/notify call-outs fetch just the order they name; unknown stores are refused", async () => {
    const listener = await startNoticeListener(api.ctx, api.queue, {
      marketplace: "brickowl",
      port: 0,
      host: "127.0.0.1",
      flushMs: 10,
    });
    try {
      await api.app.inject({
        method: "POST",
        url: `/api/connections/${connectionId}/test`,
        headers: bearer(token),
      });
      const port = new URL(listener.url).port;
      sim.control.state.notifyPort = Number(port);
      const registered = await fetch(`${sim.baseUrl}/order/notify`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ key: sim.apiKey, ip: "127.0.0.1" }),
      });
      expect(await registered.json()).toEqual({ status: "success" });
      const before = sim.control.calls();
      const id = sim.control.createOrder();
      const deadline = Date.now() + 5_000;
      while (Date.now() < deadline) {
        const [r] = await api.ctx.db.select().from(syncRuns).where(eq(syncRuns.trigger, "webhook"));
        if (r) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await api.queue.runUntilIdle();
      expect(await findOrderId(api.ctx.db, accountId, `BO-${id}`)).not.toBeNull();
      // view + items, and no listing.
      expect(sim.control.calls() - before).toBe(2);
      const stranger = await fetch(
        `http://127.0.0.1:${port}/brick_owl_order_notify?order_id=${id}&store_id=12345`,
      );
      expect(stranger.status).toBe(404);
      const junk = await fetch(`http://127.0.0.1:${port}/brick_owl_order_notify?order_id=abc&store_id=907`);
      expect(junk.status).toBe(400);
    } finally {
      await listener.close();
      sim.control.state.notifyIp = null;
    }
  });

  it("a BrickOwl order and a BrickLink order of the same buyer come back from /api/orders in one shape", async () => {
    const res = await api.app.inject({
      method: "POST",
      url: "/api/connections",
      headers: bearer(token),
      payload: {
        marketplace: "bricklink",
        name: "My BrickLink",
        baseUrl: bl.baseUrl,
        config: { ...bl.credentials },
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    const blConn = res.json().connection.id as number;
    await requestSync(api.ctx, api.queue, { accountId, connectionId: blConn, trigger: "manual" });
    await api.queue.runUntilIdle();
    const all = await listOrders(api.ctx.db, accountId, { pageSize: 500 });
    const byBuyer = new Map<string, Set<string>>();
    for (const r of all.rows) {
      if (!r.buyerName) continue;
      byBuyer.set(r.buyerName, (byBuyer.get(r.buyerName) ?? new Set()).add(r.marketplace));
    }
    const buyer = [...byBuyer].find(([, m]) => m.size === 2)?.[0];
    expect(buyer, "a buyer with orders on both marketplaces").toBeDefined();
    const list = await api.app.inject({
      method: "GET",
      url: `/api/orders?buyer=${encodeURIComponent(buyer!)}&pageSize=500`,
      headers: bearer(token),
    });
    expect(list.statusCode).toBe(200);
    const rows = list.json().orders as Record<string, unknown>[];
    const owl = rows.find((r) => r.marketplace === "brickowl");
    const link = rows.find((r) => r.marketplace === "bricklink");
    expect(owl).toBeDefined();
    expect(link).toBeDefined();
    expect(Object.keys(owl!).sort()).toEqual(Object.keys(link!).sort());
    expect(owl!.buyerName).toBe(buyer);
    expect(link!.buyerName).toBe(buyer);
  });
});
