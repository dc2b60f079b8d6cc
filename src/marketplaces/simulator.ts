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
  };
}
