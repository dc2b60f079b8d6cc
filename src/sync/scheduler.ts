import { Cron } from "croner";
import { and, eq, isNull, lte, sql } from "drizzle-orm";
import { z } from "zod";
import type { AppContext } from "../context.ts";
import { connections } from "../db/schema.ts";
import type { JobQueue } from "../jobs/queue.ts";
import { requestSyncInTx } from "./engine.ts";
import { recoverSyncRuns } from "./recovery.ts";

export const scheduleSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("interval"),
    minutes: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 60),
  }),
  z.object({ kind: z.literal("cron"), expression: z.string().min(1).max(200) }),
]);
export type Schedule = z.infer<typeof scheduleSchema>;

export class ScheduleError extends Error {}

/** Parses and checks a schedule; a bad cron expression gets a clear message. */
export function validateSchedule(input: unknown): Schedule {
  const parsed = scheduleSchema.safeParse(input);
  if (!parsed.success) {
    throw new ScheduleError(
      `invalid schedule: ${parsed.error.issues.map((i) => `${i.path.join(".") || "schedule"}: ${i.message}`).join("; ")}`,
    );
  }
  if (parsed.data.kind === "cron") {
    let cron: Cron;
    try {
      cron = new Cron(parsed.data.expression, { timezone: "UTC", paused: true });
    } catch (err) {
      throw new ScheduleError(
        `invalid cron expression "${parsed.data.expression}": ${(err as Error).message}`,
      );
    }
    // `0 0 30 2 *` parses but names a day that never comes: refused here, not when it is first due.
    if (!cron.nextRun())
      throw new ScheduleError(
        `cron expression "${parsed.data.expression}" never fires (no such date, such as 30 February)`,
      );
  }
  return parsed.data;
}

/** The first run strictly after `after`. Intervals are aligned to the clock (every 15 min: :00, :15, …). */
export function nextRunAt(schedule: Schedule, after: Date): Date {
  if (schedule.kind === "interval") {
    const step = schedule.minutes * 60_000;
    return new Date((Math.floor(after.getTime() / step) + 1) * step);
  }
  const next = new Cron(schedule.expression, { timezone: "UTC", paused: true }).nextRun(after);
  if (!next) throw new ScheduleError(`cron expression "${schedule.expression}" never runs again`);
  return next;
}

/**
 * Claims connections whose scheduled time has come (SKIP LOCKED, so several workers may tick),
 * requests one sync for each and moves the next time forward from `now`: after downtime there is
 * one catch-up run, not a storm.
 */
export async function schedulerTick(ctx: AppContext, queue: JobQueue, now: Date): Promise<number> {
  return ctx.db.transaction(async (tx) => {
    const due = await tx
      .select()
      .from(connections)
      .where(
        and(
          eq(connections.scheduleEnabled, true),
          isNull(connections.disabledAt),
          lte(connections.nextSyncAt, now),
        ),
      )
      .for("update", { skipLocked: true })
      .limit(100);
    for (const c of due) {
      await requestSyncInTx(tx, queue, {
        accountId: c.accountId,
        connectionId: c.id,
        trigger: "schedule",
        mode: "incremental",
      });
      await tx
        .update(connections)
        .set(nextTimeOrOff(ctx, c.id, c.schedule, now))
        .where(eq(connections.id, c.id));
    }
    return due.length;
  });
}

/** The next time, or the schedule switched off: one stored schedule that never fires must not stop every tick. */
function nextTimeOrOff(ctx: AppContext, connectionId: number, schedule: unknown, now: Date) {
  try {
    return { nextSyncAt: nextRunAt(validateSchedule(schedule), now) };
  } catch (err) {
    if (!(err instanceof ScheduleError)) throw err;
    ctx.logger.warn({ connectionId, err: err.message }, "schedule switched off: it never fires");
    return { scheduleEnabled: false, nextSyncAt: null };
  }
}

/** Connections without a next time get one (new connections, changed schedules). */
export async function primeSchedules(ctx: AppContext, now: Date): Promise<void> {
  const rows = await ctx.db
    .select({ id: connections.id, schedule: connections.schedule })
    .from(connections)
    .where(
      and(
        isNull(connections.nextSyncAt),
        isNull(connections.disabledAt),
        eq(connections.scheduleEnabled, true),
      ),
    );
  for (const r of rows) {
    await ctx.db
      .update(connections)
      .set(nextTimeOrOff(ctx, r.id, r.schedule, now))
      .where(and(eq(connections.id, r.id), sql`${connections.nextSyncAt} is null`));
  }
}

export function startScheduler(ctx: AppContext, queue: JobQueue, opts: { intervalMs?: number } = {}) {
  const interval = opts.intervalMs ?? 15_000;
  const abort = new AbortController();
  const loop = (async () => {
    while (!abort.signal.aborted) {
      try {
        const now = ctx.clock.now();
        await primeSchedules(ctx, now);
        await schedulerTick(ctx, queue, now);
        await recoverSyncRuns(ctx, queue);
      } catch (err) {
        if (!abort.signal.aborted) ctx.logger.warn({ err }, "scheduler tick failed");
      }
      await ctx.clock.sleep(interval, abort.signal).catch(() => {});
    }
  })();
  return {
    async stop() {
      abort.abort();
      await loop;
    },
  };
}
