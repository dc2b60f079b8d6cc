import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock, type TestContext, testContext } from "../../test/helpers/db.ts";
import { isMarketplaceError } from "../core/errors.ts";
import { createAccount } from "../db/repos/accounts.ts";
import { insertConnection } from "../db/repos/connections.ts";
import { bricklinkManifest } from "../marketplaces/bricklink/manifest.ts";
import { budgetStatus, createBudget } from "./budget.ts";

let ctx: TestContext;
const clock = new ManualClock("2026-06-01T10:30:00Z");
beforeAll(async () => {
  ctx = await testContext({ clock });
});
afterAll(async () => {
  await ctx.close();
});

let n = 0;
async function connection(dailyBudget: number) {
  n++;
  const a = await createAccount(ctx.db, { name: `b${n}`, slug: `budget-${n}` });
  return insertConnection(ctx.db, ctx.box, {
    accountId: a.id,
    marketplace: "bricklink",
    name: "BL",
    baseUrl: "http://127.0.0.1:1",
    config: {},
    secrets: {},
    dailyBudget,
  });
}

describe("API budget", () => {
  it("is shared by every budget of a connection (as by several processes) and persisted per hour and category", async () => {
    const c = await connection(100);
    const a = createBudget(ctx, c, bricklinkManifest, "orders");
    const b = createBudget(ctx, c, bricklinkManifest, "orders");
    for (let i = 0; i < 30; i++) await a.spend("getOrder");
    for (let i = 0; i < 25; i++) await b.spend("getOrder");
    await a.release();
    await b.release();
    const s = await budgetStatus(ctx, c, bricklinkManifest, clock.now());
    expect(s).toMatchObject({
      limit: 100,
      usedToday: 55,
      remainingToday: 45,
      resetsAt: new Date("2026-06-02T00:00:00Z"),
    });
    expect(s.byHour).toHaveLength(24);
    expect(s.byHour.at(-1)).toMatchObject({ calls: 55, byCategory: { orders: 55 } });
  });

  it("keeps a reserve for order intake: stock work stops first, orders may use the rest", async () => {
    const c = await connection(100); // reserve 20 %: other work stops at 80
    const stock = createBudget(ctx, c, bricklinkManifest, "stock");
    let spent = 0;
    const err = await (async () => {
      for (;;) {
        await stock.spend("updateInventory");
        spent++;
      }
    })().catch((e) => e);
    expect(spent).toBe(80);
    expect(isMarketplaceError(err) && err.kind).toBe("rate_limited");
    expect(err.message).toMatch(/kept for new orders/);
    expect(err.retryAfterMs).toBe(Date.parse("2026-06-02T00:00:00Z") - clock.now().getTime());
    await stock.release();
    const orders = createBudget(ctx, c, bricklinkManifest, "orders");
    for (let i = 0; i < 20; i++) await orders.spend("getOrder");
    await expect(orders.spend("getOrder")).rejects.toThrow(/daily API budget is used up/);
    await orders.release();
    expect((await budgetStatus(ctx, c, bricklinkManifest, clock.now())).usedToday).toBe(100);
  });

  it("starts again the next day", async () => {
    const c = await connection(5);
    const b = createBudget(ctx, c, bricklinkManifest, "orders");
    for (let i = 0; i < 5; i++) await b.spend("getOrder");
    await expect(b.spend("getOrder")).rejects.toThrow();
    clock.advance(24 * 3_600_000);
    await b.spend("getOrder");
    await b.release();
    expect((await budgetStatus(ctx, c, bricklinkManifest, clock.now())).usedToday).toBe(1);
  });
});
