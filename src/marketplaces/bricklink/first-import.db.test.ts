import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testContext } from "../../../test/helpers/db.ts";
import { isOpenStatus } from "../../core/status.ts";
import { createAccount } from "../../db/repos/accounts.ts";
import { getConnection, insertConnection } from "../../db/repos/connections.ts";
import { connections, orderLines, orders } from "../../db/schema.ts";
import { JobQueue } from "../../jobs/queue.ts";
import { requestSync, runSync } from "../../sync/engine.ts";
import { detailsBacklog, ordersWithoutDetails, withoutDetailsMessage } from "../../sync/summaries.ts";
import { bricklinkAdapter } from "./adapter.ts";
import { decodeEntities, mapBrickLinkStatus } from "./mapping.ts";
import { type BrickLinkSimulator, startBrickLinkSimulator } from "./simulator/server.ts";

let ctx: TestContext;
let queue: JobQueue;
let sim: BrickLinkSimulator;
let accountId: number;
let connectionId: number;

const sales = () =>
  [...sim.control.state.orders.values()].filter((o) => o.direction === "in" && !o.order.is_filed);
const openOnes = () => sales().filter((o) => isOpenStatus(mapBrickLinkStatus(o.order.status)));

beforeAll(async () => {
  ctx = await testContext();
  queue = await JobQueue.start(ctx, { work: false });
  await queue.work("sync.run", async (d) => {
    await runSync(ctx, Number(d.runId), { queue });
  });
  sim = await startBrickLinkSimulator({ seed: 23, orders: 120 });
  const account = await createAccount(ctx.db, { name: "Big BL shop", slug: "big-bl-shop" });
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

async function sync(mode: "incremental" | "full" = "incremental") {
  const before = sim.control.calls();
  const { runId } = await requestSync(ctx, queue, { accountId, connectionId, trigger: "schedule", mode });
  await queue.runUntilIdle();
  const run = (await ctx.db.query.syncRuns.findFirst({ where: (r, { eq }) => eq(r.id, runId) }))!;
  return { run, calls: sim.control.calls() - before };
}

async function stored() {
  const rows = await ctx.db
    .select({
      id: orders.id,
      externalId: orders.externalId,
      number: orders.number,
      details: orders.details,
      status: orders.status,
      rawStatus: orders.rawStatus,
      buyerName: orders.buyerName,
      grandTotal: orders.grandTotal,
      itemCount: orders.itemCount,
    })
    .from(orders)
    .where(eq(orders.connectionId, connectionId));
  return new Map(rows.map((r) => [r.externalId, r]));
}

async function liveLines(orderId: number) {
  return ctx.db
    .select({ id: orderLines.id })
    .from(orderLines)
    .where(and(eq(orderLines.orderId, orderId), eq(orderLines.accountId, accountId)));
}

describe("first import of a big BrickLink store on a short budget", () => {
  it("a budget of 1 + 2 × (open orders) + 4 gets every open order whole and lists every order", async () => {
    const open = openOnes();
    expect(open.length).toBeGreaterThan(20);
    expect(sales().length - open.length).toBeGreaterThan(20);
    await ctx.db
      .update(connections)
      .set({ dailyBudget: 1 + 2 * open.length + 4 })
      .where(eq(connections.id, connectionId));

    const { run, calls } = await sync();
    expect(run.state).toBe("completed");
    // The list call and the details of the open orders: nothing went to history before them.
    expect(calls).toBe(1 + 2 * open.length);

    const rows = await stored();
    // Every order the list returned is in the table after the one list call.
    expect(rows.size).toBe(sales().length);
    for (const o of open) {
      const r = rows.get(String(o.order.order_id))!;
      expect(r.details, `BL-${o.order.order_id} ${o.order.status}`).toBe("complete");
      const items = o.batches.flat().length;
      expect((await liveLines(r.id)).length).toBe(items);
    }
    // A summary row looks right in the table: number, buyer, status, total and counts from the list.
    const waiting = [...rows.values()].filter((r) => r.details === "pending");
    expect(waiting.length).toBeGreaterThan(0);
    for (const r of waiting) {
      const o = sim.control.state.orders.get(Number(r.externalId))!;
      expect(r.number).toBe(`BL-${r.externalId}`);
      expect(r.rawStatus).toBe(o.order.status);
      expect(r.buyerName).toBe(decodeEntities(o.order.buyer_name));
      expect(r.grandTotal).toBe(Math.round(Number(o.order.cost.grand_total) * 10_000));
      expect(r.itemCount).toBe(o.order.total_count);
      expect((await liveLines(r.id)).length).toBe(0);
    }
    // Purged orders have no items at BrickLink: never fetched, marked as such.
    const purged = [...rows.values()].filter((r) => r.rawStatus === "PURGED");
    expect(purged.length).toBeGreaterThan(0);
    for (const r of purged) expect(r.details).toBe("unavailable");

    // Progress counts what was done, not what was listed.
    expect(run.seen).toBe(open.length + purged.length);
    expect(run.total).toBe(sales().length);

    // Documents refuse summary rows instead of printing an empty order.
    const refused = await ordersWithoutDetails(ctx.db, accountId, [waiting[0]!.id, purged[0]!.id]);
    expect(withoutDetailsMessage(refused)).toBe(
      `details not fetched yet for ${waiting[0]!.number}: they come with the next syncs (or refresh the order); the marketplace no longer gives the details of ${purged[0]!.number}`,
    );
    expect(
      await ordersWithoutDetails(ctx.db, accountId, [rows.get(String(open[0]!.order.order_id))!.id]),
    ).toEqual([]);

    const conn = (await getConnection(ctx.db, accountId, connectionId))!;
    const backlog = await detailsBacklog(ctx, conn, bricklinkAdapter);
    expect(backlog.pending).toBe(waiting.length);
    // The schedule's list calls (every 15 minutes) come first: this budget leaves nothing for history.
    expect(backlog.callsPerDay).toBe(Math.max(0, Math.floor((1 + 2 * open.length + 4) * 0.8) - 96));
    expect(backlog.estimatedDoneAt).toBeNull();
    expect(backlog.callsNeeded).toBe(2 * waiting.length);
  });

  it("later runs fetch the history within what the budget leaves, newest first, never a purged order", async () => {
    await ctx.db.update(connections).set({ dailyBudget: 5_000 }).where(eq(connections.id, connectionId));
    const before = sim.control.callsByPath();
    const { run } = await sync();
    expect(run.state).toBe("completed");
    const rows = await stored();
    for (const r of rows.values()) {
      expect(r.details).toBe(r.rawStatus === "PURGED" ? "unavailable" : "complete");
      if (r.rawStatus === "PURGED") continue;
      const o = sim.control.state.orders.get(Number(r.externalId))!;
      expect((await liveLines(r.id)).length).toBe(o.batches.flat().length);
    }
    const after = sim.control.callsByPath();
    for (const r of rows.values()) {
      if (r.rawStatus !== "PURGED") continue;
      const path = Object.keys(after).find((p) => p.includes(`/orders/${r.externalId}`));
      expect(path === undefined || after[path] === before[path]).toBe(true);
    }
    const conn = (await getConnection(ctx.db, accountId, connectionId))!;
    expect((await detailsBacklog(ctx, conn, bricklinkAdapter)).pending).toBe(0);
    // Nothing changed: the next run is one call.
    expect((await sync()).calls).toBe(1);
  });
});
