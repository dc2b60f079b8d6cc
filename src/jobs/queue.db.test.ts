import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onPostgres, type TestContext, testContext, testSettings } from "../../test/helpers/db.ts";
import { createContext } from "../context.ts";
import { accounts } from "../db/schema.ts";
import { JobQueue } from "./queue.ts";

let ctx: TestContext;
let queue: JobQueue;
const ran: string[] = [];

beforeAll(async () => {
  ctx = await testContext();
  queue = await JobQueue.start(ctx, { work: false });
  await queue.work("outbox.dispatch", async (d) => {
    ran.push(String(d.tag));
  });
});
afterAll(async () => {
  await queue.stop();
  await ctx.close();
});

describe("job queue", () => {
  it("a job sent inside a transaction that rolls back never runs; a committed one does", async () => {
    await expect(
      ctx.db.transaction(async (tx) => {
        await tx.insert(accounts).values({ name: "Rolled back", slug: "rolled-back" });
        await queue.send("outbox.dispatch", { tag: "rolled-back" }, { tx });
        throw new Error("abort the transaction");
      }),
    ).rejects.toThrow("abort");
    await ctx.db.transaction(async (tx) => {
      await tx.insert(accounts).values({ name: "Committed", slug: "committed" });
      await queue.send("outbox.dispatch", { tag: "committed" }, { tx });
    });
    await queue.runUntilIdle();
    expect(ran).toEqual(["committed"]);
    const rows = await ctx.db.select({ slug: accounts.slug }).from(accounts);
    expect(rows.map((r) => r.slug)).not.toContain("rolled-back");
  });

  it("a failing job is retried later, not lost", async () => {
    let calls = 0;
    await queue.work("sync.run", async () => {
      calls++;
      throw new Error("boom");
    });
    await queue.send("sync.run", { x: 1 });
    const r = await queue.runUntilIdle();
    expect(r).toMatchObject({ ran: 1, failed: 1 });
    expect(calls).toBe(1);
    const { rows } = await ctx.database.sql.executeSql(
      "select state from pgboss.job where name = 'sync.run'",
      [],
    );
    expect(rows).toEqual([{ state: "retry" }]);
  });

  it("a look-again request repeated by every sweep leaves one waiting job; an earlier time adds one", async () => {
    const waiting = async () =>
      (
        await ctx.database.sql.executeSql(
          "select start_after from pgboss.job where name = 'outbox.dispatch' and state = 'created' order by start_after",
          [],
        )
      ).rows.map((r) => new Date((r as { start_after: string }).start_after).getTime());
    const inAnHour = new Date(Date.now() + 3_600_000);
    expect(await queue.sendUnlessWaiting("outbox.dispatch", inAnHour)).not.toBeNull();
    for (let i = 0; i < 50; i++)
      expect(await queue.sendUnlessWaiting("outbox.dispatch", inAnHour)).toBeNull();
    // A later time is covered by the job already waiting (its run looks again at the end).
    expect(
      await queue.sendUnlessWaiting("outbox.dispatch", new Date(inAnHour.getTime() + 60_000)),
    ).toBeNull();
    const inAMinute = new Date(Date.now() + 60_000);
    expect(await queue.sendUnlessWaiting("outbox.dispatch", inAMinute)).not.toBeNull();
    expect(await waiting()).toEqual([inAMinute.getTime(), inAnHour.getTime()]);
    // "Now" (the database's now): a waiting job due later does not cover it; one due now does.
    expect(await queue.sendUnlessWaiting("outbox.dispatch")).not.toBeNull();
    expect(await queue.sendUnlessWaiting("outbox.dispatch")).toBeNull();
    expect(await waiting()).toHaveLength(3);
    await ctx.database.sql.executeSql("delete from pgboss.job where name = 'outbox.dispatch'", []);
  });
});

describe.skipIf(onPostgres)("jobs survive a restart (PGlite data directory)", () => {
  it("a job sent before a restart runs after it, and a job left active by a dead process runs again", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "orderhub-jobs-"));
    const settings = testSettings({ dataDir });
    const c1 = await createContext(settings, {});
    const q1 = await JobQueue.start(c1, { work: false });
    await q1.send("outbox.dispatch", { tag: "before-restart" });
    await q1.send("outbox.dispatch", { tag: "was-active" });
    // Claim one as a crashed worker would have, then "die" without finishing it.
    await q1.boss.fetch("outbox.dispatch", { batchSize: 1 });
    await c1.database.close();

    const c2 = await createContext(settings, {});
    const q2 = await JobQueue.start(c2, { work: false });
    const got: string[] = [];
    await q2.work("outbox.dispatch", async (d) => {
      got.push(String(d.tag));
    });
    await q2.runUntilIdle();
    expect(got.sort()).toEqual(["before-restart", "was-active"]);
    await q2.stop();
    await c2.close();
  });
});

describe.skipIf(!onPostgres)("several workers on one PostgreSQL", () => {
  it("never run the same job twice", async () => {
    await ctx.db.execute(
      sql`create table if not exists job_effects (tag text primary key, worker int not null)`,
    );
    const workers = await Promise.all(
      [1, 2].map(() => JobQueue.start(ctx, { work: true, pollingIntervalSeconds: 0.5 })),
    );
    const dupes: string[] = [];
    let done = 0;
    await Promise.all(
      workers.map((w, i) =>
        w.work(
          "outbox.dispatch",
          async (d) => {
            const res = await ctx.db.execute(
              sql`insert into job_effects (tag, worker) values (${String(d.tag)}, ${i}) on conflict do nothing returning tag`,
            );
            if ((res as { rows: unknown[] }).rows.length === 0) dupes.push(String(d.tag));
            done++;
          },
          { concurrency: 3 },
        ),
      ),
    );
    for (let i = 0; i < 60; i++) await queue.send("outbox.dispatch", { tag: `job-${i}` });
    const deadline = Date.now() + 30_000;
    while (done < 60 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await Promise.all(workers.map((w) => w.stop()));
    expect(done).toBe(60);
    expect(dupes).toEqual([]);
    const byWorker = await ctx.db.execute(
      sql`select worker, count(*)::int as n from job_effects group by worker`,
    );
    expect((byWorker as { rows: unknown[] }).rows.length).toBeGreaterThanOrEqual(1);
  });
});
