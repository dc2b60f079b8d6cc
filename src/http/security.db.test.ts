import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { InjectOptions } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock, testSettings } from "../../test/helpers/db.ts";
import { bearer, seedAccount, type TestApi, testApi } from "../../test/helpers/http.ts";
import { createContext } from "../context.ts";
import { SecretBox, SecretKeyError } from "../core/secrets.ts";
import {
  type BrickLinkSimulator,
  startBrickLinkSimulator,
} from "../marketplaces/bricklink/simulator/server.ts";
import { fakeStore } from "../marketplaces/testing/fake.ts";
import { runSync } from "../sync/engine.ts";
import { dispatchOutbox } from "../sync/outbox.ts";
import { registerPushHandlers } from "../worker.ts";
import { buildHttpApp } from "./app.ts";
import { type Action, allows, defaultSwitches, isAction } from "./permissions.ts";
import type { RouteDef } from "./route.ts";

/** A marketplace credential and a password that must never be seen again anywhere. */
const PLANTED_KEY = `PLANTEDkey${randomBytes(8).toString("hex")}`;
const PLANTED_PASSWORD = `PLANTEDpw${randomBytes(8).toString("hex")}`;

const clock = new ManualClock(new Date());
let api: TestApi;
let bl: BrickLinkSimulator;
type Seeded = Awaited<ReturnType<typeof seedAccount>>;
let A: Seeded;
let B: Seeded;
/** Account A's objects, of every kind a route takes an id of. */
const a = {
  blConnectionId: 0,
  fakeConnectionId: 0,
  webhookToken: "",
  orderId: 0,
  orderNumber: "",
  fakeOrderNumber: "",
  runId: 0,
  lotId: 0,
  importJobId: 0,
  listingRef: "",
  stockPushId: 0,
  failedPushId: 0,
  tokenId: 0,
  pickBatchId: 0,
  pickItemId: 0,
  viewId: "",
  ruleId: 0,
};
let bConnectionId = 0;
/** Every body any request of this file got back, for the planted-secret check. */
const seen: { what: string; body: string }[] = [];

type Method = RouteDef["method"];
async function call(
  method: Method,
  url: string,
  token: string,
  payload?: object,
  headers: Record<string, string> = {},
) {
  const res = await api.app.inject({
    method,
    url,
    headers: { ...bearer(token), ...headers },
    ...(payload !== undefined ? { payload } : {}),
  });
  seen.push({
    what: `${method} ${url}`,
    body: res.rawPayload.toString("latin1") + JSON.stringify(res.headers),
  });
  return res;
}

async function syncAll() {
  await api.queue.runUntilIdle();
}

beforeAll(async () => {
  api = await testApi({ clock });
  registerPushHandlers(api.ctx);
  await api.queue.work("sync.run", async (d) => {
    await runSync(api.ctx, Number(d.runId), { queue: api.queue });
  });
  bl = await startBrickLinkSimulator({ seed: 77, orders: 12, credentials: { consumerSecret: PLANTED_KEY } });
  A = await seedAccount(api, `alpha-${Date.now()}`);
  B = await seedAccount(api, `beta-${Date.now()}`);
  const owner = A.tokens.owner;

  // A: a BrickLink store (orders, lots, listings, pushes) and a fake store (more orders).
  const blConn = await call("POST", "/api/connections", owner, {
    marketplace: "bricklink",
    name: "Alpha BrickLink",
    baseUrl: bl.baseUrl,
    config: { ...bl.credentials },
    test: true,
  });
  expect(blConn.statusCode, blConn.body).toBe(201);
  a.blConnectionId = blConn.json().connection.id;
  a.webhookToken = String(blConn.json().connection.webhookUrl).split("/").pop()!;
  fakeStore("sec-alpha").seed(3);
  fakeStore("sec-beta").seed(2);
  const fakeConn = await call("POST", "/api/connections", owner, {
    marketplace: "fake",
    name: "Alpha fake",
    config: { store: "sec-alpha", apiKey: "good-key" },
  });
  a.fakeConnectionId = fakeConn.json().connection.id;
  for (const id of [a.blConnectionId, a.fakeConnectionId]) {
    const r = await call("POST", `/api/connections/${id}/sync`, owner, { mode: "full" });
    expect(r.statusCode).toBe(202);
    a.runId = r.json().runId;
  }
  await syncAll();
  const orders = (await call("GET", "/api/orders?pageSize=500", owner)).json().orders as {
    id: number;
    number: string;
    marketplace: string;
    status: string;
  }[];
  const blOrder = orders.find((o) => o.marketplace === "bricklink")!;
  a.orderId = blOrder.id;
  a.orderNumber = blOrder.number;
  a.fakeOrderNumber = orders.find((o) => o.marketplace === "fake")!.number;

  // A pick batch of A's order, before it is shipped below (a shipped line has nothing left to pick).
  const batch = await call("POST", "/api/pick-batches", owner, { name: "Alpha pick", orders: [a.orderId] });
  expect(batch.statusCode, batch.body).toBe(201);
  a.pickBatchId = batch.json().batchId;
  a.pickItemId = (await call("GET", `/api/pick-batches/${a.pickBatchId}`, owner)).json().items[0].id;

  const imported = await call("POST", "/api/inventory/import", owner, { connectionId: a.blConnectionId });
  expect(imported.statusCode, imported.body).toBe(200);
  const lots = (await call("GET", "/api/inventory/lots", owner)).json().lots as { id: number }[];
  a.lotId = lots[0]!.id;
  const lot = (await call("GET", `/api/inventory/lots/${a.lotId}`, owner)).json();
  a.listingRef = `bricklink:${lot.listings[0].externalId}`;
  const adjusted = await call("POST", `/api/inventory/lots/${a.lotId}/adjust`, owner, { by: 1 });
  expect(adjusted.statusCode, adjusted.body).toBe(200);
  const fileImport = await call("POST", "/api/inventory/import-file", owner, {
    format: "csv",
    content: "item_no,quantity\r\n3001,1\r\n",
  });
  expect(fileImport.statusCode, fileImport.body).toBe(202);
  a.importJobId = fileImport.json().job.id;
  // A fulfilment push, made to fail, so "retry" has something of A's to aim at.
  const shipped = await call("POST", "/api/fulfilment/ship", owner, {
    orders: [a.orderNumber],
    trackingNumber: "SEC000001",
  });
  expect(shipped.statusCode, shipped.body).toBe(202);
  const pushes = (await call("GET", "/api/pushes", owner)).json().pushes as { id: number; kind: string }[];
  a.stockPushId = pushes.find((p) => p.kind === "stock")!.id;
  a.failedPushId = pushes.find((p) => p.kind !== "stock")!.id;
  await api.ctx.database.sql.executeSql(
    "update outbox set status = 'failed', last_error = 'refused' where id = $1",
    [a.failedPushId],
  );
  const tokens = (await call("GET", "/api/tokens", owner)).json().tokens as { id: number; name: string }[];
  a.tokenId = tokens.find((t) => t.name === "staff")!.id;
  const view = await call("POST", "/api/views", owner, { name: "Alpha view", query: "status=processing" });
  expect(view.statusCode, view.body).toBe(201);
  a.viewId = view.json().view.id;
  const rule = await call("POST", "/api/rules", owner, {
    name: "Alpha rule",
    triggers: ["order_created"],
    conditions: [{ field: "itemCount", op: "gte", value: 1 }],
    actions: [{ type: "tag", tag: "alpha" }],
  });
  expect(rule.statusCode, rule.body).toBe(201);
  a.ruleId = rule.json().rule.id;

  // B: a store of its own, so its lists are not trivially empty.
  const bConn = await call("POST", "/api/connections", B.tokens.owner, {
    marketplace: "fake",
    name: "Beta fake",
    config: { store: "sec-beta", apiKey: "good-key" },
  });
  bConnectionId = bConn.json().connection.id;
  await call("POST", `/api/connections/${bConnectionId}/sync`, B.tokens.owner, {});
  await syncAll();
}, 120_000);

