import { and, eq, isNull } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock, type TestContext, testContext } from "../../../test/helpers/db.ts";
import { isOpenStatus } from "../../core/status.ts";
import { createAccount } from "../../db/repos/accounts.ts";
import { insertConnection } from "../../db/repos/connections.ts";
import { connections, orderLines, orders } from "../../db/schema.ts";
import { JobQueue } from "../../jobs/queue.ts";
import { requestSync, runSync } from "../../sync/engine.ts";
import { mapBrickOwlStatus } from "./mapping.ts";
import { type BrickOwlSimulator, startBrickOwlSimulator } from "./simulator/server.ts";

const clock = new ManualClock("2026-03-01T12:00:00Z");
let ctx: TestContext;
let queue: JobQueue;
let sim: BrickOwlSimulator;
let accountId: number;
let connectionId: number;

const all = () => [...sim.control.state.orders.values()];
const isOpen = (o: { order: Record<string, unknown> }) =>
  isOpenStatus(mapBrickOwlStatus(String(o.order.status_id)));

beforeAll(async () => {
  ctx = await testContext({ clock });
  queue = await JobQueue.start(ctx, { work: false });
  await queue.work("sync.run", async (d) => {
    await runSync(ctx, Number(d.runId), { queue });
  });
  sim = await startBrickOwlSimulator({ seed: 31, orders: 80 });
  sim.control.state.now = () => clock.now();
  const account = await createAccount(ctx.db, { name: "Big BO shop", slug: "big-bo-shop" });
  accountId = account.id;
  const c = await insertConnection(ctx.db, ctx.box, {
    accountId,
    marketplace: "brickowl",
    name: "BrickOwl",
    baseUrl: sim.baseUrl,
    config: { apiKey: sim.apiKey },
    secrets: { apiKey: sim.apiKey },
  });
  connectionId = c.id;
});
afterAll(async () => {
  await queue.stop();
  await sim.close();
  await ctx.close();
});

describe("first import of a BrickOwl store on a short budget", () => {
  it("open orders first and whole, every order listed at once, the rest later", async () => {
    const open = all().filter(isOpen);
    expect(open.length).toBeGreaterThan(10);
    expect(all().length - open.length).toBeGreaterThan(10);
    await ctx.db
      .update(connections)
      .set({ dailyBudget: 1 + 2 * open.length + 4 })
      .where(eq(connections.id, connectionId));
    const before = sim.control.calls();
    const { runId } = await requestSync(ctx, queue, { accountId, connectionId, trigger: "schedule" });
    await queue.runUntilIdle();
    const run = (await ctx.db.query.syncRuns.findFirst({ where: (r, { eq }) => eq(r.id, runId) }))!;
    expect(run.state).toBe("completed");
    expect(sim.control.calls() - before).toBe(1 + 2 * open.length);
    const rows = await ctx.db
      .select({ id: orders.id, externalId: orders.externalId, details: orders.details })
      .from(orders)
      .where(eq(orders.connectionId, connectionId));
    expect(rows.length).toBe(all().length);
    const byId = new Map(rows.map((r) => [r.externalId, r]));
    for (const o of open) {
      const r = byId.get(String(o.order.order_id))!;
      expect(r.details).toBe("complete");
      const lines = await ctx.db
        .select({ id: orderLines.id })
        .from(orderLines)
        .where(and(eq(orderLines.orderId, r.id), isNull(orderLines.removedAt)));
      expect(lines.length).toBe(o.items.length);
    }
    expect(rows.filter((r) => r.details === "pending").length).toBe(all().length - open.length);

    // With budget again, the next run brings the history.
    await ctx.db.update(connections).set({ dailyBudget: null }).where(eq(connections.id, connectionId));
    await requestSync(ctx, queue, { accountId, connectionId, trigger: "schedule" });
    await queue.runUntilIdle();
    const left = await ctx.db
      .select({ id: orders.id })
      .from(orders)
      .where(and(eq(orders.connectionId, connectionId), eq(orders.details, "pending")));
    expect(left.length).toBe(0);
  });
});
