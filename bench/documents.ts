/**
 * Documents benchmark: 50 orders × 30 lines and 1,000 orders × 30 lines, each kind (labels, pick
 * sheet, packing slips, orders CSV, lines CSV) through `POST /api/documents` — whole request time
 * (resolve the order numbers, load orders and lines, render, answer) — and the process's peak
 * memory. Also times the loader alone. Prints its figures.
 *
 *   npm run bench -- bench/documents.ts [--sizes 50,1000] [--lines 30] [--runs 3] [--db pglite|postgres|both] [--quick]
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import pg from "pg";
import { newToken, sha256 } from "../src/auth/tokens.ts";
import type { Settings } from "../src/config.ts";
import { createContext } from "../src/context.ts";
import type { OrderInput } from "../src/core/order.ts";
import { createAccount } from "../src/db/repos/accounts.ts";
import { insertConnection } from "../src/db/repos/connections.ts";
import { orderIdsOrThrow, upsertOrders } from "../src/db/repos/orders.ts";
import { insertUser } from "../src/db/repos/users.ts";
import { apiTokens } from "../src/db/schema.ts";
import { loadDocumentOrders } from "../src/documents/load.ts";
import { buildHttpApp } from "../src/http/app.ts";
import { JobQueue } from "../src/jobs/queue.ts";
import { testSettings } from "../test/helpers/db.ts";
import { below, type Figure, options, writeSummary } from "./lib/report.ts";

const opts = options({
  sizes: ["50,1000", "10,50"],
  lines: ["30", "5"],
  runs: ["3", "1"],
  db: ["both", "both"],
});
const LINES = Number(opts.lines);
const RUNS = Number(opts.runs);
const WHICH = opts.db;
const PG_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const KINDS = ["labels", "pick-sheet", "packing-slips", "csv-orders", "csv-lines"] as const;
/** The "four kinds": labels, pick sheet, packing slips and the orders CSV. */
const FOUR = new Set<string>(["labels", "pick-sheet", "packing-slips", "csv-orders"]);
const SIZES = opts.sizes.split(",").map(Number);
const NAMES = ["Łukasz Żółć", "Zoë Martin", "Søren Ærø", "Дмитрий Иванов", "Chen Wei", "Seán O'Brien"];
const PARTS = [
  "Plate 1 x 2",
  "Brick 2 x 4",
  "Tile 1 x 2 with Groove",
  "Plate, Modified 1 x 2 with Bar Handle on Side - Closed Ends",
  "Slope 45 2 x 2",
  "Technic, Pin with Friction Ridges Lengthwise and Center Slots",
];

const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);

/**
 * Peak resident memory, sampled every 2 ms from a worker thread: rendering is synchronous, so a
 * timer on the main thread would not run while the peak happens.
 */
const peakBox = new Float64Array(new SharedArrayBuffer(8));
const sampler = new Worker(
  `const { workerData: box } = require("node:worker_threads");
   setInterval(() => { const r = process.memoryUsage.rss(); if (r > box[0]) box[0] = r; }, 2);`,
  { eval: true, workerData: peakBox },
);
sampler.unref();
const resetPeak = () => {
  peakBox[0] = process.memoryUsage.rss();
  return peakBox[0];
};
const peak = () => Math.max(peakBox[0]!, process.memoryUsage.rss());

function order(i: number): OrderInput {
  const name = NAMES[i % NAMES.length]!;
  const lines = Array.from({ length: LINES }, (_, j) => ({
    externalLineId: `l${j}`,
    itemNo: `${3000 + ((i * 7 + j * 13) % 400)}`,
    name: PARTS[(i + j) % PARTS.length]!,
    colorName: ["Red", "Black", "Light Bluish Gray", "Reddish Brown"][j % 4]!,
    condition: "new" as const,
    quantity: 1 + ((i + j) % 12),
    unitPrice: 1040,
    lineTotal: 1040 * (1 + ((i + j) % 12)),
    location: j % 17 === 0 ? null : `${"ABCDEF"[(i + j) % 6]}-${1 + ((i * 3 + j) % 40)}`,
  }));
  return {
    marketplace: i % 2 ? "brickowl" : "bricklink",
    externalId: String(700000 + i),
    number: `${i % 2 ? "BO" : "BL"}-${700000 + i}`,
    status: "processing",
    rawStatus: "PAID",
    buyerName: name,
    buyerUsername: `buyer${i}`,
    buyerEmail: `buyer${i}@example.com`,
    shippingAddress: {
      name,
      line1: "12 Orchard Road",
      city: "Kraków",
      postalCode: "30-001",
      countryCode: "PL",
      full: `${name}\n12 Orchard Road\n30-001 Kraków`,
    },
    orderedAt: new Date(Date.UTC(2026, 0, 1) + i * 60_000),
    totals: { currency: "EUR", subtotal: 100_0000, shipping: 4_5000, grandTotal: 104_5000 },
    lines,
    // A payload the size of a real one (the order and all its items again): documents must not read it.
    raw: {
      order: { order_id: 700000 + i, buyer_name: name, remarks: "x".repeat(200) },
      items: lines.map((l) => ({ ...l, description: "y".repeat(150), remarks: l.location })),
    },
  };
}

