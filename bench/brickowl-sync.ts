/**
 * BrickOwl sync benchmark against the simulator: full sync of a 5,000-order store, incremental syncs
 * with 0 and 50 changed orders (API calls against the minimum possible), and the latency from an
 * order/notify call-out to the order being readable through the API. Prints its figures.
 *
 *   npm run bench -- bench/brickowl-sync.ts [--orders 5000] [--lines 8] [--notifies 20] [--db pglite|postgres|both] [--quick]
 *
 * BrickOwl allows 600 calls a minute, which Orderhub obeys by waiting. To measure Orderhub rather than
 * the waiting, the benchmark lifts that limit in its own process (the simulator too) and reports how
 * long the same calls take at 600 a minute next to the measured time.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { hashPassword } from "../src/auth/passwords.ts";
import { newToken, sha256 } from "../src/auth/tokens.ts";
import type { Settings } from "../src/config.ts";
import { createAccount } from "../src/db/repos/accounts.ts";
import { insertConnection } from "../src/db/repos/connections.ts";
import { insertUser } from "../src/db/repos/users.ts";
import { apiTokens } from "../src/db/schema.ts";
import type { JobQueue } from "../src/jobs/queue.ts";
import { brickowlManifest } from "../src/marketplaces/brickowl/manifest.ts";
import { startBrickOwlSimulator } from "../src/marketplaces/brickowl/simulator/server.ts";
import { startServer } from "../src/server.ts";
import { requestSync, runSync } from "../src/sync/engine.ts";
import { testSettings } from "../test/helpers/db.ts";
import { below, exactly, near, options, writeSummary } from "./lib/report.ts";

const opts = options({
  orders: ["5000", "300"],
  lines: ["8", "4"],
  notifies: ["20", "5"],
  db: ["both", "both"],
});
const ORDERS = Number(opts.orders);
const LINES = Number(opts.lines);
const NOTIFIES = Number(opts.notifies);
const WHICH = opts.db;
const PG_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const PER_MINUTE = 600;

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

// Lift BrickOwl's per-minute limit in this process only (see the header).
(brickowlManifest.rateLimit as unknown as { limits: unknown[] }).limits = [];

/** The test settings (demo off, quiet logs) on this data directory and database. */
function settingsFor(dataDir: string, databaseUrl: string | null, over: Partial<Settings> = {}): Settings {
  return { ...testSettings({ logLevel: "error", databaseUrl, workerConcurrency: 2, ...over }), dataDir };
}

