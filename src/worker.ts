import { withStatusRules } from "./automation/run.ts";
import type { AppContext } from "./context.ts";
import { maintainDatabase } from "./db/maintenance.ts";
import { FULFILMENT_KIND, fulfilmentPushHandler } from "./fulfillment/shipments.ts";
import { failInterruptedImports, IMPORT_JOB, runImportJob } from "./inventory/import-job.ts";
import { STOCK_KIND } from "./inventory/ledger.ts";
import { stockPushHandler } from "./inventory/push.ts";
import type { JobQueue } from "./jobs/queue.ts";
import { runSync } from "./sync/engine.ts";
import { dispatchOutbox, registerOutboxHandler, scheduleNext } from "./sync/outbox.ts";
import { releaseAfterRestart } from "./sync/recovery.ts";
import { startScheduler } from "./sync/scheduler.ts";

/** Every kind of outbox push, registered with the dispatcher. */
export function registerPushHandlers(ctx: AppContext): void {
  // A status our push changed runs the status rules (not one a rule itself asked for).
  registerOutboxHandler(FULFILMENT_KIND, withStatusRules(fulfilmentPushHandler));
  registerOutboxHandler(STOCK_KIND, stockPushHandler(ctx.db));
}

/** Registers the job handlers and starts the scheduler loop in this process. */
export async function startWorker(
  ctx: AppContext,
  queue: JobQueue,
  opts: { schedulerIntervalMs?: number; scheduler?: boolean } = {},
): Promise<{ stop(): Promise<void> }> {
  await releaseAfterRestart(ctx);
  await queue.work("sync.run", async (data, job) => {
    const runId = Number(data.runId);
    if (!Number.isInteger(runId)) throw new Error("sync.run job without a runId");
    const run = await runSync(ctx, runId, { queue, signal: job.signal });
    // PGlite has no autovacuum: refresh planner statistics after a sync that changed many orders.
    if (ctx.database.kind === "pglite" && run.created + run.updated >= 500)
      await maintainDatabase(ctx.database);
  });
  await queue.work(
    IMPORT_JOB,
    async (data, job) => {
      await runImportJob(ctx, Number(data.jobId), { signal: job.signal });
    },
    { concurrency: 1 },
  );
  await failInterruptedImports(ctx).catch((err) => ctx.logger.warn({ err }, "import clean-up failed"));
  registerPushHandlers(ctx);
  await queue.work("outbox.dispatch", async (_data, job) => {
    await dispatchOutbox(ctx, { queue, signal: job.signal });
  });
  if (ctx.database.kind === "pglite") {
    await ctx.database.sql.executeSql("analyze").catch((err) => ctx.logger.warn({ err }, "analyze failed"));
  }
  const scheduler =
    opts.scheduler === false
      ? null
      : startScheduler(ctx, queue, { intervalMs: opts.schedulerIntervalMs ?? 15_000 });
  // A safety net under the queued dispatches: pushes left due (after a crash, say) are picked up.
  const sweep =
    opts.scheduler === false
      ? null
      : setInterval(() => {
          void scheduleNext(ctx, queue).catch((err) => ctx.logger.warn({ err }, "outbox sweep failed"));
        }, 30_000);
  sweep?.unref();
  // Pushes left due by a process that stopped (or died) go out now.
  await scheduleNext(ctx, queue).catch((err) => ctx.logger.warn({ err }, "outbox check failed"));
  return {
    async stop() {
      if (sweep) clearInterval(sweep);
      await scheduler?.stop();
    },
  };
}
