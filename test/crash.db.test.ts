/**
 * The crash suite: Orderhub runs as a child process (`orderhub serve`) against the BrickLink and
 * BrickOwl simulators while orders arrive, stock is adjusted and orders are shipped, and is killed
 * with SIGKILL at random moments, again and again. After the last restart it settles, stops cleanly,
 * and the database is opened directly to check what a seller relies on.
 *
 * ORDERHUB_CRASH_KILLS (default 30) sets the number of kills, ORDERHUB_CRASH_SEED the random seed
 * (printed, so a failing run can be repeated). The long mode is ORDERHUB_CRASH_KILLS=300.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../src/db/connection.ts";
import {
  type BrickLinkSimulator,
  startBrickLinkSimulator,
} from "../src/marketplaces/bricklink/simulator/server.ts";
import { prng } from "../src/marketplaces/bricklink/simulator/store.ts";
import {
  type BrickOwlSimulator,
  startBrickOwlSimulator,
} from "../src/marketplaces/brickowl/simulator/server.ts";
import { ChildServer, freePort } from "./helpers/child-server.ts";

const KILLS = Number(process.env.ORDERHUB_CRASH_KILLS ?? 30);
const SEED = Number(process.env.ORDERHUB_CRASH_SEED ?? Date.now() % 1_000_000);
const PG_URL = process.env.ORDERHUB_TEST_DATABASE_URL ?? null;

let bl: BrickLinkSimulator;
let bo: BrickOwlSimulator;
let server: ChildServer;
let dataDir: string;
let databaseUrl: string | null = null;
let token = "";
const conn = { bl: 0, bo: 0 };
const rnd = prng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** One API call; null when the server is gone (killed) or did not answer in time. */
async function call(method: string, path: string, body?: unknown): Promise<Answer | null> {
  try {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  } catch {
    return null;
  }
}

async function must(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const a = await call(method, path, body);
  if (!a || a.status >= 300) throw new Error(`${method} ${path}: ${a?.status} ${JSON.stringify(a?.body)}`);
  return a.body;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForRun(runId: number, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = await call("GET", `/api/sync-runs/${runId}`);
    const state = (r?.body.run as { state?: string } | undefined)?.state;
    if (state && !["queued", "running"].includes(state)) return state;
    await sleep(200);
  }
  throw new Error(`sync run ${runId} did not finish`);
}

// What the seller was told had happened (2xx), to check against what the marketplaces hold.
const acknowledged = { adjust: new Set<string>(), ship: new Map<string, string>() };
const blSnapshot = new Map<number, number>();
const boSnapshot = new Map<number, number>();
const createdBl: number[] = [];
const createdBo: string[] = [];
let actionSeq = 0;

const blQty = (inv: number) => bl.control.state.inventory.get(inv)?.quantity ?? 0;
const boLots = () =>
  new Map(
    [...bo.control.state.inventory.values()].map((l) => [
      Number((l.external_lot_ids as Record<string, string>).other),
      l,
    ]),
  );

/** One thing a seller or a buyer does, at random. */
async function act(): Promise<void> {
  const r = rnd();
  const n = ++actionSeq;
  if (r < 0.3) {
    createdBl.push(bl.control.createOrder({ lines: 1 + Math.floor(rnd() * 3) }));
  } else if (r < 0.45) {
    createdBo.push(bo.control.createOrder({ lines: 1 + Math.floor(rnd() * 2) }));
    await call("POST", `/api/connections/${conn.bo}/sync`, {});
  } else if (r < 0.7) {
    const inv = pick([...blSnapshot.keys()]);
    const reason = `crash-adjust-${n}`;
    const a = await call("POST", `/api/inventory/lots/bricklink:${inv}/adjust`, {
      by: pick([-2, -1, 1, 2, 3]),
      reason,
    });
    if (a && a.status < 300) acknowledged.adjust.add(reason);
  } else if (r < 0.9) {
    const candidates = [
      ...createdBl.slice(0, -2).map((i) => `BL-${i}`),
      ...createdBo.slice(0, -2).map((i) => `BO-${i}`),
    ].filter((ref) => !acknowledged.ship.has(ref));
    if (candidates.length === 0) return;
    const ref = pick(candidates);
    const tracking = `TRK${n}X${ref.replace("-", "")}`;
    const a = await call("POST", "/api/fulfilment/ship", { orders: [ref], trackingNumber: tracking });
    if (a && a.status < 300) acknowledged.ship.set(ref, tracking);
  } else {
    await call("POST", `/api/connections/${conn.bl}/sync`, {});
  }
}

