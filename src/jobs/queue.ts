import PgBoss from "pg-boss";
import type { AppContext } from "../context.ts";
import type { Tx } from "../db/connection.ts";

/** Every kind of background job, a closed set. */
export const JOB_NAMES = ["sync.run", "outbox.dispatch", "inventory.import"] as const;
export type JobName = (typeof JOB_NAMES)[number];

/** `signal` aborts when the queue stops and a job outlives the grace period: stop at a safe point. */
export type JobHandler = (
  data: Record<string, unknown>,
  job: { id: string; name: JobName; signal: AbortSignal },
) => Promise<void>;

export interface SendOptions {
  /** Send inside this app transaction: the job exists only if the transaction commits. */
  tx?: Tx;
  startAfter?: Date;
  retryLimit?: number;
}

const SCHEMA = "pgboss";

/**
 * pg-boss on either database: on PostgreSQL it has its own pool and claims jobs with
 * FOR UPDATE SKIP LOCKED, so several workers never run one job twice; on PGlite it shares the
 * embedded database through an executor.
 */
export class JobQueue {
  private readonly handlers = new Map<JobName, JobHandler>();
  private readonly stopping = new AbortController();
  private readonly workerIds = new Map<JobName, string[]>();
  private working = false;
  private readonly running = new Set<Promise<unknown>>();

  private constructor(
    private readonly ctx: AppContext,
    readonly boss: PgBoss,
  ) {}

  static async start(
    ctx: AppContext,
    opts: { work?: boolean; pollingIntervalSeconds?: number } = {},
  ): Promise<JobQueue> {
    const common = {
      schema: SCHEMA,
      retryLimit: 5,
      retryDelay: 5,
      retryBackoff: true,
      expireInMinutes: 30,
      // Timers only where jobs are worked; the CLI's short-lived queue only sends.
      supervise: Boolean(opts.work),
      schedule: false,
      migrate: true,
    };
    const boss =
      ctx.database.kind === "postgres"
        ? new PgBoss({ ...common, connectionString: ctx.database.url!, max: 4 })
        : new PgBoss({ ...common, db: ctx.database.sql });
    boss.on("error", (err) => ctx.logger.warn({ err }, "job queue error"));
    await boss.start();
    for (const name of JOB_NAMES) await boss.createQueue(name);
    if (ctx.database.kind === "pglite") {
      // PGlite has one owner process, so a job still "active" was left by a process that died: run it again now.
      await ctx.database.sql.executeSql(
        `update ${SCHEMA}.job set state = 'retry', start_after = now() where state = 'active'`,
        [],
      );
    }
    const q = new JobQueue(ctx, boss);
    q.working = Boolean(opts.work);
    q.pollingIntervalSeconds = opts.pollingIntervalSeconds ?? 1;
    return q;
  }

  private pollingIntervalSeconds = 1;

  /** Whether this process polls for jobs (a server's worker) or only sends them (the CLI). */
  get worksJobs(): boolean {
    return this.working;
  }

  async send(name: JobName, data: object, opts: SendOptions = {}): Promise<string | null> {
    return this.boss.send(name, data, {
      ...(opts.tx ? { db: this.ctx.database.executorFor(opts.tx) } : {}),
      ...(opts.startAfter ? { startAfter: opts.startAfter } : {}),
      ...(opts.retryLimit !== undefined ? { retryLimit: opts.retryLimit } : {}),
    });
  }

  /**
   * Queues a job to start at `startAfter` (now when absent) unless one of that name already waits to
   * start by then. For "look again" requests made over and over (after every dispatch, by the sweep,
   * by every shipment a seller marks): they leave one waiting job, not one per request. A job already
   * running does not count, so a request made after its data is committed is never lost: a job that
   * has not started yet will see that data.
   */
  async sendUnlessWaiting(name: JobName, startAfter?: Date): Promise<string | null> {
    const { rows } = await this.ctx.database.sql.executeSql(
      `select 1 from ${SCHEMA}.job where name = $1 and state in ('created', 'retry') and start_after <= coalesce($2, now()) limit 1`,
      [name, startAfter ?? null],
    );
    if (rows.length > 0) return null;
    return this.send(name, {}, startAfter ? { startAfter } : {});
  }

