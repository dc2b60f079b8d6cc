import { MarketplaceError } from "../core/errors.ts";
import type { MarketplaceManifest, TokenProvider } from "../marketplaces/types.ts";

/**
 * Connections that sign with their secrets have no access tokens to hand out. Kept apart from the
 * OAuth provider so sessions of such connections never load the OAuth client library.
 */
export function staticTokens(manifest: Pick<MarketplaceManifest, "id" | "displayName">): TokenProvider {
  return {
    async getAccessToken() {
      throw new MarketplaceError("invalid_request", {
        marketplace: manifest.id,
        operation: "accessToken",
        message: `${manifest.displayName} connections sign with their keys and use no access tokens`,
      });
    },
    async invalidate() {},
  };
}
