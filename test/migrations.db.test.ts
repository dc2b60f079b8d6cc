import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, runMigrations } from "../src/db/connection.ts";
import { onPostgres, testDatabase } from "./helpers/db.ts";

const TABLES = [
  "accounts",
  "users",
  "sessions",
  "api_tokens",
  "connections",
  "orders",
  "order_lines",
  "order_events",
  "inventory_lots",
  "listings",
  "inventory_ledger",
  "sync_runs",
  "sync_cursors",
  "outbox",
  "api_usage",
  "rate_limits",
  "audit_log",
  "shipments",
  "shipment_lines",
  "credentials",
  "oauth_states",
  "import_jobs",
  "import_job_lines",
  "import_job_created_lots",
];

let database: Database;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(async () => {
  await database.close();
});

describe(`migrations on ${onPostgres ? "PostgreSQL" : "PGlite"}`, () => {
  it("create every table of the unified model", async () => {
    const { rows } = await database.sql.executeSql(
      "select table_name from information_schema.tables where table_schema = 'public' order by table_name",
      [],
    );
    const names = (rows as { table_name: string }[]).map((r) => r.table_name);
    for (const t of TABLES) expect(names).toContain(t);
  });

  it("are recorded and applying them again changes nothing", async () => {
    const count = async () =>
      Number(
        (
          (await database.sql.executeSql("select count(*)::int as n from drizzle.__drizzle_migrations", []))
            .rows[0] as { n: number }
        ).n,
      );
    const before = await count();
    expect(before).toBeGreaterThan(0);
    await runMigrations(database);
    expect(await count()).toBe(before);
  });

  it("enforce the keys the sync relies on", async () => {
    const { rows } = await database.sql.executeSql(
      "select indexname from pg_indexes where schemaname = 'public' and indexname in ($1, $2, $3)",
      ["orders_account_marketplace_external_key", "sync_runs_one_active_key", "outbox_idempotency_key"],
    );
    expect(rows).toHaveLength(3);
  });
});
