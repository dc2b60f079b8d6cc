import { z } from "zod";
import { MarketplaceError } from "../../core/errors.ts";
import { type UnreadableEntry, unreadableSummaries } from "../entries.ts";
import type { AdapterContext, ListedOrder, MarketplaceAdapter } from "../types.ts";
import { BrickOwlClient, LIST_LIMIT } from "./client.ts";
import { brickowlManifest } from "./manifest.ts";
import {
  BRICKOWL_STATUSES,
  brickOwlStatusId,
  mapBrickOwlStatus,
  mapInventoryLot,
  mapListedOrder,
  mapOrder,
  mapSummary,
} from "./mapping.ts";
import type { BrickOwlOrderListEntry } from "./types.ts";
import { brickowlNotices } from "./webhooks.ts";

/**
 * `order/list` has no paging and no change time: it answers the newest orders placed at or after
 * `order_time`. The cursor remembers the newest order time seen and the oldest order still open, so
 * an incremental sync lists from there (never further back than LOOKBACK_DAYS) and compares status,
 * total and counts to find what changed.
 */
const checkpointSchema = z.object({
  newestOrderTime: z.number().int().nullable(),
  oldestOpenOrderTime: z.number().int().nullable(),
});
export type BrickOwlCheckpoint = z.infer<typeof checkpointSchema>;

/** How far back an incremental sync re-checks orders for status changes. */
export const LOOKBACK_DAYS = 90;
/** Received and Cancelled orders do not change any more. */
const CLOSED_STATUS_IDS = new Set([6, 8]);

function client(ctx: AdapterContext): BrickOwlClient {
  return new BrickOwlClient(ctx, ctx.secrets.apiKey ?? "");
}

function seconds(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}

/** Where an incremental listing starts: the oldest open order, bounded by the look-back window. */
export function listingStart(cp: BrickOwlCheckpoint, now: Date): number {
  const floor = seconds(now) - LOOKBACK_DAYS * 86_400;
  // A cursor in the future (a clock that was wrong) must not hide new orders.
  const newest = Math.min(cp.newestOrderTime ?? seconds(now), seconds(now));
  const from = Math.min(cp.oldestOpenOrderTime ?? newest, newest);
  return Math.max(from, floor);
}

/**
 * One listing; when it comes back full (the limit hides older orders), list each status on its own
 * so nothing beyond the limit is lost. A status with more orders than the limit still loses its
 * oldest: that is logged.
 */
async function listAll(
  ctx: AdapterContext,
  c: BrickOwlClient,
  orderTime: number | undefined,
): Promise<{ list: BrickOwlOrderListEntry[]; unreadable: UnreadableEntry[] }> {
  const first = await c.listOrderEntries({ orderTime, limit: LIST_LIMIT });
  if (first.ok.length + first.unreadable.length < LIST_LIMIT)
    return { list: first.ok, unreadable: first.unreadable };
  const byId = new Map<string, BrickOwlOrderListEntry>(first.ok.map((e) => [e.order_id, e]));
  const unreadable = new Map(first.unreadable.map((u) => [u.id ?? u.problem, u]));
  for (const id of Object.keys(BRICKOWL_STATUSES)) {
    const entries = await c.listOrderEntries({ orderTime, status: Number(id), limit: LIST_LIMIT });
    const part = entries.ok;
    for (const u of entries.unreadable) unreadable.set(u.id ?? u.problem, u);
    if (part.length + entries.unreadable.length >= LIST_LIMIT) {
      ctx.logger.warn(
        { status: BRICKOWL_STATUSES[Number(id)], limit: LIST_LIMIT },
        "BrickOwl lists at most 5,000 orders per status: the oldest orders of this status are out of reach",
      );
    }
    for (const e of part) byId.set(e.order_id, e);
  }
  return { list: [...byId.values()], unreadable: [...unreadable.values()] };
}

/** The list entry's summary row; an entry that does not map is fetched whole instead. */
function listedOrNot(e: BrickOwlOrderListEntry): { listed?: ListedOrder } {
  try {
    return { listed: mapListedOrder(e) };
  } catch {
    return {};
  }
}

