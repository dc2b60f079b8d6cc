import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock, type TestContext, testContext } from "../../test/helpers/db.ts";
import { createAccount } from "../db/repos/accounts.ts";
import { insertConnection } from "../db/repos/connections.ts";
import { findOrderId, getOrderDetail, listOrders } from "../db/repos/orders.ts";
import { orderEvents } from "../db/schema.ts";
import { JobQueue } from "../jobs/queue.ts";
import { fakeStore } from "../marketplaces/testing/fake.ts";
import { cancelSync, requestSync, retryFailed, runSync } from "./engine.ts";

let ctx: TestContext;
let queue: JobQueue;
const clock = new ManualClock("2026-03-01T10:00:00Z");
let n = 0;

beforeAll(async () => {
  ctx = await testContext({ clock });
  queue = await JobQueue.start(ctx, { work: false });
  await queue.work("sync.run", async (d) => {
    await runSync(ctx, Number(d.runId), { queue });
  });
});
afterAll(async () => {
  await queue.stop();
  await ctx.close();
});

async function setup(orders: number, extra: Record<string, string> = {}) {
  const name = `engine-${++n}-${Date.now()}`;
  const store = fakeStore(name);
  store.seed(orders);
  const account = await createAccount(ctx.db, { name, slug: name });
  const conn = await insertConnection(ctx.db, ctx.box, {
    accountId: account.id,
    marketplace: "fake",
    name: "Fake",
    baseUrl: "memory://fake",
    config: { store: name, pageSize: "10", ...extra },
    secrets: { apiKey: "good-key" },
  });
  const sync = async (req: Partial<Parameters<typeof requestSync>[2]> = {}) => {
    const { runId } = await requestSync(ctx, queue, {
      accountId: account.id,
      connectionId: conn.id,
      trigger: "manual",
      ...req,
    });
    await queue.runUntilIdle();
    const run = (await ctx.db.query.syncRuns.findFirst({ where: (r, { eq }) => eq(r.id, runId) }))!;
    return run;
  };
  return { store, account, conn, sync };
}