afterAll(async () => {
  await api.close();
  await bl.close();
});

/** Everything stored for an account, row by row, to prove another account changed nothing. */
async function snapshot(accountId: number): Promise<Record<string, string[]>> {
  const tables = [
    "orders",
    "order_lines",
    "order_events",
    "connections",
    "sync_runs",
    "outbox",
    "inventory_lots",
    "inventory_ledger",
    "listings",
    "api_tokens",
    "users",
    "sessions",
    "audit_log",
    "saved_views",
    "automation_rules",
    "pick_batches",
  ];
  const out: Record<string, string[]> = {};
  for (const t of tables) {
    const r = await api.ctx.database.sql.executeSql(
      `select t::text as row from ${t} t where account_id = $1 order by 1`,
      [accountId],
    );
    out[t] = (r.rows as { row: string }[]).map((x) => x.row);
  }
  const acct = await api.ctx.database.sql.executeSql("select t::text as row from accounts t where id = $1", [
    accountId,
  ]);
  out.accounts = (acct.rows as { row: string }[]).map((x) => x.row);
  return out;
}

// ---------------------------------------------------------------------------------------------
// 1. Account scoping, driven by the route table.

type Probe = { url: string; payload?: object };
type Scoping =
  /** The id names one object: another account's id must be answered exactly like a missing one. */
  | { kind: "id"; status: 404; probes: () => Probe[] }
  /** The parameter is not an id (a marketplace): the caller's own objects only, none of A's. */
  | { kind: "caller"; probes: () => Probe[] }
  /** Public, where the unguessable token is the credential (tested in the webhook section). */
  | { kind: "public"; why: string };

const SCOPING: Record<string, Scoping> = {
  "GET /api/connections/:id/sync-estimate": {
    kind: "id",
    status: 404,
    probes: () => [{ url: `/api/connections/${a.blConnectionId}/sync-estimate` }],
  },
  "PATCH /api/views/:id": {
    kind: "id",
    status: 404,
    probes: () => [{ url: `/api/views/${a.viewId}`, payload: { name: "stolen" } }],
  },
  "DELETE /api/views/:id": { kind: "id", status: 404, probes: () => [{ url: `/api/views/${a.viewId}` }] },
  "PATCH /api/rules/:id": {
    kind: "id",
    status: 404,
    probes: () => [{ url: `/api/rules/${a.ruleId}`, payload: { enabled: false } }],
  },
  "DELETE /api/rules/:id": { kind: "id", status: 404, probes: () => [{ url: `/api/rules/${a.ruleId}` }] },
  "GET /api/pick-batches/:id": {
    kind: "id",
    status: 404,
    probes: () => [{ url: `/api/pick-batches/${a.pickBatchId}` }],
  },
  "POST /api/pick-batches/:id/next": {
    kind: "id",
    status: 404,
    probes: () => [{ url: `/api/pick-batches/${a.pickBatchId}/next` }],
  },
  "POST /api/pick-batches/:id/items/:itemId": {
    kind: "id",
    status: 404,
    probes: () => [
      {
        url: `/api/pick-batches/${a.pickBatchId}/items/${a.pickItemId}`,
        payload: { action: "short", version: 0, found: 0 },
      },
    ],
  },
  "GET /api/inventory/lots/:id/shortages": {
    kind: "id",
    status: 404,
    probes: () => [{ url: `/api/inventory/lots/${a.lotId}/shortages` }],
  },
  "GET /api/pack/:ref": {
    kind: "id",
    status: 404,
    probes: () => [{ url: `/api/pack/${a.orderId}` }, { url: `/api/pack/${a.orderNumber}` }],
  },
  "POST /api/pack/:id/verified": {
    kind: "id",
    status: 404,
    probes: () => [{ url: `/api/pack/${a.orderId}/verified`, payload: { lines: 1, scanned: 0 } }],
  },
  "PATCH /api/users/:id": {
    kind: "id",
    status: 404,
    probes: () => [{ url: `/api/users/${A.users.picker.id}`, payload: { disabled: true } }],
  },
  "DELETE /api/users/:id": {
    kind: "id",
    status: 404,
    probes: () => [{ url: `/api/users/${A.users.picker.id}` }],
  },
  "POST /api/users/:id/password": {
    kind: "id",
    status: 404,
    probes: () => [
      { url: `/api/users/${A.users.picker.id}/password`, payload: { password: "x".repeat(12) } },
    ],
  },
  "POST /api/users/:id/logout": {
    kind: "id",
    status: 404,
    probes: () => [{ url: `/api/users/${A.users.picker.id}/logout`, payload: { tokens: true } }],
  },
  "DELETE /api/tokens/:id": { kind: "id", status: 404, probes: () => [{ url: `/api/tokens/${a.tokenId}` }] },
  "GET /api/connections/:id": {
    kind: "id",
    status: 404,
    probes: () => [
      { url: `/api/connections/${a.blConnectionId}` },
      { url: `/api/connections/${a.fakeConnectionId}` },
    ],
  },
  "PATCH /api/connections/:id": {
    kind: "id",
    status: 404,
    probes: () => [
      {
        url: `/api/connections/${a.blConnectionId}`,
        payload: {
          name: "stolen",
          baseUrl: "http://127.0.0.1:9/",
          config: { consumerSecret: "x".repeat(12) },
        },
      },
    ],
  },
  "DELETE /api/connections/:id": {
    kind: "id",
    status: 404,
    probes: () => [{ url: `/api/connections/${a.blConnectionId}` }],
  },
  "POST /api/connections/:id/test": {
    kind: "id",
    status: 404,
    probes: () => [{ url: `/api/connections/${a.blConnectionId}/test` }],
  },
  "POST /api/connections/:id/sync": {
    kind: "id",
    status: 404,
    probes: () => [{ url: `/api/connections/${a.fakeConnectionId}/sync`, payload: { mode: "full" } }],
  },
  "POST /api/pushes/:id/retry": {
    kind: "id",
    status: 404,
    probes: () => [
      { url: `/api/pushes/${a.failedPushId}/retry` },
      { url: `/api/pushes/${a.stockPushId}/retry` },
    ],
  },
  "PATCH /api/orders/:ref": {
    kind: "id",
    status: 404,
    probes: () => [
      { url: `/api/orders/${a.orderId}`, payload: { internalNote: "stolen", tags: ["x"] } },
      { url: `/api/orders/${a.orderNumber}`, payload: { internalNote: "stolen" } },
    ],
  },
  "GET /api/orders/:ref": {
    kind: "id",
    status: 404,
    probes: () => [
      { url: `/api/orders/${a.orderId}` },
      { url: `/api/orders/${a.orderNumber}?raw=1` },
      { url: `/api/orders/${a.orderNumber.toLowerCase()}` },
      { url: `/api/orders/${a.fakeOrderNumber}` },
    ],
  },
  "POST /api/orders/:ref/refresh": {
    kind: "id",
    status: 404,
    probes: () => [
      { url: `/api/orders/${a.orderId}/refresh` },
      { url: `/api/orders/${a.orderNumber}/refresh` },
    ],
  },
  "POST /api/orders/:ref/review/clear": {
    kind: "id",
    status: 404,
    probes: () => [
      { url: `/api/orders/${a.orderId}/review/clear` },
      { url: `/api/orders/${a.orderNumber}/review/clear` },
    ],
  },
  "GET /api/inventory/lots/:ref": {
    kind: "id",
    status: 404,
    probes: () => [{ url: `/api/inventory/lots/${a.lotId}` }, { url: `/api/inventory/lots/${a.listingRef}` }],
  },
  "POST /api/inventory/lots/:ref/adjust": {
    kind: "id",
    status: 404,
    probes: () => [
      { url: `/api/inventory/lots/${a.lotId}/adjust`, payload: { by: -1 } },
      { url: `/api/inventory/lots/${a.listingRef}/adjust`, payload: { by: 5, reason: "stolen" } },
    ],
  },
  "GET /api/inventory/import-jobs/:id": {
    kind: "id",
    status: 404,
    probes: () => [{ url: `/api/inventory/import-jobs/${a.importJobId}` }],
  },
  "POST /api/inventory/import-jobs/:id/cancel": {
    kind: "id",
    status: 404,
    probes: () => [{ url: `/api/inventory/import-jobs/${a.importJobId}/cancel` }],
  },
  "GET /api/sync-runs/:id": { kind: "id", status: 404, probes: () => [{ url: `/api/sync-runs/${a.runId}` }] },
  "POST /api/sync-runs/:id/cancel": {
    kind: "id",
    status: 404,
    probes: () => [{ url: `/api/sync-runs/${a.runId}/cancel` }],
  },
  "POST /api/sync-runs/:id/retry-failed": {
    kind: "id",
    status: 404,
    probes: () => [{ url: `/api/sync-runs/${a.runId}/retry-failed` }],
  },
  "POST /api/integrations/:marketplace/sync": {
    kind: "caller",
    probes: () => [
      { url: "/api/integrations/bricklink/sync", payload: { mode: "full" } },
      { url: "/api/integrations/fake/sync", payload: {} },
    ],
  },
  "GET /api/integrations/:marketplace/status": {
    kind: "caller",
    probes: () => [{ url: "/api/integrations/bricklink/status" }, { url: "/api/integrations/fake/status" }],
  },
  "POST /webhooks/:marketplace/:token": {
    kind: "public",
    why: "no sign-in: the URL's unguessable token is the credential (see the webhook tests)",
  },
  "GET /oauth/callback/:marketplace": {
    kind: "public",
    why: "the browser's return from a marketplace sign-in: the single-use state, bound to the user who started it, is checked (see routes/oauth.db.test.ts)",
  },
};

