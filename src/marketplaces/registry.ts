import { bricklinkAdapter } from "./bricklink/adapter.ts";
import { brickowlAdapter } from "./brickowl/adapter.ts";
import { fakeAdapter } from "./testing/fake.ts";
import type { MarketplaceAdapter, MarketplaceManifest } from "./types.ts";

/** One line per marketplace. */
const adapters: Record<string, MarketplaceAdapter<unknown>> = {
  bricklink: bricklinkAdapter as MarketplaceAdapter<unknown>,
  brickowl: brickowlAdapter as MarketplaceAdapter<unknown>,
  fake: fakeAdapter as MarketplaceAdapter<unknown>,
};

export function getAdapter(id: string): MarketplaceAdapter<unknown> {
  const a = adapters[id];
  if (!a) throw new Error(`unknown marketplace "${id}" (known: ${Object.keys(adapters).join(", ")})`);
  return a;
}

export function hasAdapter(id: string): boolean {
  return id in adapters;
}

export function listManifests(opts: { includeInternal?: boolean } = {}): MarketplaceManifest[] {
  return Object.values(adapters)
    .map((a) => a.manifest)
    .filter((m) => opts.includeInternal || !m.internal);
}