async function bench(kind: "pglite" | "postgres") {
  const dataDir = mkdtempSync(join(tmpdir(), "orderhub-bobench-"));
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
  const notifyPort = 42_500 + Math.floor(Math.random() * 1000);
  // Orders placed hourly up to now, so the incremental look-back window holds the recent ones.
  const sim = await startBrickOwlSimulator({
    seed: 5,
    orders: ORDERS,
    lines: LINES,
    start: new Date(Date.now() - ORDERS * 3_600_000),
    perMinute: 1e9,
    notifyPort,
  });
  const server = await startServer(settingsFor(dataDir, url, { notifyPort: notifyPort }), {
    role: "all",
  });
  const ctx = server.ctx;
  try {
    const account = await createAccount(ctx.db, { name: "Bench", slug: "bench" });
    const conn = await insertConnection(ctx.db, ctx.box, {
      accountId: account.id,
      marketplace: "brickowl",
      name: "BrickOwl",
      baseUrl: sim.baseUrl,
      config: { storeId: sim.control.state.storeId },
      secrets: { apiKey: sim.apiKey },
    });
    const foreground = { send: async () => null } as unknown as JobQueue;
    const run = async (mode: "incremental" | "full") => {
      const before = sim.control.calls();
      const { runId } = await requestSync(ctx, foreground, {
        accountId: account.id,
        connectionId: conn.id,
        trigger: "manual",
        mode,
      });
      const t = performance.now();
      const r = await runSync(ctx, runId);
      return { ms: performance.now() - t, calls: sim.control.calls() - before, run: r };
    };
    const full = await run("full");
    const inc0 = await run("incremental");
    // 50 recent open orders move on (Payment Received/Processing → Shipped).
    const open = [...sim.control.state.orders.values()]
      .filter((o) => ["2", "3"].includes(String(o.order.status_id)))
      .sort((a, b) => Number(b.order.order_time) - Number(a.order.order_time))
      .slice(0, 50);
    for (const o of open) sim.control.setStatus(String(o.order.order_id), 5);
    const inc50 = await run("incremental");

    const user = await insertUser(ctx.db, {
      accountId: account.id,
      email: "bench@example.com",
      passwordHash: await hashPassword("benchmark pw"),
      role: "owner",
    });
    const token = newToken("oh_");
    await ctx.db.insert(apiTokens).values({
      accountId: account.id,
      userId: user.id,
      name: "bench",
      tokenHash: sha256(token),
      prefix: "oh_",
    });
    sim.control.state.notifyIp = "127.0.0.1";
    const latencies: number[] = [];
    for (let i = 0; i < NOTIFIES; i++) {
      const t = performance.now();
      const id = sim.control.createOrder({ lines: LINES });
      for (;;) {
        const res = await fetch(`${server.url}/api/orders/BO-${id}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        if (res.status === 200) break;
        if (performance.now() - t > 30_000) throw new Error(`order ${id} never arrived`);
        await new Promise((r) => setTimeout(r, 10));
      }
      latencies.push(performance.now() - t);
    }
    const minFull = 1 + 2 * ORDERS;
    const atLimit = (calls: number) => Math.round((calls / PER_MINUTE) * 60_000);
    const summary = {
      db: kind,
      store: { orders: ORDERS, linesPerOrder: LINES },
      fullSync: {
        ms: Math.round(full.ms),
        ordersPerSec: Math.round(ORDERS / (full.ms / 1000)),
        apiCalls: full.calls,
        minimum: minFull,
        ratio: Number((full.calls / minFull).toFixed(4)),
        msAt600PerMinute: atLimit(full.calls),
        created: full.run.created,
      },
      incremental0: { ms: Math.round(inc0.ms), apiCalls: inc0.calls, minimum: 1, ratio: inc0.calls / 1 },
      incremental50: {
        ms: Math.round(inc50.ms),
        apiCalls: inc50.calls,
        minimum: 1 + 2 * open.length,
        ratio: Number((inc50.calls / (1 + 2 * open.length)).toFixed(2)),
        updated: inc50.run.updated,
        listed: inc50.run.seen,
      },
      notifyToApi: {
        p50: Math.round(pct(latencies, 50)),
        p95: Math.round(pct(latencies, 95)),
        max: Math.round(Math.max(...latencies)),
        goal: "p95 < 2000 ms",
      },
    };
    console.log(`\n== ${kind}: BrickOwl store of ${ORDERS.toLocaleString("en")} orders × ~${LINES} lines`);
    console.log(
      `full sync: ${summary.fullSync.ms} ms, ${summary.fullSync.ordersPerSec} orders/s, ${full.calls} API calls (minimum ${minFull}, ratio ${summary.fullSync.ratio}); at 600 calls/min the calls alone take ${(summary.fullSync.msAt600PerMinute / 60_000).toFixed(1)} min`,
    );
    console.log(
      `incremental, 0 changed: ${inc0.calls} API calls (minimum 1, ratio ${summary.incremental0.ratio.toFixed(2)}), ${summary.incremental0.ms} ms, ${inc0.run.seen} orders listed`,
    );
    console.log(
      `incremental, ${open.length} changed: ${inc50.calls} API calls (minimum ${1 + 2 * open.length}, ratio ${summary.incremental50.ratio.toFixed(2)}), ${summary.incremental50.ms} ms, ${inc50.run.updated} updated`,
    );
    console.log(
      `order/notify → order readable via API: p50 ${summary.notifyToApi.p50} ms, p95 ${summary.notifyToApi.p95} ms, max ${summary.notifyToApi.max} ms (goal p95 < 2 s)`,
    );
    const min50 = 1 + 2 * open.length;
    writeSummary(
      `brickowl-sync-${kind}`,
      summary,
      {
        bench: "brickowl-sync",
        db: kind,
        sizes: `${ORDERS.toLocaleString("en")} orders × ~${LINES} lines, ${NOTIFIES} notifications`,
      },
      [
        {
          name: "full sync",
          value: summary.fullSync.ms,
          unit: "ms",
          detail: `at 600 calls/min the calls alone take ${(summary.fullSync.msAt600PerMinute / 60_000).toFixed(1)} min`,
        },
        { name: "full sync rate", value: summary.fullSync.ordersPerSec, unit: "orders/s" },
        {
          name: "full sync: calls ÷ minimum",
          value: summary.fullSync.ratio,
          unit: "",
          detail: `${full.calls.toLocaleString("en")} calls, minimum ${minFull.toLocaleString("en")}`,
          goal: near(1, 0.01, "a full 5,000-order list adds one listing per status"),
        },
        {
          name: "incremental, 0 changed: calls ÷ minimum",
          value: summary.incremental0.ratio,
          unit: "",
          detail: `${inc0.calls} calls, minimum 1; ${summary.incremental0.ms} ms`,
          goal: exactly(1),
        },
        {
          name: `incremental, ${open.length} changed: calls ÷ minimum`,
          value: summary.incremental50.ratio,
          unit: "",
          detail: `${inc50.calls} calls, minimum ${min50}; ${summary.incremental50.ms} ms`,
          goal: exactly(1),
        },
        { name: "notify → API p50", value: summary.notifyToApi.p50, unit: "ms" },
        { name: "notify → API p95", value: summary.notifyToApi.p95, unit: "ms", goal: below(2000) },
        { name: "notify → API max", value: summary.notifyToApi.max, unit: "ms" },
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
