/**
 * `npm run bench`: runs every benchmark in bench/ (each in its own child process, one after another)
 * and writes bench/RESULTS.md — the date, the machine, and each benchmark's figures beside their goals
 * (the goals come from the benchmarks, see ./report.ts). Exits non-zero if any benchmark failed.
 *
 *   npm run bench                        every benchmark at its documented sizes → bench/RESULTS.md
 *   npm run bench -- --quick             every benchmark at small sizes → bench/results/RESULTS-quick.md
 *   npm run bench -- bench/x.ts [flags]  one benchmark, in this process, as before
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { deflateSync } from "node:zlib";
import pg from "pg";
import type { Section } from "./report.ts";

const userArgs = process.argv.slice(2);

interface Outcome {
  file: string;
  name: string;
  ms: number;
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  sections: Section[];
  tail: string[];
  cpu: { machine: number; own: number; postgres: number; other: number; cores: number };
}

async function runAll() {
  const quick = userArgs.includes("--quick");
  const ti = userArgs.indexOf("--timeout-min");
  const timeoutMin = ti >= 0 ? Number(userArgs[ti + 1]) : quick ? 15 : 90;
  const known = userArgs.filter((a, i) => a === "--quick" || i === ti || (ti >= 0 && i === ti + 1));
  if (known.length !== userArgs.length || !(timeoutMin > 0)) {
    console.error(
      "usage: npm run bench [-- --quick] [-- --timeout-min N]   (every benchmark)\n" +
        "       npm run bench -- bench/<name>.ts [options]          (one benchmark)",
    );
    process.exit(2);
  }
  const files = readdirSync("bench")
    .filter((f) => f.endsWith(".ts"))
    .sort();
  const tmp = mkdtempSync(join(os.tmpdir(), "orderhub-bench-run-"));
  const started = new Date();
  cpuReferenceMs = cpuReference();
  const t0 = performance.now();
  const outcomes: Outcome[] = [];
  const out = quick ? "bench/results/RESULTS-quick.md" : "bench/RESULTS.md";
  mkdirSync("bench/results", { recursive: true });
  const names = files.map((f) => f.replace(/\.ts$/, ""));
  try {
    for (const [i, file] of files.entries()) {
      const name = names[i]!;
      console.log(`\n━━ ${name}${quick ? " (--quick)" : ""} ━━`);
      outcomes.push(await runOne(file, name, join(tmp, `${name}.jsonl`), quick, timeoutMin));
      const o = outcomes.at(-1)!;
      console.log(`━━ ${name}: ${failure(o) ? `FAILED (${failure(o)})` : "done"} in ${duration(o.ms)}`);
      // Written after every benchmark, so a run stopped part-way still reports what it measured.
      writeFileSync(out, await render(outcomes, started, performance.now() - t0, quick, names.slice(i + 1)));
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const totalMs = performance.now() - t0;
  const failed = outcomes.filter((o) => failure(o));
  const missed = outcomes.flatMap((o) => o.sections.flatMap((s) => s.figures.filter((f) => f.met === false)));
  console.log(
    `\n${out} written: ${outcomes.length} benchmarks in ${duration(totalMs)}, ${failed.length} failed, ${missed.length} goals missed`,
  );
  if (failed.length > 0) process.exit(1);
}

/** Why a benchmark counts as failed, or null. */
function failure(o: Outcome): string | null {
  if (o.timedOut) return `stopped after the ${duration(o.ms)} time limit`;
  if (o.signal) return `killed by ${o.signal}`;
  if (o.code !== 0) return `exit code ${o.code}`;
  if (o.sections.length === 0) return "it recorded no figures";
  return null;
}