/** Ids of account A's objects in bodies and queries (not path parameters), called as B. */
const BODY_PROBES: () => { method: Method; url: string; payload?: object; status: number }[] = () => [
  { method: "POST", url: "/api/pick-batches", payload: { orders: [a.orderId] }, status: 404 },
  {
    method: "POST",
    url: "/api/documents",
    payload: { kind: "csv-orders", orders: [a.orderId] },
    status: 404,
  },
  {
    method: "POST",
    url: "/api/documents",
    payload: { kind: "labels", orders: [a.orderNumber] },
    status: 404,
  },
  {
    method: "POST",
    url: "/api/documents",
    payload: { kind: "csv-lines", filter: { connectionId: a.blConnectionId } },
    status: 400,
  },
  {
    method: "POST",
    url: "/api/fulfilment/ship",
    payload: { orders: [a.orderNumber], trackingNumber: "STOLEN1" },
    status: 404,
  },
  {
    method: "POST",
    url: "/api/fulfilment/status",
    payload: { orders: [a.orderId], status: "packed" },
    status: 404,
  },
  { method: "POST", url: "/api/inventory/import", payload: { connectionId: a.blConnectionId }, status: 404 },
  {
    method: "POST",
    url: "/api/connections/oauth/start",
    payload: { marketplace: "bricklink", connectionId: a.blConnectionId, config: {} },
    status: 404,
  },
  {
    method: "POST",
    url: "/api/inventory/reconcile",
    payload: { connectionId: a.blConnectionId, approve: true },
    status: 404,
  },
];

/** Strings that belong to account A alone: none may reach B. */
function markersOfA(): string[] {
  return [
    a.orderNumber,
    a.fakeOrderNumber,
    "Alpha BrickLink",
    "Alpha fake",
    "sec-alpha",
    a.webhookToken,
    A.account.slug,
    A.users.owner.email,
    bl.baseUrl,
  ];
}

/** None of A's strings in an answer to B, except those B itself sent (a 404 names what was asked for). */
function expectNoMarkers(body: string, what: string, sent: string) {
  const lower = sent.toLowerCase();
  for (const m of markersOfA()) {
    if (lower.includes(m.toLowerCase())) continue;
    expect(body.toLowerCase(), `${what} shows ${m}`).not.toContain(m.toLowerCase());
  }
}

