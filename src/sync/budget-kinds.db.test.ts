import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock, type TestContext, testContext } from "../../test/helpers/db.ts";
import { isMarketplaceError } from "../core/errors.ts";
import { createAccount } from "../db/repos/accounts.ts";
import { insertConnection } from "../db/repos/connections.ts";
import { rateLimits } from "../db/schema.ts";
import { bricklinkManifest } from "../marketplaces/bricklink/manifest.ts";
import type { MarketplaceManifest, RateLimit } from "../marketplaces/types.ts";
import { type BudgetCategory, budgetStatus, type CountedBudget, createBudget } from "./budget.ts";

const MINUTE = 60_000;
const HOUR = 3_600_000;
let ctx: TestContext;
const clock = new ManualClock("2026-06-01T10:30:00Z");
beforeAll(async () => {
  ctx = await testContext({ clock });
});
afterAll(async () => {
  await ctx.close();
});

const manifest = (limits: RateLimit[], orderIntakeReserve = 0.2): MarketplaceManifest => ({
  ...bricklinkManifest,
  displayName: "Market",
  rateLimit: { limits, orderIntakeReserve, defaultDailyBudget: null },
});

let n = 0;
async function connection() {
  n++;
  const a = await createAccount(ctx.db, { name: `k${n}`, slug: `budget-kinds-${n}` });
  return insertConnection(ctx.db, ctx.box, {
    accountId: a.id,
    marketplace: "bricklink",
    name: "M",
    baseUrl: "http://127.0.0.1:1",
    config: {},
    secrets: {},
  });
}

async function budget(limits: RateLimit[], category: BudgetCategory = "orders", reserve = 0.2) {
  const c = await connection();
  const m = manifest(limits, reserve);
  return {
    c,
    m,
    b: createBudget(ctx, c, m, category),
    again: (cat: BudgetCategory = category) => createBudget(ctx, c, m, cat),
  };
}

/** Spends until refused; returns how many went through and the refusal. */
async function drain(b: CountedBudget, operation: string, max = 10_000) {
  let ok = 0;
  for (; ok < max; ok++) {
    try {
      await b.spend(operation);
    } catch (err) {
      if (isMarketplaceError(err) && err.kind === "rate_limited") return { ok, err };
      throw err;
    }
  }
  return { ok, err: null };
}

const getOrders: RateLimit = {
  type: "token_bucket",
  ratePerSecond: 0.0167,
  burst: 20,
  operations: ["getOrders"],
};

describe("token buckets", () => {
  it("Amazon getOrders (0.0167/s, burst 20): 20 at once, then one a minute — not one burst per 20 minutes", async () => {
    clock.set("2026-06-01T10:30:00Z");
    const { b } = await budget([getOrders]);
    const first = await drain(b, "getOrders");
    expect(first.ok).toBe(20);
    expect(first.err?.message).toMatch(/Market rate for getOrders is used up/);
    expect(first.err?.retryAfterMs).toBe(Math.ceil((1 / 0.0167) * 1000));
    for (let minute = 1; minute <= 5; minute++) {
      clock.advance(MINUTE);
      const step = await drain(b, "getOrders");
      expect(step.ok).toBe(1);
    }
    // Idle for 20 minutes: the bucket is full again, and never holds more than its burst.
    clock.advance(60 * MINUTE);
    expect((await drain(b, "getOrders")).ok).toBe(20);
    await b.release();
  });

  it("refills continuously up to the burst (2/s, burst 10)", async () => {
    clock.set("2026-06-01T11:00:00Z");
    const { b } = await budget([{ type: "token_bucket", ratePerSecond: 2, burst: 10 }]);
    const burst = await drain(b, "anything");
    expect(burst.ok).toBe(10);
    expect(burst.err?.retryAfterMs).toBe(500);
    clock.advance(2_000);
    expect((await drain(b, "other")).ok).toBe(4);
    clock.advance(250);
    expect((await drain(b, "other")).ok).toBe(0);
    clock.advance(250);
    expect((await drain(b, "other")).ok).toBe(1);
    clock.advance(HOUR);
    expect((await drain(b, "other")).ok).toBe(10);
    await b.release();
  });

  it("gives each listed operation a bucket of its own; unlisted operations are not limited by it", async () => {
    clock.set("2026-06-01T12:00:00Z");
    const { b } = await budget([
      { type: "token_bucket", ratePerSecond: 0.5, burst: 30, operations: ["getOrder", "getOrderItems"] },
    ]);
    expect((await drain(b, "getOrder")).ok).toBe(30);
    expect((await drain(b, "getOrderItems")).ok).toBe(30);
    expect((await drain(b, "confirmShipment", 100)).ok).toBe(100);
    await b.release();
  });

  it("keeps a share of the bucket for order intake", async () => {
    clock.set("2026-06-01T12:30:00Z");
    const { b, again } = await budget([getOrders], "stock");
    const stock = await drain(b, "getOrders");
    expect(stock.ok).toBe(16);
    expect(stock.err?.message).toMatch(/kept for new orders/);
    await b.release();
    expect((await drain(again("orders"), "getOrders")).ok).toBe(4);
  });
});