async function setUp() {
  await server.start();
  await must("POST", "/api/setup", {
    accountName: "Crash test store",
    email: "owner@crash.example",
    password: "correct horse battery",
  });
  const login = await fetch(`${server.url}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "owner@crash.example", password: "correct horse battery" }),
  });
  const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0]!;
  const { csrfToken } = (await login.json()) as { csrfToken: string };
  const t = await fetch(`${server.url}/api/tokens`, {
    method: "POST",
    headers: { "content-type": "application/json", cookie, "x-csrf-token": csrfToken },
    body: JSON.stringify({ name: "crash suite" }),
  });
  token = ((await t.json()) as { token: string }).token;
  const made = await must("POST", "/api/connections", {
    marketplace: "bricklink",
    name: "BrickLink",
    baseUrl: bl.baseUrl,
    config: { ...bl.credentials },
  });
  const blConn = made.connection as { id: number; webhookUrl: string };
  conn.bl = blConn.id;
  bl.control.state.callbackUrl = `${server.url}${new URL(blConn.webhookUrl).pathname}`;
  const madeBo = await must("POST", "/api/connections", {
    marketplace: "brickowl",
    name: "BrickOwl",
    baseUrl: bo.baseUrl,
    config: { apiKey: bo.apiKey },
  });
  conn.bo = (madeBo.connection as { id: number }).id;
  // Ample stock on both sides, so no sale ever runs a lot dry (the simulators would clamp at 0).
  for (const lot of bl.control.state.inventory.values()) lot.quantity += 1000;
  for (const lot of bo.control.state.inventory.values()) lot.qty = String(Number(lot.qty) + 1000);
  for (const id of [conn.bl, conn.bo]) {
    const run = await must("POST", `/api/connections/${id}/sync`, { mode: "full" });
    expect(await waitForRun(Number(run.runId))).toBe("completed");
  }
  await must("POST", "/api/inventory/import", { connectionId: conn.bl });
  await must("POST", "/api/inventory/import", { connectionId: conn.bo });
  const lots = boLots();
  for (const inv of bl.control.state.inventory.keys()) {
    if (!lots.has(inv)) continue;
    blSnapshot.set(inv, blQty(inv));
    boSnapshot.set(inv, Number(lots.get(inv)!.qty));
  }
  expect(blSnapshot.size).toBeGreaterThan(10);
}

/** After the last restart: everything due has gone out, every run has ended, nothing is missing. */
async function settle(expectedOrders: number, timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  let finalSyncs = 0;
  let last = "";
  while (Date.now() < deadline) {
    const runs = ((await call("GET", "/api/sync-runs?limit=20"))?.body.runs ?? []) as { state: string }[];
    const active = runs.some((r) => r.state === "queued" || r.state === "running");
    if (!active) {
      const pending = ((await call("GET", "/api/pushes?state=pending&limit=500"))?.body.pushes ?? [
        1,
      ]) as unknown[];
      const total = Number((await call("GET", "/api/orders?limit=1"))?.body.total ?? -1);
      last = `orders ${total}/${expectedOrders}, pushes pending ${pending.length}, final syncs ${finalSyncs}`;
      if (finalSyncs >= 2 && pending.length === 0 && total === expectedOrders) return;
      // An incremental sync of each store picks up whatever a lost callback did not announce.
      for (const id of [conn.bl, conn.bo]) {
        const run = await call("POST", `/api/connections/${id}/sync`, {});
        if (run && run.status < 300) await waitForRun(Number(run.body.runId), timeoutMs);
      }
      finalSyncs++;
    }
    await sleep(500);
  }
  throw new Error(`did not settle: ${last}`);
}

async function openDirect(): Promise<Database> {
  return databaseUrl ? openDatabase({ databaseUrl, poolSize: 2 }) : openDatabase({ dataDir });
}

async function rows<T>(db: Database, query: ReturnType<typeof sql>): Promise<T[]> {
  const res = await db.db.execute(query);
  return ((res as unknown as { rows?: T[] }).rows ?? (res as unknown as T[])) as T[];
}

beforeAll(async () => {
  bl = await startBrickLinkSimulator({ seed: SEED, orders: 20, lines: 4, dailyLimit: 1_000_000 });
  bo = await startBrickOwlSimulator({
    seed: SEED,
    orders: 12,
    lines: 3,
    perMinute: 1_000_000,
    batchPerMinute: 1_000_000,
  });
  dataDir = mkdtempSync(join(tmpdir(), "orderhub-crash-"));
  if (PG_URL) {
    const name = `orderhub_crash_${randomBytes(5).toString("hex")}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`create database "${name}"`);
    await admin.end();
    const u = new URL(PG_URL);
    u.pathname = `/${name}`;
    databaseUrl = u.toString();
  }
  server = new ChildServer({
    port: await freePort(),
    dataDir,
    databaseUrl,
    secretKey: randomBytes(32).toString("hex"),
    logFile: join(dataDir, "server.log"),
  });
  console.log(
    `crash suite: seed ${SEED}, ${KILLS} kills, ${databaseUrl ? "PostgreSQL" : "PGlite"}, log ${join(dataDir, "server.log")}`,
  );
}, 120_000);

