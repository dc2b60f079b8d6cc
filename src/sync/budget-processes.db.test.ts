import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ManualClock,
  onPostgres,
  type TestContext,
  testContext,
  testDatabase,
} from "../../test/helpers/db.ts";
import { freshPgDatabase } from "../../test/helpers/load-tools.ts";
import { isMarketplaceError } from "../core/errors.ts";
import { openDatabase } from "../db/connection.ts";
import { createAccount } from "../db/repos/accounts.ts";
import { insertConnection } from "../db/repos/connections.ts";
import { bricklinkManifest } from "../marketplaces/bricklink/manifest.ts";
import type { MarketplaceManifest, RateLimit } from "../marketplaces/types.ts";
import { type CountedBudget, createBudget } from "./budget.ts";

// Two application contexts on one database, as two worker processes: on PostgreSQL each has its own pool.
const clock = new ManualClock("2026-06-01T10:00:00Z");
let one: TestContext;
let two: TestContext;
let dropDatabase: (() => Promise<void>) | null = null;
beforeAll(async () => {
  if (onPostgres) {
    const fresh = await freshPgDatabase();
    dropDatabase = fresh.drop;
    one = await testContext({ clock, database: await openDatabase({ databaseUrl: fresh.url, poolSize: 6 }) });
    two = await testContext({ clock, database: await openDatabase({ databaseUrl: fresh.url, poolSize: 6 }) });
  } else {
    const database = await testDatabase();
    one = await testContext({ clock, database });
    two = await testContext({ clock, database });
  }
});
afterAll(async () => {
  if (onPostgres) {
    await two.close();
    await one.close();
    await dropDatabase?.();
  } else {
    await two.events.stop();
    await one.close();
  }
});

const manifest = (limits: RateLimit[]): MarketplaceManifest => ({
  ...bricklinkManifest,
  rateLimit: { limits, orderIntakeReserve: 0.2, defaultDailyBudget: null },
});

let n = 0;
async function connectionId() {
  n++;
  const a = await createAccount(one.db, { name: `p${n}`, slug: `budget-processes-${n}` });
  const c = await insertConnection(one.db, one.box, {
    accountId: a.id,
    marketplace: "bricklink",
    name: "M",
    baseUrl: "http://127.0.0.1:1",
    config: {},
    secrets: {},
  });
  return c;
}

/** Several workers per process spending at once until each is refused; returns the calls let through. */
async function race(budgets: CountedBudget[], operation: string, workersEach = 4): Promise<number> {
  let total = 0;
  await Promise.all(
    budgets.flatMap((b) =>
      Array.from({ length: workersEach }, async () => {
        for (;;) {
          try {
            await b.spend(operation);
            total++;
          } catch (err) {
            if (isMarketplaceError(err) && err.kind === "rate_limited") return;
            throw err;
          }
        }
      }),
    ),
  );
  return total;
}

describe(`two processes sharing one budget (${onPostgres ? "PostgreSQL" : "PGlite"})`, () => {
  it("share one token bucket and never exceed it", async () => {
    clock.set("2026-06-01T10:00:00Z");
    const c = await connectionId();
    const m = manifest([
      { type: "token_bucket", ratePerSecond: 0.0167, burst: 20, operations: ["getOrders"] },
    ]);
    const budgets = [createBudget(one, c, m, "orders"), createBudget(two, c, m, "orders")];
    expect(await race(budgets, "getOrders")).toBe(20);
    clock.advance(60_000);
    expect(await race(budgets, "getOrders")).toBe(1);
    clock.advance(5 * 60_000);
    expect(await race(budgets, "getOrders")).toBe(5);
    for (const b of budgets) await b.release();
  });

  it("share a minute window leased in blocks: every call is counted once, and the limit holds", async () => {
    clock.set("2026-06-01T11:00:00Z");
    const c = await connectionId();
    const m = manifest([
      { type: "fixed_window", window: "minute", limit: 600 },
      { type: "fixed_window", window: "minute", limit: 200, operations: ["batch"] },
    ]);
    const budgets = [createBudget(one, c, m, "orders"), createBudget(two, c, m, "orders")];
    const batch = await race(budgets, "batch");
    // Blocks still leased by the other process are not lost: released, they can be spent.
    expect(batch).toBeLessThanOrEqual(200);
    for (const b of budgets) await b.release();
    const batchTotal = batch + (await race(budgets, "batch"));
    expect(batchTotal).toBe(200);
    for (const b of budgets) await b.release();
    const rest = await race(budgets, "getOrder");
    for (const b of budgets) await b.release();
    const more = await race(budgets, "getOrder");
    expect(batchTotal + rest + more).toBe(600);
    for (const b of budgets) await b.release();
    // The next minute is a new window for both.
    clock.advance(60_000);
    const next = await race(budgets, "batch");
    for (const b of budgets) await b.release();
    expect(next + (await race(budgets, "batch"))).toBe(200);
    for (const b of budgets) await b.release();
  });
});
