import type { AppContext } from "./context.ts";
import { maintainDatabase } from "./db/maintenance.ts";
import type { JobQueue } from "./jobs/queue.ts";
import { runSync } from "./sync/engine.ts";
import { startScheduler } from "./sync/scheduler.ts";

/** Registers the job handlers and starts the scheduler loop in this process. */
export async function startWorker(
  ctx: AppContext,
  queue: JobQueue,
  opts: { schedulerIntervalMs?: number; scheduler?: boolean } = {},
): Promise<{ stop(): Promise<void> }> {
  await queue.work("sync.run", async (data, job) => {
    const runId = Number(data.runId);
    if (!Number.isInteger(runId)) throw new Error("sync.run job without a runId");
    const run = await runSync(ctx, runId, { queue, signal: job.signal });
    // PGlite has no autovacuum: refresh planner statistics after a sync that changed many orders.
    if (ctx.database.kind === "pglite" && run.created + run.updated >= 500)
      await maintainDatabase(ctx.database);
  });
  if (ctx.database.kind === "pglite") {
    await ctx.database.sql.executeSql("analyze").catch((err) => ctx.logger.warn({ err }, "analyze failed"));
  }
  const scheduler =
    opts.scheduler === false
      ? null
      : startScheduler(ctx, queue, { intervalMs: opts.schedulerIntervalMs ?? 15_000 });
  return {
    async stop() {
      await scheduler?.stop();
    },
  };
}
