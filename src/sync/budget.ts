import { TZDate } from "@date-fns/tz";
import type { AppContext } from "../context.ts";
import { MarketplaceError } from "../core/errors.ts";
import type { DbOrTx } from "../db/connection.ts";
import { addUsage, HOUR, hourBucket, usageByHour, usageSince } from "../db/repos/api-usage.ts";
import type { ConnectionRow } from "../db/repos/connections.ts";
import {
  emptyRateLimitRow,
  lockConnectionBudget,
  type RateLimitRow,
  rateLimitRows,
  saveRateLimitRows,
} from "../db/repos/rate-limits.ts";
import type { ApiBudget, BudgetFeedback, MarketplaceManifest, RateLimit } from "../marketplaces/types.ts";

/** `history`: details of listed orders fetched after intake (a first import's backlog), never from the intake reserve. */
export const BUDGET_CATEGORIES = ["orders", "history", "stock", "fulfilment", "other"] as const;
export type BudgetCategory = (typeof BUDGET_CATEGORIES)[number];

const DAY = 24 * HOUR;
type FixedWindow = Extract<RateLimit, { type: "fixed_window" }>["window"];
const WINDOW_MS: Record<FixedWindow, number> = { second: 1000, minute: 60_000, hour: HOUR, day: DAY };

export function dayStart(d: Date): Date {
  return new Date(Math.floor(d.getTime() / DAY) * DAY);
}

function isUtc(timeZone: string | null | undefined): boolean {
  return !timeZone || timeZone === "UTC" || timeZone === "Etc/UTC";
}

/** The connection-wide UTC day and hour windows are counted in api_usage (the connection's daily budget). */
function usageDayLimit(manifest: MarketplaceManifest) {
  return manifest.rateLimit.limits.find(
    (l): l is Extract<RateLimit, { type: "fixed_window" }> =>
      l.type === "fixed_window" && l.window === "day" && !l.operations && isUtc(l.timeZone),
  );
}
function usageHourLimit(manifest: MarketplaceManifest) {
  return manifest.rateLimit.limits.find(
    (l): l is Extract<RateLimit, { type: "fixed_window" }> =>
      l.type === "fixed_window" && l.window === "hour" && !l.operations && isUtc(l.timeZone),
  );
}

/** The daily limit in force: the connection's own budget, else the marketplace's (UTC) day window. */
export function dailyLimit(
  connection: Pick<ConnectionRow, "dailyBudget">,
  manifest: MarketplaceManifest,
): number | null {
  if (connection.dailyBudget !== null && connection.dailyBudget !== undefined) return connection.dailyBudget;
  return usageDayLimit(manifest)?.limit ?? manifest.rateLimit.defaultDailyBudget;
}

/** Work other than order intake stops early, so new orders always have calls left. */
export function effectiveLimit(limit: number, category: BudgetCategory, reserve: number): number {
  return category === "orders" ? limit : Math.floor(limit * (1 - reserve));
}

/** Start and end (ms) of the fixed window holding `now`; day and hour follow `timeZone`'s clock. */
export function windowBounds(
  window: FixedWindow,
  timeZone: string | null | undefined,
  now: number,
): { start: number; end: number } {
  const size = WINDOW_MS[window];
  if (window === "second" || window === "minute" || isUtc(timeZone)) {
    const start = Math.floor(now / size) * size;
    return { start, end: start + size };
  }
  const local = new TZDate(now, timeZone as string);
  if (window === "hour") {
    const start = now - (local.getMinutes() * 60_000 + local.getSeconds() * 1000 + local.getMilliseconds());
    return { start, end: start + HOUR };
  }
  // Local midnight to local midnight: 23 or 25 hours on the days the clocks change.
  const [y, m, d] = [local.getFullYear(), local.getMonth(), local.getDate()];
  return {
    start: new TZDate(y, m, d, timeZone as string).getTime(),
    end: new TZDate(y, m, d + 1, timeZone as string).getTime(),
  };
}

/** One limit as counted in a rate_limits row. */
export type LimitSpec =
  | {
      kind: "window";
      key: string;
      limit: number;
      window: FixedWindow;
      timeZone: string | null;
      operations: readonly string[] | null;
    }
  | {
      kind: "rolling";
      key: string;
      limit: number;
      windowMs: number;
      slotMs: number;
      operations: readonly string[] | null;
    }
  | {
      kind: "bucket";
      key: string;
      ratePerSecond: number;
      burst: number;
      operations: readonly string[] | null;
    };

/** A rolling window is counted in this many slots; a slot's calls leave the window when the whole slot has. */
const ROLLING_SLOTS = 96;

