/**
 * CLI start-up benchmark: how long `orderhub` takes as a process, against a bare `node -e 0` measured
 * in the same run (so the ratios hold on any machine). `--help`; a command against a running server
 * (`orders list`, which speaks HTTP to it); a local-mode command (`connections list` on a data
 * directory no server owns, which opens the database itself), beside what opening that database and
 * loading that command's code take, each on its own in a bare process. Also the server's start.
 *
 *   npm run bench -- bench/cli-startup.ts [--runs 15] [--bin bin/orderhub.js] [--quick]
 *
 * `--bin` runs another tree's CLI (say, an older checkout) through the same measurements.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type Figure, type Goal, options, writeSummary } from "./lib/report.ts";

const opts = options({ runs: ["15", "3"], bin: ["bin/orderhub.js", "bin/orderhub.js"] });
const RUNS = Number(opts.runs);
const BIN = resolve(opts.bin);
const ROOT = resolve(import.meta.dirname, "..");
if (!(RUNS >= 1)) throw new Error(`--runs must be a positive number, not "${opts.runs}"`);
const within = (times: number, note: string): Goal => ({ op: "<=", target: times, note });

// What the runs measure is start-up, not a first compile after an edit: build once up front.
const built = spawnSync(process.execPath, [join(ROOT, "scripts", "build.js")], { stdio: "inherit" });
if (built.status !== 0) throw new Error("scripts/build.js failed");

const tmp = mkdtempSync(join(tmpdir(), "orderhub-bench-cli-"));
const localDir = join(tmp, "local");
const serverDir = join(tmp, "server");
const env = (dataDir: string): NodeJS.ProcessEnv => {
  const { NODE_OPTIONS: _o, NODE_ENV: _e, ORDERHUB_PRELOAD: _p, ...rest } = process.env;
  return { ...rest, ORDERHUB_DATA_DIR: dataDir, ORDERHUB_DEMO: "0", LOG_LEVEL: "warn", DATABASE_URL: "" };
};

/** One process, start to exit, in ms; it must succeed. */
function timed(args: string[], dataDir: string): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, args, { env: env(dataDir), encoding: "utf8", timeout: 120_000 });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`node ${args.join(" ")} exited with ${r.status}: ${r.stderr.trim()}`);
  return ms;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round = (ms: number) => Math.round(ms);
const ratio = (x: number) => Math.round(x * 100) / 100;

// Two data directories with an account (the first command migrates): one for local mode, one a server owns.
for (const dir of [localDir, serverDir])
  timed(
    [BIN, "user", "add", "--email", "owner@shop.example", "--password", "a long password", "--role", "owner"],
    dir,
  );

/** What opening the local data directory costs on its own: PGlite, the schema, the migrations check. */
const openDb = join(tmp, "open-database.mjs");
writeFileSync(
  openDb,
  `const { openDatabase, runMigrations } = await import(${JSON.stringify(pathToFileURL(join(ROOT, "build", "db", "connection.js")).href)});
const database = await openDatabase({ dataDir: process.env.ORDERHUB_DATA_DIR });
await runMigrations(database);
await database.sql.executeSql("select 1");
await database.close();
`,
);

