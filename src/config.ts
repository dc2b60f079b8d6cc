import { resolve } from "node:path";
import { z } from "zod";

/** Every setting Orderhub reads from the environment, parsed once at start-up (README lists them). */
const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default("127.0.0.1"),
  ORDERHUB_DATA_DIR: z.string().min(1).default("./data"),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL")
    .optional()
    .or(z.literal("").transform(() => undefined)),
  ORDERHUB_SECRET_KEY: z.string().optional(),
  ORDERHUB_DEMO: z.enum(["0", "1"]).default("1"),
  ORDERHUB_PUBLIC_URL: z.string().url().optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  ORDERHUB_LOG_PRETTY: z.enum(["0", "1"]).optional(),
  ORDERHUB_SESSION_DAYS: z.coerce.number().int().min(1).max(365).default(14),
  ORDERHUB_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  ORDERHUB_NOTIFY_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  /** The older name of ORDERHUB_NOTIFY_PORT, still read. */
  ORDERHUB_BRICKOWL_NOTIFY_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  ORDERHUB_NOTIFY_HOST: z.string().min(1).optional(),
  ORDERHUB_ALLOW_PRIVATE_MARKETPLACE_URLS: z.enum(["0", "1"]).default("0"),
  ORDERHUB_MARKETPLACE_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(600).default(30),
});

export interface Settings {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | null;
  secretKey: string | null;
  demo: boolean;
  publicUrl: string | null;
  logLevel: z.infer<typeof envSchema>["LOG_LEVEL"];
  logPretty: boolean;
  sessionDays: number;
  workerConcurrency: number;
  /**
   * Port of the listener for marketplaces that call a fixed port with their notices (the manifest's
   * `noticeListener`: BrickOwl's order/notify calls 42500); null = off.
   */
  notifyPort: number | null;
  /** Address the notification listener binds (HOST when unset). */
  notifyHost: string | null;
  /** Connections may point at private or loopback addresses (off: such URLs are refused). */
  allowPrivateMarketplaceUrls: boolean;
  /** How long a marketplace call may take before it counts as failed (a write: as maybe applied). */
  marketplaceTimeoutMs: number;
}

export class SettingsError extends Error {}

export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new SettingsError(`invalid settings:\n  ${lines.join("\n  ")}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: resolve(e.ORDERHUB_DATA_DIR),
    databaseUrl: e.DATABASE_URL ?? null,
    secretKey: e.ORDERHUB_SECRET_KEY ?? null,
    demo: e.ORDERHUB_DEMO === "1",
    publicUrl: e.ORDERHUB_PUBLIC_URL ?? null,
    logLevel: e.LOG_LEVEL,
    logPretty: e.ORDERHUB_LOG_PRETTY ? e.ORDERHUB_LOG_PRETTY === "1" : Boolean(process.stdout.isTTY),
    sessionDays: e.ORDERHUB_SESSION_DAYS,
    workerConcurrency: e.ORDERHUB_WORKER_CONCURRENCY,
    notifyPort: e.ORDERHUB_NOTIFY_PORT ?? e.ORDERHUB_BRICKOWL_NOTIFY_PORT ?? null,
    notifyHost: e.ORDERHUB_NOTIFY_HOST ?? null,
    allowPrivateMarketplaceUrls: e.ORDERHUB_ALLOW_PRIVATE_MARKETPLACE_URLS === "1",
    marketplaceTimeoutMs: Math.round(e.ORDERHUB_MARKETPLACE_TIMEOUT_SECONDS * 1000),
  };
}
