import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { MarketplaceId } from "../core/marketplace-ids.ts";

/** How a simulator is started: the same options for every marketplace, each uses what applies. */
export interface SimulatorOptions {
  port?: number;
  host?: string;
  /** Orders in the seeded store. */
  orders: number;
  /** Seed of the generated store: the same seed gives the same store (and mirrored lots across marketplaces). */
  seed: number;
  /** Lines per order (on average). */
  lines?: number;
  /** When the seeded orders begin. */
  start?: Date;
  /** Where the simulator sends push notifications, for marketplaces that call back. */
  callbackUrl?: string | null;
  /** A port on this machine to announce new orders to, for marketplaces with a fixed call-out port. */
  notifyPort?: number | null;
  /**
   * Where the store is kept between starts (the demo's are in the data directory): loaded when it
   * exists — the seed options are then ignored — and written before every change is answered.
   */
  stateFile?: string | null;
}

/** A running simulator, described the same way for every marketplace. */
export interface RunningSimulator {
  marketplace: MarketplaceId;
  baseUrl: string;
  /** The control API (seed orders, change statuses, inject faults). */
  controlUrl: string;
  /** Settings and secrets a connection to it needs. */
  config: Record<string, string>;
  secrets: Record<string, string>;
  /** Lines that tell a person how to connect it (printed by `orderhub simulate`). */
  describe(): string[];
  /** Points the simulator's push notifications at a connection's push URL (null: stop sending). */
  setCallbackUrl(url: string | null): void;
  /**
   * One step of a living store for the demo: a new order and a few open ones moved on. Returns
   * the orders a push notification would name, where the marketplace names them.
   */
  tick(): Promise<{ notifiedOrderIds: string[] }>;
  close(): Promise<void>;
}

export interface SimulatorEntry {
  marketplace: MarketplaceId;
  /** The size of its demo store. */
  demo: { orders: number; lines: number };
  start(opts: SimulatorOptions): Promise<RunningSimulator>;
}

/** The options every simulator server takes, as its own start function wants them (unset ones left out). */
export function seedOptions(opts: SimulatorOptions) {
  return {
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.host ? { host: opts.host } : {}),
    orders: opts.orders,
    seed: opts.seed,
    ...(opts.lines !== undefined ? { lines: opts.lines } : {}),
    ...(opts.start ? { start: opts.start } : {}),
    ...(opts.stateFile ? { stateFile: opts.stateFile } : {}),
  };
}

const STATE_VERSION = 1;

/** A simulated store kept in a file, or null where there is none yet. Names the file when it cannot be read. */
export function readSimulatorState<T>(file: string, marketplace: MarketplaceId): T | null {
  if (!existsSync(file)) return null;
  let parsed: { version?: unknown; marketplace?: unknown; store?: unknown };
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(
      `the simulated ${marketplace} store in ${file} cannot be read: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (parsed?.marketplace !== marketplace || parsed.version !== STATE_VERSION || !parsed.store)
    throw new Error(
      `${file} does not hold a simulated ${marketplace} store of version ${STATE_VERSION} (it says ${String(parsed?.marketplace)} version ${String(parsed?.version)})`,
    );
  return parsed.store as T;
}

/** Writes a simulated store whole (a temporary file renamed over the old one): a crash leaves the old or the new, never half. */
export function writeSimulatorState(file: string, marketplace: MarketplaceId, store: unknown): void {
  const dir = dirname(file);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ version: STATE_VERSION, marketplace, store }), { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}