// The code a local command loads, recorded from one run of it, then imported on its own (nothing runs).
const record = join(tmp, "modules.txt");
const hooks = join(tmp, "record-hooks.mjs");
writeFileSync(
  hooks,
  `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(${JSON.stringify(record)}, r.url + "\\n");
  return r;
}
`,
);
const registerHooks = join(tmp, "record.mjs");
writeFileSync(
  registerHooks,
  `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
);
timed(["--import", registerHooks, BIN, "connections", "list", "--json"], localDir);
// The entry points are left out (importing them would run the CLI); what they import is all there.
const entries = new Set([pathToFileURL(BIN).href, pathToFileURL(join(ROOT, "build", "cli", "main.js")).href]);
const modules = [...new Set(readFileSync(record, "utf8").split("\n").filter(Boolean))].filter(
  (u) => !entries.has(u),
);
const compiledModules = modules.every((u) => !u.endsWith(".ts"));
const loadCode = join(tmp, "load-code.mjs");
writeFileSync(loadCode, `for (const m of ${JSON.stringify(modules)}) await import(m);\n`);

// A running server for the remote command; its start (process spawn → /api/health answers) is timed too.
async function startServer(): Promise<{ child: ChildProcess; ms: number }> {
  rmSync(join(serverDir, "orderhub.lock"), { force: true });
  const t = performance.now();
  const child = spawn(process.execPath, [BIN, "serve", "--port", "0"], {
    env: env(serverDir),
    stdio: "ignore",
  });
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode} while starting`);
    try {
      const url = JSON.parse(readFileSync(join(serverDir, "orderhub.lock"), "utf8")).url as
        | string
        | undefined;
      if (url && (await fetch(`${url}/api/health`)).ok) return { child, ms: performance.now() - t };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill("SIGKILL");
  throw new Error("the server did not answer /api/health within 2 minutes");
}
async function stopServer(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

const KINDS = ["node", "help", "remote", "local", "database", "code", "serverStart"] as const;
type Kind = (typeof KINDS)[number];
const samples = Object.fromEntries(KINDS.map((k) => [k, [] as number[]])) as Record<Kind, number[]>;
let server: ChildProcess | null = null;
try {
  for (let i = 0; i < Math.min(3, RUNS); i++) {
    const s = await startServer();
    samples.serverStart.push(s.ms);
    if (i < Math.min(3, RUNS) - 1) await stopServer(s.child);
    else server = s.child;
  }
  console.log(`cli-startup: ${RUNS} runs of each, interleaved (a warm-up round first, not counted)`);
  // Interleaved rounds: a burst of load elsewhere on the machine touches every kind alike.
  for (let round = 0; round <= RUNS; round++) {
    const r = {
      node: timed(["-e", "0"], localDir),
      help: timed([BIN, "--help"], localDir),
      remote: timed([BIN, "orders", "list", "--json"], serverDir),
      local: timed([BIN, "connections", "list", "--json"], localDir),
      database: timed([openDb], localDir),
      code: compiledModules ? timed([loadCode], localDir) : Number.NaN,
    };
    if (round === 0) continue;
    for (const [k, v] of Object.entries(r)) samples[k as Kind].push(v);
    process.stdout.write(`  round ${round}/${RUNS}\r`);
  }
} finally {
  if (server) await stopServer(server);
  rmSync(tmp, { recursive: true, force: true });
}

const m = Object.fromEntries(KINDS.map((k) => [k, median(samples[k])])) as Record<Kind, number>;
const node = m.node;
// Start-up of node itself is in every process: the shares below are of what comes after it.
const net = (ms: number) => Math.max(0, ms - node);
const codeShare = net(m.code) / net(m.local);
const dbShare = net(m.database) / net(m.local);
const figures: Figure[] = [
  { name: "node -e 0", value: round(node), unit: "ms", detail: "the baseline: a bare Node process" },
  { name: "orderhub --help", value: round(m.help), unit: "ms" },
  { name: "--help ÷ node -e 0", value: ratio(m.help / node), unit: "", goal: within(3, "×") },
  {
    name: "command against a running server",
    value: round(m.remote),
    unit: "ms",
    detail: "`orders list --json`: HTTP to `orderhub serve` on the same data directory",
  },
  {
    name: "running-server command ÷ node -e 0",
    value: ratio(m.remote / node),
    unit: "",
    goal: within(5, "×"),
  },
  {
    name: "local-mode command",
    value: round(m.local),
    unit: "ms",
    detail: "`connections list --json` on a data directory no server owns (PGlite, opened in the process)",
  },
  { name: "local-mode command ÷ node -e 0", value: ratio(m.local / node), unit: "" },
  {
    name: "opening the database alone",
    value: round(m.database),
    unit: "ms",
    detail: "PGlite on the same directory, migrations checked, one query, closed",
  },
  {
    name: "loading the local command's code alone",
    value: compiledModules ? round(m.code) : Number.NaN,
    unit: "ms",
    detail: compiledModules
      ? `the ${modules.length} modules it loads, imported without running anything`
      : "not measured: this CLI runs TypeScript through a loader",
  },
  {
    name: "local-mode command: share that is opening the database",
    value: ratio(dbShare),
    unit: "",
    detail: "both less a bare node start",
  },
  {
    name: "local-mode command: share that is loading code",
    value: compiledModules ? ratio(codeShare) : Number.NaN,
    unit: "",
  },
  {
    name: "local-mode command: loading code ÷ opening the database",
    value: compiledModules ? ratio(net(m.code) / net(m.database)) : Number.NaN,
    unit: "",
    goal: { op: "<", target: 1, note: "the database, not the code, is most of it" },
  },
  {
    name: "server start → /api/health",
    value: round(m.serverStart),
    unit: "ms",
    detail: `median of ${samples.serverStart.length} starts of \`orderhub serve\` on a migrated data directory`,
  },
];
console.log(`\n${opts.bin}:`);
for (const f of figures)
  console.log(
    `  ${f.name.padEnd(56)} ${String(Number.isNaN(f.value) ? "n/a" : f.value).padStart(7)} ${f.unit.padEnd(2)}${f.goal ? `  goal ${f.goal.op} ${f.goal.target}${f.goal.note ? ` (${f.goal.note})` : ""}` : ""}`,
  );
writeSummary(
  "cli-startup",
  { bin: opts.bin, runs: RUNS, samples, modules: modules.length },
  { bench: "cli-startup", db: "pglite", sizes: `${RUNS} runs of each, medians; ${opts.bin}` },
  figures,
);
