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
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../src/db/connection.ts";
import { ChildServer, freePort } from "./helpers/child-server.ts";
import { type Answer, StoreWorld } from "./helpers/store-world.ts";

const KILLS = Number(process.env.ORDERHUB_CRASH_KILLS ?? 30);
const SEED = Number(process.env.ORDERHUB_CRASH_SEED ?? Date.now() % 1_000_000);
const PG_URL = process.env.ORDERHUB_TEST_DATABASE_URL ?? null;

let world: StoreWorld;
let server: ChildServer;
let dataDir: string;
let databaseUrl: string | null = null;
let token = "";

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
  await world.connect(call, waitForRun, server.url);
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
      for (const id of [world.conn.bl, world.conn.bo]) {
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

beforeAll(async () => {
  world = await StoreWorld.start(SEED, "crash");
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
  await world?.close();
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
            await world.act(call);
            await sleep(20 + world.rnd() * 120);
          }
        })();
        await sleep(300 + world.rnd() * 2_700);
        await server.kill();
        stop = true;
        await driver;
      }
      expect(server.kills).toBe(KILLS);

      await server.start();
      await settle(world.expectedOrderCount());
      expect(await server.stop()).toBe(0);
      console.log(
        `crash suite: ${server.kills} kills, ${world.createdBl.length + world.createdBo.length} orders placed, ${world.acknowledged.adjust.size} adjustments and ${world.acknowledged.ship.size} shipments acknowledged, ${Math.round((Date.now() - started) / 1000)} s`,
      );

      // The data opens cleanly after all that.
      const db = await openDirect();
      try {
        await world.expectInvariants(db.db);
      } finally {
        await db.close();
      }
    },
    KILLS * 20_000 + 600_000,
  );
});
