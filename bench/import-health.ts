/**
 * The largest allowed inventory file (25 MB of CSV) imported through the API while another thread
 * asks `/api/health` every 50 ms: health p50/p95/max (goal p95 < 100 ms) and how long the import takes
 * (upload answered, then the background job to its end).
 *
 *   npm run bench -- bench/import-health.ts [--mb 25] [--db pglite|postgres|both] [--quick]
 *
 * PGlite runs in a temporary data directory; PostgreSQL in a fresh database (`BENCH_DATABASE_URL`,
 * skipped when unreachable) that is dropped at the end.
 */
import { rmSync } from "node:fs";
import { Worker } from "node:worker_threads";
import pg from "pg";
import { hashPassword } from "../src/auth/passwords.ts";
import { newToken, sha256 } from "../src/auth/tokens.ts";
import { createAccount } from "../src/db/repos/accounts.ts";
import { insertUser } from "../src/db/repos/users.ts";
import { apiTokens } from "../src/db/schema.ts";
import { MAX_IMPORT_FILE_CHARS } from "../src/inventory/file-check.ts";
import { startServer } from "../src/server.ts";
import { testSettings } from "../test/helpers/db.ts";
import { below, options, writeSummary } from "./lib/report.ts";

const opts = options({ mb: ["25", "2"], db: ["both", "pglite"] });
const MAX_CHARS = Math.min(MAX_IMPORT_FILE_CHARS, Math.round(Number(opts.mb) * 1024 * 1024));

/** A lot file as sellers have them: many items, colours and bins; some lines add to the same lot. */
function makeCsv(maxChars: number): { text: string; lines: number } {
  const head = "item_no,color_id,color,condition,quantity,price,location,description\r\n";
  const parts = [head];
  let size = head.length;
  let lines = 0;
  for (let i = 0; ; i++) {
    const line = `${3001 + (i % 4000)}${i % 7 === 0 ? "pb01" : ""},${1 + (i % 90)},Colour ${1 + (i % 90)},${i % 3 ? "new" : "used"},${1 + (i % 250)},${(0.01 * (1 + (i % 900))).toFixed(3)},${"ABCDEFGH"[i % 8]}-${1 + (i % 120)},"lot ${i}, counted"\r\n`;
    if (size + line.length > maxChars) break;
    parts.push(line);
    size += line.length;
    lines++;
  }
  return { text: parts.join(""), lines };
}

/** Polls health from its own thread, so the figures are the server's answer times, not this loop's. */
function startPoller(url: string): { stop(): Promise<number[]> } {
  const worker = new Worker(
    `const { parentPort, workerData } = require("node:worker_threads");
     let on = true; const times = [];
     parentPort.on("message", () => { on = false; });
     (async () => {
       while (on) {
         const t = performance.now();
         try { const r = await fetch(workerData.url, { signal: AbortSignal.timeout(60000) }); await r.text(); }
         catch { times.push(60000); continue; }
         times.push(performance.now() - t);
         await new Promise((r) => setTimeout(r, 50));
       }
       parentPort.postMessage(times);
     })();`,
    { eval: true, workerData: { url } },
  );
  return {
    stop: () =>
      new Promise<number[]>((resolve) => {
        worker.once("message", (times: number[]) => {
          void worker.terminate();
          resolve(times);
        });
        worker.postMessage("stop");
      }),
  };
}

const pct = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : Number.NaN;

