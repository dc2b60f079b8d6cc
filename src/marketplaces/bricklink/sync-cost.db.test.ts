import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, seedAccount, type TestApi, testApi } from "../../../test/helpers/http.ts";
import { connections, orders, syncRuns } from "../../db/schema.ts";
import type { LiveEvent } from "../../events.ts";
import { requestSync, runSync } from "../../sync/engine.ts";
import { type BrickLinkSimulator, startBrickLinkSimulator } from "./simulator/server.ts";

let api: TestApi;
let sim: BrickLinkSimulator;
let accountId: number;
let token: string;
let connectionId: number;

beforeAll(async () => {
  api = await testApi();
  await api.queue.work("sync.run", async (d) => {
    await runSync(api.ctx, Number(d.runId), { queue: api.queue });
  });
  sim = await startBrickLinkSimulator({ seed: 41, orders: 60 });
  const seeded = await seedAccount(api);
  accountId = seeded.account.id;
  token = seeded.tokens.owner;
  const res = await api.app.inject({
    method: "POST",
    url: "/api/connections",
    headers: bearer(token),
    payload: {
      marketplace: "bricklink",
      name: "My BrickLink",
      baseUrl: sim.baseUrl,
      config: { ...sim.credentials },
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  connectionId = res.json().connection.id;
});
afterAll(async () => {
  await api.close();
  await sim.close();
});

async function sync(mode: "incremental" | "full", events: LiveEvent[] = []) {
  const off = api.ctx.events.subscribe(accountId, (e) => events.push(e));
  const { runId } = await requestSync(api.ctx, api.queue, {
    accountId,
    connectionId,
    trigger: "manual",
    mode,
  });
  await api.queue.runUntilIdle();
  off();
  const [run] = await api.ctx.db.select().from(syncRuns).where(eq(syncRuns.id, runId));
  return run!;
}

describe("honest progress and cost", () => {
  it("a full sync's progress counts what it has done, from nothing to all", async () => {
    await sync("incremental");
    const events: LiveEvent[] = [];
    const run = await sync("full", events);
    expect(run.state).toBe("completed");
    const progress = events.filter(
      (e): e is Extract<LiveEvent, { type: "sync.progress" }> => e.type === "sync.progress",
    );
    const running = progress.filter((e) => e.state === "running");
    expect(running.length).toBeGreaterThan(1);
    // Not "232 / 232 · 100 %" from the first tick: the first report is a part, and it only grows.
    expect(running[0]!.seen).toBeLessThan(running[0]!.total!);
    for (let i = 1; i < running.length; i++)
      expect(running[i]!.seen).toBeGreaterThanOrEqual(running[i - 1]!.seen);
    expect(progress.at(-1)).toMatchObject({ state: "completed", seen: run.total, total: run.total });
  });

  it("the API says what a full sync will cost before it starts, and what waits for details", async () => {
    const whole = await api.ctx.db
      .select({ id: orders.id })
      .from(orders)
      .where(eq(orders.connectionId, connectionId));
    const purged = [...sim.control.state.orders.values()].filter(
      (o) => o.direction === "in" && !o.order.is_filed && o.order.status === "PURGED",
    );
    const res = await api.app.inject({
      method: "GET",
      url: `/api/connections/${connectionId}/sync-estimate?mode=full`,
      headers: bearer(token),
    });
    expect(res.statusCode, res.body).toBe(200);
    const e = res.json().estimate;
    expect(e).toMatchObject({
      mode: "full",
      orders: whole.length - purged.length,
      listCalls: 1,
      perOrder: 2,
      calls: 1 + 2 * (whole.length - purged.length),
      dailyLimit: 5_000,
      extraDays: 0,
    });
    expect(e.remainingToday).toBeLessThan(5_000);

    // A budget far too small: it says how many more days the full sync needs.
    await api.ctx.db.update(connections).set({ dailyBudget: 20 }).where(eq(connections.id, connectionId));
    const small = (
      await api.app.inject({
        method: "GET",
        url: `/api/connections/${connectionId}/sync-estimate?mode=full`,
        headers: bearer(token),
      })
    ).json().estimate;
    expect(small.extraDays).toBe(Math.ceil(small.calls / 20));
    await api.ctx.db.update(connections).set({ dailyBudget: null }).where(eq(connections.id, connectionId));

    const view = (
      await api.app.inject({ method: "GET", url: `/api/connections/${connectionId}`, headers: bearer(token) })
    ).json().connection;
    expect(view.details).toMatchObject({ pending: 0, callsNeeded: 0, estimatedDoneAt: null });
  });

  it("documents refuse an order whose details are not fetched yet, naming it", async () => {
    const [o] = await api.ctx.db
      .select({ id: orders.id, number: orders.number })
      .from(orders)
      .where(eq(orders.connectionId, connectionId))
      .limit(1);
    await api.ctx.db.update(orders).set({ details: "pending" }).where(eq(orders.id, o!.id));
    const res = await api.app.inject({
      method: "POST",
      url: "/api/documents",
      headers: bearer(token),
      payload: { kind: "packing-slips", orders: [o!.number] },
    });
    expect(res.statusCode, res.body).toBe(409);
    expect(res.json().error.message).toContain(`details not fetched yet for ${o!.number}`);
    const csv = await api.app.inject({
      method: "POST",
      url: "/api/documents",
      headers: bearer(token),
      payload: { kind: "csv-orders", orders: [o!.number] },
    });
    expect(csv.statusCode, csv.body).toBe(200);
    await api.ctx.db.update(orders).set({ details: "complete" }).where(eq(orders.id, o!.id));
  });
});
