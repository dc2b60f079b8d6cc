#!/usr/bin/env node
// Runs a command with ORDERHUB_TEST_DATABASE_URL pointing at a fresh PostgreSQL database, dropped afterwards.
// The server comes from ORDERHUB_TEST_PG (default postgres://postgres@127.0.0.1:5432/test).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import pg from "pg";

const base = process.env.ORDERHUB_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/test";
const name = `orderhub_ci_${randomBytes(5).toString("hex")}`;
const admin = new pg.Client({ connectionString: base });
try {
  await admin.connect();
} catch (err) {
  console.error(`cannot reach PostgreSQL at ${base}: ${err.message}`);
  process.exit(2);
}
await admin.query(`create database "${name}"`);
const url = new URL(base);
url.pathname = `/${name}`;
const [cmd, ...args] = process.argv.slice(2);
const child = spawn(cmd, args, {
  stdio: "inherit",
  env: { ...process.env, ORDERHUB_TEST_DATABASE_URL: url.toString() },
  shell: process.platform === "win32",
});
const code = await new Promise((resolve) => child.on("exit", (c, sig) => resolve(c ?? (sig ? 1 : 0))));
await admin.query(`drop database if exists "${name}" with (force)`).catch(() => {});
await admin.end();
process.exit(code);