async function run(db: "pglite" | "postgres", file: { text: string; lines: number }) {
  let databaseUrl: string | null = null;
  let dropDb: (() => Promise<void>) | null = null;
  if (db === "postgres") {
    const admin = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
    const name = `orderhub_bench_${Math.random().toString(36).slice(2, 10)}`;
    const c = new pg.Client({ connectionString: admin });
    try {
      await c.connect();
      await c.query(`create database "${name}"`);
    } catch (err) {
      console.log(`postgres: skipped (${(err as Error).message})`);
      await c.end().catch(() => {});
      return;
    }
    await c.end();
    const u = new URL(admin);
    u.pathname = `/${name}`;
    databaseUrl = u.toString();
    dropDb = async () => {
      const a = new pg.Client({ connectionString: admin });
      await a.connect();
      await a.query(`drop database if exists "${name}" with (force)`);
      await a.end();
    };
  }
  const settings = { ...testSettings({ logLevel: "error", databaseUrl }), port: 0 };
  const server = await startServer(settings, { role: "all" });
  const ctx = server.ctx;
  try {
    const account = await createAccount(ctx.db, { name: "Bench", slug: "bench" });
    const owner = await insertUser(ctx.db, {
      accountId: account.id,
      email: "owner@bench.example",
      passwordHash: await hashPassword("correct horse battery"),
      role: "owner",
    });
    const token = newToken("oh_");
    await ctx.db.insert(apiTokens).values({
      accountId: account.id,
      userId: owner.id,
      name: "bench",
      tokenHash: sha256(token),
      prefix: token.slice(0, 8),
    });
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const body = JSON.stringify({ format: "csv", content: file.text, name: "bench.csv" });
    const poller = startPoller(`${server.url}/api/health`);
    await new Promise((r) => setTimeout(r, 500));
    const t0 = performance.now();
    const res = await fetch(`${server.url}/api/inventory/import-file`, { method: "POST", headers, body });
    const answer = (await res.json()) as { job?: { id: number }; error?: { message: string } };
    if (res.status !== 202) throw new Error(`import refused: ${res.status} ${answer.error?.message}`);
    const acceptedMs = performance.now() - t0;
    let job: { state: string; done: number; total: number; created: number; added: number };
    for (;;) {
      const r = await fetch(`${server.url}/api/inventory/import-jobs/${answer.job!.id}`, { headers });
      job = ((await r.json()) as { job: typeof job }).job;
      if (["completed", "failed", "cancelled"].includes(job.state)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const totalMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 300));
    const times = (await poller.stop()).sort((a, b) => a - b);
    if (job.state !== "completed") throw new Error(`the import ended ${job.state}`);
    const p50 = pct(times, 50);
    const p95 = pct(times, 95);
    const max = times.at(-1) ?? Number.NaN;
    const mb = (file.text.length / 1024 / 1024).toFixed(1);
    console.log(
      `${db}: ${mb} MB, ${file.lines.toLocaleString("en")} lines → ${job.created.toLocaleString("en")} lots created, ${job.added.toLocaleString("en")} added; upload answered in ${Math.round(acceptedMs)} ms, written in ${Math.round(totalMs)} ms; health ×${times.length}: p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, max ${max.toFixed(1)} ms`,
    );
    writeSummary(
      `import-health-${db}`,
      { db, mb: Number(mb), lines: file.lines, acceptedMs, totalMs, p50, p95, max, samples: times.length },
      { bench: "import-health", db, sizes: `${mb} MB CSV, ${file.lines.toLocaleString("en")} lines` },
      [
        { name: "health p50 during the import", value: Math.round(p50 * 10) / 10, unit: "ms" },
        {
          name: "health p95 during the import",
          value: Math.round(p95 * 10) / 10,
          unit: "ms",
          goal: below(100),
          detail: `${times.length} health checks, one every 50 ms`,
        },
        { name: "health max during the import", value: Math.round(max), unit: "ms" },
        {
          name: "upload answered (file checked and staged)",
          value: Math.round(acceptedMs),
          unit: "ms",
        },
        {
          name: "import to its end",
          value: Math.round(totalMs),
          unit: "ms",
          detail: `${Math.round(file.lines / (totalMs / 1000)).toLocaleString("en")} lines/s; ${job.created.toLocaleString("en")} lots created, ${job.added.toLocaleString("en")} added`,
        },
      ],
    );
  } finally {
    await server.stop();
    rmSync(settings.dataDir, { recursive: true, force: true });
    await dropDb?.();
  }
}

const file = makeCsv(MAX_CHARS);
for (const db of opts.db === "both" ? (["pglite", "postgres"] as const) : [opts.db as "pglite" | "postgres"])
  await run(db, file);
process.exit(0);
