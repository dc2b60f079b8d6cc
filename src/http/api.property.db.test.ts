import { sql } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { bearer, seedAccount, testApi } from "../../test/helpers/http.ts";
import { fakeStore } from "../marketplaces/testing/fake.ts";
import { type Path, paths } from "../marketplaces/testing/mutations.ts";
import type { RouteDef } from "./route.ts";

/**
 * Bad input on every route of the route table (new routes are covered without touching this file):
 * arbitrary JSON bodies, mutations of a valid body, arbitrary query strings and path parameters,
 * sent by the account's owner. Whatever comes in, the answer is never a 5xx; a 4xx is the JSON error
 * shape; a 400 names the field; and a refused request leaves nothing behind (orders, order lines,
 * connections, lots, ledger rows and outbox rows are counted before and after).
 *
 * Runs per route: 30, or ORDERHUB_PROPERTY_RUNS (long mode).
 */
const RUNS = Number(process.env.ORDERHUB_PROPERTY_RUNS) || 30;

const api = await testApi();
afterAll(async () => {
  await api.close();
});
const routes: RouteDef[] = api.app.routes;

// ------------------------------------------------------------------ a shop with real objects

const shop = await seedAccount(api, `prop-${Date.now()}`);
const h = bearer(shop.tokens.owner);
const storeName = `prop-${Date.now()}`;
fakeStore(storeName).seed(4);

async function call(method: string, url: string, payload?: unknown) {
  return api.app.inject({
    method: method as "GET",
    url,
    headers: h,
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });
}

const conn = await call("POST", "/api/connections", {
  marketplace: "fake",
  name: "Property shop",
  config: { store: storeName, apiKey: "good-key" },
  test: true,
});
if (conn.statusCode !== 201) throw new Error(`cannot connect the fake store: ${conn.body}`);
const connectionId = conn.json().connection.id as number;
const run = await call("POST", `/api/connections/${connectionId}/sync`, {});
await api.queue.work("sync.run", async (d) => {
  const { runSync } = await import("../sync/engine.ts");
  await runSync(api.ctx, Number(d.runId));
});
await api.queue.runUntilIdle();
const orderList = (await call("GET", "/api/orders")).json() as { orders: { id: number; number: string }[] };
if (orderList.orders.length === 0) throw new Error("the fake store's orders did not arrive");
const imported = await call("POST", "/api/inventory/import-file", {
  format: "csv",
  content:
    "item_no,color_id,condition,quantity,price,location\r\n3001,5,new,10,0.25,A-1\r\n3002,1,used,3,,B-2\r\n",
});
if (imported.statusCode !== 202) throw new Error(`cannot import lots: ${imported.body}`);
{
  const { IMPORT_JOB, runImportJob } = await import("../inventory/import-job.ts");
  await api.queue.work(IMPORT_JOB, async (d) => runImportJob(api.ctx, Number(d.jobId)));
  await api.queue.runUntilIdle();
}
const lots = (await call("GET", "/api/inventory/lots")).json() as { lots: { id: number }[] };
// Tokens the property may revoke; the owner's own token stays out of the pool.
const spareTokens: number[] = [];
for (let i = 0; i < 3; i++)
  spareTokens.push((await call("POST", "/api/tokens", { name: `spare ${i}` })).json().id);
/** Rows of a raw query, whichever driver answered (PGlite or node-postgres). */
const rowsOf = <T>(res: unknown): T[] => (Array.isArray(res) ? res : (res as { rows: T[] }).rows);
const [hook] = rowsOf<{ token: string }>(
  await api.ctx.db.execute(sql`select webhook_token as token from connections where id = ${connectionId}`),
);
const webhookToken = hook!.token;

const orderIds = orderList.orders.map((o) => o.id);
const orderNumbers = orderList.orders.map((o) => o.number);
const lotIds = lots.lots.map((l) => l.id);
const runId = run.json().runId as number;

// ------------------------------------------------------------------ what can be sent