describe("account scoping on every route", () => {
  it("every route with a path parameter has a scoping rule (a new route cannot slip through)", () => {
    const withParams = api.app.routes.filter((r) => r.url.includes(":")).map((r) => `${r.method} ${r.url}`);
    expect(withParams.length).toBeGreaterThan(15);
    const missing = withParams.filter((k) => !SCOPING[k]);
    expect(missing, "routes with a path parameter but no entry in SCOPING").toEqual([]);
    const stale = Object.keys(SCOPING).filter((k) => !withParams.includes(k));
    expect(stale, "SCOPING entries for routes that no longer exist").toEqual([]);
  });

  it("another account's ids answer exactly like missing ones, and change nothing", async () => {
    const before = await snapshot(A.account.id);
    expect(before.orders!.length).toBeGreaterThan(3);
    expect(before.inventory_lots!.length).toBeGreaterThan(0);
    expect(before.outbox!.length).toBeGreaterThan(1);
    const bRunsBefore = await snapshot(B.account.id);
    let probed = 0;
    for (const route of api.app.routes.filter((r) => r.url.includes(":"))) {
      const key = `${route.method} ${route.url}`;
      const rule = SCOPING[key]!;
      if (rule.kind === "public") continue;
      for (const p of rule.probes()) {
        probed++;
        for (const role of ["owner", "staff"] as const) {
          const res = await call(route.method, p.url, B.tokens[role], p.payload);
          const what = `${key} as B's ${role}: ${route.method} ${p.url}`;
          if (isAction(String(route.auth)) && !allows(route.auth as Action, role, defaultSwitches())) {
            // A role the route does not take is refused before any lookup, whoever's id it is.
            expect(res.statusCode, what).toBe(403);
            continue;
          }
          if (rule.kind === "id") {
            expect(res.statusCode, `${what} → ${res.body}`).toBe(rule.status);
            expect(res.json().error.code, what).toBe("not_found");
          } else {
            expect(res.statusCode, `${what} → ${res.body}`).toBeLessThan(300);
            const body = res.json() as {
              runs?: { connectionId: number }[];
              connections?: { connectionId: number }[];
            };
            const ids = [...(body.runs ?? []), ...(body.connections ?? [])].map((x) => x.connectionId);
            expect(ids, what).not.toContain(a.blConnectionId);
            expect(ids, what).not.toContain(a.fakeConnectionId);
          }
          expectNoMarkers(res.body, what, `${p.url} ${JSON.stringify(p.payload ?? {})}`);
        }
      }
    }
    for (const p of BODY_PROBES()) {
      const res = await call(p.method, p.url, B.tokens.owner, p.payload);
      const what = `${p.method} ${p.url} ${JSON.stringify(p.payload)}`;
      expect(res.statusCode, `${what} → ${res.body}`).toBe(p.status);
      expectNoMarkers(res.body, what, what);
    }
    expect(probed).toBeGreaterThan(20);
    await syncAll();
    expect(await snapshot(A.account.id)).toEqual(before);
    // B's own syncs ran, but nothing of A's was touched by them either.
    expect((await snapshot(B.account.id)).connections).toEqual(bRunsBefore.connections);
  });

  it("the same requests work for A itself (the probes aim at real objects)", async () => {
    for (const route of api.app.routes.filter((r) => r.url.includes(":") && r.method === "GET")) {
      const rule = SCOPING[`${route.method} ${route.url}`]!;
      if (rule.kind !== "id") continue;
      for (const p of rule.probes()) {
        const res = await call("GET", p.url, A.tokens.owner);
        expect(res.statusCode, `${p.url} as A → ${res.body}`).toBe(200);
      }
    }
    for (const p of [
      { url: `/api/orders/${a.orderNumber}`, payload: { internalNote: "ours" } },
      { url: `/api/connections/${a.fakeConnectionId}`, payload: { name: "Alpha fake" } },
    ]) {
      const res = await call("PATCH", p.url, A.tokens.owner, p.payload);
      expect(res.statusCode, `${p.url} as A → ${res.body}`).toBe(200);
    }
  });

  it("no list answers B with anything of A's", async () => {
    const lists = api.app.routes.filter((r) => r.method === "GET" && !r.url.includes(":"));
    expect(lists.length).toBeGreaterThan(10);
    const QUERY: Record<string, string[]> = {
      "/api/inventory/export": ["?format=csv", "?format=xml"],
      "/api/orders": [
        "?pageSize=500",
        `?ids=${a.orderId}`,
        `?q=${a.orderNumber}`,
        `?connectionId=${a.blConnectionId}`,
      ],
      "/api/sync-runs": ["", `?connectionId=${a.blConnectionId}`],
    };
    const mine = {
      orders: new Set<number>(),
      connections: new Set([a.blConnectionId, a.fakeConnectionId]),
      runs: new Set<number>(),
      pushes: new Set([a.stockPushId, a.failedPushId]),
      lots: new Set([a.lotId]),
      tokens: new Set([a.tokenId]),
      users: new Set(Object.values(A.users).map((u) => u.id)),
    };
    for (const r of (await call("GET", "/api/orders?pageSize=500", A.tokens.owner)).json().orders)
      mine.orders.add(r.id);
    for (const r of (await call("GET", "/api/sync-runs", A.tokens.owner)).json().runs) mine.runs.add(r.id);
    for (const r of (await call("GET", "/api/inventory/lots?limit=500", A.tokens.owner)).json().lots)
      mine.lots.add(r.id);
    for (const route of lists) {
      if (route.url === "/api/events") continue; // a stream: per-account delivery is tested in isolation.db.test.ts
      for (const q of QUERY[route.url] ?? [""]) {
        const res = await call("GET", `${route.url}${q}`, B.tokens.owner);
        const what = `GET ${route.url}${q}`;
        expect(res.statusCode, `${what} → ${res.body.slice(0, 300)}`).toBe(200);
        expectNoMarkers(res.body, what, what);
        if (!String(res.headers["content-type"] ?? "").includes("json")) continue;
        const body = res.json() as Record<string, unknown>;
        for (const [field, ids] of Object.entries(mine)) {
          const list = body[field];
          if (!Array.isArray(list)) continue;
          for (const item of list as { id: number }[])
            expect(ids.has(item.id), `${what}: ${field} ${item.id}`).toBe(false);
        }
      }
    }
    // B does see its own things: the lists are scoped, not empty.
    const orders = (await call("GET", "/api/orders", B.tokens.owner)).json();
    expect(orders.total).toBe(2);
    const conns = (await call("GET", "/api/connections", B.tokens.owner)).json();
    expect(conns.connections.map((c: { id: number }) => c.id)).toEqual([bConnectionId]);
  });
});

// ---------------------------------------------------------------------------------------------
// 2–4. CSRF, sign-in limits, sessions.

/** Signs in from a given address; answers the raw reply. */
function signIn(email: string, password: string, ip = "127.0.0.1") {
  return api.app.inject({
    method: "POST",
    url: "/api/auth/login",
    remoteAddress: ip,
    payload: { email, password },
  });
}
async function session(email: string, ip: string, password = "correct horse battery") {
  const res = await signIn(email, password, ip);
  expect(res.statusCode, res.body).toBe(200);
  seen.push({ what: "login", body: res.body + JSON.stringify(res.headers) });
  const c = res.cookies.find((x) => x.name === "orderhub_session")!;
  return { cookie: `orderhub_session=${c.value}`, csrf: res.json().csrfToken as string };
}
const me = (cookie: string) => api.app.inject({ method: "GET", url: "/api/auth/me", headers: { cookie } });

describe("CSRF", () => {
  it("refuses a write carrying another session's token, a made-up token or a bearer-less token alone", async () => {
    const s1 = await session(B.users.owner.email, "198.51.100.1");
    const s2 = await session(B.users.owner.email, "198.51.100.1");
    const other = await session(B.users.staff.email, "198.51.100.1");
    expect(s1.csrf).not.toBe(s2.csrf);
    const writes = api.app.routes.filter((r) => r.auth !== "public" && r.method !== "GET");
    expect(writes.length).toBeGreaterThan(15);
    for (const r of writes) {
      for (const token of [s2.csrf, other.csrf, `${s1.csrf}x`, s1.csrf.slice(0, -1), ""]) {
        const res = await api.app.inject({
          method: r.method,
          url: r.url.replace(/:[a-zA-Z]+/g, "1"),
          headers: { cookie: s1.cookie, "x-csrf-token": token },
          payload: {},
        });
        expect(res.statusCode, `${r.method} ${r.url} with a wrong token`).toBe(403);
        expect(res.json().error.code).toBe("csrf_failed");
      }
    }
    // The session's own token works, and the token alone (no cookie) is no credential.
    const ok = await api.app.inject({
      method: "POST",
      url: "/api/tokens",
      headers: { cookie: s1.cookie, "x-csrf-token": s1.csrf },
      payload: { name: "mine" },
    });
    expect(ok.statusCode).toBe(201);
    seen.push({ what: "token create", body: ok.body });
    const tokenOnly = await api.app.inject({
      method: "POST",
      url: "/api/tokens",
      headers: { "x-csrf-token": s1.csrf },
      payload: { name: "x" },
    });
    expect(tokenOnly.statusCode).toBe(401);
  });
});

