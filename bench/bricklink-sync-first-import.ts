/**
 * First import of a big BrickLink store on a daily budget, against the simulator: a 9,000-order store
 * with 50 open orders and a 5,000-call budget. Measures the calls and the time until every order is
 * at least listed (goal: 1 call) and until every open order is whole (goal: 1 + 2 × 50 calls,
 * seconds), then what the first run fetched of the history and when the rest will be in.
 *
 *   npm run bench -- bench/bricklink-sync-first-import.ts [--orders 9000] [--open 50] [--budget 5000] [--lines 5] [--db pglite|postgres|both]
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { Settings } from "../src/config.ts";
import { createAccount } from "../src/db/repos/accounts.ts";
import { getConnection, insertConnection } from "../src/db/repos/connections.ts";
import type { JobQueue } from "../src/jobs/queue.ts";
import { bricklinkAdapter } from "../src/marketplaces/bricklink/adapter.ts";
import { startBrickLinkSimulator } from "../src/marketplaces/bricklink/simulator/server.ts";
import { startServer } from "../src/server.ts";
import { requestSync, runSync } from "../src/sync/engine.ts";
import { detailsBacklog } from "../src/sync/summaries.ts";
import { testSettings } from "../test/helpers/db.ts";
import { below, exactly, options, writeSummary } from "./lib/report.ts";

const opts = options({
  orders: ["9000", "1500"],
  open: ["50", "20"],
  budget: ["5000", "1000"],
  lines: ["5", "3"],
  db: ["pglite", "pglite"],
});
const ORDERS = Number(opts.orders);
const OPEN = Number(opts.open);
const BUDGET = Number(opts.budget);
const LINES = Number(opts.lines);
const WHICH = opts.db;
const PG_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** Statuses that need the seller's action, and closed ones, as a real store has them. */
const OPEN_STATUSES = ["PENDING", "UPDATED", "PROCESSING", "READY", "PAID", "PACKED", "OCR"];
const CLOSED_STATUSES = ["COMPLETED", "COMPLETED", "COMPLETED", "RECEIVED", "SHIPPED", "PURGED", "CANCELLED"];

function settingsFor(dataDir: string, databaseUrl: string | null): Settings {
  return { ...testSettings({ logLevel: "error", databaseUrl, workerConcurrency: 2 }), dataDir };
}

