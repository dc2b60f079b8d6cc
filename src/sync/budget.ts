import { sql } from "drizzle-orm";
import type { AppContext } from "../context.ts";
import { MarketplaceError } from "../core/errors.ts";
import { addUsage, HOUR, hourBucket, usageByHour, usageSince } from "../db/repos/api-usage.ts";
import type { ConnectionRow } from "../db/repos/connections.ts";
import type { ApiBudget, MarketplaceManifest, RateLimit } from "../marketplaces/types.ts";

export const BUDGET_CATEGORIES = ["orders", "stock", "fulfilment", "other"] as const;
export type BudgetCategory = (typeof BUDGET_CATEGORIES)[number];

const DAY = 24 * HOUR;

export function dayStart(d: Date): Date {
  return new Date(Math.floor(d.getTime() / DAY) * DAY);
}

/** The daily limit in force: the connection's own budget, else the marketplace's day window. */
export function dailyLimit(
  connection: Pick<ConnectionRow, "dailyBudget">,
  manifest: MarketplaceManifest,
): number | null {
  if (connection.dailyBudget !== null && connection.dailyBudget !== undefined) return connection.dailyBudget;
  const day = manifest.rateLimit.limits.find(
    (l): l is Extract<RateLimit, { type: "fixed_window" }> =>
      l.type === "fixed_window" && l.window === "day" && !l.operations,
  );
  return day?.limit ?? manifest.rateLimit.defaultDailyBudget;
}

/** Work other than order intake stops early, so new orders always have calls left. */
export function effectiveLimit(limit: number, category: BudgetCategory, reserve: number): number {
  return category === "orders" ? limit : Math.floor(limit * (1 - reserve));
}

/** Short windows (second, minute) are kept per process; day and hour budgets live in api_usage. */
class ShortWindows {
  private readonly hits = new Map<string, number[]>();
  check(key: string, limit: number, windowMs: number, now: number, calls: number): number | null {
    const list = (this.hits.get(key) ?? []).filter((t) => t > now - windowMs);
    this.hits.set(key, list);
    if (list.length + calls > limit) return (list[0] ?? now) + windowMs - now;
    for (let i = 0; i < calls; i++) list.push(now);
    return null;
  }
}
/** Per application context (one per process in production; tests each get their own). */
const windowsByContext = new WeakMap<AppContext, ShortWindows>();
function shortWindowsOf(ctx: AppContext): ShortWindows {
  let w = windowsByContext.get(ctx);
  if (!w) {
    w = new ShortWindows();
    windowsByContext.set(ctx, w);
  }
  return w;
}

export interface CountedBudget extends ApiBudget {
  /** Calls this budget has let through. */
  readonly spent: number;
  /** Gives back calls leased but not used (at the end of a run). */
  release(): Promise<void>;
}

/** Calls are leased from the shared budget in blocks, so a sync does not pay a database round trip per call. */
const LEASE = 25;

