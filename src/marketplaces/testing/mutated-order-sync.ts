import { and, eq, sql } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testContext } from "../../../test/helpers/db.ts";
import { createAccount } from "../../db/repos/accounts.ts";
import { insertConnection } from "../../db/repos/connections.ts";
import { orders, syncRuns } from "../../db/schema.ts";
import { JobQueue } from "../../jobs/queue.ts";
import { requestSync, runSync } from "../../sync/engine.ts";

/** How one order's answer on the simulator changes shape, and the field the failure must name. */
export interface MutationCase<T> {
  name: string;
  field: string;
  apply(order: T): void;
}

/**
 * The simulator serves one order whose answer changed shape; a full sync fails just that order
 * with contract_changed naming the field, stores every other order with its lines, and leaves no
 * order without its lines. ORDERHUB_PROPERTY_RUNS raises the number of cases (long mode).
 */
export function describeMutatedOrderSync<S extends { baseUrl: string; close(): Promise<void> }, T>(o: {
  marketplace: "bricklink" | "brickowl";
  displayName: string;
  /** Order numbers are this prefix, a dash and the marketplace's order id. */
  prefix: string;
  startSimulator(): Promise<S>;
  secrets(sim: S): Record<string, string>;
  /** The simulator's orders a case may change (given the numbers a clean sync stored). */
  candidates(sim: S, stored: string[]): T[];
  externalId(order: T): string;
  /** Takes a copy of what a case may change; the returned function puts it back. */
  keep(order: T): () => void;
  cases: MutationCase<T>[];
}): void {
  const runs = Math.max(6, Math.ceil((Number(process.env.ORDERHUB_PROPERTY_RUNS) || 300) / 15));
  let ctx: TestContext;
  let queue: JobQueue;
  let sim: S;
  let seq = 0;

  beforeAll(async () => {
    ctx = await testContext();
    queue = await JobQueue.start(ctx, { work: false });
    await queue.work("sync.run", async (d) => {
      await runSync(ctx, Number(d.runId), { queue });
    });
    sim = await o.startSimulator();
  });
  afterAll(async () => {
    await queue.stop();
    await sim.close();
    await ctx.close();
  });

  /** A new account with its own connection to the simulator, fully synced. */
  async function freshSync() {
    const account = await createAccount(ctx.db, {
      name: `${o.prefix} ${++seq}`,
      slug: `${o.prefix.toLowerCase()}-prop-${seq}`,
    });
    const c = await insertConnection(ctx.db, ctx.box, {
      accountId: account.id,
      marketplace: o.marketplace,
      name: o.displayName,
      baseUrl: sim.baseUrl,
      config: {},
      secrets: o.secrets(sim),
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
        // Qualified: inside the subquery an unqualified "id" would be the line's own id.
        lines: sql<number>`(select count(*) from order_lines l where l.order_id = "orders"."id")::int`,
        details: orders.details,
      })
      .from(orders)
      .where(and(eq(orders.accountId, account.id)));
    return { run, stored };
  }

  describe(`${o.displayName}: a mutated order fails alone, named, and nothing is half-written`, () => {
    it("only that order fails with contract_changed naming the field; the others arrive with their lines", {
      timeout: 600_000,
    }, async () => {
      const baseline = await freshSync();
      expect(baseline.run.failed).toBe(0);
      const all = baseline.stored.map((s) => s.number).sort();
      const withoutLines = new Set(baseline.stored.filter((s) => s.lines === 0).map((s) => s.number));
      const candidates = o.candidates(sim, all);
      expect(candidates.length).toBeGreaterThan(2);

      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...o.cases), fc.nat(), async (c, n) => {
          const target = candidates[n % candidates.length]!;
          const restore = o.keep(target);
          c.apply(target);
          try {
            const { run, stored } = await freshSync();
            const number = `${o.prefix}-${o.externalId(target)}`;
            const label = `${c.name} on ${number}: ${JSON.stringify(run.failures)}`;
            const failures = run.failures as { externalId: string; kind: string; reason: string }[];
            expect(failures, label).toHaveLength(1);
            expect(failures[0]!.externalId, label).toBe(o.externalId(target));
            expect(failures[0]!.kind, label).toBe("contract_changed");
            expect(failures[0]!.reason, label).toContain(c.field);
            // The failed order is at most its summary row from the list (details pending, no lines).
            const whole = stored.filter((s) => s.number !== number || s.details !== "pending");
            expect(whole.map((s) => s.number).sort(), label).toEqual(all.filter((x) => x !== number));
            const summary = stored.find((s) => s.number === number);
            if (summary) expect(summary.lines, `${label}: ${number} is half-written`).toBe(0);
            for (const s of whole)
              if (s.lines === 0)
                expect(withoutLines.has(s.number), `${label}: ${s.number} has no lines`).toBe(true);
          } finally {
            restore();
          }
        }),
        { numRuns: runs },
      );
    });
  });
}
