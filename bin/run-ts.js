#!/usr/bin/env node
// Runs a TypeScript file through tsx (the benchmarks: `npm run bench -- bench/orders-query.ts`); the
// CLI and the server run compiled JavaScript instead (bin/orderhub.js).
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { register } from "tsx/esm/api";

const file = process.argv[2];
if (!file) {
  console.error("usage: npm run bench -- bench/<name>.ts [options]");
  process.exit(2);
}
process.argv.splice(2, 1);
register();
await import(pathToFileURL(resolve(file)).href);
