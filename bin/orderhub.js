#!/usr/bin/env node
// Runs the compiled CLI in build/ (see scripts/build.js), compiling it first when src/ changed since the
// last build (under a second), so what runs is always today's sources. Where it cannot compile (a
// checkout it may not write to), it runs the sources through tsx instead: slower, the same code.
import { join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ensureBuilt, OUT, SRC } from "../scripts/build.js";

let compiled = true;
try {
  await ensureBuilt();
} catch (err) {
  compiled = false;
  if (process.stderr.isTTY) process.stderr.write(`orderhub: running the sources (slower): ${err.message}\n`);
  const { register } = await import("tsx/esm/api");
  register();
}

/** A module under src/, as the tree that runs has it (its build/ counterpart, or the source itself). */
function moduleUrl(file) {
  const rel = relative(SRC, resolve(file));
  if (rel.startsWith("..") || !rel.endsWith(".ts")) throw new Error(`${file} is not a .ts file under src/`);
  return pathToFileURL(compiled ? join(OUT, `${rel.slice(0, -3)}.js`) : join(SRC, rel)).href;
}

// Tests load test-only modules (the fake marketplace) into the processes they start; nothing else can.
if (process.env.NODE_ENV === "test" && process.env.ORDERHUB_PRELOAD) {
  for (const file of process.env.ORDERHUB_PRELOAD.split(",")) {
    try {
      await import(moduleUrl(file.trim()));
    } catch (err) {
      process.stderr.write(`orderhub: ORDERHUB_PRELOAD: ${err.message}\n`);
      process.exit(1);
    }
  }
}

await import(moduleUrl(join(SRC, "cli", "main.ts")));