describe("sign-in limits", () => {
  it("answers an unknown e-mail exactly like a wrong password", async () => {
    const unknown = await signIn("nobody-at-all@example.com", "whatever password", "198.51.100.20");
    const wrong = await signIn(A.users.picker.email, "whatever password", "198.51.100.21");
    expect(unknown.statusCode).toBe(401);
    expect(unknown.body).toBe(wrong.body);
    expect(unknown.headers["set-cookie"]).toBeUndefined();
  });

  it("locks an account after five wrong passwords from any mix of addresses, and unknown e-mails alike", async () => {
    const victim = await seedAccount(api, `lock-${Date.now()}`);
    const ghost = `ghost-${Date.now()}@example.com`;
    for (let i = 0; i < 5; i++) {
      const r1 = await signIn(victim.users.staff.email, `wrong ${i}`, `192.0.2.${10 + i}`);
      const r2 = await signIn(ghost, `wrong ${i}`, `192.0.2.${10 + i}`);
      expect([r1.statusCode, r2.statusCode]).toEqual([401, 401]);
    }
    const locked = await signIn(victim.users.staff.email, "correct horse battery", "192.0.2.30");
    const lockedGhost = await signIn(ghost, "correct horse battery", "192.0.2.31");
    expect(locked.statusCode).toBe(423);
    expect(locked.json().error.message).toMatch(/locked until/);
    // The same answer for an e-mail with no account: a lockout does not tell who exists.
    expect(lockedGhost.statusCode).toBe(423);
    expect(lockedGhost.json().error.code).toBe(locked.json().error.code);
    expect(lockedGhost.json().error.message.replace(/until .*/, "")).toBe(
      locked.json().error.message.replace(/until .*/, ""),
    );
    // Other users are not affected; the lock ends after 15 minutes.
    expect((await signIn(victim.users.owner.email, "correct horse battery", "192.0.2.32")).statusCode).toBe(
      200,
    );
    clock.advance(16 * 60_000);
    expect((await signIn(victim.users.staff.email, "correct horse battery", "192.0.2.33")).statusCode).toBe(
      200,
    );
  });

  it("limits sign-in attempts per address across many e-mails, with a retry hint", async () => {
    clock.advance(61_000);
    const ip = "203.0.113.7";
    for (let i = 0; i < 20; i++) {
      const r = await signIn(`stuffed-${i}@example.com`, "hunter2 hunter2", ip);
      expect(r.statusCode, `attempt ${i + 1}`).toBe(401);
    }
    const limited = await signIn("stuffed-20@example.com", "hunter2 hunter2", ip);
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe("rate_limited");
    const retry = Number(limited.headers["retry-after"]);
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(60);
    expect(limited.json().error.message).toMatch(new RegExp(`try again in ${retry} seconds`));
    // Even the right password waits, and an existing e-mail gets the very same answer.
    const right = await signIn(A.users.picker.email, "correct horse battery", ip);
    expect(right.statusCode).toBe(429);
    expect(right.json().error.code).toBe("rate_limited");
    // Another address is not held up.
    expect((await signIn(A.users.picker.email, "correct horse battery", "203.0.113.8")).statusCode).toBe(200);
    // The window slides: after the hint has passed, the address may try again.
    clock.advance(61_000);
    expect((await signIn(A.users.picker.email, "correct horse battery", ip)).statusCode).toBe(200);
  });

  it("counts an IPv6 /64 as one address, and IPv4-mapped addresses as IPv4", async () => {
    clock.advance(61_000);
    for (let i = 1; i <= 20; i++) {
      const r = await signIn(`v6-${i}@example.com`, "hunter2 hunter2", `2001:db8:77:1::${i.toString(16)}`);
      expect(r.statusCode).toBe(401);
    }
    expect((await signIn("v6-x@example.com", "hunter2 hunter2", "2001:db8:77:1:ffff::1")).statusCode).toBe(
      429,
    );
    expect((await signIn("v6-y@example.com", "hunter2 hunter2", "2001:db8:77:2::1")).statusCode).toBe(401);
    for (let i = 0; i < 20; i++) await signIn(`v4-${i}@example.com`, "hunter2 hunter2", "198.51.100.99");
    expect((await signIn("v4-x@example.com", "hunter2 hunter2", "::ffff:198.51.100.99")).statusCode).toBe(
      429,
    );
  });
});

describe("sessions", () => {
  it("logout ends that session only; its cookie answers 401 afterwards, for reads and writes", async () => {
    clock.advance(61_000);
    const s1 = await session(A.users.staff.email, "198.51.100.50");
    const s2 = await session(A.users.staff.email, "198.51.100.51");
    const out = await api.app.inject({
      method: "POST",
      url: "/api/auth/logout",
      headers: { cookie: s1.cookie, "x-csrf-token": s1.csrf },
    });
    expect(out.statusCode).toBe(200);
    expect(out.headers["set-cookie"]).toMatch(/orderhub_session=;/);
    expect((await me(s1.cookie)).statusCode).toBe(401);
    const write = await api.app.inject({
      method: "POST",
      url: "/api/tokens",
      headers: { cookie: s1.cookie, "x-csrf-token": s1.csrf },
      payload: { name: "after logout" },
    });
    expect(write.statusCode).toBe(401);
    expect((await me(s2.cookie)).statusCode).toBe(200);
    // Logging out again with the dead cookie is refused, not an error.
    const again = await api.app.inject({
      method: "POST",
      url: "/api/auth/logout",
      headers: { cookie: s1.cookie, "x-csrf-token": s1.csrf },
    });
    expect(again.statusCode).toBe(401);
  });

  it("a session left unused for longer than its lifetime answers 401; use keeps it alive", async () => {
    const s = await session(A.users.picker.email, "198.51.100.52");
    clock.advance(13 * 86_400_000);
    expect((await me(s.cookie)).statusCode).toBe(200);
    clock.advance(13 * 86_400_000);
    expect((await me(s.cookie)).statusCode).toBe(200);
    clock.advance(14 * 86_400_000 + 60_000);
    expect((await me(s.cookie)).statusCode).toBe(401);
    const made = await api.app.inject({ method: "GET", url: "/api/orders", headers: { cookie: s.cookie } });
    expect(made.statusCode).toBe(401);
  });

  it("a cookie that was never issued is refused", async () => {
    const forged = `orderhub_session=${randomBytes(32).toString("base64url")}`;
    expect((await me(forged)).statusCode).toBe(401);
  });
});

// ---------------------------------------------------------------------------------------------
// 5. Security headers.

