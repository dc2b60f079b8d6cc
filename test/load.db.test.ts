import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { eq } from "drizzle-orm";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { insertConnection } from "../src/db/repos/connections.ts";
import { orders } from "../src/db/schema.ts";
import {
  type BrickLinkSimulator,
  startBrickLinkSimulator,
} from "../src/marketplaces/bricklink/simulator/server.ts";
import { STATUS_FLOW } from "../src/marketplaces/bricklink/simulator/store.ts";
import { type RunningServer, startServer } from "../src/server.ts";
import { onPostgres, testSettings } from "./helpers/db.ts";
import {
  allSales,
  apiClient,
  freshPgDatabase,
  type LoadStats,
  orderClient,
  ownerWithToken,
  percentile,
} from "./helpers/load-tools.ts";

// Knobs for trying other sizes by hand; CI runs the defaults.
const ORDERS = Number(process.env.ORDERHUB_LOAD_ORDERS ?? 10_000);
const CLIENTS = Number(process.env.ORDERHUB_LOAD_CLIENTS ?? 20);
/**
 * Mean pause between one client's requests (a person clicking through the table). Less makes the
 * sync crawl on PGlite: it has one connection serving queries in turn, and the sync checks for a
 * cancel before every order, so each order waits behind every queued read (measured: 10,000 orders
 * in 66 s alone; about 830 in 480 s with 0 ms, 5,600 in 480 s with 250 ms). 0 is a stress mode.
 */
