import { and, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import type { AppContext } from "../context.ts";
import { connections, outbox, syncRuns } from "../db/schema.ts";
import type { JobQueue } from "../jobs/queue.ts";

interface JobState {
  state: string;
  output: unknown;
  stale: boolean;
}

/** The newest job of a sync run, and whether it has been "active" for over a minute. */
async function lastJob(ctx: AppContext, runId: number): Promise<JobState | null> {
  const res = await ctx.db.execute<Record<string, unknown>>(sql`
    select state, output, (started_on < now() - interval '60 seconds') as stale
    from pgboss.job
    where name = 'sync.run' and data->>'runId' = ${String(runId)}
    order by created_on desc
    limit 1`);
  const rows = (res as unknown as { rows?: JobState[] }).rows ?? (res as unknown as JobState[]);
  return rows[0] ?? null;
}

function failureText(output: unknown): string {
  const o = output as { message?: unknown } | null;
  return typeof o?.message === "string" ? o.message : "the run stopped with an error";
}

/**
 * Sync runs whose process died: a run "running" whose lease ran out, or "queued" with no job left
 * to run it, gets a new job (it resumes where it stopped); a run whose job failed for good is
 * marked failed with the job's error, so the connection can sync again. Any worker may call this.
 */
export async function recoverSyncRuns(ctx: AppContext, queue: JobQueue): Promise<number[]> {
  const now = ctx.clock.now();
  const candidates = await ctx.db
    .select({ id: syncRuns.id, state: syncRuns.state, connectionId: syncRuns.connectionId })
    .from(syncRuns)
    .where(
      and(
        inArray(syncRuns.state, ["queued", "running"]),
        or(isNull(syncRuns.leaseUntil), lt(syncRuns.leaseUntil, now)),
      ),
    )
    .limit(100);
  const requeued: number[] = [];
  for (const run of candidates) {
    const job = await lastJob(ctx, run.id);
    if (job && (job.state === "created" || job.state === "retry")) continue; // it will run
    if (job?.state === "active" && !job.stale) continue; // just picked up: the lease comes next
    if (job?.state === "failed") {
      const error = `sync stopped: ${failureText(job.output)}`;
      await ctx.db
        .update(syncRuns)
        .set({ state: "failed", error, finishedAt: now, leaseUntil: null })
        .where(and(eq(syncRuns.id, run.id), inArray(syncRuns.state, ["queued", "running"])));
      await ctx.db
        .update(connections)
        .set({ lastSyncState: "failed", lastError: error })
        .where(eq(connections.id, run.connectionId));
      ctx.logger.warn({ runId: run.id, error }, "sync run's job failed for good; the run is marked failed");
      continue;
    }
    await queue.send("sync.run", { runId: run.id });
    requeued.push(run.id);
    ctx.logger.warn(
      { runId: run.id, state: run.state },
      "sync run lost its process; it resumes in a new job",
    );
  }
  return requeued;
}

/**
 * PGlite has one owner process, so whatever the previous process held when it died is free now:
 * sync run leases are dropped and pushes it was sending are due at once (their handlers read back
 * before repeating a write that may have landed).
 */
export async function releaseAfterRestart(ctx: AppContext): Promise<void> {
  if (ctx.database.kind !== "pglite") return;
  const now = ctx.clock.now();
  await ctx.db
    .update(syncRuns)
    .set({ leaseUntil: null })
    .where(inArray(syncRuns.state, ["queued", "running"]));
  await ctx.db.update(outbox).set({ nextAttemptAt: now }).where(eq(outbox.status, "sending"));
}
