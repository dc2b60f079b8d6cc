import { and, eq, gt, inArray, ne, or, sql } from "drizzle-orm";
import { MarketplaceError } from "../core/errors.ts";
import { inventoryLots, listings, syncRuns } from "../db/schema.ts";
import type { OutboxHandler } from "../sync/outbox.ts";
import type { StockPushPayload } from "./ledger.ts";

/**
 * A read-back that cannot tell whether a lost update landed looks again until a sync of that
 * marketplace that started afterwards has completed (its sales are then known), at most this long,
 * before a person is asked to reconcile the lot.
 */
const UNEXPLAINED_WINDOW_MS = 24 * 3_600_000;

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
      const stock = adapter.stock;
      if (stock.mode !== "delta") {
        // Absolute-stock marketplaces take target quantities, not these coalesced deltas.
        throw new MarketplaceError("invalid_request", {
          marketplace: adapter.manifest.id,
          operation: "pushStockDelta",
          message: `${adapter.manifest.displayName} takes no stock changes as deltas`,
        });
      }
      const [listing] = await db.select().from(listings).where(eq(listings.id, payload.listingId));
      if (!listing) return; // the listing was removed: nothing to keep in step
      // Cut off before it was ever sent (no expected quantity saved yet): nothing can have landed.
      if (payload.ambiguous && payload.expectFrom !== undefined) {
        const now = await stock.fetchQuantity(actx, payload.externalId);
        // What we know the lot holds, its own sales since the update included (they are synced in).
        const from = listing.quantitySeen;
        if (from !== null && now === from + payload.delta) {
          await p.saveProgress({ ...payload, landed: true });
          return; // it had landed
        }
        if (from === null || now !== from) {
          // Either a sale there is not synced in yet (the next sync explains it: look again then), or
          // the lot was changed by hand: after a while it is left to a person.
          // While the lot keeps moving (sales still coming in), the wait starts again; only the same
          // unexplained quantity, still there after a sync that began after it was seen, needs a person.
          const at = actx.clock.now().toISOString();
          const prev = payload.unexplained;
          const since = prev && prev.seen === now ? prev.since : at;
          const first = prev?.first ?? at;
          const [syncedSince] = await db
            .select({ id: syncRuns.id })
            .from(syncRuns)
            .where(
              and(
                eq(syncRuns.connectionId, listing.connectionId),
                // Completed without errors: every sale there up to its start is known.
                eq(syncRuns.state, "completed"),
                inArray(syncRuns.mode, ["incremental", "full"]),
                // A push ping's run fetches only the orders the marketplace named (a ping can be
                // lost): only a run that read the whole order list knows every sale.
                ...(adapter.notices.style === "ping"
                  ? [or(eq(syncRuns.mode, "full"), ne(syncRuns.trigger, "webhook"))]
                  : []),
                gt(syncRuns.startedAt, new Date(since)),
              ),
            )
            .limit(1);
          const waiting =
            !syncedSince && actx.clock.now().getTime() - Date.parse(first) < UNEXPLAINED_WINDOW_MS;
          await p.saveProgress({ ...payload, unexplained: { since, seen: now, first } });
          throw new MarketplaceError(waiting ? "transient" : "contract_changed", {
            marketplace: adapter.manifest.id,
            operation: "pushStockDelta",
            message: `lot ${payload.externalId} shows ${now} after an update whose answer was lost (expected ${from ?? "?"} or ${from === null ? "?" : from + payload.delta})${waiting ? "; looking again after the next sync" : ": reconcile it before sending more"}`,
            ...(waiting ? { retryAfterMs: 30_000 } : {}),
          });
        }
        // It did not land: send it again below.
      }
      payload = {
        ...payload,
        expectFrom: listing.quantitySeen,
        ambiguous: false,
        unexplained: undefined,
      };
      await p.saveProgress(payload);
      const [lot] = await db
        .select({ description: inventoryLots.description })
        .from(inventoryLots)
        .where(eq(inventoryLots.id, listing.lotId));
      await stock.pushDelta(actx, {
        externalId: payload.externalId,
        delta: payload.delta,
        description: lot?.description ?? null,
      });
      // The answer's quantity is not taken over: it may hold sales there that are not synced in yet,
      // which the sync then counts again. What we know moves by exactly our change.
      await p.saveProgress({ ...payload, landed: true });
    },
    // What the listing holds moves only together with the push being marked sent: a process that
    // dies in between leaves both as they were, and the read-back on the next attempt sees it landed.
    async onSent(tx, row, at) {
      const payload = row.payload as StockPushPayload;
      if (!payload.landed) return;
      await tx
        .update(listings)
        .set({ quantitySeen: sql`${listings.quantitySeen} + ${payload.delta}`, syncedAt: at })
        .where(eq(listings.id, payload.listingId));
    },
  };
}
