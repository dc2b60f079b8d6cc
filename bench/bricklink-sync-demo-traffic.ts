/**
 * What the demo spends of BrickLink's daily budget: the demo store's first import, then its steps
 * (each a new order and orders moving on, announced by BrickLink's callback ping) and the scheduled
 * syncs, counted as calls on the simulator and scaled to a day of running at the demo's pace.
 *
 *   npm run bench -- bench/bricklink-sync-demo-traffic.ts [--ticks 30] [--tick-minutes 10] [--schedule-minutes 15]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { createContext } from "../src/context.ts";
import { usageSince } from "../src/db/repos/api-usage.ts";
import { connections } from "../src/db/schema.ts";
import { startDemo } from "../src/demo.ts";
import { JobQueue } from "../src/jobs/queue.ts";
import { requestSync, runSync } from "../src/sync/engine.ts";
import { testSettings } from "../test/helpers/db.ts";
import { below, options, writeSummary } from "./lib/report.ts";

const opts = options({
  ticks: ["30", "10"],
  "tick-minutes": ["10", "10"],
  "schedule-minutes": ["15", "15"],
});
const TICKS = Number(opts.ticks);
const TICK_MIN = Number(opts["tick-minutes"]);
const SCHEDULE_MIN = Number(opts["schedule-minutes"]);
const BUDGET = 5_000;

const dataDir = mkdtempSync(join(tmpdir(), "orderhub-demotraffic-"));
const ctx = await createContext({ ...testSettings({ logLevel: "error" }), dataDir });
const queue = await JobQueue.start(ctx, { work: false });
await queue.work("sync.run", async (d) => {
  await runSync(ctx, Number(d.runId), { queue });
});
const api = { ctx, queue };
// Nothing listens at this address: the pings go nowhere; the webhook syncs below stand for them.
const demo = await startDemo(api.ctx, api.queue, "http://127.0.0.1:9", { tickMs: 3_600_000 });
if (!demo) throw new Error("the demo did not start");
try {
  const blId = demo.connections.bricklink!;
  const [conn] = await api.ctx.db.select().from(connections).where(eq(connections.id, blId));
  const accountId = conn!.accountId;
  /** Calls the demo's BrickLink connection has spent, as its budget counts them. */
  const calls = () => usageSince(api.ctx.db, blId, new Date(0));
  await api.queue.runUntilIdle();
  const firstImport = await calls();

  const sync = async (trigger: "webhook" | "schedule") => {
    await requestSync(api.ctx, api.queue, { accountId, connectionId: blId, trigger });
    await api.queue.runUntilIdle();
  };
  let tickCalls = 0;
  for (let i = 0; i < TICKS; i++) {
    const before = await calls();
    await demo.simulators.bricklink!.tick();
    await sync("webhook");
    tickCalls += (await calls()) - before;
  }
  const beforeSchedule = await calls();
  await sync("schedule");
  const scheduleCalls = (await calls()) - beforeSchedule;

  const perTick = tickCalls / TICKS;
  const perDay = Math.round(perTick * ((24 * 60) / TICK_MIN) + scheduleCalls * ((24 * 60) / SCHEDULE_MIN));
  const share = Math.round((perDay / BUDGET) * 100);
  console.log(`\n== demo traffic on BrickLink (budget ${BUDGET}/day)`);
  console.log(`first import: ${firstImport} calls (once)`);
  console.log(
    `per demo step: ${perTick.toFixed(1)} calls; per scheduled sync with nothing new: ${scheduleCalls} call(s)`,
  );
  console.log(
    `a day at one step every ${TICK_MIN} min and a sync every ${SCHEDULE_MIN} min: ${perDay} calls (${share} % of ${BUDGET})`,
  );
  writeSummary(
    "bricklink-sync-demo-traffic",
    {
      firstImport,
      perTick,
      scheduleCalls,
      perDay,
      share,
      tickMinutes: TICK_MIN,
      scheduleMinutes: SCHEDULE_MIN,
    },
    {
      bench: "bricklink-sync-demo-traffic",
      db: "pglite",
      sizes: `${TICKS} demo steps, one every ${TICK_MIN} min, sync every ${SCHEDULE_MIN} min`,
    },
    [
      { name: "first import", value: firstImport, unit: "calls" },
      { name: "per demo step", value: Number(perTick.toFixed(1)), unit: "calls" },
      {
        name: "a day of demo",
        value: perDay,
        unit: "calls",
        detail: `${share} % of ${BUDGET}`,
        goal: below(BUDGET / 4, "well inside the daily budget"),
      },
    ],
  );
} finally {
  await demo.stop();
  await queue.stop();
  await ctx.close();
  rmSync(dataDir, { recursive: true, force: true });
}