const THINK_MS = Number(process.env.ORDERHUB_LOAD_THINK_MS ?? 1000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dbKind = onPostgres ? "postgres" : "pglite";

type Run = { id: number; state: string; created: number; failed: number; seen: number; durationMs: number };

describe("load", () => {
  it(`${CLIENTS} clients read the orders API while a ${ORDERS.toLocaleString("en")}-order sync runs: no errors`, async () => {
    const started = performance.now();
    const sim = await startBrickLinkSimulator({ seed: 42, orders: ORDERS, lines: 2, dailyLimit: 10_000_000 });
    const ids = allSales(sim);
    const pgdb = onPostgres ? await freshPgDatabase() : null;
    let server: RunningServer | null = null;
    try {
      const settings = testSettings({
        logLevel: "warn",
        databaseUrl: pgdb?.url ?? null,
        workerConcurrency: 2,
      });
      server = await startServer(settings, { role: "all" });
      const url = server.url!;
      const { account, token } = await ownerWithToken(server.ctx, "load");
      const conn = await insertConnection(server.ctx.db, server.ctx.box, {
        accountId: account.id,
        marketplace: "bricklink",
        name: "BrickLink",
        baseUrl: sim.baseUrl,
        config: {},
        secrets: { ...sim.credentials },
        dailyBudget: 10_000_000,
      });
      const api = apiClient(url, token);

      // The server runs in this process: a long stall of its event loop shows here.
      const loop = monitorEventLoopDelay({ resolution: 20 });
      loop.enable();
      const syncStart = performance.now();
      const req = await api<{ runId: number }>("POST", `/api/connections/${conn.id}/sync`, { mode: "full" });
      expect(req.status).toBe(202);
      let run: Run | null = null;
      let finished = false;
      const stats: LoadStats = { requests: 0, latencies: [], failures: [], byKind: {}, slowest: [] };
      const clients = Array.from({ length: CLIENTS }, (_, i) =>
        orderClient(url, token, i + 1, () => finished, stats, THINK_MS),
      );
      let pollErrors = 0;
      while (!finished) {
        await sleep(250);
        const r = await api<{ run: Run }>("GET", `/api/sync-runs/${req.body.runId}`).catch(() => null);
        if (r?.status !== 200) {
          pollErrors++;
          continue;
        }
        run = r.body.run;
        if (!["queued", "running"].includes(run.state)) finished = true;
        if (performance.now() - syncStart > 480_000) finished = true;
      }
      const syncMs = performance.now() - syncStart;
      await Promise.all(clients);
      loop.disable();

      const p50 = percentile(stats.latencies, 50);
      const p95 = percentile(stats.latencies, 95);
      const max = Math.max(0, ...stats.latencies);
      console.log(
        `load (${dbKind}): ${CLIENTS} clients (think ${THINK_MS} ms), ${stats.requests} requests (${Object.entries(
          stats.byKind,
        )
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")}), p50 ${p50.toFixed(0)} ms, p95 ${p95.toFixed(0)} ms, max ${max.toFixed(0)} ms, ` +
          `sync ${ORDERS} orders in ${(syncMs / 1000).toFixed(1)} s (${sim.control.calls()} API calls), file ${(
            (performance.now() - started) / 1000
          ).toFixed(1)} s`,
      );
      console.log(
        `load (${dbKind}): longest event-loop stall ${(loop.max / 1e6).toFixed(0)} ms; slowest requests ${stats.slowest
          .map(
            (x) =>
              `${x.ms} ms ending ${((x.endedAt - syncStart) / 1000).toFixed(1)} s into the sync: GET ${x.path}`,
          )
          .join("; ")}`,
      );

      expect(stats.failures.slice(0, 10)).toEqual([]);
      expect(pollErrors).toBe(0);
      if (CLIENTS > 0) expect(stats.requests).toBeGreaterThan(CLIENTS);
      expect(run).toMatchObject({ state: "completed", created: ORDERS, failed: 0 });
      // Each order exactly once: 1 list call + order + items per order (none for PURGED orders, which
      // BrickLink keeps no details of: the list's summary is all there is), and one row per order.
      const purged = [...sim.control.state.orders.values()].filter((o) => o.order.status === "PURGED").length;
      expect(sim.control.callsByPath()).toMatchObject({
        "GET /api/store/v1/orders": 1,
        "GET /api/store/v1/orders/{id}": ORDERS - purged,
        "GET /api/store/v1/orders/{id}/items": ORDERS - purged,
      });
      const list = (
        await server.ctx.db
          .select({ externalId: orders.externalId })
          .from(orders)
          .where(eq(orders.accountId, account.id))
      ).map((r) => r.externalId);
      expect(list.length).toBe(ORDERS);
      expect(new Set(list)).toEqual(new Set(ids.map(String)));
    } finally {
      await server?.stop();
      await sim.close();
      await pgdb?.drop();
    }
  }, 600_000);
});

const STORES = 20;
const STORE_ORDERS = 120;

interface Worker {
  proc: ChildProcess;
  lines: Record<string, unknown>[];
  dataDir: string;
}

function spawnWorker(databaseUrl: string, secretKey: string): Worker {
  const dataDir = mkdtempSync(join(tmpdir(), "orderhub-load-worker-"));
  const { NODE_OPTIONS: _n, ORDERHUB_TEST_DATABASE_URL: _t, ...env } = process.env;
  const proc = spawn(process.execPath, ["bin/orderhub.js", "serve", "--role", "worker"], {
    cwd: process.cwd(),
    env: {
      ...env,
      DATABASE_URL: databaseUrl,
      ORDERHUB_SECRET_KEY: secretKey,
      ORDERHUB_DATA_DIR: dataDir,
      ORDERHUB_DEMO: "0",
      LOG_LEVEL: "info",
      ORDERHUB_LOG_PRETTY: "0",
      ORDERHUB_WORKER_CONCURRENCY: "3",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const w: Worker = { proc, lines: [], dataDir };
  let buf = "";
  proc.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    let i = buf.indexOf("\n");
    while (i >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        w.lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        w.lines.push({ msg: line });
      }
      i = buf.indexOf("\n");
    }
  });
  proc.stderr!.on("data", (d: Buffer) => w.lines.push({ msg: d.toString(), stderr: true }));
  return w;
}

async function stopWorker(w: Worker): Promise<void> {
  if (w.proc.exitCode === null && w.proc.signalCode === null) {
    const exited = new Promise((r) => w.proc.once("exit", r));
    w.proc.kill("SIGTERM");
    const t = setTimeout(() => w.proc.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(t);
  }
  rmSync(w.dataDir, { recursive: true, force: true });
}

async function until(what: string, ms: number, check: () => Promise<boolean> | boolean): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** Counts every write of `key` on `obj` (the simulator's handlers assign; they never copy). */
function countWrites(obj: object, key: string, counts: Map<string, number>, label: string): void {
  let value = (obj as Record<string, unknown>)[key];
  Object.defineProperty(obj, key, {
    enumerable: true,
    configurable: true,
    get: () => value,
    set: (v) => {
      value = v;
      counts.set(label, (counts.get(label) ?? 0) + 1);
    },
  });
}

describe("two worker processes on PostgreSQL", () => {
  it.skipIf(!onPostgres)(
    `share ${STORES} full syncs and a batch of stock and shipment pushes, running none twice (PostgreSQL only: PGlite has a single owner process)`,
    async () => {
      const started = performance.now();
      const pgdb = await freshPgDatabase();
      const secretKey = randomBytes(32).toString("hex");
      const sims: BrickLinkSimulator[] = [];
      const workers: Worker[] = [];
      let web: RunningServer | null = null;
      const db = new pg.Client({ connectionString: pgdb.url });
      try {
        await db.connect();
        web = await startServer(testSettings({ logLevel: "warn", databaseUrl: pgdb.url, secretKey }), {
          role: "web",
        });
        workers.push(spawnWorker(pgdb.url, secretKey), spawnWorker(pgdb.url, secretKey));
        for (let i = 0; i < STORES; i++) {
          const sim = await startBrickLinkSimulator({
            seed: 100 + i,
            orders: STORE_ORDERS,
            lines: 2,
            dailyLimit: 10_000_000,
          });
          allSales(sim, i * 100_000);
          sims.push(sim);
        }
        await until("both workers to start", 60_000, () =>
          workers.every((w) => w.lines.some((l) => l.msg === "Orderhub started")),
        );
        const pids = workers.map((w) => w.proc.pid!);
        const { token } = await ownerWithToken(web.ctx, "workers");
        const api = apiClient(web.url!, token);

        // 20 stores connected through the API, each asked for a full sync at once.
        const connIds: number[] = [];
        for (const [i, sim] of sims.entries()) {
          const res = await api<{ connection: { id: number } }>("POST", "/api/connections", {
            marketplace: "bricklink",
            name: `Store ${i}`,
            baseUrl: sim.baseUrl,
            config: { ...sim.credentials },
            dailyBudget: 1_000_000,
          });
          expect(res.status, JSON.stringify(res.body)).toBe(201);
          connIds.push(res.body.connection.id);
        }
        const syncStart = performance.now();
        const requested = await Promise.all(
          connIds.map((id) =>
            api<{ runId: number }>("POST", `/api/connections/${id}/sync`, { mode: "full" }),
          ),
        );
        expect(requested.map((r) => r.status)).toEqual(connIds.map(() => 202));
        const runIds = requested.map((r) => r.body.runId);
        let runs: Run[] = [];
        await until("the syncs to finish", 300_000, async () => {
          const r = await api<{ runs: Run[] }>("GET", "/api/sync-runs?limit=100");
          runs = r.body.runs;
          return runs.length >= STORES && runs.every((x) => !["queued", "running"].includes(x.state));
        });
        const syncMs = performance.now() - syncStart;

        // Every run ran once, to completion, with every order; the simulators saw one run each.
        expect(runs.map((r) => r.id).sort((a, b) => a - b)).toEqual([...runIds].sort((a, b) => a - b));
        for (const r of runs)
          expect(r, JSON.stringify(r)).toMatchObject({
            state: "completed",
            created: STORE_ORDERS,
            failed: 0,
          });
        for (const sim of sims) {
          // No details are fetched for PURGED orders: BrickLink keeps none.
          const purged = [...sim.control.state.orders.values()].filter(
            (o) => o.order.status === "PURGED",
          ).length;
          expect(sim.control.callsByPath()).toEqual({
            "GET /api/store/v1/orders": 1,
            "GET /api/store/v1/orders/{id}": STORE_ORDERS - purged,
            "GET /api/store/v1/orders/{id}/items": STORE_ORDERS - purged,
          });
        }
        const perConn = await db.query<{ n: string; d: string }>(
          "select count(*) n, count(distinct external_id) d from orders group by connection_id",
        );
        expect(perConn.rows).toEqual(
          connIds.map(() => ({ n: String(STORE_ORDERS), d: String(STORE_ORDERS) })),
        );
        const jobs = await db.query<{ state: string; retry_count: number }>(
          "select state, retry_count from pgboss.job where name = 'sync.run'",
        );
        expect(jobs.rows).toEqual(runIds.map(() => ({ state: "completed", retry_count: 0 })));
        const finishedBy = new Map<number, number[]>();
        for (const w of workers)
          for (const l of w.lines)
            if (l.msg === "sync run finished")
              finishedBy.set(Number(l.runId), [...(finishedBy.get(Number(l.runId)) ?? []), Number(l.pid)]);
        expect([...finishedBy.keys()].sort((a, b) => a - b)).toEqual([...runIds].sort((a, b) => a - b));
        for (const by of finishedBy.values()) expect(by).toHaveLength(1);
        const share = pids.map((pid) => [...finishedBy.values()].filter((by) => by[0] === pid).length);
        expect(
          share.every((n) => n > 0),
          `runs per worker: ${share.join(" / ")}`,
        ).toBe(true);

        // Pushes: store 0's inventory imported and adjusted (signed deltas, twice per lot), and
        // orders of every store marked shipped one request each, so dispatch jobs pile up.
        const sim0 = sims[0]!;
        const lotWrites = new Map<string, number>();
        const before = new Map<string, number>();
        for (const lot of sim0.control.state.inventory.values()) {
          before.set(String(lot.inventory_id), lot.quantity);
          countWrites(lot, "quantity", lotWrites, String(lot.inventory_id));
        }
        const imp = await api("POST", "/api/inventory/import", { connectionId: connIds[0] });
        expect(imp.status, JSON.stringify(imp.body)).toBe(200);
        const lots = await api<{ lots: { id: number }[] }>("GET", "/api/inventory/lots?limit=30");
        expect(lots.status).toBe(200);
        let adjustments = 0;
        for (const [k, lot] of lots.body.lots.entries()) {
          for (const by of [1 + (k % 3), -1]) {
            const r = await api("POST", `/api/inventory/lots/${lot.id}/adjust`, { by, reason: "load test" });
            expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
            adjustments++;
          }
        }
        const orderWrites = new Map<string, number>();
        const toShip: { sim: BrickLinkSimulator; id: number }[] = [];
        for (const sim of sims) {
          const open = [...sim.control.state.orders.values()]
            .filter(
              (o) => STATUS_FLOW.indexOf(o.order.status) >= 0 && STATUS_FLOW.indexOf(o.order.status) < 6,
            )
            .slice(0, 5);
          for (const o of open) {
            countWrites(o.order, "status", orderWrites, `${o.order.order_id} status`);
            countWrites(o.order, "shipping", orderWrites, `${o.order.order_id} shipping`);
            toShip.push({ sim, id: o.order.order_id });
          }
        }
        const shipped = await Promise.all(
          toShip.map(({ id }) =>
            api("POST", "/api/fulfilment/ship", {
              orders: [`BL-${id}`],
              carrier: "DHL",
              trackingNumber: `TRK${id}`,
            }),
          ),
        );
        expect(shipped.filter((r) => r.status !== 202).map((r) => JSON.stringify(r.body))).toEqual([]);
        await until("the pushes to be sent", 180_000, async () => {
          const r = await db.query("select 1 from outbox where status in ('pending', 'sending') limit 1");
          return r.rowCount === 0;
        });
        const rows = await db.query<{ kind: string; status: string; payload: Record<string, unknown> }>(
          "select kind, status, payload from outbox",
        );
        expect(rows.rows.filter((r) => r.status !== "sent")).toEqual([]);
        // Shipments: tracking and status each written exactly once per order.
        expect(rows.rows.filter((r) => r.kind !== "stock").length).toBe(toShip.length);
        for (const { sim, id } of toShip) {
          expect(orderWrites.get(`${id} status`), `BL-${id} status writes`).toBe(1);
          expect(orderWrites.get(`${id} shipping`), `BL-${id} shipping writes`).toBe(1);
          const o = sim.control.state.orders.get(id)!.order;
          expect(o.status).toBe("SHIPPED");
          expect(o.shipping?.tracking_no).toBe(`TRK${id}`);
        }
        // Stock: each sent delta landed once, so BrickLink holds what it had plus their sum.
        const stock = rows.rows.filter((r) => r.kind === "stock" && Number(r.payload.delta) !== 0);
        expect(stock.length).toBeGreaterThan(0);
        const sent = new Map<string, { n: number; sum: number }>();
        for (const r of stock) {
          const k = String(r.payload.externalId);
          const s = sent.get(k) ?? { n: 0, sum: 0 };
          sent.set(k, { n: s.n + 1, sum: s.sum + Number(r.payload.delta) });
        }
        for (const lot of sim0.control.state.inventory.values()) {
          const k = String(lot.inventory_id);
          expect(lotWrites.get(k) ?? 0, `lot ${k} writes`).toBe(sent.get(k)?.n ?? 0);
          expect(lot.quantity, `lot ${k} quantity`).toBe(before.get(k)! + (sent.get(k)?.sum ?? 0));
        }
        const dispatchJobs = await db.query<{ state: string; n: string }>(
          "select state, count(*) n from pgboss.job where name = 'outbox.dispatch' group by state",
        );
        console.log(
          `workers: ${STORES} stores × ${STORE_ORDERS} orders synced in ${(syncMs / 1000).toFixed(1)} s, ` +
            `runs per worker ${share.join(" / ")}; ${toShip.length} shipment pushes and ${stock.length} stock pushes ` +
            `(${adjustments} adjustments) sent once each; dispatch jobs ${dispatchJobs.rows
              .map((r) => `${r.state} ${r.n}`)
              .join(", ")}; file ${((performance.now() - started) / 1000).toFixed(1)} s`,
        );
        for (const w of workers)
          expect(w.lines.filter((l) => l.level === 50 || l.level === 60 || l.stderr).slice(0, 5)).toEqual([]);
      } finally {
        await Promise.all(workers.map((w) => stopWorker(w)));
        await web?.stop();
        await Promise.all(sims.map((s) => s.close()));
        await db.end().catch(() => {});
        await pgdb.drop();
      }
    },
    600_000,
  );
});