describe("sync engine", () => {
  it("first sync stores every order; an incremental run with nothing changed fetches no detail", async () => {
    const { store, account, sync } = await setup(25);
    const first = await sync();
    expect(first).toMatchObject({ state: "completed", seen: 25, created: 25, updated: 0, failed: 0 });
    expect(store.calls).toMatchObject({ list: 3, order: 25 });
    expect((await listOrders(ctx.db, account.id, {})).total).toBe(25);

    const again = await sync();
    expect(again).toMatchObject({ state: "completed", seen: 25, created: 0, updated: 0, skipped: 25 });
    expect(store.calls).toMatchObject({ list: 6, order: 25 });
    expect(again.apiCalls).toBe(3);
  });

  it("fetches just the k changed orders and records their status changes", async () => {
    const { store, account, sync } = await setup(12);
    await sync();
    const ids = [...store.orders.keys()];
    store.setStatus(ids[0]!, "PAID");
    store.setStatus(ids[5]!, "SENT");
    store.touch(ids[7]!);
    const before = store.calls.order;
    const run = await sync();
    expect(store.calls.order - before).toBe(3);
    expect(run).toMatchObject({ updated: 3, skipped: 9, apiCalls: 2 + 3 });
    const id = await findOrderId(ctx.db, account.id, `FK-${ids[5]}`);
    const detail = await getOrderDetail(ctx.db, account.id, id!);
    expect(detail!.order).toMatchObject({ status: "shipped", rawStatus: "SENT" });
    const events = await ctx.db
      .select()
      .from(orderEvents)
      .where(and(eq(orderEvents.orderId, id!)));
    expect(events.map((e) => [e.kind, e.toStatus, e.source])).toEqual([
      ["created", "pending", "marketplace:fake"],
      ["status_changed", "shipped", "marketplace:fake"],
    ]);
  });

  it("records a failing order, completes with errors, and retry-failed fixes it", async () => {
    const { store, account, sync } = await setup(5);
    const bad = [...store.orders.keys()][2]!;
    store.failNext("not_found", 1, bad);
    const run = await sync();
    expect(run).toMatchObject({ state: "completed_with_errors", created: 4, failed: 1 });
    expect(run.failures).toEqual([{ externalId: bad, kind: "not_found", reason: `injected not_found` }]);
    const retried = await retryFailed(ctx, queue, account.id, run.id);
    await queue.runUntilIdle();
    const r2 = (await ctx.db.query.syncRuns.findFirst({ where: (r, { eq }) => eq(r.id, retried!.runId) }))!;
    expect(r2).toMatchObject({ state: "completed", mode: "targets", created: 1, failed: 0 });
    expect((await listOrders(ctx.db, account.id, {})).total).toBe(5);
  });

  it("waits out a rate limit without failing", async () => {
    const { store, sync } = await setup(3);
    store.failNext("rate_limited", 2);
    const t0 = clock.now().getTime();
    const run = await sync();
    expect(run).toMatchObject({ state: "completed", created: 3 });
    expect(clock.now().getTime() - t0).toBeGreaterThanOrEqual(60_000);
  });

  it("stops on bad credentials with an actionable message", async () => {
    const { conn, sync } = await setup(3);
    await ctx.box; // credentials are checked by the adapter
    const { connections } = await import("../db/schema.ts");
    await ctx.db
      .update(connections)
      .set({ secretsEnc: ctx.box.sealJson({ apiKey: "wrong" }) })
      .where(eq(connections.id, conn.id));
    const run = await sync();
    expect(run.state).toBe("failed");
    expect(run.error).toMatch(/reconnect/);
  });

  it("a second request joins the active run; targets are merged", async () => {
    const { account, conn, store } = await setup(3);
    const a = await requestSync(ctx, queue, {
      accountId: account.id,
      connectionId: conn.id,
      trigger: "manual",
    });
    const b = await requestSync(ctx, queue, {
      accountId: account.id,
      connectionId: conn.id,
      trigger: "webhook",
      targetIds: ["x1"],
    });
    expect(b).toEqual({ runId: a.runId, joined: true });
    store.seed(0);
    await queue.runUntilIdle();
    const run = (await ctx.db.query.syncRuns.findFirst({ where: (r, { eq }) => eq(r.id, a.runId) }))!;
    expect(run.state).toBe("completed_with_errors"); // x1 does not exist on the marketplace
    expect(run.failures.map((f) => f.externalId)).toEqual(["x1"]);
  });

  it("cancels a queued run", async () => {
    const { account, conn } = await setup(3);
    const a = await requestSync(ctx, queue, {
      accountId: account.id,
      connectionId: conn.id,
      trigger: "manual",
    });
    const run = await cancelSync(ctx, account.id, a.runId);
    expect(run!.state).toBe("cancelled");
    await queue.runUntilIdle();
  });

  it("resumes an interrupted run without duplicates", async () => {
    const { store, account, conn } = await setup(30);
    const { runId } = await requestSync(ctx, queue, {
      accountId: account.id,
      connectionId: conn.id,
      trigger: "manual",
      mode: "full",
    });
    // The process dies in the middle of the second page: simulated by aborting the runner.
    const abort = new AbortController();
    store.onFetch = (count) => {
      if (count === 17) abort.abort(new Error("killed"));
    };
    await expect(runSync(ctx, runId, { signal: abort.signal })).rejects.toThrow("killed");
    store.onFetch = null;
    const midway = await listOrders(ctx.db, account.id, {});
    expect(midway.total).toBe(10); // the first page was stored with its cursor; the rest was not
    const fetchedBefore = store.calls.order;
    await runSync(ctx, runId, {});
    expect(store.calls.order - fetchedBefore).toBe(20); // resumed from the stored cursor
    await queue.runUntilIdle();
    const run = (await ctx.db.query.syncRuns.findFirst({ where: (r, { eq }) => eq(r.id, runId) }))!;
    expect(run.state).toMatch(/completed/);
    const listed = await listOrders(ctx.db, account.id, { pageSize: 100 });
    expect(listed.total).toBe(30);
    expect(new Set(listed.rows.map((r) => r.externalId)).size).toBe(30);
  });
});