export const brickowlAdapter: MarketplaceAdapter<BrickOwlCheckpoint> = {
  manifest: brickowlManifest,
  async testConnection(ctx) {
    const t = await client(ctx).tokenDetails();
    if (t.has_store === false || !t.store_details) {
      throw new MarketplaceError("auth", {
        marketplace: "brickowl",
        operation: "tokenDetails",
        message: `the BrickOwl account ${t.username ?? ""} has no store: use the API key of the selling account`,
      });
    }
    const s = t.store_details;
    return {
      storeName: s.name ?? null,
      currency: s.base_currency?.toUpperCase() ?? null,
      storeId: s.store_id ?? null,
      detail: { username: t.username ?? null, country: s.country ?? null },
    };
  },
  orders: {
    checkpointSchema,
    async page(ctx, req) {
      const c = client(ctx);
      const now = ctx.clock.now();
      const since = req.mode === "full" || !req.checkpoint ? undefined : listingStart(req.checkpoint, now);
      const { list, unreadable } = await listAll(ctx, c, since);
      // Oldest first, so a run that stops part-way has stored the older orders.
      list.sort(
        (a, b) =>
          Number(a.order_date ?? 0) - Number(b.order_date ?? 0) || Number(a.order_id) - Number(b.order_id),
      );
      const prev = req.checkpoint?.newestOrderTime ?? null;
      let newest = prev === null ? null : Math.min(prev, seconds(now));
      let oldestOpen: number | null = null;
      for (const e of list) {
        const t = Number(e.order_date);
        if (!Number.isFinite(t)) continue;
        if (newest === null || t > newest) newest = t;
        if (!CLOSED_STATUS_IDS.has(e.status_id) && (oldestOpen === null || t < oldestOpen)) oldestOpen = t;
      }
      return {
        shape: "summaries",
        summaries: [
          ...list.map((e) => ({ ...mapSummary(e), ...listedOrNot(e) })),
          ...unreadableSummaries(ctx, "BrickOwl", unreadable),
        ],
        checkpoint: { newestOrderTime: newest, oldestOpenOrderTime: oldestOpen },
        done: true,
        total: list.length,
      };
    },
    async fetchOrder(ctx, externalId) {
      const c = client(ctx);
      const order = await c.getOrder(externalId);
      const items = await c.getOrderItems(externalId);
      return mapOrder(order, items);
    },
    mapStatus: (raw) => {
      const id = brickOwlStatusId(raw);
      return mapBrickOwlStatus(id === null ? raw : String(id));
    },
    // One listing (and one per status when it comes back full); an order is two calls.
    cost: {
      listCalls: (req) => (req.orders >= LIST_LIMIT ? 1 + Object.keys(BRICKOWL_STATUSES).length : 1),
      perOrder: 2,
    },
  },
  notices: brickowlNotices,
  shipments: {
    granularity: "order",
    async push(ctx, push) {
      const tracking = push.trackingNumber ?? push.trackingUrl;
      if (tracking) await client(ctx).setTracking(push.externalOrderId, tracking);
      return { externalShipmentId: null };
    },
    async readBack(ctx, push) {
      // order/tracking sets the one tracking value of the order: setting it again changes nothing.
      const tracking = push.trackingNumber ?? push.trackingUrl;
      if (!tracking) return { externalShipmentId: null };
      const order = await client(ctx).getOrder(push.externalOrderId);
      const held = (order as { tracking_number?: string | null }).tracking_number ?? null;
      return held === tracking ? { externalShipmentId: null } : null;
    },
    extras: [],
  },
  status: {
    kind: "settable",
    async push(ctx, push) {
      const id = brickOwlStatusId(push.rawStatus);
      if (id === null || id === 0 || id === 8) {
        throw new MarketplaceError("invalid_request", {
          marketplace: "brickowl",
          operation: "setOrderStatus",
          message: `BrickOwl lets a seller set only ${[1, 2, 3, 4, 5, 6, 7].map((i) => BRICKOWL_STATUSES[i]).join(", ")} — not "${push.rawStatus}"`,
        });
      }
      await client(ctx).setOrderStatus(push.externalOrderId, id);
    },
    async readBack(ctx, externalOrderId) {
      const order = await client(ctx).getOrder(externalOrderId);
      return BRICKOWL_STATUSES[Number(order.status_id)] ?? String(order.status_id);
    },
  },
  stock: {
    mode: "delta",
    async fetchInventory(ctx) {
      return (await client(ctx).listInventory({ activeOnly: false })).map(mapInventoryLot);
    },
    async fetchQuantity(ctx, externalId) {
      const [lot] = await client(ctx).listInventory({ activeOnly: false, lotId: externalId });
      if (!lot)
        throw new MarketplaceError("not_found", {
          marketplace: "brickowl",
          operation: "listInventory",
          message: `BrickOwl lot ${externalId} does not exist`,
        });
      return lot.qty;
    },
    async pushDelta(ctx, push) {
      await client(ctx).updateInventory(push.externalId, { relativeQuantity: push.delta });
      return { quantity: null };
    },
  },
  acceptance: { kind: "none" },
};
