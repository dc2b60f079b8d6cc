#!/usr/bin/env node
// Builds the web UI into dist/web when it is missing or older than its sources (run before `npm start`
// and the browser tests). A fresh clone builds once (well under a second); later starts skip it.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const out = "dist/web/index.html";
function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}
if (
  existsSync(out) &&
  statSync(out).mtimeMs >= Math.max(newest("web"), statSync("package-lock.json").mtimeMs)
) {
  process.exit(0);
}
const r = spawnSync(
  process.execPath,
  ["node_modules/vite/bin/vite.js", "build", "--config", "web/vite.config.ts", "--logLevel", "warn"],
  {
    stdio: "inherit",
  },
);
process.exit(r.status ?? 1);