describe("windows", () => {
  it("a rolling 24 hours (Etsy) frees calls as they leave the window, not at midnight", async () => {
    clock.set("2026-06-01T18:00:00Z");
    const { b } = await budget([{ type: "rolling_window", windowMs: 24 * HOUR, limit: 10 }], "orders", 0);
    for (let i = 0; i < 6; i++) await b.spend("getReceipts");
    clock.set("2026-06-02T06:00:00Z");
    const later = await drain(b, "getReceipts");
    expect(later.ok).toBe(4);
    // Midnight has passed; the 18:00 calls still count until 18:00 (and the slot they fell in) the next day.
    const wait = later.err?.retryAfterMs ?? 0;
    expect(wait).toBeGreaterThanOrEqual(12 * HOUR);
    expect(wait).toBeLessThanOrEqual(12 * HOUR + 15 * MINUTE);
    clock.set("2026-06-02T17:59:00Z");
    expect((await drain(b, "getReceipts")).ok).toBe(0);
    clock.advance(wait);
    expect((await drain(b, "getReceipts")).ok).toBe(6);
    await b.release();
  });

  it("a day that resets at midnight in Los Angeles, across the autumn clock change", async () => {
    // 23:30 on 31 October in Los Angeles (PDT, UTC−7).
    clock.set("2026-11-01T06:30:00Z");
    const { b } = await budget([
      { type: "fixed_window", window: "day", limit: 5, timeZone: "America/Los_Angeles" },
    ]);
    const first = await drain(b, "getOrders");
    expect(first.ok).toBe(5);
    expect(first.err?.retryAfterMs).toBe(30 * MINUTE);
    expect(first.err?.message).toMatch(/per-day limit is used up; waiting until 2026-11-01T07:00:00.000Z/);
    clock.advance(30 * MINUTE);
    const second = await drain(b, "getOrders");
    expect(second.ok).toBe(5);
    // 1 November has 25 hours there: the next day starts at 08:00 UTC (PST, UTC−8), not at 07:00.
    expect(second.err?.retryAfterMs).toBe(25 * HOUR);
    clock.set("2026-11-02T07:30:00Z");
    expect((await drain(b, "getOrders")).ok).toBe(0);
    clock.set("2026-11-02T08:00:00Z");
    expect((await drain(b, "getOrders")).ok).toBe(5);
    await b.release();
  });

  it("a per-operation daily quota (eBay per API) limits only its operations, which share it", async () => {
    clock.set("2026-06-01T13:00:00Z");
    const { b } = await budget([
      {
        type: "fixed_window",
        window: "day",
        limit: 3,
        operations: ["getOrders", "getOrder"],
        timeZone: "America/Los_Angeles",
      },
    ]);
    await b.spend("getOrders");
    await b.spend("getOrder");
    await b.spend("getOrders");
    const err = await b.spend("getOrder").catch((e) => e);
    expect(err.message).toMatch(/per-day limit for getOrders, getOrder is used up/);
    expect((await drain(b, "getInventoryItem", 200)).ok).toBe(200);
    await b.release();
  });

  it("leases a block from a minute window that ends with the minute, and gives unused calls back", async () => {
    clock.set("2026-06-01T14:00:59Z");
    const { c, b, again } = await budget([{ type: "fixed_window", window: "minute", limit: 600 }]);
    const row = async () =>
      (
        await ctx.db
          .select()
          .from(rateLimits)
          .where(and(eq(rateLimits.connectionId, c.id)))
      )[0];
    await b.spend("getOrder");
    expect(await row()).toMatchObject({ used: 25, windowStart: new Date("2026-06-01T14:00:00Z") });
    // The other 24 leased calls belong to 14:00; at 14:01 a new block is taken from the new window.
    clock.advance(2_000);
    await b.spend("getOrder");
    expect(await row()).toMatchObject({ used: 25, windowStart: new Date("2026-06-01T14:01:00Z") });
    // Another process gets all but what is leased here; after release the rest, and never more than 600.
    const other = again();
    expect((await drain(other, "getOrder")).ok).toBe(575);
    await b.release();
    expect((await row())?.used).toBe(576);
    expect((await drain(other, "getOrder")).ok).toBe(24);
    await other.release();
    expect((await row())?.used).toBe(600);
  });

  it("keeps the intake reserve in windows too", async () => {
    clock.set("2026-06-01T15:00:00Z");
    const { b, again } = await budget(
      [{ type: "fixed_window", window: "minute", limit: 200, operations: ["batch"] }],
      "stock",
    );
    const stock = await drain(b, "batch");
    expect(stock.ok).toBe(160);
    expect(stock.err?.message).toMatch(/per-minute limit for batch \(the rest is kept for new orders\)/);
    await b.release();
    expect((await drain(again("orders"), "batch")).ok).toBe(40);
  });
});