/** The limits a manifest declares beyond the connection's UTC day/hour budget, checked and keyed. */
export function limitSpecs(manifest: MarketplaceManifest): LimitSpec[] {
  const day = usageDayLimit(manifest);
  const hour = usageHourLimit(manifest);
  const specs = new Map<string, LimitSpec>();
  const positive = (v: number, what: string, i: number) => {
    if (!Number.isFinite(v) || v <= 0)
      throw new Error(`${manifest.id}: rate limit ${i + 1} needs a positive ${what}, got ${v}`);
  };
  for (const [i, l] of manifest.rateLimit.limits.entries()) {
    if (l === day || l === hour) continue;
    if (l.operations?.length === 0)
      throw new Error(`${manifest.id}: rate limit ${i + 1} lists no operations`);
    const ops = l.operations ?? null;
    const scope = ops ? [...ops].sort().join(",") : "*";
    if (l.type === "fixed_window") {
      positive(l.limit, "limit", i);
      if (!(l.window in WINDOW_MS))
        throw new Error(`${manifest.id}: rate limit ${i + 1} has an unknown window "${l.window}"`);
      const tz = isUtc(l.timeZone) ? null : (l.timeZone as string);
      if (tz) {
        try {
          new Intl.DateTimeFormat("en", { timeZone: tz });
        } catch {
          throw new Error(`${manifest.id}: rate limit ${i + 1} has an unknown time zone "${tz}"`);
        }
      }
      const key = `window:${l.window}:${tz ?? "UTC"}:${l.limit}:${scope}`;
      specs.set(key, {
        kind: "window",
        key,
        limit: l.limit,
        window: l.window,
        timeZone: tz,
        operations: ops,
      });
    } else if (l.type === "rolling_window") {
      positive(l.limit, "limit", i);
      positive(l.windowMs, "windowMs", i);
      const key = `rolling:${l.windowMs}:${l.limit}:${scope}`;
      const slotMs = Math.max(1, Math.floor(l.windowMs / ROLLING_SLOTS));
      specs.set(key, { kind: "rolling", key, limit: l.limit, windowMs: l.windowMs, slotMs, operations: ops });
    } else if (l.type === "token_bucket") {
      positive(l.ratePerSecond, "ratePerSecond", i);
      positive(l.burst, "burst", i);
      for (const op of ops ?? [null]) {
        const key = `bucket:${l.ratePerSecond}:${l.burst}:${op ?? "*"}`;
        specs.set(key, {
          kind: "bucket",
          key,
          ratePerSecond: l.ratePerSecond,
          burst: l.burst,
          operations: op === null ? null : [op],
        });
      }
    } else {
      throw new Error(`${manifest.id}: rate limit ${i + 1} has an unknown type`);
    }
  }
  return [...specs.values()];
}

export interface CountedBudget extends ApiBudget {
  /** Calls this budget has let through. */
  readonly spent: number;
  /** Gives back calls leased but not used (at the end of a run). */
  release(): Promise<void>;
}

/** Calls are leased from the shared budget in blocks, so a sync does not pay a database round trip per call. */
const LEASE = 25;
/** A block is at most a twentieth of its limit, so other processes are not starved (1 for tight buckets). */
const LEASE_SHARE = 20;
/** Tokens leased from a bucket are used within this long, or the bucket could have overflowed meanwhile. */
const MAX_BUCKET_LEASE_MS = 60_000;

/** Calls taken from one row and not yet made: valid until `expiresAt`; `mark` names the window, slot or take. */
interface Lease {
  left: number;
  expiresAt: number;
  mark: number;
}

type Outcome = { ok: true; lease: Lease } | { ok: false; retryAfterMs: number; what: string };

interface TakeRequest {
  operation: string;
  need: number;
  want: number;
  now: number;
  category: BudgetCategory;
  reserve: number;
}

function blockSize(spec: LimitSpec): number {
  const size = spec.kind === "bucket" ? spec.burst : spec.limit;
  return Math.max(1, Math.min(LEASE, Math.floor(size / LEASE_SHARE)));
}

function windowLimit(spec: Extract<LimitSpec, { kind: "window" | "rolling" }>, row: RateLimitRow): number {
  return row.learnedLimit !== null ? Math.min(spec.limit, row.learnedLimit) : spec.limit;
}

function describe(spec: LimitSpec, operation: string, reserveOnly: boolean): string {
  const scope = spec.operations && spec.kind !== "bucket" ? ` for ${spec.operations.join(", ")}` : "";
  const kept = reserveOnly ? " (the rest is kept for new orders)" : "";
  if (spec.kind === "window") return `per-${spec.window} limit${scope}${kept}`;
  if (spec.kind === "rolling") {
    const span = spec.windowMs % HOUR === 0 ? `${spec.windowMs / HOUR} h` : `${spec.windowMs / 1000} s`;
    return `limit of ${spec.limit} calls per rolling ${span}${scope}${kept}`;
  }
  return `rate for ${operation}${kept}`;
}