function expectHeaders(res: { headers: Record<string, unknown> }, what: string, kind: "api" | "ui") {
  expect(res.headers["x-content-type-options"], what).toBe("nosniff");
  expect(res.headers["x-frame-options"], what).toBe("DENY");
  expect(res.headers["referrer-policy"], what).toBe("no-referrer");
  const csp = String(res.headers["content-security-policy"] ?? "");
  expect(csp, what).toContain("frame-ancestors 'none'");
  if (kind === "api") {
    expect(csp, what).toContain("default-src 'none'");
  } else {
    expect(csp, what).toContain("default-src 'self'");
    // Token by token: 'wasm-unsafe-eval' (the barcode reader's WebAssembly) allows no JavaScript eval.
    expect(csp.split(/[\s;]+/), what).not.toContain("'unsafe-eval'");
    expect(String(csp.match(/script-src[^;]*/)?.[0] ?? ""), what).not.toContain("unsafe-inline");
  }
}

describe("security headers", () => {
  it("on API answers: success, 400, 401, 403, 404, 405-ish, files, webhooks", async () => {
    const owner = bearer(A.tokens.owner);
    const cases: [string, InjectOptions & { url: string }, number][] = [
      ["health", { method: "GET", url: "/api/health" }, 200],
      ["orders", { method: "GET", url: "/api/orders", headers: owner }, 200],
      ["bad query", { method: "GET", url: "/api/orders?sort=colour", headers: owner }, 400],
      [
        "bad json",
        {
          method: "POST",
          url: "/api/tokens",
          headers: { ...owner, "content-type": "application/json" },
          payload: "{x",
        },
        400,
      ],
      ["no sign-in", { method: "GET", url: "/api/orders" }, 401],
      ["role", { method: "POST", url: "/api/users", headers: bearer(A.tokens.picker), payload: {} }, 403],
      ["no route", { method: "GET", url: "/api/nothing-here" }, 404],
      ["wrong method", { method: "PUT", url: "/api/orders" }, 404],
      ["csv file", { method: "GET", url: "/api/inventory/export?format=csv", headers: owner }, 200],
      [
        "pdf file",
        {
          method: "POST",
          url: "/api/documents",
          headers: owner,
          payload: { kind: "pick-sheet", orders: [a.orderId] },
        },
        200,
      ],
      ["webhook unknown", { method: "POST", url: `/webhooks/bricklink/${"z".repeat(32)}` }, 404],
      ["webhook bad", { method: "POST", url: "/webhooks/Bad/short" }, 400],
      ["webhook no route", { method: "GET", url: "/webhooks/bricklink/x" }, 404],
    ];
    for (const [what, req, status] of cases) {
      const res = await api.app.inject(req);
      expect(res.statusCode, `${what}: ${res.body.slice(0, 200)}`).toBe(status);
      expectHeaders(res, what, "api");
      if (req.url.startsWith("/api")) expect(res.headers["cache-control"], what).toBe("no-store");
    }
  });

  it("on a server error (a secret key that cannot open the stored credentials)", async () => {
    const { app2, close } = await appWithOtherKey();
    try {
      const res = await app2.inject({
        method: "GET",
        url: `/api/connections/${a.blConnectionId}`,
        headers: bearer(A.tokens.owner),
      });
      expect(res.statusCode).toBe(500);
      expectHeaders(res, "500", "api");
      expect(res.headers["cache-control"]).toBe("no-store");
    } finally {
      await close();
    }
  });

  it("on the web UI and its client-side routes, which are never cached as API answers are", async () => {
    const webDir = mkdtempSync(join(tmpdir(), "orderhub-web-"));
    writeFileSync(join(webDir, "index.html"), "<!doctype html><title>Orderhub</title>");
    const app = await buildHttpApp(api.ctx, { queue: api.queue, version: "test", webDir });
    try {
      for (const url of ["/", "/orders", "/integrations/3", "/index.html", "/../etc/passwd"]) {
        const res = await app.inject({ method: "GET", url });
        expect(res.statusCode, url).toBe(200);
        expect(res.body, url).toContain("<title>Orderhub</title>");
        expectHeaders(res, url, "ui");
        expect(res.headers["content-type"], url).toMatch(/^text\/html/);
      }
    } finally {
      await app.close();
    }
  });

  it("on the live-updates stream", async () => {
    const address = await api.app.listen({ port: 0, host: "127.0.0.1" });
    const ctl = new AbortController();
    const res = await fetch(`${address}/api/events`, { headers: bearer(A.tokens.owner), signal: ctl.signal });
    expect(res.status).toBe(200);
    const h = Object.fromEntries(res.headers);
    ctl.abort();
    expectHeaders({ headers: h }, "events", "api");
    expect(h["cache-control"]).toContain("no-store");
  });
});

// ---------------------------------------------------------------------------------------------
// 6. Webhook URLs.

describe("webhook URLs", () => {
  it("carry at least 128 random bits, different for every connection and unrelated to ids", async () => {
    const tokens: string[] = [a.webhookToken];
    const made: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await call("POST", "/api/connections", A.tokens.owner, {
        marketplace: "bricklink",
        name: `Token probe ${i}`,
        baseUrl: bl.baseUrl,
        config: { ...bl.credentials },
      });
      made.push(r.json().connection.id);
      tokens.push(String(r.json().connection.webhookUrl).split("/").pop()!);
    }
    for (const t of tokens) {
      expect(t).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(Buffer.from(t, "base64url").length * 8).toBeGreaterThanOrEqual(128);
    }
    expect(new Set(tokens).size).toBe(tokens.length);
    // No shared prefix or suffix to speak of: not a counter, not a hash of something shared.
    for (let i = 1; i < tokens.length; i++) {
      expect(tokens[i]!.slice(0, 4)).not.toBe(tokens[0]!.slice(0, 4));
      expect(tokens[i]!.slice(-4)).not.toBe(tokens[0]!.slice(-4));
    }
    for (const id of made) await call("DELETE", `/api/connections/${id}`, A.tokens.owner);
  });

  it("unknown, disconnected and wrong-marketplace tokens get one and the same answer", async () => {
    const r = await call("POST", "/api/connections", A.tokens.owner, {
      marketplace: "bricklink",
      name: "Soon gone",
      baseUrl: bl.baseUrl,
      config: { ...bl.credentials },
    });
    const gone = String(r.json().connection.webhookUrl).split("/").pop()!;
    await call("DELETE", `/api/connections/${r.json().connection.id}`, A.tokens.owner);
    const ping = (url: string) => api.app.inject({ method: "POST", url, remoteAddress: "192.0.2.200" });
    const unknown = await ping(`/webhooks/bricklink/${randomBytes(24).toString("base64url")}`);
    const disabled = await ping(`/webhooks/bricklink/${gone}`);
    const wrongMarketplace = await ping(`/webhooks/brickowl/${a.webhookToken}`);
    const noSuchMarketplace = await ping(`/webhooks/nowhere/${a.webhookToken}`);
    expect(unknown.statusCode).toBe(404);
    for (const res of [disabled, wrongMarketplace, noSuchMarketplace]) {
      expect(res.statusCode).toBe(404);
      expect(res.body).toBe(unknown.body);
    }
    expect(unknown.body).not.toMatch(/connection|account|disabled|disconnected/i);
  });

  it("are rate-limited per connection and per address for misses, with a retry hint, without blocking good pings", async () => {
    clock.advance(61_000);
    const ping = (token: string, ip: string) =>
      api.app.inject({ method: "POST", url: `/webhooks/bricklink/${token}`, remoteAddress: ip });
    // Guessing: an address that keeps missing is slowed down.
    for (let i = 0; i < 30; i++) {
      expect((await ping(randomBytes(24).toString("base64url"), "192.0.2.201")).statusCode).toBe(404);
    }
    const guessing = await ping(randomBytes(24).toString("base64url"), "192.0.2.201");
    expect(guessing.statusCode).toBe(429);
    expect(Number(guessing.headers["retry-after"])).toBeGreaterThan(0);
    // A marketplace sharing that address still gets its real pings through.
    expect((await ping(a.webhookToken, "192.0.2.201")).statusCode).toBe(202);
    // A flood on one real URL is cut after 30 a minute, from any mix of addresses.
    let accepted = 1;
    let limited: Awaited<ReturnType<typeof ping>> | null = null;
    for (let i = 0; i < 40 && !limited; i++) {
      const res = await ping(a.webhookToken, `198.18.0.${i + 1}`);
      if (res.statusCode === 429) limited = res;
      else {
        expect(res.statusCode).toBe(202);
        accepted++;
      }
    }
    expect(accepted).toBe(30);
    expect(limited!.json().error.code).toBe("rate_limited");
    const retry = Number(limited!.headers["retry-after"]);
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(60);
    clock.advance(retry * 1000 + 1);
    expect((await ping(a.webhookToken, "198.18.0.1")).statusCode).toBe(202);
    await syncAll();
    // Folding: the flood asked for a handful of syncs, not thirty.
    const runs = await api.ctx.database.sql.executeSql(
      "select count(*)::int as n from sync_runs where connection_id = $1 and trigger = 'webhook'",
      [a.blConnectionId],
    );
    expect((runs.rows[0] as { n: number }).n).toBeLessThanOrEqual(3);
  });
});

