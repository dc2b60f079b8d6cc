#!/usr/bin/env node
// Compiles src/ to JavaScript in build/ (one file per module, same layout, so paths such as
// `new URL("../../drizzle", import.meta.url)` still point at the same place), with esbuild — the same
// transpiler tsx used on every call before. `node scripts/build.js` builds when build/ was made from
// other sources than today's (the check is cheap: one stat per source file); `--force` always builds.
// bin/orderhub.js runs the same check before every command.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const SRC = join(ROOT, "src");
export const OUT = join(ROOT, "build");
const STAMP = join(OUT, ".sources.json");
/** Besides the sources: what changes the output (esbuild reads tsconfig.json; its version is in the lockfile). */
const INPUTS = ["tsconfig.json", "package-lock.json", "scripts/build.js"];

const isSource = (name) => name.endsWith(".ts") && !name.endsWith(".test.ts") && !name.endsWith(".d.ts");

/** Every source file (relative to src/, with "/" separators). */
function sources(dir = SRC, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) sources(p, out);
    else if (isSource(e.name)) out.push(relative(SRC, p).split(sep).join("/"));
  }
  return out;
}

/** What build/ is made from: each input's size and modification time. */
function fingerprint(files) {
  const fp = {};
  for (const f of INPUTS) {
    const s = statSync(join(ROOT, f), { throwIfNoEntry: false });
    fp[f] = s ? [s.size, s.mtimeMs] : null;
  }
  for (const f of files) {
    const s = statSync(join(SRC, f));
    fp[`src/${f}`] = [s.size, s.mtimeMs];
  }
  return fp;
}

/** Whether build/ was compiled from exactly the sources there are now (a file added, removed or changed: no). */
export function isFresh() {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(STAMP, "utf8"));
  } catch {
    return false;
  }
  const now = fingerprint(sources());
  const keys = Object.keys(now);
  if (keys.length !== Object.keys(stamp).length) return false;
  return keys.every((k) => {
    const a = now[k];
    const b = stamp[k];
    return a === null ? b === null : Array.isArray(b) && a[0] === b[0] && a[1] === b[1];
  });
}

let written = 0;

/** Writes a file by renaming a finished copy over it, so a process loading build/ never reads half a file. */
function writeAtomic(file, contents) {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${++written}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, file);
}

function outputs(dir = OUT, out = []) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) outputs(p, out);
    else out.push(p);
  }
  return out;
}

/** Compiles every source file; writes only the files that changed and removes those whose source is gone. */
export async function build() {
  const files = sources();
  // Taken before reading: a source edited while the build runs makes the next check rebuild.
  const fp = fingerprint(files);
  const { build: esbuild } = await import("esbuild");
  const result = await esbuild({
    absWorkingDir: ROOT,
    entryPoints: files.map((f) => `src/${f}`),
    outbase: "src",
    outdir: "build",
    // "Bundling" with every import external compiles each file on its own, and lets the plugin below
    // rewrite relative `.ts` specifiers, which plain transpiling leaves as they are.
    bundle: true,
    packages: "external",
    platform: "node",
    format: "esm",
    target: "node20",
    // Stack traces name the .ts lines under `NODE_OPTIONS=--enable-source-maps` (off by default: it
    // slows every start).
    sourcemap: "linked",
    sourcesContent: false,
    write: false,
    logLevel: "silent",
    plugins: [
      {
        name: "relative-imports",
        setup(b) {
          b.onResolve({ filter: /^\.\.?\// }, (args) =>
            args.kind === "entry-point"
              ? undefined
              : { path: args.path.replace(/\.ts$/, ".js"), external: true },
          );
        },
      },
    ],
  }).catch((err) => {
    const first = err.errors?.[0];
    const where = first?.location ? `${first.location.file}:${first.location.line}: ` : "";
    throw new Error(`build failed: ${where}${first?.text ?? err.message}`);
  });
  const wanted = new Set();
  for (const f of result.outputFiles) {
    wanted.add(f.path);
    let same = false;
    try {
      same = readFileSync(f.path).equals(Buffer.from(f.contents));
    } catch {}
    if (!same) writeAtomic(f.path, f.contents);
  }
  for (const p of outputs()) {
    // Another build's unfinished copies are left alone unless a crash left them behind long ago.
    const orphan = /\.js(\.map)?$/.test(p)
      ? !wanted.has(p)
      : p.endsWith(".tmp") && Date.now() - statSync(p, { throwIfNoEntry: false })?.mtimeMs > 60_000;
    if (orphan) rmSync(p, { force: true });
  }
  writeAtomic(STAMP, JSON.stringify(fp));
  return { files: files.length };
}

/** Builds unless build/ is already made from today's sources. */
export async function ensureBuilt() {
  if (isFresh()) return false;
  await build();
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const force = process.argv.includes("--force");
  const t = performance.now();
  try {
    if (force) rmSync(STAMP, { force: true });
    if (await ensureBuilt()) console.log(`build/: compiled src/ in ${Math.round(performance.now() - t)} ms`);
  } catch (err) {
    console.error(`scripts/build.js: ${err.message}`);
    process.exit(1);
  }
}
