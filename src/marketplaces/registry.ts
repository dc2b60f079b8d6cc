import { bricklinkAdapter } from "./bricklink/adapter.ts";
import { brickowlAdapter } from "./brickowl/adapter.ts";
import type { SimulatorEntry } from "./simulator.ts";
import type { MarketplaceAdapter, MarketplaceManifest } from "./types.ts";

/** One line per marketplace: its adapter, and its simulator (loaded only when asked for). */
const entries: Record<
  string,
  { adapter: MarketplaceAdapter<unknown>; simulator?: () => Promise<SimulatorEntry> }
> = {
  bricklink: {
    adapter: bricklinkAdapter as MarketplaceAdapter<unknown>,
    simulator: async () => (await import("./bricklink/simulator/entry.ts")).bricklinkSimulator,
  },
  brickowl: {
    adapter: brickowlAdapter as MarketplaceAdapter<unknown>,
    simulator: async () => (await import("./brickowl/simulator/entry.ts")).brickowlSimulator,
  },
};

export function getAdapter(id: string): MarketplaceAdapter<unknown> {
  const a = Object.hasOwn(entries, id) ? entries[id]!.adapter : undefined;
  if (!a) throw new Error(`unknown marketplace "${id}" (known: ${Object.keys(entries).join(", ")})`);
  return a;
}

export function hasAdapter(id: string): boolean {
  return Object.hasOwn(entries, id);
}

export function listManifests(opts: { includeInternal?: boolean } = {}): MarketplaceManifest[] {
  return Object.values(entries)
    .map((e) => e.adapter.manifest)
    .filter((m) => opts.includeInternal || !m.internal);
}

/** Marketplaces that have a simulator (for `orderhub simulate`, the demo and the benchmarks). */
export function simulatorIds(): string[] {
  return Object.keys(entries).filter((id) => entries[id]!.simulator);
}

export async function loadSimulator(id: string): Promise<SimulatorEntry> {
  const load = Object.hasOwn(entries, id) ? entries[id]!.simulator : undefined;
  if (!load) throw new Error(`no simulator for "${id}" (available: ${simulatorIds().join(", ")})`);
  return load();
}

/**
 * Adds an adapter that is not part of the product (the fake marketplace, test-only OAuth
 * marketplaces). Only tests call it; production code never registers anything.
 */
export function registerAdapter(adapter: MarketplaceAdapter<unknown>): () => void {
  const id = adapter.manifest.id;
  const before = entries[id];
  entries[id] = { adapter };
  return () => {
    if (before) entries[id] = before;
    else delete entries[id];
  };
}
