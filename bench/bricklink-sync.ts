/**
 * BrickLink sync benchmark against the simulator: full sync of a large store, incremental syncs
 * with 0 and 50 changed orders (API calls against the minimum possible), and the latency from a
 * push notification to the order being readable through the API. Prints its figures.
 *
 *   npm run bench -- bench/bricklink-sync.ts [--orders 10000] [--lines 20] [--pushes 20] [--db pglite|postgres|both] [--quick]
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
import { startBrickLinkSimulator } from "../src/marketplaces/bricklink/simulator/server.ts";
import { startServer } from "../src/server.ts";
import { requestSync, runSync } from "../src/sync/engine.ts";
import { testSettings } from "../test/helpers/db.ts";
import { below, exactly, options, writeSummary } from "./lib/report.ts";

const opts = options({
  orders: ["10000", "300"],
  lines: ["20", "5"],
  pushes: ["20", "5"],
  db: ["both", "both"],
});
const ORDERS = Number(opts.orders);
const LINES = Number(opts.lines);
const PUSHES = Number(opts.pushes);
const WHICH = opts.db;
const PG_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

/** The test settings (demo off, quiet logs) on this data directory and database. */
function settingsFor(dataDir: string, databaseUrl: string | null, over: Partial<Settings> = {}): Settings {
  return { ...testSettings({ logLevel: "error", databaseUrl, workerConcurrency: 2, ...over }), dataDir };
}

async function bench(kind: "pglite" | "postgres") {
  const dataDir = mkdtempSync(join(tmpdir(), "orderhub-blbench-"));
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
  const sim = await startBrickLinkSimulator({ seed: 5, orders: ORDERS, lines: LINES, dailyLimit: 1_000_000 });
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
      dailyBudget: 1_000_000,
    });
    const sales = [...sim.control.state.orders.values()].filter(
      (o) => o.direction === "in" && !o.order.is_filed,
    );
    // Timed here in the foreground: no job is queued, so the server's worker leaves these runs alone.
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
    const changed = sales.slice(0, 50);
    for (const o of changed)
      sim.control.setStatus(o.order.order_id, o.order.status === "COMPLETED" ? "COMPLETED" : "SHIPPED");
    const inc50 = await run("incremental");

    // Push latency: a new order on the simulator → bodiless callback → our webhook → sync → API.
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
    sim.control.state.callbackUrl = `${server.url}/webhooks/bricklink/${conn.webhookToken}`;
    const latencies: number[] = [];
    for (let i = 0; i < PUSHES; i++) {
      const t = performance.now();
      const id = sim.control.createOrder({ lines: LINES });
      for (;;) {
        const res = await fetch(`${server.url}/api/orders/BL-${id}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        if (res.status === 200) break;
        if (performance.now() - t > 30_000) throw new Error(`order ${id} never arrived`);
        await new Promise((r) => setTimeout(r, 10));
      }
      latencies.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 2_100)); // pings closer than 2 s fold together
    }
    const summary = {
      db: kind,
      store: { orders: sales.length, linesPerOrder: LINES },
      fullSync: {
        ms: Math.round(full.ms),
        ordersPerSec: Math.round(sales.length / (full.ms / 1000)),
        apiCalls: full.calls,
        created: full.run.created,
      },
      incremental0: { ms: Math.round(inc0.ms), apiCalls: inc0.calls, minimum: 1, ratio: inc0.calls / 1 },
      incremental50: {
        ms: Math.round(inc50.ms),
        apiCalls: inc50.calls,
        minimum: 1 + 2 * 50,
        ratio: Number((inc50.calls / 101).toFixed(2)),
        updated: inc50.run.updated,
      },
      pushToApi: {
        p50: Math.round(pct(latencies, 50)),
        p95: Math.round(pct(latencies, 95)),
        max: Math.round(Math.max(...latencies)),
        goal: "p95 < 2000 ms",
      },
    };
    console.log(`\n== ${kind}: ${sales.length.toLocaleString("en")} sales orders × ~${LINES} lines`);
    console.log(
      `full sync: ${summary.fullSync.ms} ms, ${summary.fullSync.ordersPerSec} orders/s, ${full.calls} API calls`,
    );
    console.log(
      `incremental, 0 changed: ${inc0.calls} API calls (minimum 1, ratio ${summary.incremental0.ratio.toFixed(2)}), ${summary.incremental0.ms} ms`,
    );
    console.log(
      `incremental, 50 changed: ${inc50.calls} API calls (minimum 101, ratio ${summary.incremental50.ratio.toFixed(2)}), ${summary.incremental50.ms} ms`,
    );
    console.log(
      `push notification → order readable via API: p50 ${summary.pushToApi.p50} ms, p95 ${summary.pushToApi.p95} ms, max ${summary.pushToApi.max} ms (goal p95 < 2 s)`,
    );
    writeSummary(
      `bricklink-sync-${kind}`,
      summary,
      {
        bench: "bricklink-sync",
        db: kind,
        sizes: `${sales.length.toLocaleString("en")} sales orders × ~${LINES} lines, ${PUSHES} pushes`,
      },
      [
        {
          name: "full sync",
          value: summary.fullSync.ms,
          unit: "ms",
          detail: `${full.calls.toLocaleString("en")} API calls`,
        },
        { name: "full sync rate", value: summary.fullSync.ordersPerSec, unit: "orders/s" },
        {
          name: "incremental, 0 changed: calls ÷ minimum",
          value: summary.incremental0.ratio,
          unit: "",
          detail: `${inc0.calls} calls, minimum 1; ${summary.incremental0.ms} ms`,
          goal: exactly(1),
        },
        {
          name: "incremental, 50 changed: calls ÷ minimum",
          value: summary.incremental50.ratio,
          unit: "",
          detail: `${inc50.calls} calls, minimum 101; ${summary.incremental50.ms} ms`,
          goal: exactly(1),
        },
        { name: "push → API p50", value: summary.pushToApi.p50, unit: "ms" },
        { name: "push → API p95", value: summary.pushToApi.p95, unit: "ms", goal: below(2000) },
        { name: "push → API max", value: summary.pushToApi.max, unit: "ms" },
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
