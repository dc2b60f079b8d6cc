/**
 * Orders table benchmark: ingest through the sync's upsert path vs a raw multi-row INSERT of the
 * same rows, then p50/p95 of the typical table queries (filters, sorts, deep pages, every kind of search). Not a test: it prints its figures.
 *
 *   npm run bench -- bench/orders-query.ts [--orders 100000] [--lines 10] [--db pglite|postgres|both] [--quick]
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { type OrderInput, orderInputSchema } from "../src/core/order.ts";
import { SecretBox } from "../src/core/secrets.ts";
import { bulkInsert } from "../src/db/bulk.ts";
import { type Database, openDatabase, runMigrations } from "../src/db/connection.ts";
import { maintainDatabase } from "../src/db/maintenance.ts";
import { createAccount } from "../src/db/repos/accounts.ts";
import { insertConnection } from "../src/db/repos/connections.ts";
import {
  getOrderDetail,
  lineRows,
  listOrders,
  type OrderQuery,
  orderRow,
  searchTerms,
  upsertOrders,
} from "../src/db/repos/orders.ts";
import { orderLines, orderSearchTerms, orders } from "../src/db/schema.ts";
import { atLeast, below, options, writeSummary } from "./lib/report.ts";

const opts = options({ orders: ["100000", "2000"], lines: ["10", "10"], db: ["both", "both"] });
const ORDERS = Number(opts.orders);
const LINES = Number(opts.lines);
const WHICH = opts.db;
const BATCH = 500;
const PG_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** Deterministic PRNG so every run measures the same data. */
function mulberry32(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = [
  "Anna",
  "Jörg",
  "Zoë",
  "Łukasz",
  "María",
  "Søren",
  "Élodie",
  "Иван",
  "Γιώργος",
  "Tom",
  "O'Brien",
  "Chen",
];
const LAST = [
  "Müller",
  "Smith",
  "García",
  "Nowak",
  "Dubois",
  "Rossi",
  "Jensen",
  "Петров",
  "Papadopoulos",
  "Kelly",
];
/** A store carries thousands of different parts; a few common ones appear in many orders. */
const COMMON = ["3001", "3003", "3020", "3710", "60592", "4073", "2412b", "87087"];
const RARE = Array.from(
  { length: 3000 },
  (_, k) => `${3000 + (k % 900)}${k >= 900 ? `pb${String(k % 211).padStart(3, "0")}` : ""}`,
);
RARE.push("973pb123c01");
/** Part names as a store has them: a word of one finds a share of the orders, not all of them. */
const NAMES = [
  "Brick 2 x 4",
  "Plate 1 x 2",
  "Tile 2 x 2 with Groove",
  "Slope 45 2 x 1",
  "Technic Beam 1 x 5 Thick",
  "Minifigure Head Dual Sided",
  "Wedge Plate 3 x 2 Right",
  "Bracket 1 x 2 - 1 x 2 Inverted",
  "Window 1 x 2 x 2 Flat Front",
  "Door 1 x 4 x 6 with Stud Handle",
  "Arch 1 x 6 Raised",
  "Hinge Brick 1 x 2 Locking",
  "Panel 1 x 2 x 1 Rounded Corners",
  "Cone 1 x 1 Truncated",
  "Round Plate 2 x 2 with Axle Hole",
  "Wheel 18mm D. x 14mm",
  "Tyre 30.4 x 14 Solid",
  "Antenna Whip 8H",
  "Flag 2 x 2 Square",
];
const nameOf = (itemNo: string) => {
  // One catalogue number, one name: a specific part is as rare as its number.
  if (itemNo === "973pb123c01") return "Minifigure Torso Space Police Pattern";
  let h = 0;
  for (const c of itemNo) h = (h * 31 + c.charCodeAt(0)) | 0;
  return NAMES[Math.abs(h) % NAMES.length]!;
};
const STATUSES = [
  "pending",
  "processing",
  "shipped",
  "completed",
  "on_hold",
  "problem",
  "cancelled",
  "needs_review",
] as const;
const MARKETS = ["bricklink", "brickowl", "fake"] as const;
const CURRENCIES = ["EUR", "USD", "GBP"];

function* generate(seed: number): Generator<OrderInput[]> {
  const rnd = mulberry32(seed);
  const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)]!;
  const start = Date.UTC(2024, 10, 1);
  for (let b = 0; b < ORDERS; b += BATCH) {
    const batch: OrderInput[] = [];
    for (let i = b; i < Math.min(ORDERS, b + BATCH); i++) {
      const marketplace = MARKETS[i % MARKETS.length]!;
      const lines = Array.from({ length: LINES }, (_, j) => {
        const qty = 1 + Math.floor(rnd() * 20);
        const price = 100 + Math.floor(rnd() * 50_000);
        const itemNo = rnd() < 0.2 ? pick(COMMON) : pick(RARE);
        return {
          externalLineId: `${i}-${j}`,
          itemNo,
          name: nameOf(itemNo),
          itemType: "part" as const,
          colorId: String(Math.floor(rnd() * 100)),
          colorName: "Reddish Brown",
          condition: rnd() < 0.7 ? ("new" as const) : ("used" as const),
          quantity: qty,
          unitPrice: price,
          lineTotal: price * qty,
          location: `${String.fromCharCode(65 + Math.floor(rnd() * 6))}-${1 + Math.floor(rnd() * 40)}`,
        };
      });
      const subtotal = lines.reduce((n, l) => n + l.lineTotal, 0);
      batch.push({
        marketplace,
        externalId: String(1_000_000 + i),
        number: `${marketplace === "bricklink" ? "BL" : marketplace === "brickowl" ? "BO" : "FK"}-${1_000_000 + i}`,
        changeMarker: String(i),
        status: pick(STATUSES),
        rawStatus: "RAW",
        buyerName: `${pick(FIRST)} ${pick(LAST)}`,
        buyerUsername: `user${Math.floor(rnd() * 20_000)}`,
        buyerEmail: `buyer${i}@example.com`,
        orderedAt: new Date(start + Math.floor(rnd() * 730 * 86_400_000)),
        totals: { currency: pick(CURRENCIES), subtotal, shipping: 45_000, grandTotal: subtotal + 45_000 },
        lines,
        raw: { id: i },
      });
    }
    yield batch;
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

async function setupAccount(database: Database, name: string) {
  const account = await createAccount(database.db, { name, slug: name });
  const conn = await insertConnection(database.db, new SecretBox(randomBytes(32)), {
    accountId: account.id,
    marketplace: "bricklink",
    name,
    baseUrl: "http://127.0.0.1:1",
    config: {},
    secrets: {},
  });
  return { accountId: account.id, connectionId: conn.id };
}

async function bench(kind: "pglite" | "postgres") {
  let database: Database;
  let cleanup: () => Promise<void>;
  if (kind === "pglite") {
    const dir = mkdtempSync(join(tmpdir(), "orderhub-bench-"));
    database = await openDatabase({ dataDir: dir });
    cleanup = async () => {
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    };
  } else {
    const name = `orderhub_bench_${randomBytes(4).toString("hex")}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`create database "${name}"`);
    const u = new URL(PG_URL);
    u.pathname = `/${name}`;
    database = await openDatabase({ databaseUrl: u.toString() });
    cleanup = async () => {
      await database.close();
      await admin.query(`drop database if exists "${name}" with (force)`);
      await admin.end();
    };
  }
  try {
    await runMigrations(database);
    const db = database.db;
    // Ingest: raw multi-row INSERT of the same rows (same columns, same batches) vs the upsert path.
    const raw = await setupAccount(database, "raw");
    let t = performance.now();
    for (const batch of generate(1)) {
      await db.transaction(async (tx) => {
        const parsed = batch.map((o) => orderInputSchema.parse(o));
        const ctx = { ...raw, source: "bench", at: new Date() };
        const ids = await bulkInsert(
          tx,
          orders,
          parsed.map((o) => ({ ...orderRow(o, ctx, "x"), createdAt: ctx.at })),
          { returning: ["id"] },
        );
        await bulkInsert(
          tx,
          orderLines,
          parsed.flatMap((o, i) => lineRows(o, Number(ids[i]!.id), raw.accountId)),
        );
        // The search words are part of the same rows (the upsert path writes them too).
        await bulkInsert(
          tx,
          orderSearchTerms,
          parsed.flatMap((o, i) =>
            searchTerms(o).map((term) => ({ accountId: raw.accountId, term, orderId: Number(ids[i]!.id) })),
          ),
        );
      });
    }
    const rawMs = performance.now() - t;

    const up = await setupAccount(database, "upsert");
    t = performance.now();
    for (const batch of generate(1)) {
      await db.transaction((tx) =>
        upsertOrders(tx, { ...up, source: "marketplace:bricklink", at: new Date() }, batch),
      );
    }
    const upsertMs = performance.now() - t;

    // What the app's maintenance does after a large sync: fresh planner statistics and visibility map.
    t = performance.now();
    await maintainDatabase(database);
    const maintainMs = performance.now() - t;
    // Queries on the upsert account (the one the app uses).
    const a = up.accountId;
    // An order in the middle of the store; ids with i % 3 === 0 are BrickLink's.
    const probe = Math.floor(ORDERS / 6) * 3;
    const queries: [string, OrderQuery][] = [
      ["newest first, page 1", {}],
      ["oldest first", { sort: "orderedAt", dir: "asc" }],
      ["by total desc", { sort: "total", dir: "desc" }],
      ["by total asc", { sort: "total", dir: "asc" }],
      ["by buyer", { sort: "buyer", dir: "asc" }],
      ["by number", { sort: "number", dir: "asc" }],
      ["by status", { sort: "status" }],
      ["status pending", { status: ["pending"] }],
      ["status + marketplace", { status: ["processing", "pending"], marketplace: ["bricklink"] }],
      ["marketplace brickowl", { marketplace: ["brickowl"] }],
      ["last 30 days", { from: new Date(Date.UTC(2026, 9, 1)), to: new Date(Date.UTC(2026, 10, 1)) }],
      ["buyer prefix 'jö'", { buyer: "jö" }],
      ["buyer prefix 'anna m'", { buyer: "anna m" }],
      ["search order number", { q: `BL-${1_000_000 + probe}` }],
      ["search number prefix", { q: `bo-${String(1_000_000 + probe + 1).slice(0, 5)}` }],
      ["search item number", { q: "973pb123c01" }],
      ["search number without prefix", { q: String(1_000_000 + probe) }],
      ["search buyer username", { q: "user1234" }],
      ["search 'lukasz' (finds Łukasz)", { q: "lukasz" }],
      ["search surname 'nowak'", { q: "nowak" }],
      ["search two words 'lukasz nowak'", { q: "lukasz nowak" }],
      ["search part name 'space police'", { q: "space police" }],
      ["search e-mail", { q: `buyer${probe}@example` }],
      // The worst case: a word on a third of all orders' lines (counting them is the cost).
      ["search common word 'plate'", { q: "plate" }],
      [
        "days 1–31 Oct 2026, Europe/Berlin",
        { from: "2026-10-01", to: "2026-10-31", timeZone: "Europe/Berlin" },
      ],
      ["page 500", { page: 500, pageSize: 50 }],
      ["page 500 by total", { page: 500, pageSize: 50, sort: "total" }],
      ["pending by total, page 3", { status: ["pending"], sort: "total", page: 3 }],
      [
        "processing, bricklink, by buyer",
        { status: ["processing"], marketplace: ["bricklink"], sort: "buyer" },
      ],
    ];
    const RUNS = 7;
    const rows: { name: string; p50: number; p95: number; max: number; total: number }[] = [];
    const all: number[] = [];
    for (const [name, q] of queries) {
      const first = await listOrders(db, a, q); // warm-up
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const s = performance.now();
        await listOrders(db, a, q);
        times.push(performance.now() - s);
      }
      all.push(...times);
      rows.push({
        name,
        p50: pct(times, 50),
        p95: pct(times, 95),
        max: Math.max(...times),
        total: first.total,
      });
    }
    const detailTimes: number[] = [];
    const rnd = mulberry32(7);
    for (let i = 0; i < 50; i++) {
      const id = 1 + ORDERS + Math.floor(rnd() * ORDERS);
      const s = performance.now();
      await getOrderDetail(db, a, id);
      detailTimes.push(performance.now() - s);
    }
    const summary = {
      db: kind,
      orders: ORDERS,
      linesPerOrder: LINES,
      ingest: {
        rawOrdersPerSec: Math.round(ORDERS / (rawMs / 1000)),
        upsertOrdersPerSec: Math.round(ORDERS / (upsertMs / 1000)),
        ratio: Number((rawMs / upsertMs).toFixed(2)),
        goal: ">= 0.33",
        maintainMs: Math.round(maintainMs),
      },
      queries: rows.map((r) => ({
        ...r,
        p50: +r.p50.toFixed(1),
        p95: +r.p95.toFixed(1),
        max: +r.max.toFixed(1),
      })),
      overall: {
        p50: +pct(all, 50).toFixed(1),
        p95: +pct(all, 95).toFixed(1),
        goal: "p95 < 50 ms on PGlite",
      },
      orderDetail: { p50: +pct(detailTimes, 50).toFixed(1), p95: +pct(detailTimes, 95).toFixed(1) },
    };
    console.log(`\n== ${kind}: ${ORDERS.toLocaleString("en")} orders × ${LINES} lines`);
    console.log(
      `ingest: raw INSERT ${summary.ingest.rawOrdersPerSec} orders/s, upsert path ${summary.ingest.upsertOrdersPerSec} orders/s, ratio ${summary.ingest.ratio} (goal ≥ 0.33)`,
    );
    console.log(
      `${"query".padEnd(34)} ${"rows".padStart(7)} ${"p50 ms".padStart(8)} ${"p95 ms".padStart(8)} ${"max ms".padStart(8)}`,
    );
    for (const r of summary.queries) {
      console.log(
        `${r.name.padEnd(34)} ${String(r.total).padStart(7)} ${r.p50.toFixed(1).padStart(8)} ${r.p95.toFixed(1).padStart(8)} ${r.max.toFixed(1).padStart(8)}`,
      );
    }
    console.log(
      `overall: p50 ${summary.overall.p50} ms, p95 ${summary.overall.p95} ms (goal p95 < 50 ms on PGlite)`,
    );
    console.log(`order detail: p50 ${summary.orderDetail.p50} ms, p95 ${summary.orderDetail.p95} ms`);
    writeSummary(
      `orders-query-${kind}`,
      summary,
      { bench: "orders-query", db: kind, sizes: `${ORDERS.toLocaleString("en")} orders × ${LINES} lines` },
      [
        { name: "ingest: raw INSERT", value: summary.ingest.rawOrdersPerSec, unit: "orders/s" },
        { name: "ingest: upsert path", value: summary.ingest.upsertOrdersPerSec, unit: "orders/s" },
        {
          name: "ingest ratio (upsert ÷ raw)",
          value: summary.ingest.ratio,
          unit: "",
          goal: atLeast(0.33),
        },
        { name: "maintenance after ingest", value: summary.ingest.maintainMs, unit: "ms" },
        { name: `${queries.length} table queries: p50`, value: summary.overall.p50, unit: "ms" },
        {
          name: `${queries.length} table queries: p95`,
          value: summary.overall.p95,
          unit: "ms",
          // The goal is PGlite's (the embedded database a single seller runs); PostgreSQL is shown beside it.
          ...(kind === "pglite" ? { goal: below(50) } : {}),
        },
        {
          name: `${queries.length} table queries: max`,
          value: Math.max(...summary.queries.map((q) => q.max)),
          unit: "ms",
        },
        {
          name: "slowest query's p95",
          value: Math.max(...summary.queries.map((q) => q.p95)),
          unit: "ms",
          detail: [...summary.queries].sort((x, y) => y.p95 - x.p95)[0]!.name,
        },
        { name: "order detail: p50", value: summary.orderDetail.p50, unit: "ms" },
        { name: "order detail: p95", value: summary.orderDetail.p95, unit: "ms" },
      ],
    );
  } finally {
    await cleanup();
  }
}

for (const kind of WHICH === "both" ? (["pglite", "postgres"] as const) : [WHICH as "pglite" | "postgres"]) {
  await bench(kind);
}