function liveSlots(
  spec: Extract<LimitSpec, { kind: "rolling" }>,
  row: RateLimitRow,
  now: number,
): [number, number][] {
  return (row.slots ?? []).filter(([start, calls]) => calls > 0 && start + spec.slotMs + spec.windowMs > now);
}

function bucketTokens(spec: Extract<LimitSpec, { kind: "bucket" }>, row: RateLimitRow, now: number): number {
  if (row.tokens === null || row.refilledAt === null) return spec.burst;
  const rate = row.learnedRate !== null ? Math.min(spec.ratePerSecond, row.learnedRate) : spec.ratePerSecond;
  const elapsed = Math.max(0, now - row.refilledAt.getTime());
  return Math.min(spec.burst, row.tokens + (elapsed / 1000) * rate);
}

/** Takes between `need` and `want` calls from the row (mutating it), or says how long to wait. */
export function takeFromRow(spec: LimitSpec, row: RateLimitRow, t: TakeRequest): Outcome {
  if (spec.kind === "window") {
    const { start, end } = windowBounds(spec.window, spec.timeZone, t.now);
    const used = row.windowStart?.getTime() === start ? row.used : 0;
    const limit = windowLimit(spec, row);
    const left = Math.max(1, effectiveLimit(limit, t.category, t.reserve)) - used;
    if (left < t.need)
      return { ok: false, retryAfterMs: end - t.now, what: describe(spec, "", used + t.need <= limit) };
    const grant = Math.min(t.want, left);
    row.windowStart = new Date(start);
    row.used = used + grant;
    return { ok: true, lease: { left: grant, expiresAt: end, mark: start } };
  }
  if (spec.kind === "rolling") {
    const slots = liveSlots(spec, row, t.now).sort((a, b) => a[0] - b[0]);
    const used = slots.reduce((n, [, c]) => n + c, 0);
    const limit = windowLimit(spec, row);
    const left = Math.max(1, effectiveLimit(limit, t.category, t.reserve)) - used;
    if (left < t.need) {
      // Calls come free when the oldest slots leave the window.
      let free = left;
      let retryAt = t.now + spec.windowMs;
      for (const [start, calls] of slots) {
        free += calls;
        if (free >= t.need) {
          retryAt = start + spec.slotMs + spec.windowMs;
          break;
        }
      }
      return {
        ok: false,
        retryAfterMs: Math.max(1, retryAt - t.now),
        what: describe(spec, "", used + t.need <= limit),
      };
    }
    const grant = Math.min(t.want, left);
    const slot = Math.floor(t.now / spec.slotMs) * spec.slotMs;
    const current = slots.find(([s]) => s === slot);
    if (current) current[1] += grant;
    else slots.push([slot, grant]);
    row.slots = slots;
    return { ok: true, lease: { left: grant, expiresAt: slot + spec.slotMs, mark: slot } };
  }
  const rate = row.learnedRate !== null ? Math.min(spec.ratePerSecond, row.learnedRate) : spec.ratePerSecond;
  const tokens = bucketTokens(spec, row, t.now);
  const keep = spec.burst - Math.max(1, effectiveLimit(spec.burst, t.category, t.reserve));
  const available = tokens - keep;
  if (available < t.need) {
    return {
      ok: false,
      retryAfterMs: Math.max(1, Math.ceil(((t.need - available) / rate) * 1000)),
      what: describe(spec, t.operation, tokens >= t.need),
    };
  }
  const grant = Math.min(t.want, Math.floor(available));
  row.tokens = tokens - grant;
  row.refilledAt = new Date(t.now);
  const untilFull = ((spec.burst - row.tokens) / rate) * 1000;
  return {
    ok: true,
    lease: {
      left: grant,
      expiresAt: t.now + Math.max(1, Math.min(MAX_BUCKET_LEASE_MS, untilFull)),
      mark: t.now,
    },
  };
}

/** Returns calls leased and not made to the row, where they still count. */
export function giveBackToRow(spec: LimitSpec, row: RateLimitRow, lease: Lease, now: number): void {
  if (lease.left <= 0) return;
  if (spec.kind === "window") {
    if (row.windowStart?.getTime() === lease.mark) row.used = Math.max(0, row.used - lease.left);
  } else if (spec.kind === "rolling") {
    const slots = liveSlots(spec, row, now);
    const slot = slots.find(([s]) => s === lease.mark);
    if (slot) slot[1] = Math.max(0, slot[1] - lease.left);
    row.slots = slots.filter(([, c]) => c > 0);
  } else {
    // Tokens not used are the marketplace's still; the bucket never holds more than its burst.
    row.tokens = Math.min(spec.burst, bucketTokens(spec, row, now) + lease.left);
    row.refilledAt = new Date(now);
  }
}