describe("budget status", () => {
  it("shows every limit beside the daily budget: what is counted, what is left, when it starts again", async () => {
    clock.set("2026-11-01T12:00:00Z");
    const { c, m, b } = await budget([
      { type: "fixed_window", window: "day", limit: 5, timeZone: "America/Los_Angeles" },
      { type: "rolling_window", windowMs: 24 * HOUR, limit: 100 },
      getOrders,
    ]);
    for (let i = 0; i < 3; i++) await b.spend("getOrders");
    await b.observe("getOrders", { retryAfterMs: 5_000 });
    const s = await budgetStatus(ctx, c, m, clock.now());
    expect(s.limits).toEqual([
      {
        kind: "window",
        label: "day (America/Los_Angeles)",
        operations: null,
        limit: 5,
        used: 3,
        remaining: 2,
        resetsAt: new Date("2026-11-02T08:00:00Z"),
        blockedUntil: new Date("2026-11-01T12:00:05Z"),
      },
      {
        kind: "rolling",
        label: "rolling 24 h",
        operations: null,
        limit: 100,
        used: 3,
        remaining: 97,
        resetsAt: null,
        blockedUntil: new Date("2026-11-01T12:00:05Z"),
      },
      {
        kind: "bucket",
        label: "0.0167/s",
        operations: ["getOrders"],
        limit: 20,
        used: 3,
        remaining: 17,
        resetsAt: null,
        blockedUntil: new Date("2026-11-01T12:00:05Z"),
      },
    ]);
    await b.release();
  });
});