async function runOne(
  file: string,
  name: string,
  reportFile: string,
  quick: boolean,
  timeoutMin: number,
): Promise<Outcome> {
  const before = cpuNow();
  const t = performance.now();
  const child = spawn(process.execPath, ["bin/run-ts.js", `bench/${file}`, ...(quick ? ["--quick"] : [])], {
    env: { ...process.env, BENCH_REPORT: reportFile },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so a time-out also stops what it started (a browser, a build).
    detached: true,
  });
  const tail: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n")) if (line.trim()) tail.push(line);
    if (tail.length > 200) tail.splice(0, tail.length - 200);
  };
  child.stdout.on("data", (c: Buffer) => {
    process.stdout.write(c);
    keep(c);
  });
  child.stderr.on("data", (c: Buffer) => {
    process.stderr.write(c);
    keep(c);
  });
  // Ctrl-C on the runner stops the benchmark too (it runs in a process group of its own).
  const stop = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {}
    process.exit(sig === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {}
  }, timeoutMin * 60_000);
  const [code, signal] = await new Promise<[number | null, string | null]>((res) =>
    child.on("close", (c, s) => res([c, s])),
  );
  clearTimeout(timer);
  process.off("SIGINT", stop);
  process.off("SIGTERM", stop);
  const ms = performance.now() - t;
  const after = cpuNow();
  const sections: Section[] = existsSync(reportFile)
    ? readFileSync(reportFile, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Section)
    : [];
  const secs = ms / 1000;
  const machine = (after.machine - before.machine) / secs;
  const own = (after.own - before.own) / secs;
  const postgres = (after.postgres - before.postgres) / secs;
  return {
    file,
    name,
    ms,
    code,
    signal,
    timedOut,
    sections,
    tail,
    cpu: { machine, own, postgres, other: Math.max(0, machine - own - postgres), cores: os.cpus().length },
  };
}

// ── CPU accounting (Linux /proc): seconds of CPU time, machine-wide, ours, the PostgreSQL server's ──

const TICK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

function cpuNow() {
  try {
    const [, ...f] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/);
    const [user, nice, system, , , irq, softirq, steal] = f.map(Number);
    const machine = (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) / TICK;
    // Our own time plus that of every child we have waited for (a benchmark and what it started).
    const self = statFields("/proc/self/stat");
    const own = self ? (self[11]! + self[12]! + self[13]! + self[14]!) / TICK : 0;
    let postgres = 0;
    for (const pid of readdirSync("/proc")) {
      if (!/^\d+$/.test(pid)) continue;
      const comm = tryRead(`/proc/${pid}/comm`)?.trim();
      if (comm !== "postgres") continue;
      const s = statFields(`/proc/${pid}/stat`);
      if (s) postgres += (s[11]! + s[12]! + s[13]! + s[14]!) / TICK;
    }
    return { machine, own, postgres };
  } catch {
    return { machine: 0, own: 0, postgres: 0 };
  }
}

/** The numeric fields of /proc/<pid>/stat after the command name (field 3 onwards; index 11 = utime). */
function statFields(path: string): number[] | null {
  const s = tryRead(path);
  if (!s) return null;
  return s
    .slice(s.lastIndexOf(")") + 2)
    .split(" ")
    .map(Number);
}