afterAll(async () => {
  await server?.close();
  await bl?.close();
  await bo?.close();
  if (PG_URL && databaseUrl) {
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin
      .query(`drop database if exists "${new URL(databaseUrl).pathname.slice(1)}" with (force)`)
      .catch(() => {});
    await admin.end();
  }
});

describe("crash suite", () => {
  it(
    `survives ${KILLS} kill -9s during syncs, stock pushes and fulfilment pushes`,
    async () => {
      await setUp();
      const started = Date.now();
      for (let k = 0; k < KILLS; k++) {
        await server.start();
        let stop = false;
        const driver = (async () => {
          while (!stop) {
            await act();
            await sleep(20 + rnd() * 120);
          }
        })();
        await sleep(300 + rnd() * 2_700);
        await server.kill();
        stop = true;
        await driver;
      }
      expect(server.kills).toBe(KILLS);

      await server.start();
      const simOrders =
        [...bl.control.state.orders.values()].filter((o) => o.direction === "in" && !o.order.is_filed)
          .length + bo.control.state.orders.size;
      await settle(simOrders);
      expect(await server.stop()).toBe(0);
      console.log(
        `crash suite: ${server.kills} kills, ${createdBl.length + createdBo.length} orders placed, ${acknowledged.adjust.size} adjustments and ${acknowledged.ship.size} shipments acknowledged, ${Math.round((Date.now() - started) / 1000)} s`,
      );

      // The data opens cleanly after all that.
      const db = await openDirect();
      try {
        // Every simulator order exists exactly once, with all its lines.
        const stored = await rows<{ marketplace: string; external_id: string; n: number; lines: number }>(
          db,
          sql`select o.marketplace, o.external_id, count(distinct o.id)::int as n,
                 (select count(*)::int from order_lines l where l.order_id = min(o.id)) as lines
              from orders o group by o.marketplace, o.external_id`,
        );
        expect(stored.filter((s) => s.n !== 1)).toEqual([]);
        const have = new Map(stored.map((s) => [`${s.marketplace}:${s.external_id}`, s.lines]));
        const want = new Map<string, number>();
        for (const o of bl.control.state.orders.values())
          if (o.direction === "in" && !o.order.is_filed)
            // BrickLink serves no items for a purged order.
            want.set(
              `bricklink:${o.order.order_id}`,
              o.order.status === "PURGED" ? 0 : o.batches.flat().length,
            );
        for (const [id, o] of bo.control.state.orders) want.set(`brickowl:${id}`, o.items.length);
        expect([...have.keys()].sort()).toEqual([...want.keys()].sort());
        for (const [k, n] of want) expect(have.get(k), k).toBe(n);

        // Each lot is the sum of its ledger; nothing is still on its way or waiting for a person.
        const lots = await rows<{ id: number; quantity: number; reserved: number; q: number; r: number }>(
          db,
          sql`select l.id, l.quantity, l.reserved, coalesce(sum(g.quantity_delta), 0)::int as q,
                 coalesce(sum(g.reserved_delta), 0)::int as r
              from inventory_lots l left join inventory_ledger g on g.lot_id = l.id group by l.id`,
        );
        expect(lots.filter((l) => l.q !== l.quantity || l.r !== l.reserved)).toEqual([]);
        const stuck = await rows<{ state: string; n: number }>(
          db,
          sql`select state::text, count(*)::int as n from sync_runs where state in ('queued', 'running') group by state`,
        );
        expect(stuck).toEqual([]);
        const open = await rows<{ id: number; status: string; kind: string; last_error: string | null }>(
          db,
          sql`select id, status::text, kind, last_error from outbox where status <> 'sent'`,
        );
        expect(open).toEqual([]);

        // Every acknowledged adjustment is in the ledger; every sale took stock exactly once; and both
        // marketplaces moved by exactly what the ledger moved (each push applied once).
        const adjustRows = await rows<{ reason: string; inv: string; d: number }>(
          db,
          sql`select g.reason, s.external_id as inv, g.quantity_delta as d
              from inventory_ledger g join listings s on s.lot_id = g.lot_id
              join connections c on c.id = s.connection_id and c.marketplace = 'bricklink'
              where g.reason like 'crash-adjust-%'`,
        );
        const inLedger = new Set(adjustRows.map((a) => a.reason));
        for (const reason of acknowledged.adjust) expect(inLedger.has(reason), reason).toBe(true);
        const expected = new Map<number, number>();
        const add = (inv: number, d: number) => expected.set(inv, (expected.get(inv) ?? 0) + d);
        for (const a of adjustRows) add(Number(a.inv), a.d);
        for (const id of createdBl)
          for (const it of bl.control.state.orders.get(id)!.batches.flat())
            add(it.inventory_id!, -it.quantity);
        for (const id of createdBo)
          for (const it of bo.control.state.orders.get(id)!.items)
            add(Number(it.bl_lot_id), -Number(it.ordered_quantity));
        const byInv = await rows<{ inv: string; quantity: number }>(
          db,
          sql`select s.external_id as inv, l.quantity from listings s
              join inventory_lots l on l.id = s.lot_id
              join connections c on c.id = s.connection_id and c.marketplace = 'bricklink'`,
        );
        const lotQty = new Map(byInv.map((r) => [Number(r.inv), r.quantity]));
        const owl = boLots();
        const wrong: string[] = [];
        for (const [inv, bl0] of blSnapshot) {
          const want = expected.get(inv) ?? 0;
          const dBl = blQty(inv) - bl0;
          const dBo = Number(owl.get(inv)!.qty) - boSnapshot.get(inv)!;
          if (dBl !== want || dBo !== want)
            wrong.push(`lot ${inv}: expected ${want}, BrickLink moved ${dBl}, BrickOwl moved ${dBo}`);
          if (lotQty.has(inv) && lotQty.get(inv) !== blQty(inv))
            wrong.push(`lot ${inv}: Orderhub holds ${lotQty.get(inv)}, BrickLink ${blQty(inv)}`);
        }
        expect(wrong).toEqual([]);

        // Every acknowledged shipment landed, and its status change was made exactly once.
        for (const [ref, tracking] of acknowledged.ship) {
          const [mp, id] = ref.split("-") as ["BL" | "BO", string];
          if (mp === "BL") {
            const o = bl.control.state.orders.get(Number(id))!.order;
            expect(o.status, ref).toBe("SHIPPED");
            expect(o.shipping?.tracking_no, ref).toBe(tracking);
            expect(
              bl.control.state.statusChanges.filter((c) => c.orderId === Number(id) && c.to === "SHIPPED"),
              ref,
            ).toHaveLength(1);
          } else {
            const o = bo.control.state.orders.get(id)!.order;
            expect(o.status, ref).toBe("Shipped");
            expect(o.tracking_number, ref).toBe(tracking);
          }
        }
      } finally {
        await db.close();
      }
    },
    KILLS * 20_000 + 600_000,
  );
});
