/**
 * The fault suite: while orders arrive, stock is adjusted and orders are shipped, a fifth of all
 * calls to BrickLink and BrickOwl fail in every way those APIs fail (429s, 5xx, the 503 HTML page,
 * timeouts before and after a change was applied, cut connections, malformed and truncated JSON,
 * slow answers), and BrickLink's daily budget runs out on the way. Every order must still arrive,
 * every push land exactly once, and what needs a person must say what to do.
 *
 * Time is a manual clock (waits pass at once); ORDERHUB_FAULT_ACTIONS (default 120) sets how much
 * happens, ORDERHUB_FAULT_SEED the seed.
 */
import { inArray, min } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../src/core/clock.ts";
import { outbox, syncRuns } from "../src/db/schema.ts";
import type { SimFault as BrickLinkFault } from "../src/marketplaces/bricklink/simulator/server.ts";
import type { SimFault as BrickOwlFault } from "../src/marketplaces/brickowl/simulator/server.ts";
import { getSyncRun, runSync } from "../src/sync/engine.ts";
import { dispatchOutbox } from "../src/sync/outbox.ts";
import { registerPushHandlers } from "../src/worker.ts";
import { bearer, seedAccount, type TestApi, testApi } from "./helpers/http.ts";
import { type CallApi, StoreWorld } from "./helpers/store-world.ts";

const ACTIONS = Number(process.env.ORDERHUB_FAULT_ACTIONS ?? 120);
const SEED = Number(process.env.ORDERHUB_FAULT_SEED ?? Date.now() % 1_000_000);
const BL_FAULTS: BrickLinkFault[] = [
  "rate_limit",
  "server_error",
  "html503",
  "hang",
  "hang_after_apply",
  "drop_after_apply",
  "malformed",
  "truncated",
  "slow",
];
const BO_FAULTS: BrickOwlFault[] = [...BL_FAULTS];

const clock = new ManualClock("2026-01-01T08:00:00Z");
let api: TestApi;
let world: StoreWorld;
let token: string;
let accountId: number;

const call: CallApi = async (method, path, body) => {
  const res = await api.app.inject({
    method: method as "GET",
    url: path,
    headers: bearer(token),
    ...(body !== undefined ? { payload: body as object } : {}),
  });
  return { status: res.statusCode, body: res.body ? (res.json() as Record<string, unknown>) : {} };
};

/** Runs what is due, then moves the clock to the next moment something waits for. */
async function pump(): Promise<void> {
  await api.queue.runUntilIdle({ maxJobs: 100 });
  await dispatchOutbox(api.ctx, { maxRows: 500 });
  const [o] = await api.ctx.db
    .select({ at: min(outbox.nextAttemptAt) })
    .from(outbox)
    .where(inArray(outbox.status, ["pending", "sending"]));
  const [r] = await api.ctx.db
    .select({ at: min(syncRuns.waitingUntil) })
    .from(syncRuns)
    .where(inArray(syncRuns.state, ["queued", "running"]));
  const next = [o?.at, r?.at].filter((d): d is Date => d instanceof Date).map((d) => d.getTime());
  const due = next.length ? Math.min(...next) : 0;
  if (due > clock.now().getTime()) clock.set(new Date(due + 1));
  else clock.advance(1_000);
}

async function waitForRun(runId: number): Promise<string> {
  for (let i = 0; i < 500; i++) {
    const run = await getSyncRun(api.ctx.db, accountId, runId);
    if (run && !["queued", "running"].includes(run.state)) return run.state;
    await pump();
  }
  throw new Error(`sync run ${runId} did not finish`);
}

beforeAll(async () => {
  api = await testApi({ clock, settings: { marketplaceTimeoutMs: 400 } });
  registerPushHandlers(api.ctx);
  await api.queue.work("sync.run", async (d) => {
    await runSync(api.ctx, Number(d.runId), { queue: api.queue });
  });
  world = await StoreWorld.start(SEED, "fault");
  world.bl.control.state.now = () => clock.now();
  world.bo.control.state.now = () => clock.now();
  const seeded = await seedAccount(api);
  accountId = seeded.account.id;
  token = seeded.tokens.owner;
  // Nothing listens for BrickLink's callbacks here: syncs are asked for, as the schedule would.
  await world.connect(call, waitForRun, "http://127.0.0.1:9");
  console.log(`fault suite: seed ${SEED}, ${ACTIONS} actions`);
}, 120_000);

afterAll(async () => {
  world?.bl.control.clearFaults();
  world?.bo.control.clearFaults();
  await api?.close();
  await world?.close();
});

