import { and, eq, sql } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testContext } from "../../../test/helpers/db.ts";
import { createAccount } from "../../db/repos/accounts.ts";
import { insertConnection } from "../../db/repos/connections.ts";
import { orders, syncRuns } from "../../db/schema.ts";
import { JobQueue } from "../../jobs/queue.ts";
import { requestSync, runSync } from "../../sync/engine.ts";
import { type BrickLinkSimulator, startBrickLinkSimulator } from "./simulator/server.ts";
import type { BrickLinkOrder, BrickLinkOrderItem } from "./types.ts";

/**
 * The simulator serves one order whose answer changed shape; a full sync fails just that order
 * with contract_changed naming the field, stores every other order with its lines, and leaves no
 * order without its lines. ORDERHUB_PROPERTY_RUNS raises the number of cases (long mode).
 */
const RUNS = Math.max(6, Math.ceil((Number(process.env.ORDERHUB_PROPERTY_RUNS) || 300) / 15));

type Sim = { order: BrickLinkOrder; batches: BrickLinkOrderItem[][] };
type Loose = Record<string, unknown>;
/** Changes to one order's detail or items (the order list stays readable), and the field each must name. */
const CASES: { name: string; field: string; apply(o: Sim): void }[] = [
  {
    name: "negative quantity",
    field: "quantity",
    apply: (o) => {
      o.batches[0]![0]!.quantity = -2;
    },
  },
  {
    name: "quantity as text",
    field: "quantity",
    apply: (o) => {
      (o.batches[0]![0] as unknown as Loose).quantity = "7";
    },
  },
  {
    name: "unit price null",
    field: "unit_price",
    apply: (o) => {
      const it = o.batches[0]![0] as unknown as Loose;
      it.unit_price = null;
      delete it.unit_price_final;
    },
  },
  {
    name: "item without its item",
    field: "item",
    apply: (o) => {
      delete (o.batches[0]![0] as unknown as Loose).item;
    },
  },
  {
    name: "unknown currency",
    field: "currency_code",
    apply: (o) => {
      o.order.cost.currency_code = "€€";
    },
  },
  {
    name: "grand total not money",
    field: "grand_total",
    apply: (o) => {
      o.order.cost.grand_total = "lots";
    },
  },
  {
    name: "garbage order date",
    field: "date_ordered",
    apply: (o) => {
      o.order.date_ordered = "yesterday";
    },
  },
  {
    name: "shipping as a string",
    field: "shipping",
    apply: (o) => {
      (o.order as unknown as Loose).shipping = "by post";
    },
  },
  {
    name: "items not batches",
    field: "0",
    apply: (o) => {
      o.batches = [o.batches[0]![0] as never];
    },
  },
];

let ctx: TestContext;
let queue: JobQueue;
let sim: BrickLinkSimulator;
let seq = 0;

beforeAll(async () => {
  ctx = await testContext();
  queue = await JobQueue.start(ctx, { work: false });
  await queue.work("sync.run", async (d) => {
    await runSync(ctx, Number(d.runId), { queue });
  });
  sim = await startBrickLinkSimulator({ seed: 31, orders: 12 });
});
afterAll(async () => {
  await queue.stop();
  await sim.close();
  await ctx.close();
});

/** A new account with its own connection to the simulator, fully synced. */
async function freshSync() {
  const account = await createAccount(ctx.db, { name: `BL ${++seq}`, slug: `bl-prop-${seq}` });
  const c = await insertConnection(ctx.db, ctx.box, {
    accountId: account.id,
    marketplace: "bricklink",
    name: "BrickLink",
    baseUrl: sim.baseUrl,
    config: {},
    secrets: { ...sim.credentials },
  });
  const { runId } = await requestSync(ctx, queue, {
    accountId: account.id,
    connectionId: c.id,
    trigger: "manual",
    mode: "full",
  });
  await queue.runUntilIdle();
  const run = (await ctx.db.query.syncRuns.findFirst({ where: eq(syncRuns.id, runId) }))!;
  const stored = await ctx.db
    .select({
      number: orders.number,
      lines: sql<number>`(select count(*) from order_lines l where l.order_id = ${orders.id})::int`,
    })
    .from(orders)
    .where(and(eq(orders.accountId, account.id)));
  return { run, stored };
}

describe("BrickLink: a mutated order fails alone, named, and nothing is half-written", () => {
  it("only that order fails with contract_changed naming the field; the others arrive with their lines", {
    timeout: 600_000,
  }, async () => {
    const baseline = await freshSync();
    expect(baseline.run.failed).toBe(0);
    const all = baseline.stored.map((o) => o.number).sort();
    const withoutLines = new Set(baseline.stored.filter((o) => o.lines === 0).map((o) => o.number));
    const candidates = [...sim.control.state.orders.values()].filter(
      (o) => o.direction === "in" && !o.order.is_filed && o.batches.length > 0 && o.order.status !== "PURGED",
    );
    expect(candidates.length).toBeGreaterThan(2);

    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...CASES), fc.nat(), async (c, n) => {
        const target = candidates[n % candidates.length]!;
        const saved = structuredClone({ order: target.order, batches: target.batches });
        c.apply(target as Sim);
        try {
          const { run, stored } = await freshSync();
          const label = `${c.name} on BL-${target.order.order_id}: ${JSON.stringify(run.failures)}`;
          const failures = run.failures as { externalId: string; kind: string; reason: string }[];
          expect(failures, label).toHaveLength(1);
          expect(failures[0]!.externalId, label).toBe(String(target.order.order_id));
          expect(failures[0]!.kind, label).toBe("contract_changed");
          expect(failures[0]!.reason, label).toContain(c.field);
          const number = `BL-${target.order.order_id}`;
          expect(stored.map((o) => o.number).sort(), label).toEqual(all.filter((x) => x !== number));
          for (const o of stored)
            if (o.lines === 0)
              expect(withoutLines.has(o.number), `${label}: ${o.number} has no lines`).toBe(true);
        } finally {
          target.order = saved.order;
          target.batches = saved.batches;
        }
      }),
      { numRuns: RUNS },
    );
  });
});
