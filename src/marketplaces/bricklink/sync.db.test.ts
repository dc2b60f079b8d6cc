import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testContext } from "../../../test/helpers/db.ts";
import { createAccount } from "../../db/repos/accounts.ts";
import { insertConnection } from "../../db/repos/connections.ts";
import { findOrderId, getOrderDetail, listOrders } from "../../db/repos/orders.ts";
import { JobQueue } from "../../jobs/queue.ts";
import { requestSync, runSync } from "../../sync/engine.ts";
import { type BrickLinkSimulator, startBrickLinkSimulator } from "./simulator/server.ts";

let ctx: TestContext;
let queue: JobQueue;
let sim: BrickLinkSimulator;
let accountId: number;
let connectionId: number;

beforeAll(async () => {
  ctx = await testContext();
  queue = await JobQueue.start(ctx, { work: false });
  await queue.work("sync.run", async (d) => {
    await runSync(ctx, Number(d.runId), { queue });
  });
  sim = await startBrickLinkSimulator({ seed: 11, orders: 40 });
  const account = await createAccount(ctx.db, { name: "BL shop", slug: "bl-shop" });
  accountId = account.id;
  const c = await insertConnection(ctx.db, ctx.box, {
    accountId,
    marketplace: "bricklink",
    name: "BrickLink",
    baseUrl: sim.baseUrl,
    config: {},
    secrets: { ...sim.credentials },
  });
  connectionId = c.id;
});
afterAll(async () => {
  await queue.stop();
  await sim.close();
  await ctx.close();
});

async function sync(
  req: { mode?: "incremental" | "full"; includeArchived?: boolean; trigger?: "manual" | "webhook" } = {},
) {
  const before = sim.control.calls();
  const { runId } = await requestSync(ctx, queue, {
    accountId,
    connectionId,
    trigger: req.trigger ?? "manual",
    ...req,
  });
  await queue.runUntilIdle();
  const run = (await ctx.db.query.syncRuns.findFirst({ where: (r, { eq }) => eq(r.id, runId) }))!;
  return { run, calls: sim.control.calls() - before };
}