describe("fault suite", () => {
  it("with 20% of calls failing and a spent daily budget, every order arrives and every push lands exactly once", async () => {
    const { bl, bo } = world;
    const start = clock.now().getTime();
    // "slow" answers come late but within the timeout; timeouts are the hang faults.
    bl.control.faultRate(0.2, BL_FAULTS, { slowMs: 150 });
    bo.control.faultRate(0.2, BO_FAULTS, { slowMs: 150 });
    const callsBefore = bl.control.state.calls.total + bo.control.state.calls.total;
    for (let i = 0; i < ACTIONS; i++) {
      await world.act(call);
      if (i === Math.floor(ACTIONS / 2)) {
        // BrickLink's daily call budget runs out part way: the rest waits for the next day.
        bl.control.state.dailyLimit = bl.control.state.calls.count + 25;
      }
      if (i % 8 === 7) await pump();
    }
    // Settle: syncs as the schedule would ask for them, until everything has arrived and gone out.
    let settled = false;
    let finalSyncs = 0;
    let rounds = 0;
    for (; rounds < 400 && !settled; rounds++) {
      const active = await api.ctx.db
        .select({ id: syncRuns.id })
        .from(syncRuns)
        .where(inArray(syncRuns.state, ["queued", "running"]));
      const pending = await api.ctx.db
        .select({ id: outbox.id })
        .from(outbox)
        .where(inArray(outbox.status, ["pending", "sending"]));
      const total = Number((await call("GET", "/api/orders?limit=1"))!.body.total);
      if (active.length === 0) {
        if (finalSyncs >= 2 && pending.length === 0 && total === world.expectedOrderCount()) settled = true;
        else {
          for (const id of [world.conn.bl, world.conn.bo])
            await call("POST", `/api/connections/${id}/sync`, {});
          finalSyncs++;
        }
      }
      await pump();
    }
    bl.control.clearFaults();
    bo.control.clearFaults();
    expect(settled, `not settled after ${rounds} rounds`).toBe(true);
    const calls = bl.control.state.calls.total + bo.control.state.calls.total - callsBefore;
    console.log(
      `fault suite: ${calls} marketplace calls (a fifth of them failing), ${world.createdBl.length + world.createdBo.length} orders, ${world.acknowledged.adjust.size} adjustments, ${world.acknowledged.ship.size} shipments, ${Math.round((clock.now().getTime() - start) / 3_600_000)} h of simulated time`,
    );
    // Sync runs that met a failure on the way show it; none was left unfinished or lost an order.
    await world.expectInvariants(api.ctx.db);
  }, 900_000);

  it("what needs a person says what to do: revoked credentials, a status the marketplace refuses", async () => {
    const { bl } = world;
    // The seller revoked the token on BrickLink.
    const secret = bl.control.credentials.tokenSecret;
    bl.control.credentials.tokenSecret = "revoked-on-brickLink";
    try {
      const run = await call("POST", `/api/connections/${world.conn.bl}/sync`, {});
      expect(await waitForRun(Number(run!.body.runId))).toBe("failed");
      const conn = (await call("GET", `/api/connections/${world.conn.bl}`))!.body.connection as {
        lastError: string;
      };
      expect(conn.lastError).toMatch(/reconnect this store with valid credentials/);
      expect(conn.lastError).not.toContain(secret);
    } finally {
      bl.control.credentials.tokenSecret = secret;
    }
    // An order BrickLink will not move to SHIPPED any more (it was completed there meanwhile).
    const id = bl.control.createOrder({ lines: 1 });
    const run = await call("POST", `/api/connections/${world.conn.bl}/sync`, {});
    await waitForRun(Number(run!.body.runId));
    bl.control.setStatus(id, "COMPLETED");
    const shipped = await call("POST", "/api/fulfilment/ship", {
      orders: [`BL-${id}`],
      trackingNumber: "RR123456785GB",
    });
    expect(shipped!.status).toBe(202);
    for (let i = 0; i < 20; i++) await pump();
    const failed = (await call("GET", "/api/pushes?state=failed"))!.body.pushes as {
      number?: string;
      lastError: string;
      attempts: number;
    }[];
    const mine = failed.find((p) => p.number === `BL-${id}`);
    // BrickLink's own reason, and refused at once rather than retried.
    expect(mine?.lastError).toMatch(/cannot change from COMPLETED to SHIPPED/);
    expect(mine?.attempts).toBe(1);
  }, 120_000);
});