/** Text that has broken servers before: control characters, extremes, encodings, injections. */
const trouble = fc.constantFrom(
  "a\u0000b",
  "\u0000",
  "\ud800",
  "\udfff\ud800",
  "Łukasz Żółć 🧱",
  "\u202eevil",
  "x".repeat(5000),
  "9".repeat(40),
  "' or 1=1 --",
  "%",
  "\\",
  "_%",
);
const numberish = fc.constantFrom(
  "0",
  "-1",
  "1.5",
  "1e400",
  "NaN",
  "Infinity",
  "-Infinity",
  "2147483648",
  "9007199254740993",
  "0x10",
  " 1",
  "",
);
const dateish = fc.constantFrom(
  "2026-13-45",
  "275760-09-13",
  "+275760-09-13T00:00:00Z",
  "-271821-04-20",
  "0000-01-01",
  "0001-01-01",
  "9999-12-31T23:59:59.999Z",
  "10000-01-01",
  "1",
  "2026",
  "2026-01-31T00:00:00+14:00",
);
const wordish = fc.constantFrom(
  "",
  " ",
  "null",
  "undefined",
  "true",
  "[]",
  "{}",
  "__proto__",
  "constructor",
  "prototype",
  "../../etc/passwd",
  "<script>alert(1)</script>",
  "pending,processing",
  "pending,,bogus",
  "bricklink",
  "FK-1000",
  "fk-1000",
  "BL-",
  "bricklink:",
  ":1",
);
const nastyString = fc.oneof(
  { arbitrary: trouble, weight: 3 },
  { arbitrary: numberish, weight: 2 },
  { arbitrary: dateish, weight: 2 },
  { arbitrary: wordish, weight: 2 },
  { arbitrary: fc.string({ unit: "binary", maxLength: 12 }), weight: 1 },
  { arbitrary: fc.string({ maxLength: 12 }).map((t) => `${t}\u0000`), weight: 1 },
);
const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  nastyString,
  nastyString,
  nastyString,
  fc.constantFrom(
    null,
    true,
    false,
    0,
    -1,
    -0,
    1.5,
    2 ** 31,
    2 ** 53 + 2,
    -(2 ** 53) - 2,
    1e308,
    -1e308,
    Number.MIN_VALUE,
    [],
    {},
    [null],
    { __proto__: null, polluted: true },
  ),
  fc.constant("y".repeat(100_000)),
  fc.string({ maxLength: 30 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.jsonValue({ maxDepth: 2 }),
);

/** Valid bodies where one is easy to build, as the base for mutations. Other routes get field-shaped bodies. */
const examples: Record<string, () => unknown> = {
  "POST /api/auth/login": () => ({ email: "owner@nowhere.example", password: "wrong password" }),
  "POST /api/accounts": () => ({ name: "Another account" }),
  "POST /api/setup": () => ({
    accountName: "Shop",
    email: "first@owner.example",
    password: "long enough pw",
  }),
  "POST /api/users": () => ({ email: `u${Date.now()}@x.example`, password: "long enough pw", role: "staff" }),
  "POST /api/tokens": () => ({ name: "script", expiresInDays: 30 }),
  "POST /api/connections": () => ({
    marketplace: "fake",
    name: `Shop ${Math.random()}`,
    config: { store: storeName, apiKey: "good-key", pageSize: "10" },
    schedule: { kind: "interval", minutes: 15 },
    dailyBudget: 1000,
  }),
  "PATCH /api/connections/:id": () => ({
    name: "Property shop",
    schedule: { kind: "cron", expression: "*/5 * * * *" },
  }),
  "POST /api/connections/:id/sync": () => ({ mode: "incremental", includeArchived: false }),
  "POST /api/integrations/:marketplace/sync": () => ({ mode: "full" }),
  "POST /api/documents": () => ({
    kind: "csv-orders",
    orders: [orderIds[0], orderNumbers[1]],
    options: { layout: "a4-2x7", startAt: 2, paper: "a4" },
  }),
  "PUT /api/settings/documents": () => ({
    storeName: "Brick Corner",
    email: "shop@brickcorner.example",
    returnAddress: {
      name: "Brick Corner",
      line1: "Rue 4",
      city: "Luxembourg",
      postalCode: "L-1611",
      countryCode: "LU",
    },
    paper: "a4",
  }),
  "POST /api/fulfilment/ship": () => ({
    orders: [orderNumbers[0]],
    carrier: "DHL",
    trackingNumber: "TRACK1",
    shippedAt: "2026-01-02T00:00:00Z",
    lines: [1],
    dryRun: true,
  }),
  "POST /api/fulfilment/status": () => ({ orders: [orderIds[0]], status: "PAID", dryRun: true }),
  "PATCH /api/orders/:ref": () => ({ internalNote: "check the colour", tags: ["gift", "urgent"] }),
  "POST /api/inventory/import": () => ({ connectionId }),
  "POST /api/inventory/reconcile": () => ({ connectionId, approve: false }),
  "POST /api/inventory/lots/:ref/adjust": () => ({ by: -1, reason: "counted" }),
  "POST /api/inventory/import-file": () => ({
    format: "csv",
    content: "item_no,color_id,condition,quantity,price,location\r\n3003,5,new,2,0.10,C-3\r\n",
    name: "count.csv",
  }),
};

const realParams: Record<string, fc.Arbitrary<string>> = {
  id: fc.constantFrom(...[connectionId, runId, ...spareTokens, ...orderIds, ...lotIds].map(String)),
  ref: fc.constantFrom(...[...orderIds, ...lotIds].map(String), ...orderNumbers, "bricklink:1"),
  marketplace: fc.constantFrom("fake", "bricklink", "brickowl"),
  token: fc.constant(String(webhookToken)),
};

/** The field names a zod schema knows at its top level (through optional, default, pipe and refine). */
function fieldsOf(schema: unknown): string[] {
  let s = schema as { shape?: Record<string, unknown>; _zod?: { def?: Record<string, unknown> } } | undefined;
  for (let i = 0; s && i < 10; i++) {
    if (s.shape) return Object.keys(s.shape);
    const def = s._zod?.def;
    s = (def?.innerType ?? def?.in ?? def?.schema) as typeof s;
  }
  return [];
}

type Json = unknown;
const DELETE = Symbol("delete");
function mutate(base: Json, path: Path, value: unknown): Json {
  const copy = structuredClone(base);
  if (path.length === 0) return value === DELETE ? undefined : value;
  let parent = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const key = path.at(-1)!;
  if (value === DELETE) {
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete parent[key];
  } else parent[key] = value;
  return copy;
}

/** The request body as JSON text (so prototype keys really go over the wire), or none. */
function bodyArbitrary(r: RouteDef): fc.Arbitrary<string | undefined> {
  const key = `${r.method} ${r.url}`;
  const fields = fieldsOf(r.body);
  const example = examples[key];
  const shaped = fc
    .uniqueArray(fc.constantFrom(...(fields.length ? fields : ["value"])), { maxLength: 3 })
    .chain((keys) => fc.tuple(...keys.map((k) => fc.tuple(fc.constant(k), nastyValue))))
    .map((entries) => JSON.stringify(Object.fromEntries(entries)));
  const options: fc.Arbitrary<string | undefined>[] = [
    fc.jsonValue().map((v) => JSON.stringify(v)),
    shaped,
    fc.constantFrom(
      '{"__proto__":{"polluted":true}}',
      '{"constructor":{"prototype":{"polluted":true}}}',
      "[]",
      "null",
      '""',
      "{}",
    ),
  ];
  if (example) {
    options.push(
      fc.constant(undefined).map(() => JSON.stringify(example())),
      fc
        .tuple(fc.nat(), fc.oneof(fc.constant<unknown>(DELETE), nastyValue), fc.boolean())
        .map(([n, value, proto]) => {
          const base = example();
          const all = paths(base as Parameters<typeof paths>[0]);
          const text = JSON.stringify(mutate(base, all[n % all.length] ?? [], value) ?? {});
          // A prototype key beside the fields.
          return proto && text.startsWith("{") ? `{"__proto__":{"polluted":true},${text.slice(1)}` : text;
        }),
    );
    options.push(options.at(-1)!, options.at(-1)!); // mutations of a valid body are the most telling
  }
  if (!r.body) options.push(fc.constant(undefined), fc.constant(undefined), fc.constant(undefined));
  return fc.oneof(...options);
}

/** Percent-encoding that survives lone surrogates (they go over the wire as U+FFFD). */
const encode = (s: string) =>
  encodeURIComponent(
    s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd"),
  );
/** Query text that is not what a browser would send. */
const rawQuery = fc.constantFrom("%", "%zz", "a=%E0%A4%A", "&&&", "=", "a=1&a=2&a=3", "a", "%00=%00", "?=?");

function queryArbitrary(r: RouteDef): fc.Arbitrary<string> {
  const known = fieldsOf(r.query);
  const keyArb = fc.oneof(
    ...(known.length
      ? [fc.constantFrom(...known), fc.constantFrom(...known), fc.constantFrom(...known)]
      : []),
    fc.constantFrom("__proto__", "constructor", "x", "page[]", "a[b]"),
    fc.string({ minLength: 1, maxLength: 8 }),
  );
  const valueArb = fc.oneof(
    nastyString,
    nastyString,
    fc.constantFrom(
      "1",
      "2",
      "500",
      "501",
      "0",
      "asc",
      "desc",
      "xml",
      "csv",
      "pending",
      "sent",
      "1,2,3",
      "orderedAt",
    ),
    fc.string({ maxLength: 20 }),
    fc.integer().map(String),
  );
  const single = known.length
    ? fc.tuple(fc.constantFrom(...known), nastyString).map(([k, v]) => `${encode(k)}=${encode(v)}`)
    : fc.constant("");
  const several = fc
    .array(
      fc.oneof(
        { arbitrary: fc.tuple(keyArb, valueArb), weight: 6 },
        { arbitrary: fc.tuple(keyArb, fc.constantFrom("1", "asc", "pending")), weight: 2 },
        { arbitrary: rawQuery, weight: 1 },
      ),
      { maxLength: 3 },
    )
    .map((pairs) =>
      pairs.map((p) => (typeof p === "string" ? p : `${encode(p[0])}=${encode(p[1])}`)).join("&"),
    );
  // One bad parameter alone reaches deeper than several, where the first refusal hides the rest.
  return fc.oneof({ arbitrary: single, weight: 3 }, { arbitrary: several, weight: 2 });
}

function urlArbitrary(r: RouteDef): fc.Arbitrary<string> {
  const names = [...r.url.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]!);
  const value = (name: string) =>
    fc.oneof(
      realParams[name] ?? fc.string({ minLength: 1, maxLength: 10 }),
      realParams[name] ?? fc.string({ minLength: 1, maxLength: 10 }),
      nastyString.filter((s) => s.length > 0),
      fc.integer().map(String),
      fc.string({ minLength: 1, maxLength: 30 }),
    );
  return fc.tuple(...names.map((n) => value(n)), queryArbitrary(r)).map((parts) => {
    const query = parts.pop() as string;
    let i = 0;
    const path = r.url.replace(/:([A-Za-z]+)/g, () => encode(parts[i++] as string));
    return query ? `${path}?${query}` : path;
  });
}

