import { listManifests } from "../marketplaces/registry.ts";

/**
 * Marketplaces whose store inventory is the truth the lots are taken from (BrickLink for a brick
 * seller), and how to name them to a person. Read from the manifests' `stockSource`.
 */
export function truthMarketplaces(): { ids: string[]; name: string } {
  const ms = listManifests({ includeInternal: true }).filter((m) => m.capabilities.stockSource === "truth");
  return { ids: ms.map((m) => m.id), name: ms.map((m) => m.displayName).join(" or ") || "the truth" };
}