function tryRead(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

// ── RESULTS.md ──

const DB_NAMES = { pglite: "PGlite", postgres: "PostgreSQL" } as const;

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${String(s % 60).padStart(2, "0")} s`;
}

function value(v: number | null, unit: string): string {
  if (v === null || !Number.isFinite(v)) return "n/a";
  const n = Number.isInteger(v)
    ? v.toLocaleString("en")
    : v.toLocaleString("en", { maximumFractionDigits: 4 });
  return unit ? `${n} ${unit}` : n;
}

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

/**
 * The same fixed piece of work on every run (JSON, hashing, compression — what documents and syncs
 * spend their CPU on), best of 3: runs on different days or machines can be compared through it.
 */
let cpuReferenceMs: number | null = null;
function cpuReference(): number {
  const orders = Array.from({ length: 20_000 }, (_, i) => ({
    id: i,
    number: `BL-${1_000_000 + i}`,
    buyer: `Buyer ${i % 997}`,
    lines: [{ itemNo: "3001", quantity: i % 7, unitPrice: 1234 + i }],
  }));
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < 3; r++) {
    const t = performance.now();
    const text = JSON.stringify(orders);
    const back = JSON.parse(text) as unknown[];
    createHash("sha256").update(text).digest("hex");
    deflateSync(Buffer.from(text), { level: 6 });
    if (back.length !== orders.length) throw new Error("CPU reference: JSON round trip lost orders");
    best = Math.min(best, performance.now() - t);
  }
  return Math.round(best);
}

async function machineRows(outcomes: Outcome[]): Promise<[string, string][]> {
  const cpus = os.cpus();
  const osRelease = tryRead("/etc/os-release")?.match(/^PRETTY_NAME="?([^"\n]*)"?/m)?.[1];
  const rows: [string, string][] = [
    ["CPU", `${cpus[0]?.model.trim() ?? "unknown"}, ${cpus.length} logical cores`],
    ["Memory", `${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`],
    ["OS", `${osRelease ?? os.type()} (${os.type()} ${os.release()}, ${os.arch()})`],
    ["Node", process.version],
    [
      "CPU reference",
      cpuReferenceMs === null
        ? "not measured"
        : `${cpuReferenceMs} ms for a fixed piece of work (JSON, SHA-256, deflate; best of 3) at the start of the run — lower is faster; compare runs through it`,
    ],
  ];
  const dbs = new Set(outcomes.flatMap((o) => o.sections.map((s) => s.db).filter(Boolean)));
  const databases: string[] = [];
  if (dbs.has("pglite")) {
    const v = tryRead("node_modules/@electric-sql/pglite/package.json");
    databases.push(
      `PGlite ${v ? (JSON.parse(v) as { version: string }).version : "?"} (embedded, in a temporary data directory on disk)`,
    );
  }
  if (dbs.has("postgres")) {
    const url = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
    const u = new URL(url);
    let version = "version unknown";
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      version = (await client.query<{ server_version: string }>("show server_version")).rows[0]!
        .server_version;
    } catch (err) {
      version = `version unknown: ${(err as Error).message}`;
    } finally {
      await client.end().catch(() => {});
    }
    databases.push(`PostgreSQL ${version} at ${u.hostname}:${u.port || 5432} (a fresh database per run)`);
  }
  rows.push(["Databases", databases.join("; ") || "none recorded"]);
  if (outcomes.some((o) => o.name === "ui")) {
    const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
    const v = spawnSync(chromium, ["--version"], { encoding: "utf8" });
    rows.push(["Browser", v.status === 0 ? v.stdout.trim() : `${chromium} not found`]);
  }
  const head = spawnSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).stdout.trim();
  // The report itself is rewritten after each benchmark: it does not count as a change to the code.
  const dirty = spawnSync(
    "git",
    ["status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/RESULTS.md"],
    {
      encoding: "utf8",
    },
  ).stdout.trim();
  rows.push([
    "Code",
    `commit ${head || "?"}${dirty ? ` with uncommitted changes to ${dirty.split("\n").length} tracked files` : ""}`,
  ]);
  return rows;
}

async function render(
  outcomes: Outcome[],
  started: Date,
  totalMs: number,
  quick: boolean,
  notRun: string[],
): Promise<string> {
  const L: string[] = [];
  const date = started.toISOString().replace("T", " ").slice(0, 16);
  L.push("# Benchmark results", "");
  L.push(
    `Written by \`npm run bench${quick ? " -- --quick" : ""}\` on ${date} UTC; the run took ${duration(totalMs)}${notRun.length ? " so far" : ""}. ` +
      (quick
        ? "**Quick sizes**: a smoke check that every benchmark runs, not figures to hold against the goals."
        : "Sizes are the defaults documented in [README.md](README.md), which also says what each figure means."),
    "",
  );
  if (notRun.length > 0)
    L.push(
      `**Incomplete**: the run was stopped before ${notRun.join(", ")} ran; the figures below are those of the benchmarks that did.`,
      "",
    );
  const failed = outcomes.filter((o) => failure(o));
  const figures = outcomes.flatMap((o) => o.sections.flatMap((s) => s.figures.map((f) => ({ o, s, f }))));
  const withGoal = figures.filter((x) => x.f.met !== undefined);
  const missed = withGoal.filter((x) => x.f.met === false);

  // Was the machine busy with anything else? Measured, per benchmark, from /proc.
  const busiest = [...outcomes].sort((a, b) => b.cpu.other - a.cpu.other)[0];
  const allMs = outcomes.reduce((n, o) => n + o.ms, 0);
  const meanOther = allMs ? outcomes.reduce((n, o) => n + o.cpu.other * o.ms, 0) / allMs : 0;
  const cores = os.cpus().length;
  if (busiest && busiest.cpu.other >= 0.1) {
    L.push(
      `> **This machine was also running other work during the run.** Besides the benchmarks and the PostgreSQL server, ` +
        `other processes kept on average ${meanOther.toFixed(2)} of its ${cores} cores busy ` +
        `(${busiest.cpu.other.toFixed(2)} during ${busiest.name}); see "CPU" in the summary. ` +
        "The figures are as measured, not adjusted; times on a quiet machine are likely lower.",
      "",
    );
  } else {
    L.push(
      `Other processes on the machine used less than 0.1 of its ${cores} cores during each benchmark (see "CPU" below).`,
      "",
    );
  }

  L.push("## Machine", "", "| | |", "| --- | --- |");
  for (const [k, v] of await machineRows(outcomes)) L.push(`| ${k} | ${cell(v)} |`);
  L.push("");

  L.push("## Summary", "");
  L.push(
    `${outcomes.length - failed.length} of ${outcomes.length} benchmarks ran to the end; ` +
      `${withGoal.length - missed.length} of ${withGoal.length} figures with a goal met it.`,
    "",
  );
  L.push(
    "| benchmark | took | result | goals met | CPU: benchmark + PostgreSQL / other processes (cores, average) |",
    "| --- | --- | --- | --- | --- |",
  );
  for (const o of outcomes) {
    const g = o.sections.flatMap((s) => s.figures).filter((f) => f.met !== undefined);
    const met = g.filter((f) => f.met).length;
    L.push(
      `| [${o.name}](#${o.name}) | ${duration(o.ms)} | ${failure(o) ? `**failed**: ${cell(failure(o)!)}` : "ok"} | ${g.length ? `${met} of ${g.length}` : "—"} | ${(o.cpu.own + o.cpu.postgres).toFixed(2)} / ${o.cpu.other.toFixed(2)} |`,
    );
  }
  L.push("");
  if (missed.length > 0) {
    L.push("Goals missed:", "");
    for (const { o, s, f } of missed)
      L.push(
        `- ${o.name}${s.db ? ` (${DB_NAMES[s.db]})` : ""}: ${f.name} ${value(f.value, f.unit)}, goal ${f.goalText}`,
      );
    L.push("");
  }

  for (const o of outcomes) {
    L.push(`## ${o.name}`, "");
    const why = failure(o);
    if (why) {
      L.push(
        `**Failed** after ${duration(o.ms)}: ${why}.${o.sections.length ? " The figures it recorded before that are below." : ""} Its last output:`,
        "",
        "```text",
        ...o.tail.slice(-25),
        "```",
        "",
      );
    }
    for (const s of o.sections) {
      L.push(`### ${o.name}${s.db ? ` — ${DB_NAMES[s.db]}` : ""}`, "", `${s.sizes}.`, "");
      L.push("| figure | value | goal | met | notes |", "| --- | ---: | --- | --- | --- |");
      for (const f of s.figures) {
        const met = f.met === undefined ? "" : f.met ? "yes" : "**no**";
        L.push(
          `| ${cell(f.name)} | ${value(f.value, f.unit)} | ${cell(f.goalText ?? "—")} | ${met} | ${cell(f.detail ?? "")} |`,
        );
      }
      L.push("");
    }
  }
  L.push(
    "---",
    "",
    'A goal is met when the figure satisfies it exactly as written ("= 1" means exactly the minimum number of ' +
      "API calls). Figures without a goal are shown for comparison. CPU is measured from `/proc`: the benchmark's " +
      "processes and the PostgreSQL server (which may also serve other clients) against everything else on the machine.",
    "",
  );
  return L.join("\n");
}

// One benchmark: run it right here, exactly as `node bin/run-ts.js bench/x.ts` did.
if (userArgs[0] && !userArgs[0].startsWith("--")) {
  const file = userArgs[0];
  process.argv.splice(2, 1);
  await import(pathToFileURL(resolve(file)).href);
} else {
  await runAll();
}