async function counts() {
  const [row] = rowsOf<Record<string, number>>(
    await api.ctx.db.execute(sql`select
    (select count(*) from orders)::int as orders,
    (select count(*) from order_lines)::int as lines,
    (select count(*) from connections)::int as connections,
    (select count(*) from inventory_lots)::int as lots,
    (select count(*) from inventory_ledger)::int as ledger,
    (select count(*) from outbox)::int as outbox`),
  );
  return row;
}

/** Every key anywhere in a JSON text (for "the 400 names the field"). */
function keysIn(text: string | undefined): string[] {
  if (!text) return [];
  try {
    return paths(JSON.parse(text)).flatMap((p) => p.filter((k): k is string => typeof k === "string"));
  } catch {
    return [];
  }
}

// ------------------------------------------------------------------ the property, per route

describe("every route survives bad input", () => {
  it("covers the whole route table", () => {
    expect(routes.length).toBeGreaterThan(40);
  });

  for (const r of routes) {
    const name = `${r.method} ${r.url}`;
    if (/text\/event-stream/.test(r.summary)) {
      // A streaming answer never ends, so it cannot be checked request by request.
      it.skip(`${name}: skipped, it streams server-sent events`, () => {});
      continue;
    }
    it(name, { timeout: 600_000 }, async () => {
      await fc.assert(
        fc.asyncProperty(urlArbitrary(r), bodyArbitrary(r), async (url, body) => {
          const before = await counts();
          const res = await api.app.inject({
            method: r.method,
            url,
            headers: { ...h, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
            ...(body !== undefined ? { payload: body } : {}),
          });
          const label = `${r.method} ${url.slice(0, 300)} ${body?.slice(0, 300) ?? "(no body)"} → ${res.statusCode} ${res.body.slice(0, 500)}`;
          expect(res.statusCode, label).toBeLessThan(500);
          expect(({} as Record<string, unknown>).polluted, `prototype polluted by ${label}`).toBeUndefined();
          if (res.statusCode < 400) return;
          expect(res.headers["content-type"], label).toMatch(/^application\/json/);
          const err = res.json() as { error?: { code?: unknown; message?: unknown } };
          expect(typeof err.error?.code, label).toBe("string");
          expect(typeof err.error?.message, label).toBe("string");
          if (res.statusCode === 400) {
            const message = String(err.error!.message).toLowerCase();
            const names = [
              "body",
              "query",
              "params",
              ...[...r.url.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]!),
              ...fieldsOf(r.body),
              ...fieldsOf(r.query),
              ...keysIn(body),
              ...[...new URLSearchParams(url.split("?")[1] ?? "").keys()],
            ].filter((n) => n.length > 1);
            expect(
              names.some((n) => message.includes(n.toLowerCase())),
              `400 without naming a field: ${label}`,
            ).toBe(true);
          }
          expect(await counts(), `a refused request left something behind: ${label}`).toEqual(before);
        }),
        { numRuns: RUNS },
      );
    });
  }
});