/** Counts at least `counted` calls in the row's current window (what the marketplace says it counted). */
function countAtLeast(spec: LimitSpec, row: RateLimitRow, counted: number, now: number): void {
  if (spec.kind === "window") {
    const { start } = windowBounds(spec.window, spec.timeZone, now);
    if (row.windowStart?.getTime() !== start) {
      row.windowStart = new Date(start);
      row.used = 0;
    }
    row.used = Math.max(row.used, counted);
  } else if (spec.kind === "rolling") {
    const slots = liveSlots(spec, row, now);
    const used = slots.reduce((n, [, c]) => n + c, 0);
    if (counted > used) {
      const slot = Math.floor(now / spec.slotMs) * spec.slotMs;
      const current = slots.find(([s]) => s === slot);
      if (current) current[1] += counted - used;
      else slots.push([slot, counted - used]);
    }
    row.slots = slots;
  }
}

function windowLength(spec: Extract<LimitSpec, { kind: "window" | "rolling" }>): number {
  return spec.kind === "window" ? WINDOW_MS[spec.window] : spec.windowMs;
}

/** The window a "remaining" figure is about: the one of that size, else the one resetting then, else the longest. */
function feedbackWindow(specs: readonly LimitSpec[], feedback: BudgetFeedback, now: number) {
  const windows = specs.filter(
    (s): s is Extract<LimitSpec, { kind: "window" | "rolling" }> => s.kind !== "bucket",
  );
  if (windows.length === 0) return null;
  const sized = feedback.limit !== undefined ? windows.filter((w) => w.limit === feedback.limit) : [];
  if (sized.length === 1) return sized[0] ?? null;
  const candidates = sized.length > 1 ? sized : windows;
  if (feedback.resetsAt) {
    const at = feedback.resetsAt.getTime();
    const end = (w: (typeof windows)[number]) =>
      w.kind === "window" ? windowBounds(w.window, w.timeZone, now).end : now + w.windowMs;
    return candidates.reduce((a, b) => (Math.abs(end(b) - at) < Math.abs(end(a) - at) ? b : a));
  }
  return candidates.reduce((a, b) => (windowLength(b) > windowLength(a) ? b : a));
}

function checkFeedback(operation: string, f: BudgetFeedback): void {
  const bad = (field: string, v: unknown) =>
    new Error(`budget feedback for ${operation}: ${field} must be a number of at least 0, got ${String(v)}`);
  for (const field of ["remaining", "limit", "retryAfterMs"] as const) {
    const v = f[field];
    if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v) || v < 0)) throw bad(field, v);
  }
  if (f.ratePerSecond !== undefined && (!Number.isFinite(f.ratePerSecond) || f.ratePerSecond <= 0))
    throw new Error(
      `budget feedback for ${operation}: ratePerSecond must be a positive number, got ${f.ratePerSecond}`,
    );
  if (f.resetsAt !== undefined && (!(f.resetsAt instanceof Date) || Number.isNaN(f.resetsAt.getTime())))
    throw new Error(`budget feedback for ${operation}: resetsAt must be a valid date`);
}

/** A row's count as last read: `mark` names the window (or rolling slot) it belongs to. */
interface Known {
  mark: number;
  used: number;
  learnedRate: number | null;
  learnedLimit: number | null;
}

function currentMark(spec: LimitSpec, now: number): number {
  if (spec.kind === "window") return windowBounds(spec.window, spec.timeZone, now).start;
  if (spec.kind === "rolling") return Math.floor(now / spec.slotMs) * spec.slotMs;
  return 0;
}

function snapshot(spec: LimitSpec, row: RateLimitRow, now: number): Known {
  const base = { learnedRate: row.learnedRate, learnedLimit: row.learnedLimit };
  if (spec.kind === "window") {
    const current = row.windowStart?.getTime() === currentMark(spec, now);
    return { ...base, mark: currentMark(spec, now), used: current ? row.used : 0 };
  }
  if (spec.kind === "rolling") {
    const used = liveSlots(spec, row, now).reduce((n, [, c]) => n + c, 0);
    return { ...base, mark: currentMark(spec, now), used };
  }
  return { ...base, mark: 0, used: 0 };
}

