import { z } from "zod";

/** Folder name, database value, manifest id and log field, all the same (DESIGN §3). */
export const MARKETPLACE_IDS = [
  "bricklink",
  "brickowl",
  "amazon",
  "ebay",
  "etsy",
  "letzshop",
  "codeswholesale",
  "storefront",
  "fake",
] as const;
export const marketplaceIdSchema = z.enum(MARKETPLACE_IDS);
export type MarketplaceId = z.infer<typeof marketplaceIdSchema>;
