import type { AppContext } from "./context.ts";
import type { JobQueue } from "./jobs/queue.ts";
import { runSync } from "./sync/engine.ts";
import { startScheduler } from "./sync/scheduler.ts";

/** Registers the job handlers and starts the scheduler loop in this process. */
export async function startWorker(
  ctx: AppContext,
  queue: JobQueue,
  opts: { schedulerIntervalMs?: number; scheduler?: boolean } = {},
): Promise<{ stop(): Promise<void> }> {
  await queue.work("sync.run", async (data) => {
    const runId = Number(data.runId);
    if (!Number.isInteger(runId)) throw new Error("sync.run job without a runId");
    await runSync(ctx, runId, { queue });
  });
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