describe("BrickLink order sync against the simulator", () => {
  it("a first full sync stores every sales order, none filed and no purchases, spending 1 + 2 calls per order (none for purged ones)", async () => {
    const open = [...sim.control.state.orders.values()].filter(
      (o) => o.direction === "in" && !o.order.is_filed,
    );
    const purged = open.filter((o) => o.order.status === "PURGED");
    expect(purged.length).toBeGreaterThan(0);
    const { run, calls } = await sync({ mode: "full" });
    expect(run).toMatchObject({ state: "completed", created: open.length, failed: 0 });
    // BrickLink gives no items for purged orders: they stay as the list shows them.
    expect(calls).toBe(1 + 2 * (open.length - purged.length));
    expect(run.apiCalls).toBe(calls);
    expect((await listOrders(ctx.db, accountId, {})).total).toBe(open.length);
  });

  it("an incremental sync with nothing changed costs exactly one call; with k changes 1 + 2k", async () => {
    expect((await sync()).calls).toBe(1);
    const ids = [...sim.control.state.orders.values()]
      .filter((o) => o.direction === "in" && !o.order.is_filed)
      .map((o) => o.order.order_id);
    sim.control.setStatus(ids[0]!, "SHIPPED");
    sim.control.setStatus(ids[1]!, "PACKED");
    sim.control.createOrder();
    const { run, calls } = await sync();
    expect(calls).toBe(1 + 2 * 3);
    expect(run).toMatchObject({ created: 1, updated: 2 });
    const id = await findOrderId(ctx.db, accountId, `BL-${ids[0]}`);
    const d = await getOrderDetail(ctx.db, accountId, id!);
    expect(d!.order).toMatchObject({ status: "shipped", rawStatus: "SHIPPED" });
    expect(d!.events.at(-1)).toMatchObject({
      kind: "status_changed",
      toStatus: "shipped",
      source: "marketplace:bricklink",
    });
  });

  it("an order edited with a new batch updates its lines once", async () => {
    const id = sim.control.createOrder({ lines: 2 });
    await sync();
    sim.control.addBatch(id, 2);
    await sync();
    await sync();
    const d = await getOrderDetail(ctx.db, accountId, (await findOrderId(ctx.db, accountId, `BL-${id}`))!);
    expect(d!.order.rawStatus).toBe("UPDATED");
    const live = d!.lines.filter((l) => !l.removedAt);
    expect(live.filter((l) => l.batch === 2).length).toBeGreaterThanOrEqual(1);
    expect(new Set(live.map((l) => l.externalLineId)).size).toBe(live.length);
  });

  it("filed orders come in only when asked", async () => {
    const filed = [...sim.control.state.orders.values()].filter(
      (o) => o.direction === "in" && o.order.is_filed,
    );
    expect(filed.length).toBeGreaterThan(0);
    const { run } = await sync({ mode: "full", includeArchived: true });
    expect(run.created).toBe(filed.length);
    const d = await getOrderDetail(
      ctx.db,
      accountId,
      (await findOrderId(ctx.db, accountId, `BL-${filed[0]!.order.order_id}`))!,
    );
    expect(d!.order.archived).toBe(true);
  });

  it("a push notification fetches only the orders it names", async () => {
    await sync({ trigger: "webhook" }); // drain what earlier tests queued
    const a = sim.control.createOrder();
    const { run, calls } = await sync({ trigger: "webhook" });
    expect(calls).toBe(1 + 2); // notifications + the one order
    expect(run).toMatchObject({ state: "completed", created: 1 });
    expect(await findOrderId(ctx.db, accountId, `BL-${a}`)).not.toBeNull();
  });

  it("one order failing leaves a partial result that retry-failed repairs; 503 bursts are waited out", async () => {
    const id = sim.control.createOrder();
    // Garbled on every one of the run's five tries (a single garbled answer is simply read again).
    sim.control.fault("malformed", 5, { path: `/orders/${id}/items` });
    sim.control.fault("html503", 2, { path: "/orders?" });
    const { run } = await sync();
    expect(run.state).toBe("completed_with_errors");
    expect(run.failures.map((f) => f.externalId)).toEqual([String(id)]);
    const { retryFailed } = await import("../../sync/engine.ts");
    const retried = await retryFailed(ctx, queue, accountId, run.id);
    await queue.runUntilIdle();
    const r2 = (await ctx.db.query.syncRuns.findFirst({ where: (r, { eq }) => eq(r.id, retried!.runId) }))!;
    expect(r2).toMatchObject({ state: "completed", created: 1 });
  });

  it("one list entry of a shape we do not know fails only its own order, naming the field", async () => {
    const good = sim.control.createOrder();
    const bad = sim.control.createOrder();
    const o = sim.control.state.orders.get(bad)!.order as unknown as Record<string, unknown>;
    const was = o.date_status_changed;
    o.date_status_changed = 1_767_225_600; // a number where BrickLink sends a date string
    try {
      const { run } = await sync();
      expect(run.state).toBe("completed_with_errors");
      expect(await findOrderId(ctx.db, accountId, `BL-${good}`)).not.toBeNull();
      expect(run.failures).toEqual([
        expect.objectContaining({ externalId: String(bad), kind: "contract_changed" }),
      ]);
      expect(run.failures[0]!.reason).toMatch(/date_status_changed/);
    } finally {
      o.date_status_changed = was;
    }
    const { run } = await sync();
    expect(run.state).toBe("completed");
    expect(await findOrderId(ctx.db, accountId, `BL-${bad}`)).not.toBeNull();
  });

  it("cancels a run in the middle", async () => {
    const ids = Array.from({ length: 6 }, () => sim.control.createOrder());
    sim.control.fault("slow", 12, { delayMs: 150, path: "/orders/" });
    const { runId } = await requestSync(ctx, queue, { accountId, connectionId, trigger: "manual" });
    const running = queue.runUntilIdle();
    const itemsCalls = () =>
      Object.entries(sim.control.callsByPath())
        .filter(([k]) => k.endsWith("/items"))
        .reduce((n, [, v]) => n + v, 0);
    const start = itemsCalls();
    while (itemsCalls() === start) await new Promise((r) => setTimeout(r, 10));
    const { cancelSync } = await import("../../sync/engine.ts");
    await cancelSync(ctx, accountId, runId);
    await running;
    sim.control.clearFaults();
    const run = (await ctx.db.query.syncRuns.findFirst({ where: (r, { eq }) => eq(r.id, runId) }))!;
    expect(run.state).toBe("cancelled");
    expect(run.created).toBeLessThan(ids.length);
    // The next run picks up the rest.
    const { run: next } = await sync();
    expect(run.created + next.created).toBe(ids.length);
  });

  it("when the daily budget runs out the run waits, says until when, and resumes without duplicates", async () => {
    const { connections } = await import("../../db/schema.ts");
    const { eq } = await import("drizzle-orm");
    const { usageSince } = await import("../../db/repos/api-usage.ts");
    const { dayStart } = await import("../../sync/budget.ts");
    for (let i = 0; i < 5; i++) sim.control.createOrder();
    const used = await usageSince(ctx.db, connectionId, dayStart(new Date()));
    await ctx.db
      .update(connections)
      .set({ dailyBudget: used + 1 + 2 * 2 })
      .where(eq(connections.id, connectionId));
    const { runId } = await requestSync(ctx, queue, { accountId, connectionId, trigger: "manual" });
    await queue.runUntilIdle();
    const waiting = (await ctx.db.query.syncRuns.findFirst({ where: (r, { eq }) => eq(r.id, runId) }))!;
    expect(waiting.state).toBe("running");
    expect(waiting.created).toBe(2);
    // Until the budget's day ends (UTC midnight).
    expect(
      Math.abs(waiting.waitingUntil!.getTime() - (dayStart(new Date()).getTime() + 86_400_000)),
    ).toBeLessThan(5_000);
    // A new day (here: a bigger budget) lets it finish.
    await ctx.db.update(connections).set({ dailyBudget: null }).where(eq(connections.id, connectionId));
    const done = await runSync(ctx, runId, { queue });
    expect(done).toMatchObject({ state: "completed", created: 5, waitingUntil: null });
    expect((await listOrders(ctx.db, accountId, { q: "BL-2" })).total).toBe(
      (await listOrders(ctx.db, accountId, {})).total,
    );
  });

  it("a process killed in the middle of a sync resumes without duplicates", async () => {
    for (let i = 0; i < 8; i++) sim.control.createOrder();
    const before = (await listOrders(ctx.db, accountId, {})).total;
    const { runId } = await requestSync(ctx, queue, { accountId, connectionId, trigger: "manual" });
    const abort = new AbortController();
    sim.control.fault("slow", 100, { delayMs: 30, path: "/items" });
    setTimeout(() => abort.abort(new Error("killed")), 200);
    await expect(runSync(ctx, runId, { signal: abort.signal })).rejects.toThrow();
    sim.control.clearFaults();
    const after = await runSync(ctx, runId, { queue });
    expect(after.state).toBe("completed");
    const list = await listOrders(ctx.db, accountId, { pageSize: 500 });
    expect(list.total).toBe(before + 8);
    expect(new Set(list.rows.map((r) => r.externalId)).size).toBe(list.rows.length);
  });
});