async function bench(kind: "pglite" | "postgres") {
  const dataDir = mkdtempSync(join(tmpdir(), "orderhub-blfirst-"));
  let url: string | null = null;
  let admin: pg.Client | null = null;
  let dbName = "";
  if (kind === "postgres") {
    dbName = `orderhub_bench_${randomBytes(4).toString("hex")}`;
    admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`create database "${dbName}"`);
    const u = new URL(PG_URL);
    u.pathname = `/${dbName}`;
    url = u.toString();
  }
  const sim = await startBrickLinkSimulator({ seed: 9, orders: ORDERS, lines: LINES, dailyLimit: BUDGET });
  // Every order a sale the list shows (none filed), OPEN of them spread over the store's history.
  const all = [...sim.control.state.orders.values()];
  const openIds = new Set<number>();
  all.forEach((o, i) => {
    o.direction = "in";
    o.order.is_filed = false;
    const open = i % Math.floor(all.length / OPEN) === 0 && openIds.size < OPEN;
    o.order.status = open
      ? OPEN_STATUSES[i % OPEN_STATUSES.length]!
      : CLOSED_STATUSES[i % CLOSED_STATUSES.length]!;
    if (open) openIds.add(o.order.order_id);
  });
  const server = await startServer(settingsFor(dataDir, url), { role: "all" });
  const ctx = server.ctx;
  try {
    const account = await createAccount(ctx.db, { name: "Bench", slug: "bench" });
    const conn = await insertConnection(ctx.db, ctx.box, {
      accountId: account.id,
      marketplace: "bricklink",
      name: "BrickLink",
      baseUrl: sim.baseUrl,
      config: {},
      secrets: { ...sim.credentials },
      dailyBudget: BUDGET,
    });
    // Moments seen through the live events: every order listed, every open order whole.
    const t0 = performance.now();
    const calls0 = sim.control.calls();
    const externalOf = new Map<number, number>();
    const openWhole = new Set<number>();
    let listed: { ms: number; calls: number } | null = null;
    let openDone: { ms: number; calls: number } | null = null;
    const off = ctx.events.subscribe(account.id, (e) => {
      if (e.type === "order.created") {
        externalOf.set(e.orderId, Number(e.number.replace(/^BL-/, "")));
        if (!listed && externalOf.size === ORDERS)
          listed = { ms: performance.now() - t0, calls: sim.control.calls() - calls0 };
      }
      // An open order's details completing its summary row.
      if (e.type === "order.updated" && openIds.has(externalOf.get(e.orderId) ?? -1)) {
        openWhole.add(e.orderId);
        if (!openDone && openWhole.size === openIds.size)
          openDone = { ms: performance.now() - t0, calls: sim.control.calls() - calls0 };
      }
    });
    const foreground = { send: async () => null } as unknown as JobQueue;
    const { runId } = await requestSync(ctx, foreground, {
      accountId: account.id,
      connectionId: conn.id,
      trigger: "schedule",
      mode: "incremental",
    });
    const run = await runSync(ctx, runId);
    const runMs = performance.now() - t0;
    off();
    const fresh = (await getConnection(ctx.db, account.id, conn.id))!;
    const backlog = await detailsBacklog(ctx, fresh, bricklinkAdapter);
    const l = listed as { ms: number; calls: number } | null;
    const o = openDone as { ms: number; calls: number } | null;
    if (!l || !o)
      throw new Error(
        `not every order was listed (${externalOf.size}) or open order whole (${openWhole.size})`,
      );
    const summary = {
      db: kind,
      store: { orders: ORDERS, open: openIds.size, linesPerOrder: LINES, dailyBudget: BUDGET },
      everyOrderListed: { calls: l.calls, ms: Math.round(l.ms), goalCalls: 1 },
      everyOpenOrderWhole: { calls: o.calls, ms: Math.round(o.ms), goalCalls: 1 + 2 * openIds.size },
      firstRun: {
        state: run.state,
        ms: Math.round(runMs),
        apiCalls: run.apiCalls,
        historyOrdersFetched: (run.apiCalls - 1 - 2 * openIds.size) / 2,
      },
      backlog: {
        pending: backlog.pending,
        callsPerDay: backlog.callsPerDay,
        estimatedDoneAt: backlog.estimatedDoneAt?.toISOString() ?? null,
      },
    };
    console.log(
      `\n== ${kind}: ${ORDERS.toLocaleString("en")} orders, ${openIds.size} open, budget ${BUDGET}/day`,
    );
    console.log(`every order listed: ${l.calls} call(s), ${Math.round(l.ms)} ms (goal 1 call)`);
    console.log(
      `every open order whole: ${o.calls} calls, ${(o.ms / 1000).toFixed(1)} s (goal ${1 + 2 * openIds.size} calls, seconds)`,
    );
    console.log(
      `first run: ${run.state}, ${run.apiCalls} calls, ${(runMs / 1000).toFixed(1)} s; history waiting: ${backlog.pending} orders, ${backlog.callsPerDay} calls a day for them, done by ${summary.backlog.estimatedDoneAt ?? "never at this budget"}`,
    );
    writeSummary(
      `bricklink-sync-first-import-${kind}`,
      summary,
      {
        bench: "bricklink-sync-first-import",
        db: kind,
        sizes: `${ORDERS.toLocaleString("en")} orders, ${openIds.size} open, ${BUDGET} calls/day`,
      },
      [
        { name: "every order listed: calls", value: l.calls, unit: "calls", goal: exactly(1) },
        { name: "every order listed: time", value: Math.round(l.ms), unit: "ms" },
        {
          name: "every open order whole: calls",
          value: o.calls,
          unit: "calls",
          goal: exactly(1 + 2 * openIds.size),
        },
        { name: "every open order whole: time", value: Math.round(o.ms), unit: "ms", goal: below(60_000) },
        {
          name: "first run",
          value: Math.round(runMs),
          unit: "ms",
          detail: `${run.apiCalls} calls; ${backlog.pending} orders wait for details`,
        },
      ],
    );
  } finally {
    await server.stop();
    await sim.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (admin) {
      await admin.query(`drop database if exists "${dbName}" with (force)`);
      await admin.end();
    }
  }
}

for (const kind of WHICH === "both" ? (["pglite", "postgres"] as const) : [WHICH as "pglite" | "postgres"]) {
  await bench(kind);
}