// ---------------------------------------------------------------------------------------------
// 7–8. A planted secret, and the credentials at rest.

/** A stand-in marketplace that refuses every key and echoes it back in its error body. */
async function echoingMarketplace(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      const key =
        new URL(req.url ?? "/", "http://x").searchParams.get("key") ?? new URLSearchParams(body).get("key");
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { status: `Invalid API key ${key} for ${req.url}` } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function appWithOtherKey() {
  const ctx2 = await createContext(testSettings({ secretKey: randomBytes(32).toString("hex") }), {
    database: api.ctx.database,
    logger: api.ctx.logger,
    secrets: api.ctx.secrets,
    skipMigrations: true,
    clock,
  });
  const app2 = await buildHttpApp(ctx2, { queue: api.queue, version: "test", webDir: null });
  await app2.ready();
  return {
    app2,
    async close() {
      await app2.close();
      await ctx2.events.stop();
    },
  };
}

function pdfText(bytes: Buffer): string | null {
  try {
    execFileSync("pdftotext", ["-v"], { stdio: "ignore" });
  } catch {
    return null;
  }
  const dir = mkdtempSync(join(tmpdir(), "orderhub-pdf-"));
  const file = join(dir, "doc.pdf");
  writeFileSync(file, bytes);
  execFileSync("pdftotext", ["-layout", file, join(dir, "doc.txt")]);
  const txt = join(dir, "doc.txt");
  return existsSync(txt) ? execFileSync("cat", [txt]).toString("utf8") : null;
}

describe("a planted secret", () => {
  it("never appears in error messages, even when a marketplace echoes the key back", async () => {
    // Pushes go out with the planted key too (and their errors go to the log and the order).
    await dispatchOutbox(api.ctx);
    const echo = await echoingMarketplace();
    try {
      const refused = await call("POST", "/api/connections", A.tokens.owner, {
        marketplace: "brickowl",
        name: "Echoing owl",
        baseUrl: echo.url,
        config: { apiKey: PLANTED_KEY },
        test: true,
      });
      expect(refused.statusCode, refused.body).toBe(422);
      expect(refused.json().error.message).toMatch(/BrickOwl refused the API key/);
      const kept = await call("POST", "/api/connections", A.tokens.owner, {
        marketplace: "brickowl",
        name: "Echoing owl",
        baseUrl: echo.url,
        config: { apiKey: PLANTED_KEY },
      });
      expect(kept.statusCode, kept.body).toBe(201);
      const id = kept.json().connection.id;
      const tested = await call("POST", `/api/connections/${id}/test`, A.tokens.staff);
      expect(tested.statusCode).toBe(422);
      const sync = await call("POST", `/api/connections/${id}/sync`, A.tokens.owner, {});
      const run = await runSync(api.ctx, sync.json().runId, { queue: api.queue });
      expect(run.state).toBe("failed");
      for (const url of [
        `/api/connections/${id}`,
        `/api/sync-runs/${run.id}`,
        "/api/sync-runs",
        "/api/connections",
      ]) {
        const res = await call("GET", url, A.tokens.owner);
        expect(res.statusCode).toBe(200);
      }
      const status = await call("GET", "/api/integrations/brickowl/status", A.tokens.owner);
      expect(status.statusCode).toBe(200);
      await call("DELETE", `/api/connections/${id}`, A.tokens.owner);
    } finally {
      await echo.close();
    }
  });

  it("a password is never echoed: sign-in, user creation, malformed bodies", async () => {
    clock.advance(61_000);
    const made = await call("POST", "/api/users", A.tokens.owner, {
      email: "planted@alpha.example",
      password: PLANTED_PASSWORD,
      role: "staff",
    });
    expect(made.statusCode).toBe(201);
    const s = await session("planted@alpha.example", "198.51.100.70", PLANTED_PASSWORD);
    expect(s.csrf).toBeTruthy();
    for (const res of [
      await signIn("someone-else@example.com", PLANTED_PASSWORD, "198.51.100.71"),
      await api.app.inject({
        method: "POST",
        url: "/api/auth/login",
        remoteAddress: "198.51.100.72",
        headers: { "content-type": "application/json" },
        payload: `{"email":"planted@alpha.example","password":"${PLANTED_PASSWORD}`,
      }),
      await api.app.inject({
        method: "POST",
        url: "/api/auth/login",
        remoteAddress: "198.51.100.73",
        payload: { email: "planted@alpha.example", password: PLANTED_PASSWORD, extra: { a: 1 } },
      }),
      await call("POST", "/api/users", A.tokens.owner, {
        email: "x",
        password: PLANTED_PASSWORD,
        role: "boss",
      }),
      await call("POST", "/api/setup", A.tokens.owner, {
        accountName: "x",
        email: "y@example.com",
        password: PLANTED_PASSWORD,
      }),
    ]) {
      expect(res.statusCode).toBeGreaterThanOrEqual(200);
      seen.push({ what: "password probe", body: res.body + JSON.stringify(res.headers) });
    }
  });

  it("is in no JSON answer of any GET route, walked as the owner", async () => {
    const owner = A.tokens.owner;
    let walked = 0;
    for (const route of api.app.routes.filter((r) => r.method === "GET")) {
      if (route.url === "/api/events") continue; // a stream; tested for headers above
      const urls: string[] = [];
      const rule = SCOPING[`${route.method} ${route.url}`];
      if (route.url.includes(":")) {
        expect(rule, `GET ${route.url} needs a SCOPING entry`).toBeTruthy();
        if (rule!.kind !== "public") urls.push(...rule!.probes().map((p) => p.url));
      } else if (route.url === "/api/inventory/export") {
        urls.push("/api/inventory/export?format=csv", "/api/inventory/export?format=xml");
      } else {
        urls.push(route.url);
      }
      urls.push(...urls.filter((u) => u.startsWith("/api/orders/")).map((u) => `${u.split("?")[0]}?raw=1`));
      for (const url of urls) {
        const res = await call("GET", url, owner);
        expect(res.statusCode, `${url}: ${res.body.slice(0, 200)}`).toBe(200);
        walked++;
      }
    }
    expect(walked).toBeGreaterThan(20);
  });

  it("is in no export: CSV and every PDF, read back as text", async () => {
    const kinds = ["csv-orders", "csv-lines", "labels", "pick-sheet", "packing-slips"] as const;
    const ids = (await call("GET", "/api/orders?pageSize=500", A.tokens.owner))
      .json()
      .orders.map((o: { id: number }) => o.id);
    for (const kind of kinds) {
      const res = await call("POST", "/api/documents", A.tokens.owner, { kind, orders: ids });
      expect(res.statusCode, `${kind}: ${res.body.slice(0, 200)}`).toBe(200);
      if (kind.startsWith("csv")) {
        expect(res.body).toContain(a.orderNumber);
      } else {
        expect(res.rawPayload.subarray(0, 5).toString()).toBe("%PDF-");
        const text = pdfText(res.rawPayload);
        if (text !== null) {
          expect(text.length, kind).toBeGreaterThan(20);
          for (const s of [PLANTED_KEY, PLANTED_PASSWORD]) expect(text, kind).not.toContain(s);
        }
      }
    }
  });

  it("is in no log line, no answer and no database row in clear", async () => {
    // The planted key is in use: the BrickLink store it signs for synced.
    expect(a.orderNumber).toMatch(/^BL-/);
    expect(seen.length).toBeGreaterThan(150);
    for (const s of seen) {
      for (const secret of [PLANTED_KEY, PLANTED_PASSWORD]) {
        expect(s.body.includes(secret), `${s.what} shows a planted secret`).toBe(false);
        expect(s.body.includes(encodeURIComponent(secret)), `${s.what} shows a planted secret`).toBe(false);
      }
    }
    expect(api.ctx.logLines.length).toBeGreaterThan(0);
    for (const line of api.ctx.logLines) {
      expect(line).not.toContain(PLANTED_KEY);
      expect(line).not.toContain(PLANTED_PASSWORD);
    }
    const dump = await snapshot(A.account.id);
    // Known defect, kept visible below: a marketplace error that echoes the key is stored as the
    // connection's and the run's error text. Those two columns aside, nothing holds it.
    await api.ctx.database.sql.executeSql(
      "update connections set last_error = null where account_id = $1 and last_error like $2",
      [A.account.id, `%${PLANTED_KEY}%`],
    );
    await api.ctx.database.sql.executeSql(
      "update sync_runs set error = null where account_id = $1 and error like $2",
      [A.account.id, `%${PLANTED_KEY}%`],
    );
    const text = JSON.stringify(await snapshot(A.account.id));
    expect(dump.connections!.length).toBeGreaterThan(0);
    expect(text).toContain("Alpha BrickLink");
    expect(text).not.toContain(PLANTED_KEY);
    expect(text).not.toContain(PLANTED_PASSWORD);
  });

  // Fails today: src/marketplaces/brickowl/client.ts puts BrickOwl's error text (which may echo the
  // key) into its error message, and src/sync/engine.ts stores that message unscrubbed in
  // connections.last_error and sync_runs.error. The API blanks it on the way out; the rows keep it.
  // When this starts passing, turn it into a plain `it`.
  it("an echoed key is not stored in clear in error columns either", async () => {
    const echo = await echoingMarketplace();
    try {
      const made = await call("POST", "/api/connections", A.tokens.owner, {
        marketplace: "brickowl",
        name: "Echoing owl again",
        baseUrl: echo.url,
        config: { apiKey: PLANTED_KEY },
      });
      const id = made.json().connection.id;
      const sync = await call("POST", `/api/connections/${id}/sync`, A.tokens.owner, {});
      await runSync(api.ctx, sync.json().runId, { queue: api.queue });
      const r = await api.ctx.database.sql.executeSql(
        "select (select last_error from connections where id = $1) as c, (select error from sync_runs where id = $2) as r",
        [id, sync.json().runId],
      );
      expect(JSON.stringify(r.rows)).not.toContain(PLANTED_KEY);
    } finally {
      await echo.close();
    }
  });

  it("the stored credentials are sealed: raw SQL shows no secret, and another key cannot open them", async () => {
    const r = await api.ctx.database.sql.executeSql(
      "select secrets_enc, config::text as config from connections where id = $1",
      [a.blConnectionId],
    );
    const row = r.rows[0] as { secrets_enc: string; config: string };
    expect(row.secrets_enc).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(row.secrets_enc).not.toContain(PLANTED_KEY);
    expect(Buffer.from(row.secrets_enc.split(".")[3]!, "base64url").toString("latin1")).not.toContain(
      PLANTED_KEY,
    );
    expect(row.config).not.toContain(PLANTED_KEY);
    // The right key opens it (so it is the real thing) …
    expect(api.ctx.box.openJson(row.secrets_enc).consumerSecret).toBe(PLANTED_KEY);
    // … another key fails loudly rather than answering garbage.
    const other = new SecretBox(randomBytes(32));
    expect(() => other.openJson(row.secrets_enc)).toThrow(SecretKeyError);
    expect(() => other.openJson(row.secrets_enc)).toThrow(/ORDERHUB_SECRET_KEY differs/);
    // A tampered envelope fails the same way.
    const parts = row.secrets_enc.split(".");
    const body = Buffer.from(parts[3]!, "base64url");
    body[0] = body[0]! ^ 1;
    parts[3] = body.toString("base64url");
    expect(() => api.ctx.box.openJson(parts.join("."))).toThrow(SecretKeyError);
  });

  it("a server started with a different key says so clearly, and shows nothing of the secret", async () => {
    const { app2, close } = await appWithOtherKey();
    try {
      for (const [method, url] of [
        ["GET", `/api/connections/${a.blConnectionId}`],
        ["POST", `/api/connections/${a.blConnectionId}/test`],
      ] as const) {
        const res = await app2.inject({ method, url, headers: bearer(A.tokens.owner) });
        expect(res.statusCode, url).toBe(500);
        expect(res.json().error).toMatchObject({
          code: "secret_key_mismatch",
          message: expect.stringMatching(/ORDERHUB_SECRET_KEY differs/),
        });
        expect(res.body).not.toContain(PLANTED_KEY);
      }
    } finally {
      await close();
    }
  });
});
