import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, seedAccount, type TestApi, testApi } from "../../test/helpers/http.ts";
import {
  type BrickLinkSimulator,
  startBrickLinkSimulator,
} from "../marketplaces/bricklink/simulator/server.ts";
import { runSync } from "../sync/engine.ts";

let api: TestApi;
let sim: BrickLinkSimulator;
let h: Record<string, string>;
let token: string;
let connectionId: number;

beforeAll(async () => {
  api = await testApi();
  await api.queue.work("sync.run", async (d) => {
    await runSync(api.ctx, Number(d.runId), { queue: api.queue });
  });
  sim = await startBrickLinkSimulator({ seed: 9, orders: 5 });
  const a = await seedAccount(api);
  h = bearer(a.tokens.owner);
  const res = await api.app.inject({
    method: "POST",
    url: "/api/connections",
    headers: h,
    payload: {
      marketplace: "bricklink",
      name: "BL",
      baseUrl: sim.baseUrl,
      config: { ...sim.credentials },
      test: true,
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  connectionId = res.json().connection.id;
  token = String(res.json().connection.webhookUrl).split("/").pop()!;
  await api.app.inject({
    method: "POST",
    url: `/api/connections/${connectionId}/sync`,
    headers: h,
    payload: { mode: "full" },
  });
  await api.queue.runUntilIdle();
});
afterAll(async () => {
  await api.close();
  await sim.close();
});

describe("push notifications and single-order refresh", () => {
  it("a ping on the connection's push URL fetches just the orders BrickLink names", async () => {
    const id = sim.control.createOrder();
    const before = sim.control.calls();
    const res = await api.app.inject({ method: "POST", url: `/webhooks/bricklink/${token}` });
    expect(res.statusCode).toBe(202);
    await api.queue.runUntilIdle();
    expect(sim.control.calls() - before).toBe(3); // notifications, order, items
    const order = await api.app.inject({ method: "GET", url: `/api/orders/BL-${id}`, headers: h });
    expect(order.statusCode).toBe(200);
    expect(order.json().order.lines.length).toBeGreaterThan(0);
  });

  it("folds pings that arrive together, limits their rate, and reveals nothing for unknown tokens", async () => {
    await new Promise((r) => setTimeout(r, 2_100)); // clear of the previous test's ping
    const first = await api.app.inject({ method: "POST", url: `/webhooks/bricklink/${token}` });
    const second = await api.app.inject({ method: "POST", url: `/webhooks/bricklink/${token}` });
    expect(first.json()).toMatchObject({ accepted: true, folded: false });
    expect(second.json()).toMatchObject({ accepted: true, folded: true });
    await api.queue.runUntilIdle();
    const unknown = await api.app.inject({ method: "POST", url: `/webhooks/bricklink/${"x".repeat(32)}` });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.body).not.toContain("connection");
    const wrongMarketplace = await api.app.inject({ method: "POST", url: `/webhooks/brickowl/${token}` });
    expect(wrongMarketplace.statusCode).toBe(404);
    let limited = 0;
    for (let i = 0; i < 40; i++) {
      const r = await api.app.inject({ method: "POST", url: `/webhooks/bricklink/${token}` });
      if (r.statusCode === 429) limited++;
    }
    expect(limited).toBeGreaterThan(0);
    await api.queue.runUntilIdle();
  });

  it("refreshes one order on request", async () => {
    const list = await api.app.inject({ method: "GET", url: "/api/orders?pageSize=1", headers: h });
    const number = list.json().orders[0].number as string;
    sim.control.setStatus(Number(number.slice(3)), "SHIPPED");
    await sim.control.state.notifications.splice(0);
    const res = await api.app.inject({ method: "POST", url: `/api/orders/${number}/refresh`, headers: h });
    expect(res.statusCode).toBe(202);
    await api.queue.runUntilIdle();
    const run = await api.app.inject({
      method: "GET",
      url: `/api/sync-runs/${res.json().runId}`,
      headers: h,
    });
    expect(run.json().run).toMatchObject({
      trigger: "refresh",
      mode: "targets",
      state: "completed",
      apiCalls: 2,
    });
    const order = await api.app.inject({ method: "GET", url: `/api/orders/${number}`, headers: h });
    expect(order.json().order).toMatchObject({ status: "shipped", rawStatus: "SHIPPED" });
    const status = await api.app.inject({
      method: "GET",
      url: "/api/integrations/bricklink/status",
      headers: h,
    });
    expect(status.json().connections[0]).toMatchObject({ connectionId, budget: { limit: 5000 } });
    expect(status.json().connections[0].budget.usedToday).toBeGreaterThan(0);
  });
});
