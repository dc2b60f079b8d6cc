import { and, eq, inArray, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock, type TestContext, testContext } from "../../test/helpers/db.ts";
import { createAccount } from "../db/repos/accounts.ts";
import { insertConnection } from "../db/repos/connections.ts";
import { connections, syncRuns } from "../db/schema.ts";
import { JobQueue } from "../jobs/queue.ts";
import { primeSchedules, schedulerTick } from "./scheduler.ts";

let ctx: TestContext;
let queue: JobQueue;
const clock = new ManualClock("2026-05-01T00:00:00Z");

beforeAll(async () => {
  ctx = await testContext({ clock });
  queue = await JobQueue.start(ctx, { work: false });
});
afterAll(async () => {
  await queue.stop();
  await ctx.close();
});

/** Runs finish instantly in this test: what matters is when they are requested. */
async function finishRuns() {
  await ctx.db
    .update(syncRuns)
    .set({ state: "completed", finishedAt: clock.now() })
    .where(inArray(syncRuns.state, ["queued", "running"]));
}

describe("scheduler with an injected clock", () => {
  it("runs a day of 15-minute schedules for several connections: 96 runs each, none missed, none twice", async () => {
    const account = await createAccount(ctx.db, { name: "Sched", slug: "sched" });
    const ids: number[] = [];
    for (const [name, schedule, enabled] of [
      ["every 15", { kind: "interval", minutes: 15 }, true],
      ["every 15 too", { kind: "interval", minutes: 15 }, true],
      ["hourly cron", { kind: "cron", expression: "0 * * * *" }, true],
      ["off", { kind: "interval", minutes: 15 }, false],
    ] as const) {
      const c = await insertConnection(ctx.db, ctx.box, {
        accountId: account.id,
        marketplace: "fake",
        name,
        baseUrl: "memory://fake",
        config: { store: "s" },
        secrets: {},
        schedule,
      });
      if (!enabled)
        await ctx.db.update(connections).set({ scheduleEnabled: false }).where(eq(connections.id, c.id));
      ids.push(c.id);
    }
    const started = performance.now();
    await primeSchedules(ctx, clock.now());
    // Jump from one due time to the next, as an idle worker would wake, for 24 hours.
    const end = clock.now().getTime() + 24 * 3_600_000;
    for (;;) {
      const [next] = await ctx.db
        .select({ at: sql<Date>`min(${connections.nextSyncAt})` })
        .from(connections)
        .where(and(eq(connections.scheduleEnabled, true), eq(connections.accountId, account.id)));
      const at = new Date(next!.at).getTime();
      if (at > end) break;
      clock.set(new Date(at));
      await schedulerTick(ctx, queue, clock.now());
      await finishRuns();
    }
    const elapsed = performance.now() - started;
    const runs = await ctx.db.select().from(syncRuns);
    const per = (id: number) => runs.filter((r) => r.connectionId === id);
    expect(per(ids[0]!)).toHaveLength(96);
    expect(per(ids[1]!)).toHaveLength(96);
    expect(per(ids[2]!)).toHaveLength(24);
    expect(per(ids[3]!)).toHaveLength(0);
    expect(runs.every((r) => r.trigger === "schedule")).toBe(true);
    // Reported, not asserted: a simulated day takes a fraction of a second.
    console.info(`simulated day of schedules: ${elapsed.toFixed(0)} ms`);
  });

  it("after downtime, one catch-up run and then the next slot, not a storm", async () => {
    const account = await createAccount(ctx.db, { name: "Gap", slug: "gap" });
    const c = await insertConnection(ctx.db, ctx.box, {
      accountId: account.id,
      marketplace: "fake",
      name: "gap",
      baseUrl: "memory://fake",
      config: { store: "s" },
      secrets: {},
      nextSyncAt: clock.now(),
    });
    clock.advance(5 * 3_600_000); // five hours down
    expect(await schedulerTick(ctx, queue, clock.now())).toBeGreaterThanOrEqual(1);
    await finishRuns();
    expect(await schedulerTick(ctx, queue, clock.now())).toBe(0);
    const [row] = await ctx.db.select().from(connections).where(eq(connections.id, c.id));
    expect(row!.nextSyncAt!.getTime() - clock.now().getTime()).toBeLessThanOrEqual(15 * 60_000);
  });
});