/** The test settings (demo off, quiet logs) on this data directory and database. */
function settingsFor(dataDir: string, databaseUrl: string | null, over: Partial<Settings> = {}): Settings {
  return { ...testSettings({ logLevel: "error", databaseUrl, workerConcurrency: 2, ...over }), dataDir };
}

async function bench(db: "pglite" | "postgres") {
  const dataDir = mkdtempSync(join(tmpdir(), "orderhub-docbench-"));
  let url: string | null = null;
  let admin: pg.Client | null = null;
  const dbName = `orderhub_bench_${randomBytes(4).toString("hex")}`;
  if (db === "postgres") {
    admin = new pg.Client({ connectionString: PG_URL });
    try {
      await admin.connect();
    } catch (err) {
      console.log(`postgres: skipped, cannot reach ${PG_URL} (${(err as Error).message})\n`);
      return null;
    }
    await admin.query(`create database "${dbName}"`);
    const u = new URL(PG_URL);
    u.pathname = `/${dbName}`;
    url = u.toString();
  }
  const ctx = await createContext(settingsFor(dataDir, url));
  const queue = await JobQueue.start(ctx, { work: false });
  const app = await buildHttpApp(ctx, { queue, version: "bench", webDir: null });
  await app.ready();
  try {
    const account = await createAccount(ctx.db, { name: "Bench", slug: "bench" });
    const user = await insertUser(ctx.db, {
      accountId: account.id,
      email: "bench@example.com",
      passwordHash: "x",
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
    const conn = await insertConnection(ctx.db, ctx.box, {
      accountId: account.id,
      marketplace: "bricklink",
      name: "BL",
      baseUrl: "http://127.0.0.1:1/none",
      config: {},
      secrets: {},
    });
    const all = Array.from({ length: Math.max(...SIZES) }, (_, i) => order(i));
    for (let i = 0; i < all.length; i += 100) {
      await ctx.db.transaction((tx) =>
        upsertOrders(
          tx,
          { accountId: account.id, connectionId: conn.id, source: "bench", at: new Date() },
          all.slice(i, i + 100),
        ),
      );
    }
    const numbers = all.map((o) => o.number);
    const stored = mb(process.memoryUsage.rss());
    console.log(`${db}: ${all.length} orders × ${LINES} lines stored; RSS now ${stored} MB`);

    // Warm up (first request of each kind compiles code paths and parses the fonts), as a running server is.
    for (const kind of KINDS)
      await app.inject({
        method: "POST",
        url: "/api/documents",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        payload: JSON.stringify({ kind, orders: numbers.slice(0, 5) }),
      });
    const results: Record<string, unknown> = {};
    for (const n of SIZES) {
      // The loader alone: numbers → ids → orders with lines.
      const loadTimes: number[] = [];
      for (let r = 0; r < RUNS; r++) {
        const t = performance.now();
        const ids = await orderIdsOrThrow(ctx.db, account.id, numbers.slice(0, n));
        await loadDocumentOrders(ctx.db, account.id, ids);
        loadTimes.push(performance.now() - t);
      }
      const load = Math.round(Math.min(...loadTimes));
      const perKind: Record<
        string,
        { ms: number; median: number; bytes: number; peakRssMb: number; riseMb: number }
      > = {};
      for (const kind of KINDS) {
        const before = resetPeak();
        const times: number[] = [];
        let bytes = 0;
        for (let r = 0; r < RUNS; r++) {
          const t = performance.now();
          const res = await app.inject({
            method: "POST",
            url: "/api/documents",
            headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
            payload: JSON.stringify({ kind, orders: numbers.slice(0, n) }),
          });
          times.push(performance.now() - t);
          if (res.statusCode !== 200)
            throw new Error(`${kind} × ${n}: HTTP ${res.statusCode} ${res.body.slice(0, 200)}`);
          bytes = res.rawPayload.length;
        }
        times.sort((a, b) => a - b);
        perKind[kind] = {
          ms: Math.round(times[0]!),
          median: Math.round(times[Math.floor(times.length / 2)]!),
          bytes,
          peakRssMb: mb(peak()),
          riseMb: mb(peak() - before),
        };
        console.log(
          `${String(n).padStart(5)} orders  ${kind.padEnd(14)} ${String(perKind[kind].ms).padStart(6)} ms best, ${String(perKind[kind].median).padStart(6)} ms median of ${RUNS}  ${String(Math.round(bytes / 1024)).padStart(6)} KB  peak RSS ${perKind[kind].peakRssMb} MB (+${perKind[kind].riseMb})`,
        );
      }
      const four = KINDS.filter((k) => FOUR.has(k)).reduce((s, k) => s + perKind[k]!.ms, 0);
      const five = KINDS.reduce((s, k) => s + perKind[k]!.ms, 0);
      const slowest = Math.max(...KINDS.map((k) => perKind[k]!.ms));
      const goal =
        n <= 50
          ? `four kinds together ${four} ms (goal < 1000 ms)`
          : `slowest kind ${slowest} ms (goal < 10000 ms)`;
      console.log(
        `${String(n).padStart(5)} orders: loading alone ${load} ms; ${goal}; all five kinds ${five} ms\n`,
      );
      results[n] = { loadMs: load, kinds: perKind, fourKindsMs: four, allKindsMs: five };
    }
    const top = Math.max(
      ...Object.values(results).flatMap((r) =>
        Object.values((r as { kinds: Record<string, { peakRssMb: number }> }).kinds).map((k) => k.peakRssMb),
      ),
    );
    console.log(
      `${db}: peak RSS while making documents ${top} MB (after storing the orders: ${stored} MB)\n`,
    );
    const summary = { db, lines: LINES, runs: RUNS, results, storedRssMb: stored, peakRssMb: top };
    const figures: Figure[] = [];
    for (const n of SIZES) {
      const r = results[n] as {
        loadMs: number;
        kinds: Record<string, { ms: number; median: number; riseMb: number }>;
        fourKindsMs: number;
      };
      for (const kind of KINDS) {
        const k = r.kinds[kind]!;
        figures.push({
          name: `${n} orders: ${kind}`,
          value: k.ms,
          unit: "ms",
          detail: `best of ${RUNS}, median ${k.median} ms`,
          ...(n > 50 ? { goal: below(10_000, "each kind") } : {}),
        });
      }
      if (n <= 50)
        figures.push({
          name: `${n} orders: labels + pick sheet + packing slips + orders CSV`,
          value: r.fourKindsMs,
          unit: "ms",
          goal: below(1000, "together"),
        });
      figures.push({ name: `${n} orders: loading alone`, value: r.loadMs, unit: "ms" });
    }
    const rises = Object.values(results).flatMap((r) =>
      Object.values((r as { kinds: Record<string, { riseMb: number }> }).kinds).map((k) => k.riseMb),
    );
    figures.push({
      name: "peak RSS while making documents",
      value: top,
      unit: "MB",
      detail: `+${Math.max(...rises)} MB for the largest kind; ${stored} MB after storing the orders`,
    });
    writeSummary(
      `documents-${db}`,
      summary,
      {
        bench: "documents",
        db,
        sizes: `${SIZES.map((n) => n.toLocaleString("en")).join(" and ")} orders × ${LINES} lines, best of ${RUNS}`,
      },
      figures,
    );
    return summary;
  } finally {
    await app.close();
    await queue.stop();
    await ctx.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (admin) {
      await admin.query(`drop database if exists "${dbName}" with (force)`).catch(() => {});
      await admin.end();
    }
  }
}

for (const db of WHICH === "both" ? (["pglite", "postgres"] as const) : [WHICH as "pglite" | "postgres"]) {
  await bench(db);
}