export function createBudget(
  ctx: AppContext,
  connection: Pick<ConnectionRow, "id" | "dailyBudget">,
  manifest: MarketplaceManifest,
  category: BudgetCategory,
): CountedBudget {
  let spent = 0;
  let leased = 0;
  let leaseBucket: Date | null = null;
  const refuse = (operation: string, retryAfterMs: number, what: string) =>
    new MarketplaceError("rate_limited", {
      marketplace: manifest.id,
      operation,
      message: `${manifest.displayName} ${what} is used up; waiting until ${new Date(ctx.clock.now().getTime() + retryAfterMs).toISOString()}`,
      retryAfterMs,
    });

  /** Takes up to `want` calls (at least `need`) from the persisted budget, atomically across processes. */
  async function lease(operation: string, need: number, want: number, now: Date): Promise<number> {
    const day = dailyLimit(connection, manifest);
    const hourLimit = manifest.rateLimit.limits.find(
      (l) => l.type === "fixed_window" && l.window === "hour" && !l.operations,
    );
    return ctx.db.transaction(async (tx) => {
      // One connection's budget is counted by one process at a time, whichever process that is.
      await tx.execute(sql`select pg_advisory_xact_lock(${connection.id})`);
      let room = want;
      if (day !== null) {
        const used = await usageSince(tx, connection.id, dayStart(now));
        const left = effectiveLimit(day, category, manifest.rateLimit.orderIntakeReserve) - used;
        if (left < need) {
          throw refuse(
            operation,
            dayStart(now).getTime() + DAY - now.getTime(),
            category === "orders"
              ? "daily API budget"
              : `daily budget for ${category} (the rest is kept for new orders)`,
          );
        }
        room = Math.min(room, left);
      }
      if (hourLimit && hourLimit.type === "fixed_window") {
        const used = await usageSince(tx, connection.id, hourBucket(now));
        const left = effectiveLimit(hourLimit.limit, category, manifest.rateLimit.orderIntakeReserve) - used;
        if (left < need)
          throw refuse(operation, hourBucket(now).getTime() + HOUR - now.getTime(), "hourly API budget");
        room = Math.min(room, left);
      }
      await addUsage(tx, connection.id, now, category, room);
      return room;
    });
  }

  return {
    get spent() {
      return spent;
    },
    async spend(operation, calls = 1) {
      const now = ctx.clock.now();
      const reserve = manifest.rateLimit.orderIntakeReserve;
      const shortWindows = shortWindowsOf(ctx);
      for (const [i, l] of manifest.rateLimit.limits.entries()) {
        if (l.operations && !l.operations.includes(operation)) continue;
        // One window per limit, shared by every operation it covers (and by every run of the connection
        // in this process); work other than order intake keeps the reserve free in short windows too.
        const key = `${connection.id}:${i}`;
        if (l.type === "fixed_window" && (l.window === "second" || l.window === "minute")) {
          const ms = l.window === "second" ? 1000 : 60_000;
          const limit = Math.max(1, effectiveLimit(l.limit, category, reserve));
          const wait = shortWindows.check(key, limit, ms, now.getTime(), calls);
          if (wait !== null) throw refuse(operation, wait, `per-${l.window} limit`);
        } else if (l.type === "token_bucket") {
          const burst = Math.max(1, effectiveLimit(l.burst, category, reserve));
          const wait = shortWindows.check(key, burst, (burst / l.ratePerSecond) * 1000, now.getTime(), calls);
          if (wait !== null) throw refuse(operation, wait, `rate for ${operation}`);
        }
      }
      // A lease belongs to the hour it was taken in, so usage per hour stays true.
      if (leaseBucket && leaseBucket.getTime() !== hourBucket(now).getTime()) await this.release();
      if (leased < calls) {
        const got = await lease(operation, calls - leased, Math.max(LEASE, calls - leased), now);
        leased += got;
        leaseBucket = hourBucket(now);
      }
      leased -= calls;
      spent += calls;
    },
    async release() {
      if (leased > 0 && leaseBucket) {
        const back = leased;
        leased = 0;
        await addUsage(ctx.db, connection.id, leaseBucket, category, -back);
      }
      leaseBucket = null;
    },
  };
}

export interface BudgetStatus {
  limit: number | null;
  usedToday: number;
  remainingToday: number | null;
  resetsAt: Date | null;
  byHour: { hour: string; calls: number; byCategory: Record<string, number> }[];
}

export async function budgetStatus(
  ctx: AppContext,
  connection: Pick<ConnectionRow, "id" | "dailyBudget">,
  manifest: MarketplaceManifest,
  now: Date = ctx.clock.now(),
): Promise<BudgetStatus> {
  const limit = dailyLimit(connection, manifest);
  const usedToday = await usageSince(ctx.db, connection.id, dayStart(now));
  const since = new Date(hourBucket(now).getTime() - 23 * HOUR);
  const rows = await usageByHour(ctx.db, connection.id, since);
  const byHour: BudgetStatus["byHour"] = [];
  for (let t = since.getTime(); t <= hourBucket(now).getTime(); t += HOUR) {
    const inHour = rows.filter((r) => r.bucketStart.getTime() === t);
    const byCategory: Record<string, number> = Object.fromEntries(BUDGET_CATEGORIES.map((c) => [c, 0]));
    for (const r of inHour) byCategory[r.category] = (byCategory[r.category] ?? 0) + r.calls;
    byHour.push({
      hour: new Date(t).toISOString(),
      calls: inHour.reduce((n, r) => n + r.calls, 0),
      byCategory,
    });
  }
  return {
    limit,
    usedToday,
    remainingToday: limit === null ? null : Math.max(0, limit - usedToday),
    resetsAt: limit === null ? null : new Date(dayStart(now).getTime() + DAY),
    byHour,
  };
}
