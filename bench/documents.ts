/**
 * Documents benchmark: 50 orders × 30 lines and 1,000 orders × 30 lines, each kind (labels, pick
 * sheet, packing slips, orders CSV, lines CSV) through `POST /api/documents` — whole request time
 * (load from the database, render, answer) and the process's peak memory. Prints its figures.
 *
 *   npm run bench -- bench/documents.ts [--lines 30] [--runs 3]
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newToken, sha256 } from "../src/auth/tokens.ts";
import type { Settings } from "../src/config.ts";
import { createContext } from "../src/context.ts";
import type { OrderInput } from "../src/core/order.ts";
import { createAccount } from "../src/db/repos/accounts.ts";
import { insertConnection } from "../src/db/repos/connections.ts";
import { upsertOrders } from "../src/db/repos/orders.ts";
import { insertUser } from "../src/db/repos/users.ts";
import { apiTokens } from "../src/db/schema.ts";
import { buildHttpApp } from "../src/http/app.ts";
import { JobQueue } from "../src/jobs/queue.ts";

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const LINES = Number(opt("lines", "30"));
const RUNS = Number(opt("runs", "3"));
const KINDS = ["labels", "pick-sheet", "packing-slips", "csv-orders", "csv-lines"] as const;
const NAMES = ["Łukasz Żółć", "Zoë Martin", "Søren Ærø", "Дмитрий Иванов", "Chen Wei", "Seán O'Brien"];

function order(i: number): OrderInput {
  const name = NAMES[i % NAMES.length]!;
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
    lines: Array.from({ length: LINES }, (_, j) => ({
      externalLineId: `l${j}`,
      itemNo: `${3000 + ((i * 7 + j * 13) % 400)}`,
      name: `Plate ${1 + (j % 6)} x ${2 + (j % 4)} with a pattern`,
      colorName: ["Red", "Black", "Light Bluish Gray", "Reddish Brown"][j % 4]!,
      condition: "new" as const,
      quantity: 1 + ((i + j) % 12),
      unitPrice: 1040,
      lineTotal: 1040 * (1 + ((i + j) % 12)),
      location: j % 17 === 0 ? null : `${"ABCDEF"[(i + j) % 6]}-${1 + ((i * 3 + j) % 40)}`,
    })),
    raw: {},
  };
}

const dataDir = mkdtempSync(join(tmpdir(), "orderhub-docbench-"));
const settings: Settings = {
  port: 0,
  host: "127.0.0.1",
  dataDir,
  databaseUrl: null,
  secretKey: randomBytes(32).toString("hex"),
  demo: false,
  publicUrl: null,
  logLevel: "error",
  logPretty: false,
  sessionDays: 14,
  workerConcurrency: 1,
  brickowlNotifyPort: null,
};
const ctx = await createContext(settings);
const queue = await JobQueue.start(ctx, { work: false });
const app = await buildHttpApp(ctx, { queue, version: "bench", webDir: null });
await app.ready();
let peak = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 5);
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
  const all = Array.from({ length: 1000 }, (_, i) => order(i));
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
  const results: Record<string, Record<string, { ms: number; bytes: number }>> = {};
  for (const n of [50, 1000]) {
    results[n] = {};
    let together = 0;
    for (const kind of KINDS) {
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
      const ms = Math.min(...times);
      results[n]![kind] = { ms: Math.round(ms), bytes };
      together += ms;
      console.log(
        `${String(n).padStart(5)} orders × ${LINES} lines  ${kind.padEnd(14)} ${String(Math.round(ms)).padStart(6)} ms (best of ${RUNS})  ${(bytes / 1024).toFixed(0).padStart(6)} KB`,
      );
    }
    const goal = n === 50 ? "all kinds together < 1000 ms" : "each kind < 10000 ms";
    console.log(
      `${String(n).padStart(5)} orders: all five kinds together ${Math.round(together)} ms (goal: ${goal})\n`,
    );
    results[n]!.together = { ms: Math.round(together), bytes: 0 };
  }
  console.log(`peak memory (RSS) of the process: ${Math.round(peak / 1024 / 1024)} MB`);
  mkdirSync("bench/results", { recursive: true });
  writeFileSync(
    "bench/results/documents.json",
    JSON.stringify({ lines: LINES, runs: RUNS, results, peakRssMb: Math.round(peak / 1024 / 1024) }, null, 2),
  );
} finally {
  clearInterval(sampler);
  await app.close();
  await queue.stop();
  await ctx.close();
  rmSync(dataDir, { recursive: true, force: true });
}
