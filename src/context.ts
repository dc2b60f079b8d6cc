import { automationSubscriber } from "./automation/run.ts";
import type { Settings } from "./config.ts";
import { type Clock, systemClock } from "./core/clock.ts";
import type { Logger } from "./core/logger.ts";
import { SecretBox, SecretRegistry } from "./core/secrets.ts";
import { type Database, type Db, openDatabase, runMigrations } from "./db/connection.ts";
import { preparePrivateDir } from "./db/data-dir.ts";
import { EventBus } from "./events.ts";
import { stockSubscriber } from "./inventory/stock.ts";
import { createLogger } from "./logger.ts";
import type { HttpTransport } from "./marketplaces/types.ts";
import { loadSecretKey } from "./secret-key.ts";
import type { IngestSubscriber } from "./sync/ingest.ts";

/** Everything with side effects, created once and passed down (no singletons). */
export interface AppContext {
  settings: Settings;
  database: Database;
  db: Db;
  logger: Logger;
  /** Decrypted secrets the log stream must blank. */
  secrets: SecretRegistry;
  box: SecretBox;
  clock: Clock;
  events: EventBus;
  /** How adapters reach marketplaces (simulators in tests). */
  http: HttpTransport;
  /** Run inside every ingest transaction (stock today; production queue, digital delivery, metrics next). */
  ingestSubscribers: IngestSubscriber[];
  close(): Promise<void>;
}

export interface ContextOverrides {
  database?: Database;
  logger?: Logger;
  clock?: Clock;
  http?: HttpTransport;
  secrets?: SecretRegistry;
  ingestSubscribers?: IngestSubscriber[];
  /** Skip migrations (the database is known to be current). */
  skipMigrations?: boolean;
}

export async function createContext(settings: Settings, o: ContextOverrides = {}): Promise<AppContext> {
  const secrets = o.secrets ?? new SecretRegistry();
  const logger =
    o.logger ?? createLogger({ level: settings.logLevel, pretty: settings.logPretty, registry: secrets });
  if (!settings.databaseUrl || !settings.secretKey) {
    // Before PGlite or the key file writes anything: another local user must not read them.
    const tightened = preparePrivateDir(settings.dataDir, { deep: true });
    if (tightened.length > 0)
      logger.warn(
        { dataDir: settings.dataDir, paths: tightened.length },
        "the data directory was readable by other local users: its rights are now this user's alone (0700 folders, 0600 files)",
      );
  }
  const box = new SecretBox(loadSecretKey(settings.secretKey, settings.dataDir));
  const database =
    o.database ?? (await openDatabase({ databaseUrl: settings.databaseUrl, dataDir: settings.dataDir }));
  try {
    if (!o.skipMigrations) await runMigrations(database);
  } catch (err) {
    await database.close();
    throw err;
  }
  const events = new EventBus(database, logger);
  await events.start();
  return {
    settings,
    database,
    db: database.db,
    logger,
    secrets,
    box,
    clock: o.clock ?? systemClock,
    events,
    http: o.http ?? ((url, init) => fetch(url, init)),
    // Stock first: automation rules then see the order as stored, reserved and all.
    ingestSubscribers: o.ingestSubscribers ?? [stockSubscriber, automationSubscriber],
    async close() {
      await events.stop();
      await database.close();
    },
  };
}