describe("feedback from the marketplace", () => {
  it("remaining calls tighten the window they are about, and never loosen it", async () => {
    clock.set("2026-06-01T16:00:00Z");
    const { b, again } = await budget(
      [
        { type: "fixed_window", window: "second", limit: 10 },
        { type: "rolling_window", windowMs: 24 * HOUR, limit: 10_000 },
      ],
      "orders",
      0,
    );
    await b.spend("getReceipts");
    await b.observe("getReceipts", { remaining: 3, limit: 10_000 });
    clock.advance(1_000);
    const left = await drain(b, "getReceipts");
    expect(left.ok).toBe(3);
    expect(left.err?.message).toMatch(/limit of 10000 calls per rolling 24 h/);
    await b.observe("getReceipts", { remaining: 9_000, limit: 10_000 });
    clock.advance(1_000);
    expect((await drain(again(), "getReceipts")).ok).toBe(0);
    await b.release();
  });

  it("a smaller window size stated by the marketplace replaces the manifest's, never a larger one", async () => {
    clock.set("2026-06-01T16:30:00Z");
    const { b } = await budget([
      { type: "fixed_window", window: "hour", limit: 100, operations: ["getOrders"] },
    ]);
    await b.observe("getOrders", { limit: 50 });
    expect((await drain(b, "getOrders")).ok).toBe(50);
    clock.advance(HOUR);
    await b.observe("getOrders", { limit: 500 });
    expect((await drain(b, "getOrders")).ok).toBe(100);
    await b.release();
  });

  it("a rate header (x-amzn-RateLimit-Limit) slows the bucket down, never beyond the manifest", async () => {
    clock.set("2026-06-01T17:00:00Z");
    const { b } = await budget([
      { type: "token_bucket", ratePerSecond: 1, burst: 20, operations: ["getOrders"] },
    ]);
    expect((await drain(b, "getOrders")).ok).toBe(20);
    await b.observe("getOrders", { ratePerSecond: 0.0167 });
    clock.advance(10_000);
    const slow = await drain(b, "getOrders");
    expect(slow.ok).toBe(0);
    expect(slow.err?.retryAfterMs).toBeGreaterThan(49_000);
    clock.advance(50_000);
    expect((await drain(b, "getOrders")).ok).toBe(1);
    await b.observe("getOrders", { ratePerSecond: 5 });
    clock.advance(2_000);
    expect((await drain(b, "getOrders")).ok).toBe(2);
    await b.release();
  });

  it("Retry-After holds the operation and its limits back in every process, then lets go", async () => {
    clock.set("2026-06-01T17:30:00Z");
    const { b, again } = await budget([
      { type: "token_bucket", ratePerSecond: 5, burst: 10, operations: ["getOrders"] },
    ]);
    await b.spend("getOrders");
    await b.spend("confirmShipment");
    await b.observe("getOrders", { retryAfterMs: 30_000 });
    const here = await b.spend("getOrders").catch((e) => e);
    expect(here.retryAfterMs).toBe(30_000);
    clock.advance(10_000);
    const elsewhere = await again()
      .spend("getOrders")
      .catch((e) => e);
    expect(isMarketplaceError(elsewhere) && elsewhere.kind).toBe("rate_limited");
    expect(elsewhere.retryAfterMs).toBe(20_000);
    await b.spend("confirmShipment");
    clock.advance(20_000);
    await again().spend("getOrders");
    await b.spend("getOrders");
    await b.release();
  });

  it("remaining calls of the daily budget count in api_usage when no window of the manifest covers it", async () => {
    clock.set("2026-06-01T18:00:00Z");
    const c = await connection();
    const m = { ...bricklinkManifest };
    const b = createBudget(ctx, { ...c, dailyBudget: 100 }, m, "orders");
    await b.spend("getOrders");
    await b.observe("getOrders", { remaining: 10 });
    const left = await drain(b, "getOrders");
    expect(left.ok).toBe(10);
    expect(left.err?.message).toMatch(/daily API budget/);
    await b.release();
  });

  it("feedback the shared counts already hold costs no round trip", async () => {
    clock.set("2026-06-01T18:30:00Z");
    const { b } = await budget([
      { type: "fixed_window", window: "minute", limit: 600 },
      { type: "token_bucket", ratePerSecond: 1, burst: 20, operations: ["getOrders"] },
    ]);
    const db = ctx.db as unknown as { transaction: (...a: unknown[]) => unknown };
    const original = db.transaction;
    let transactions = 0;
    db.transaction = (...a: unknown[]) => {
      transactions++;
      return original.apply(ctx.db, a);
    };
    try {
      await b.spend("getOrder");
      await b.spend("getOrders");
      transactions = 0;
      await b.observe("getOrder", {});
      await b.observe("getOrder", { remaining: 598, limit: 600 });
      await b.observe("getOrders", { ratePerSecond: 0.5 });
      expect(transactions).toBe(1);
      await b.observe("getOrders", { ratePerSecond: 0.5 });
      expect(transactions).toBe(1);
      // Another client used most of the quota: that is new, and is counted.
      await b.observe("getOrder", { remaining: 100, limit: 600 });
      expect(transactions).toBe(2);
    } finally {
      db.transaction = original;
    }
    expect((await drain(b, "getOrder")).ok).toBe(100);
    await b.release();
  });

  it("refuses feedback that is not a figure, naming the field", async () => {
    const { b } = await budget([getOrders]);
    await expect(b.observe("getOrders", { remaining: -1 })).rejects.toThrow(
      /remaining must be a number of at least 0, got -1/,
    );
    await expect(b.observe("getOrders", { ratePerSecond: Number.NaN })).rejects.toThrow(
      /ratePerSecond must be a positive/,
    );
    await expect(b.observe("getOrders", { resetsAt: new Date("nope") })).rejects.toThrow(
      /resetsAt must be a valid date/,
    );
    await expect(b.spend("getOrders", 21)).rejects.toThrow(/21 calls of getOrders at once can never fit/);
  });
});
