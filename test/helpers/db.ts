import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { inject } from "vitest";
import type { Settings } from "../../src/config.ts";
import { type AppContext, createContext } from "../../src/context.ts";
import { type Clock, ManualClock } from "../../src/core/clock.ts";
import { SecretRegistry } from "../../src/core/secrets.ts";
import { type Database, openDatabase } from "../../src/db/connection.ts";
import { createLogger } from "../../src/logger.ts";
import type { HttpTransport } from "../../src/marketplaces/types.ts";

export const onPostgres = Boolean(process.env.ORDERHUB_TEST_DATABASE_URL);

/** A fresh, migrated database of its own (PGlite in memory, or a new PostgreSQL database). */
export async function testDatabase(): Promise<Database> {
  const url = process.env.ORDERHUB_TEST_DATABASE_URL;
  if (url) {
    const name = `${inject("pgPrefix")}${randomBytes(6).toString("hex")}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`create database "${name}" template "${inject("pgTemplate")}"`);
    await admin.end();
    const u = new URL(url);
    u.pathname = `/${name}`;
    const database = await openDatabase({ databaseUrl: u.toString(), poolSize: 4 });
    const close = database.close;
    database.close = async () => {
      await close();
      const a = new pg.Client({ connectionString: url });
      await a.connect();
      await a.query(`drop database if exists "${name}" with (force)`).catch(() => {});
      await a.end();
    };
    return database;
  }
  const blob = new Blob([readFileSync(inject("pgliteTemplate"))]);
  return openDatabase({ dataDir: null, loadDataDir: blob });
}

export function testSettings(over: Partial<Settings> = {}): Settings {
  return {
    port: 0,
    host: "127.0.0.1",
    dataDir: mkdtempSync(join(tmpdir(), "orderhub-test-")),
    databaseUrl: null,
    secretKey: randomBytes(32).toString("hex"),
    demo: false,
    publicUrl: null,
    logLevel: "debug",
    logPretty: false,
    sessionDays: 14,
    workerConcurrency: 2,
    notifyPort: null,
    notifyHost: null,
    // Tests talk to simulators on 127.0.0.1; the refusal itself is tested with this off.
    allowPrivateMarketplaceUrls: true,
    marketplaceTimeoutMs: 30_000,
    ...over,
  };
}

export interface TestContext extends AppContext {
  /** Every log line written, for assertions (e.g. no secret ever appears). */
  logLines: string[];
}

export async function testContext(
  opts: { clock?: Clock; http?: HttpTransport; settings?: Partial<Settings>; database?: Database } = {},
): Promise<TestContext> {
  const database = opts.database ?? (await testDatabase());
  const logLines: string[] = [];
  const secrets = new SecretRegistry();
  const settings = testSettings(opts.settings);
  const logger = createLogger({
    level: "debug",
    pretty: false,
    registry: secrets,
    destination: { write: (l) => logLines.push(l) },
  });
  const ctx = await createContext(settings, {
    database,
    logger,
    secrets,
    skipMigrations: true,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.http ? { http: opts.http } : {}),
  });
  return Object.assign(ctx, { logLines });
}

export { ManualClock };
