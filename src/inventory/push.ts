import { eq } from "drizzle-orm";
import { MarketplaceError } from "../core/errors.ts";
import { inventoryLots, listings } from "../db/schema.ts";
import type { OutboxHandler } from "../sync/outbox.ts";
import type { StockPushPayload } from "./ledger.ts";

/**
 * Sends a (coalesced) quantity change to one marketplace lot. BrickLink and BrickOwl take signed
 * deltas, which must never apply twice: after an answer that was lost, the lot is read back and the
 * change is sent again only when it visibly did not land.
 */
export function stockPushHandler(db: import("../db/connection.ts").DbOrTx): OutboxHandler {
  return {
    async push(row, p) {
      let payload = row.payload as StockPushPayload;
      if (payload.delta === 0) return;
      const { adapter, actx } = p;
      if (!adapter.pushStockDelta) {
        throw new MarketplaceError("invalid_request", {
          marketplace: adapter.manifest.id,
          operation: "pushStockDelta",
          message: `${adapter.manifest.displayName} takes no stock updates`,
        });
      }
      const [listing] = await db.select().from(listings).where(eq(listings.id, payload.listingId));
      if (!listing) return; // the listing was removed: nothing to keep in step
      // Cut off before it was ever sent (no expected quantity saved yet): nothing can have landed.
      if (payload.ambiguous && payload.expectFrom !== undefined) {
        const now = await adapter.fetchLotQuantity!(actx, payload.externalId);
        const from = payload.expectFrom ?? null;
        if (from !== null && now === from + payload.delta) {
          await db
            .update(listings)
            .set({ quantitySeen: now, syncedAt: actx.clock.now() })
            .where(eq(listings.id, listing.id));
          return; // it had landed
        }
        if (from === null || now !== from) {
          throw new MarketplaceError("contract_changed", {
            marketplace: adapter.manifest.id,
            operation: "pushStockDelta",
            message: `lot ${payload.externalId} shows ${now} after an update whose answer was lost (expected ${from ?? "?"} or ${from === null ? "?" : from + payload.delta}): reconcile it before sending more`,
          });
        }
        // It did not land: send it again below.
      }
      payload = { ...payload, expectFrom: listing.quantitySeen, ambiguous: false };
      await p.saveProgress(payload);
      const [lot] = await db
        .select({ description: inventoryLots.description })
        .from(inventoryLots)
        .where(eq(inventoryLots.id, listing.lotId));
      const res = await adapter.pushStockDelta(actx, {
        externalId: payload.externalId,
        delta: payload.delta,
        description: lot?.description ?? null,
      });
      const seen =
        res.quantity ?? (listing.quantitySeen === null ? null : listing.quantitySeen + payload.delta);
      await db
        .update(listings)
        .set({ quantitySeen: seen, syncedAt: actx.clock.now() })
        .where(eq(listings.id, listing.id));
    },
  };
}