  /** Registers the handler; workers poll for it only when this queue was started with `work`. */
  async work(name: JobName, handler: JobHandler, opts: { concurrency?: number } = {}): Promise<void> {
    this.handlers.set(name, handler);
    if (!this.working) return;
    const concurrency = Math.max(1, opts.concurrency ?? this.ctx.settings.workerConcurrency);
    for (let i = 0; i < concurrency; i++) {
      const id = await this.boss.work<Record<string, unknown>>(
        name,
        { batchSize: 1, pollingIntervalSeconds: this.pollingIntervalSeconds },
        async (jobs) => {
          for (const job of jobs)
            await this.track(handler(job.data ?? {}, { id: job.id, name, signal: this.stopping.signal }));
        },
      );
      this.workerIds.set(name, [...(this.workerIds.get(name) ?? []), id]);
    }
  }

  /** A job was just committed: wake this process's idle workers now instead of at their next poll. */
  nudge(name: JobName): void {
    const ids = this.workerIds.get(name) ?? [];
    if (ids[0]) this.boss.notifyWorker(ids[0]);
  }

  private async track<T>(p: Promise<T>): Promise<T> {
    this.running.add(p);
    try {
      return await p;
    } finally {
      this.running.delete(p);
    }
  }

  /**
   * Runs due jobs in the foreground until none is due (for `orderhub jobs run --until-idle`
   * and for `sync --wait` without a server). Jobs waiting for a retry time are not due.
   */
  async runUntilIdle(
    opts: { maxJobs?: number; signal?: AbortSignal } = {},
  ): Promise<{ ran: number; failed: number }> {
    let ran = 0;
    let failed = 0;
    for (;;) {
      if (opts.signal?.aborted || (opts.maxJobs !== undefined && ran >= opts.maxJobs)) break;
      let found = false;
      for (const name of JOB_NAMES) {
        const handler = this.handlers.get(name);
        if (!handler) continue;
        const [job] = await this.boss.fetch<Record<string, unknown>>(name, { batchSize: 1 });
        if (!job) continue;
        found = true;
        ran++;
        try {
          await this.track(handler(job.data ?? {}, { id: job.id, name, signal: this.stopping.signal }));
          await this.boss.complete(name, job.id);
        } catch (err) {
          failed++;
          this.ctx.logger.warn({ err, job: name }, "job failed; it will be retried");
          await this.boss.fail(name, job.id, { message: err instanceof Error ? err.message : String(err) });
        }
      }
      if (!found) break;
    }
    return { ran, failed };
  }

  /** Graceful: stop fetching, let running jobs finish (up to the timeout); the rest go back to the queue. */
  async stop(opts: { graceful?: boolean; timeoutMs?: number } = {}): Promise<void> {
    const timeout = opts.timeoutMs ?? 20_000;
    const settled = (ms: number) =>
      Promise.race([Promise.allSettled([...this.running]), new Promise((r) => setTimeout(r, ms).unref())]);
    if (opts.graceful !== false && this.running.size) await settled(timeout);
    if (this.running.size) {
      // Past the grace period: ask running jobs to stop at a safe point (a sync run resumes later),
      // and wait for them, so none touches the database after it closes.
      this.stopping.abort(new Error("the job queue is stopping"));
      await settled(10_000);
    }
    await this.boss.stop({
      graceful: opts.graceful !== false,
      timeout,
      close: this.ctx.database.kind === "postgres",
    });
    if (this.ctx.database.kind === "pglite") {
      // Anything still active belongs to no one now; the next start runs it again.
      await this.ctx.database.sql
        .executeSql(
          `update ${SCHEMA}.job set state = 'retry', start_after = now() where state = 'active'`,
          [],
        )
        .catch(() => {});
    }
  }
}
