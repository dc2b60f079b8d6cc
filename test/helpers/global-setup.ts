import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { MIGRATIONS_DIR, openDatabase, runMigrations } from "../../src/db/connection.ts";

/** Hash of the migrations, so a template made from older migrations is never reused. */
function migrationsHash(): string {
  const h = createHash("sha256");
  const walk = (dir: string) => {
    for (const f of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, f.name);
      if (f.isDirectory()) walk(p);
      else h.update(f.name).update(readFileSync(p));
    }
  };
  walk(MIGRATIONS_DIR);
  return h.digest("hex").slice(0, 16);
}

/**
 * Every test file gets its own database: PGlite files load a migrated template dump (opening and
 * migrating a fresh PGlite takes seconds); PostgreSQL files clone a migrated template database.
 */
export default async function setup(project: TestProject) {
  // The processes tests start run build/ (bin/orderhub.js): compile today's sources once, before any
  // of them, rather than in each (bin/orderhub.js would notice a stale build, but in every process).
  const built = spawnSync(process.execPath, [join(import.meta.dirname, "..", "..", "scripts", "build.js")], {
    stdio: "inherit",
  });
  if (built.status !== 0) throw new Error("scripts/build.js failed: see above");
  const hash = migrationsHash();
  const url = process.env.ORDERHUB_TEST_DATABASE_URL;
  if (url) {
    const tpl = `orderhub_tpl_${hash}`;
    // This run's databases share a prefix of their own: the teardown drops only those, so runs on
    // one server at the same time leave each other alone.
    const prefix = `orderhub_t_${randomBytes(4).toString("hex")}_`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    // One run builds a missing template; another starting meanwhile waits, then clones it.
    await admin.query("select pg_advisory_lock(hashtext($1))", [tpl]);
    try {
      const exists = await admin.query("select 1 from pg_database where datname = $1", [tpl]);
      if (exists.rowCount === 0) {
        await admin.query(`create database "${tpl}"`);
        const u = new URL(url);
        u.pathname = `/${tpl}`;
        const database = await openDatabase({ databaseUrl: u.toString(), poolSize: 2 });
        await runMigrations(database);
        await database.close();
      }
    } finally {
      await admin.end();
    }
    project.provide("pgTemplate", tpl);
    project.provide("pgPrefix", prefix);
    return async () => {
      const a = new pg.Client({ connectionString: url });
      await a.connect();
      const left = await a.query("select datname from pg_database where starts_with(datname, $1)", [prefix]);
      for (const r of left.rows)
        await a.query(`drop database if exists "${r.datname}" with (force)`).catch(() => {});
      await a.end();
    };
  }
  const dir = resolve(".tmp");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `pglite-template-${hash}.tar`);
  if (!existsSync(file)) {
    const database = await openDatabase({ dataDir: null });
    await runMigrations(database);
    const client = (database.db as unknown as { $client: { dumpDataDir(c: "none"): Promise<Blob> } }).$client;
    const blob = await client.dumpDataDir("none");
    writeFileSync(`${file}.part`, Buffer.from(await blob.arrayBuffer()));
    const { renameSync } = await import("node:fs");
    renameSync(`${file}.part`, file);
    await database.close();
  }
  project.provide("pgliteTemplate", file);
}

declare module "vitest" {
  export interface ProvidedContext {
    pgTemplate: string;
    /** Names of this run's PostgreSQL test databases start with it. */
    pgPrefix: string;
    pgliteTemplate: string;
  }
}
