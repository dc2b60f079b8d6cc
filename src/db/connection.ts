import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import type { ExtractTablesWithRelations } from "drizzle-orm";
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres";
import { migrate as migratePg } from "drizzle-orm/node-postgres/migrator";
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import pg from "pg";
import { preparePrivateDir } from "./data-dir.ts";
import { acquireDataDirLock, type DataDirLock } from "./lock.ts";
import * as schema from "./schema.ts";

export type Schema = typeof schema;
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
export type Tx = PgTransaction<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;
/** Either the database or a transaction: repositories take this so callers choose the boundary. */
export type DbOrTx = Db | Tx;

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../drizzle", import.meta.url));

/** The shape pg-boss wants for `db`: run SQL, get `{ rows }`. */
export interface SqlExecutor {
  executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

export interface Database {
  kind: "pglite" | "postgres";
  db: Db;
  /** Raw SQL on the database itself (not inside an app transaction). */
  sql: SqlExecutor;
  /** A pg-boss executor bound to an app transaction, so a job commits or rolls back with it. */
  executorFor(tx: Tx): SqlExecutor;
  /** PostgreSQL connection string, when there is one (pg-boss then opens its own pool). */
  url: string | null;
  /** For LISTEN/NOTIFY. */
  listen(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>>;
  notify(channel: string, payload: string): Promise<void>;
  /** Records where this process serves, in the PGlite lock file, so the CLI can talk to it. */
  announce(info: { url: string | null }): void;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** PostgreSQL when set; PGlite otherwise. */
  databaseUrl?: string | null;
  /** PGlite directory; null or "memory://" keeps it in memory (tests). */
  dataDir?: string | null;
  /** Take the single-owner lock of the PGlite directory (default true). */
  lock?: boolean;
  /** Start from a dumped PGlite data directory (tests reuse a migrated template). */
  loadDataDir?: Blob | File;
  poolSize?: number;
}

interface RawClient {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
  exec?(text: string): Promise<{ rows: unknown[] }[]>;
}

function executorOf(client: RawClient): SqlExecutor {
  return {
    async executeSql(text, values) {
      if (values?.length || !client.exec) return client.query(text, values);
      // pg-boss installs its schema as one multi-statement string, which PGlite runs only through exec().
      const results = await client.exec(text);
      return results.at(-1) ?? { rows: [] };
    },
  };
}

function clientOfTx(tx: Tx): RawClient {
  // drizzle keeps the driver's transaction client on the session (PGlite Transaction or pg PoolClient).
  const session = (tx as unknown as { session: { client: RawClient } }).session;
  return session.client;
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  if (opts.databaseUrl) return openPostgres(opts.databaseUrl, opts.poolSize ?? 10);
  return openPglite(opts);
}

async function openPglite(opts: OpenOptions): Promise<Database> {
  const inMemory = !opts.dataDir || opts.dataDir.startsWith("memory://");
  let lock: DataDirLock | null = null;
  if (!inMemory && opts.dataDir) {
    preparePrivateDir(opts.dataDir);
    if (opts.lock !== false) lock = acquireDataDirLock(opts.dataDir);
  }
  let client: PGlite;
  try {
    client = new PGlite({
      ...(inMemory ? {} : { dataDir: `${opts.dataDir}/pg` }),
      ...(opts.loadDataDir ? { loadDataDir: opts.loadDataDir } : {}),
    });
    await client.waitReady;
    // PGlite writes its files 0666 whatever the umask: take that back (the folders already keep others out).
    if (!inMemory && opts.dataDir) preparePrivateDir(opts.dataDir, { deep: true });
  } catch (err) {
    lock?.release();
    throw err;
  }
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  return {
    kind: "pglite",
    db,
    url: null,
    sql: executorOf(client as unknown as RawClient),
    executorFor: (tx) => executorOf(clientOfTx(tx)),
    async listen(channel, onMessage) {
      const unsub = await client.listen(channel, onMessage);
      return async () => unsub();
    },
    async notify(channel, payload) {
      await client.query("select pg_notify($1, $2)", [channel, payload]);
    },
    announce(info) {
      lock?.update(info);
    },
    async close() {
      try {
        if (!client.closed) await client.close();
        // Files PGlite made while running (new tables, WAL segments) get the same rights.
        if (!inMemory && opts.dataDir) preparePrivateDir(opts.dataDir, { deep: true });
      } finally {
        lock?.release();
      }
    },
  };
}

async function openPostgres(url: string, poolSize: number): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // Surface a bad URL or a server that is down now, with a clear message, not on first use.
  try {
    const c = await pool.connect();
    c.release();
  } catch (err) {
    await pool.end().catch(() => {});
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`cannot connect to PostgreSQL at ${redactUrl(url)}: ${reason}`);
  }
  pool.on("error", () => {});
  const db = drizzlePg(pool, { schema }) as unknown as Db;
  let listener: pg.Client | null = null;
  const handlers = new Map<string, Set<(payload: string) => void>>();
  return {
    kind: "postgres",
    db,
    url,
    sql: executorOf(pool as unknown as RawClient),
    executorFor: (tx) => executorOf(clientOfTx(tx)),
    async listen(channel, onMessage) {
      if (!listener) {
        listener = new pg.Client({ connectionString: url });
        listener.on("error", () => {});
        await listener.connect();
        listener.on("notification", (n) => {
          for (const h of handlers.get(n.channel) ?? []) h(n.payload ?? "");
        });
      }
      let set = handlers.get(channel);
      if (!set) {
        set = new Set();
        handlers.set(channel, set);
        await listener.query(`LISTEN "${channel.replace(/"/g, "")}"`);
      }
      set.add(onMessage);
      return async () => {
        set.delete(onMessage);
      };
    },
    async notify(channel, payload) {
      await pool.query("select pg_notify($1, $2)", [channel, payload]);
    },
    announce() {},
    async close() {
      if (listener) await listener.end().catch(() => {});
      await pool.end();
    },
  };
}

export async function runMigrations(database: Database): Promise<void> {
  if (database.kind === "pglite") {
    // biome-ignore lint/suspicious/noExplicitAny: drizzle's migrator wants its own driver type
    await migratePglite(database.db as any, { migrationsFolder: MIGRATIONS_DIR });
  } else {
    // biome-ignore lint/suspicious/noExplicitAny: as above
    await migratePg(database.db as any, { migrationsFolder: MIGRATIONS_DIR });
  }
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable URL)";
  }
}