/** Retry-After of one operation is kept under this key, beside the limits. */
const opKey = (operation: string) => `op:${operation}`;

export function createBudget(
  ctx: AppContext,
  connection: Pick<ConnectionRow, "id" | "dailyBudget">,
  manifest: MarketplaceManifest,
  category: BudgetCategory,
): CountedBudget {
  const reserve = manifest.rateLimit.orderIntakeReserve;
  const specs = limitSpecs(manifest);
  const specByKey = new Map(specs.map((s) => [s.key, s]));
  const specsByOperation = new Map<string, LimitSpec[]>();
  const specsFor = (operation: string): LimitSpec[] => {
    let list = specsByOperation.get(operation);
    if (!list) {
      list = specs.filter((s) => !s.operations || s.operations.includes(operation));
      specsByOperation.set(operation, list);
    }
    return list;
  };
  let spent = 0;
  /** Calls leased from api_usage (the daily budget and usage per hour) and not yet made. */
  let usageLeft = 0;
  let usageBucket: number | null = null;
  /** Calls leased from each rate_limits row. */
  const leases = new Map<string, Lease>();
  /** Retry-After seen here or in the shared rows (per limit key and per operation). */
  const blocks = new Map<string, number>();
  /** The shared counts as last read, so feedback that tells nothing new costs no round trip. */
  const known = new Map<string, Known>();
  let knownUsage: { day: number; used: number } | null = null;
  let pendingUsage: { day: number; used: number } | null = null;

  const refuse = (operation: string, retryAfterMs: number, what: string) =>
    new MarketplaceError("rate_limited", {
      marketplace: manifest.id,
      operation,
      message: `${manifest.displayName} ${what} is used up; waiting until ${new Date(ctx.clock.now().getTime() + retryAfterMs).toISOString()}`,
      retryAfterMs,
    });

  const blockedUntil = (operation: string, list: readonly LimitSpec[]) => {
    let until = blocks.get(opKey(operation)) ?? 0;
    for (const s of list) until = Math.max(until, blocks.get(s.key) ?? 0);
    return until;
  };

  /** Takes up to `want` calls (at least `need`) from api_usage: the daily and hourly budget, as before. */
  async function leaseUsage(
    tx: DbOrTx,
    operation: string,
    need: number,
    want: number,
    now: Date,
  ): Promise<number> {
    const day = dailyLimit(connection, manifest);
    const hourLimit = usageHourLimit(manifest);
    let room = want;
    let usedToday = 0;
    if (day !== null) {
      const used = await usageSince(tx, connection.id, dayStart(now));
      usedToday = used;
      const left = effectiveLimit(day, category, reserve) - used;
      if (left < need) {
        if (need <= 0) return 0;
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
    if (hourLimit) {
      const used = await usageSince(tx, connection.id, hourBucket(now));
      const left = effectiveLimit(hourLimit.limit, category, reserve) - used;
      if (left < need) {
        if (need <= 0) return 0;
        throw refuse(operation, hourBucket(now).getTime() + HOUR - now.getTime(), "hourly API budget");
      }
      room = Math.min(room, left);
    }
    if (room <= 0) return 0;
    await addUsage(tx, connection.id, now, category, room);
    if (day !== null) pendingUsage = { day: dayStart(now).getTime(), used: room + usedToday };
    return room;
  }

  /** A lease that cannot serve `calls` now must be topped up; one that is low is topped up alongside. */
  const isShort = (l: Lease | undefined, calls: number, now: number) =>
    !l || l.expiresAt <= now || l.left < calls;
  const isLow = (spec: LimitSpec, l: Lease) => spec.kind !== "bucket" && l.left * 2 <= blockSize(spec);

  /**
   * One transaction under the connection's lock: tops up every short lease (all or none, else it throws),
   * and the low ones too, so the leases of a connection run out together and one round serves them all.
   */
  async function exchange(
    operation: string,
    calls: number,
    relevant: readonly LimitSpec[],
    now: number,
  ): Promise<void> {
    const short = relevant.filter((s) => isShort(leases.get(s.key), calls, now));
    const low = relevant.filter((s) => {
      const l = leases.get(s.key);
      return l !== undefined && !isShort(l, calls, now) && isLow(s, l);
    });
    const mustUsage = usageLeft < calls;
    const topUsage = mustUsage || usageLeft * 2 <= LEASE;
    // Leases handed back in this exchange are taken off at once, so a concurrent spend cannot return them twice.
    const returned: [Lease, number][] = [];
    pendingUsage = null;
    try {
      const result = await ctx.db.transaction(async (tx) => {
        await lockConnectionBudget(tx, connection.id);
        const date = new Date(now);
        let rows = new Map<string, RateLimitRow>();
        // Blocks are read with the rows; a lease from api_usage alone reads nothing more than it did.
        if (short.length + low.length > 0) {
          rows = await rateLimitRows(tx, connection.id);
          for (const r of rows.values()) {
            const until = r.blockedUntil?.getTime() ?? 0;
            if (until > now) blocks.set(r.key, Math.max(until, blocks.get(r.key) ?? 0));
          }
        }
        const until = blockedUntil(operation, relevant);
        if (until > now) throw refuse(operation, until - now, `rate for ${operation}`);
        const changed: RateLimitRow[] = [];
        const granted = new Map<string, Lease>();
        const refusals: Extract<Outcome, { ok: false }>[] = [];
        for (const spec of short) {
          const row = rows.get(spec.key) ?? emptyRateLimitRow(connection.id, spec.key);
          const old = leases.get(spec.key);
          if (old && old.left > 0) {
            giveBackToRow(spec, row, old, now);
            returned.push([old, old.left]);
            old.left = 0;
          }
          const want = Math.max(blockSize(spec), calls);
          const out = takeFromRow(spec, row, { operation, need: calls, want, now, category, reserve });
          if (out.ok) granted.set(spec.key, out.lease);
          else refusals.push(out);
          changed.push(row);
        }
        const worst = refusals.reduce<(typeof refusals)[number] | null>(
          (a, b) => (a === null || b.retryAfterMs > a.retryAfterMs ? b : a),
          null,
        );
        if (worst) throw refuse(operation, worst.retryAfterMs, worst.what);
        for (const spec of low) {
          // Same window or slot as the lease held: what is taken is added to it; a refusal just leaves it.
          const row = rows.get(spec.key) ?? emptyRateLimitRow(connection.id, spec.key);
          const held = leases.get(spec.key) as Lease;
          const want = blockSize(spec) - held.left;
          const out = takeFromRow(spec, row, { operation, need: 1, want, now, category, reserve });
          if (out.ok && out.lease.mark === held.mark) {
            granted.set(spec.key, out.lease);
            changed.push(row);
          }
        }
        const usage = topUsage
          ? await leaseUsage(
              tx,
              operation,
              mustUsage ? calls - usageLeft : 0,
              Math.max(LEASE, calls) - usageLeft,
              date,
            )
          : 0;
        await saveRateLimitRows(tx, changed);
        const seen = relevant.flatMap((spec) => {
          const r = rows.get(spec.key);
          return r ? [[spec.key, snapshot(spec, r, now)] as const] : [];
        });
        return { granted, usage, seen };
      });
      for (const [key, lease] of result.granted) {
        const cur = leases.get(key);
        if (cur && cur.left > 0 && cur.mark === lease.mark && cur.expiresAt === lease.expiresAt)
          cur.left += lease.left;
        else leases.set(key, lease);
      }
      if (topUsage) {
        usageLeft += result.usage;
        usageBucket = hourBucket(new Date(now)).getTime();
      }
      for (const [key, k] of result.seen) known.set(key, k);
      if (pendingUsage) knownUsage = pendingUsage;
    } catch (err) {
      pendingUsage = null;
      // Nothing was written: the leases handed back are still ours.
      for (const [lease, n] of returned) lease.left += n;
      throw err;
    }
  }

  /** Feedback the shared counts already hold (what was read at the last lease) needs no transaction. */
  function tellsSomethingNew(relevant: readonly LimitSpec[], f: BudgetFeedback, now: number): boolean {
    if (f.retryAfterMs !== undefined && f.retryAfterMs > 0) return true;
    if (f.ratePerSecond !== undefined) {
      for (const spec of relevant) {
        if (spec.kind !== "bucket") continue;
        const learned = f.ratePerSecond < spec.ratePerSecond ? f.ratePerSecond : null;
        const k = known.get(spec.key);
        if (!k || k.learnedRate !== learned) return true;
      }
    }
    if (f.remaining === undefined && f.limit === undefined) return false;
    const target = feedbackWindow(relevant, f, now);
    if (!target) {
      if (f.remaining === undefined) return false;
      const day = dailyLimit(connection, manifest);
      if (day === null) return false;
      if (!knownUsage || knownUsage.day !== dayStart(new Date(now)).getTime()) return true;
      return Math.max(0, Math.min(day, f.limit ?? day) - f.remaining) + usageLeft > knownUsage.used;
    }
    const k = known.get(target.key);
    if (!k || k.mark !== currentMark(target, now)) return true;
    if (f.limit !== undefined && k.learnedLimit !== (f.limit < target.limit ? f.limit : null)) return true;
    if (f.remaining === undefined) return false;
    const limit = Math.min(target.limit, f.limit ?? target.limit, k.learnedLimit ?? target.limit);
    return Math.max(0, limit - f.remaining) + (leases.get(target.key)?.left ?? 0) > k.used;
  }

  async function releaseUsage(db: DbOrTx = ctx.db) {
    if (usageLeft > 0 && usageBucket !== null) {
      const back = usageLeft;
      usageLeft = 0;
      await addUsage(db, connection.id, new Date(usageBucket), category, -back);
    }
    usageBucket = null;
  }

  return {
    get spent() {
      return spent;
    },
    async spend(operation, calls = 1) {
      if (!Number.isInteger(calls) || calls < 1)
        throw new Error(`budget: calls for ${operation} must be a whole number of at least 1, got ${calls}`);
      const relevant = specsFor(operation);
      for (const s of relevant) {
        const cap =
          s.kind === "bucket"
            ? Math.max(1, effectiveLimit(s.burst, category, reserve))
            : Math.max(1, effectiveLimit(s.limit, category, reserve));
        if (calls > cap)
          throw new Error(
            `budget: ${calls} calls of ${operation} at once can never fit the ${manifest.displayName} ${describe(s, operation, false)} (${cap})`,
          );
      }
      for (;;) {
        const now = ctx.clock.now().getTime();
        const until = blockedUntil(operation, relevant);
        if (until > now) throw refuse(operation, until - now, `rate for ${operation}`);
        // A usage lease belongs to the hour it was taken in, so usage per hour stays true.
        if (usageBucket !== null && usageBucket !== hourBucket(new Date(now)).getTime()) await releaseUsage();
        if (!relevant.some((s) => isShort(leases.get(s.key), calls, now)) && usageLeft >= calls) {
          for (const s of relevant) (leases.get(s.key) as Lease).left -= calls;
          usageLeft -= calls;
          spent += calls;
          return;
        }
        await exchange(operation, calls, relevant, now);
      }
    },
    async observe(operation, feedback) {
      checkFeedback(operation, feedback);
      const now = ctx.clock.now().getTime();
      const relevant = specsFor(operation);
      if (!tellsSomethingNew(relevant, feedback, now)) return;
      const dropped: string[] = [];
      const seen: [string, Known][] = [];
      let usageSeen: { day: number; used: number } | null = null;
      await ctx.db.transaction(async (tx) => {
        await lockConnectionBudget(tx, connection.id);
        const rows = await rateLimitRows(tx, connection.id);
        const changed = new Set<RateLimitRow>();
        const row = (key: string) => {
          let r = rows.get(key);
          if (!r) {
            r = emptyRateLimitRow(connection.id, key);
            rows.set(key, r);
          }
          changed.add(r);
          return r;
        };
        // Our own unused calls of a limit the marketplace spoke about go back first; it counts without them.
        const settle = (spec: LimitSpec) => {
          const lease = leases.get(spec.key);
          if (lease && lease.left > 0) giveBackToRow(spec, row(spec.key), lease, now);
          dropped.push(spec.key);
        };
        if (feedback.retryAfterMs !== undefined && feedback.retryAfterMs > 0) {
          const until = now + feedback.retryAfterMs;
          for (const spec of relevant) settle(spec);
          for (const key of [opKey(operation), ...relevant.map((s) => s.key)]) {
            const r = row(key);
            if ((r.blockedUntil?.getTime() ?? 0) < until) r.blockedUntil = new Date(until);
          }
        }
        if (feedback.ratePerSecond !== undefined) {
          for (const spec of relevant) {
            if (spec.kind !== "bucket") continue;
            const r = row(spec.key);
            // Refill up to now at the old rate, then go on at the one the marketplace granted.
            if (r.tokens !== null) {
              r.tokens = bucketTokens(spec, r, now);
              r.refilledAt = new Date(now);
            }
            r.learnedRate = feedback.ratePerSecond < spec.ratePerSecond ? feedback.ratePerSecond : null;
          }
        }
        if (feedback.remaining !== undefined || feedback.limit !== undefined) {
          const target = feedbackWindow(relevant, feedback, now);
          if (target) {
            settle(target);
            const r = row(target.key);
            if (feedback.limit !== undefined)
              r.learnedLimit = feedback.limit < target.limit ? feedback.limit : null;
            if (feedback.remaining !== undefined)
              countAtLeast(target, r, Math.max(0, windowLimit(target, r) - feedback.remaining), now);
          } else if (feedback.remaining !== undefined) {
            const day = dailyLimit(connection, manifest);
            if (day !== null) {
              const limit = Math.min(day, feedback.limit ?? day);
              await releaseUsage(tx);
              const counted = Math.max(0, limit - feedback.remaining);
              const used = await usageSince(tx, connection.id, dayStart(new Date(now)));
              if (counted > used) await addUsage(tx, connection.id, new Date(now), category, counted - used);
              usageSeen = { day: dayStart(new Date(now)).getTime(), used: Math.max(used, counted) };
            }
          }
        }
        await saveRateLimitRows(tx, [...changed]);
        for (const spec of relevant) {
          const r = rows.get(spec.key);
          if (r) seen.push([spec.key, snapshot(spec, r, now)]);
        }
      });
      for (const key of dropped) leases.delete(key);
      for (const [key, k] of seen) known.set(key, k);
      if (usageSeen) knownUsage = usageSeen;
      if (feedback.retryAfterMs !== undefined && feedback.retryAfterMs > 0) {
        const until = now + feedback.retryAfterMs;
        for (const key of [opKey(operation), ...relevant.map((s) => s.key)])
          blocks.set(key, Math.max(until, blocks.get(key) ?? 0));
      }
    },
    async release() {
      const now = ctx.clock.now().getTime();
      const pending = [...leases].filter(([, l]) => l.left > 0);
      if (pending.length === 0) {
        leases.clear();
        await releaseUsage();
        return;
      }
      await ctx.db.transaction(async (tx) => {
        await lockConnectionBudget(tx, connection.id);
        const rows = await rateLimitRows(tx, connection.id);
        const changed: RateLimitRow[] = [];
        for (const [key, lease] of pending) {
          const spec = specByKey.get(key);
          const r = rows.get(key);
          if (!spec || !r) continue;
          giveBackToRow(spec, r, lease, now);
          changed.push(r);
        }
        await saveRateLimitRows(tx, changed);
        await releaseUsage(tx);
      });
      leases.clear();
    },
  };
}

export interface BudgetStatus {
  limit: number | null;
  usedToday: number;
  remainingToday: number | null;
  resetsAt: Date | null;
  byHour: { hour: string; calls: number; byCategory: Record<string, number> }[];
  /** Every other limit of the marketplace (short windows, local days, rolling windows, buckets), as counted now. */
  limits: LimitStatus[];
}

export interface LimitStatus {
  kind: LimitSpec["kind"];
  /** The window ("day", "minute"), "rolling 24 h", or the bucket's rate ("0.0167/s"). */
  label: string;
  operations: readonly string[] | null;
  /** The limit in force (tighter where the marketplace said so); a bucket's burst. */
  limit: number;
  /** Calls counted, including those leased by running work; a bucket's tokens taken. */
  used: number;
  remaining: number;
  /** When a fixed window starts again (null for rolling windows and buckets). */
  resetsAt: Date | null;
  /** The marketplace asked to wait until then (Retry-After). */
  blockedUntil: Date | null;
}

function limitStatus(spec: LimitSpec, row: RateLimitRow, now: number): LimitStatus {
  const blockedUntil = row.blockedUntil && row.blockedUntil.getTime() > now ? row.blockedUntil : null;
  const base = { kind: spec.kind, operations: spec.operations, blockedUntil };
  if (spec.kind === "bucket") {
    const rate =
      row.learnedRate !== null ? Math.min(spec.ratePerSecond, row.learnedRate) : spec.ratePerSecond;
    const tokens = Math.floor(bucketTokens(spec, row, now));
    return {
      ...base,
      label: `${rate}/s`,
      limit: spec.burst,
      used: spec.burst - tokens,
      remaining: tokens,
      resetsAt: null,
    };
  }
  const limit = windowLimit(spec, row);
  if (spec.kind === "rolling") {
    const used = liveSlots(spec, row, now).reduce((n, [, c]) => n + c, 0);
    const label = `rolling ${spec.windowMs % HOUR === 0 ? `${spec.windowMs / HOUR} h` : `${spec.windowMs / 1000} s`}`;
    return { ...base, label, limit, used, remaining: Math.max(0, limit - used), resetsAt: null };
  }
  const { start, end } = windowBounds(spec.window, spec.timeZone, now);
  const used = row.windowStart?.getTime() === start ? row.used : 0;
  const label = spec.timeZone ? `${spec.window} (${spec.timeZone})` : spec.window;
  return { ...base, label, limit, used, remaining: Math.max(0, limit - used), resetsAt: new Date(end) };
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
  const limitRows = await rateLimitRows(ctx.db, connection.id);
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
    limits: limitSpecs(manifest).map((spec) =>
      limitStatus(spec, limitRows.get(spec.key) ?? emptyRateLimitRow(connection.id, spec.key), now.getTime()),
    ),
  };
}
