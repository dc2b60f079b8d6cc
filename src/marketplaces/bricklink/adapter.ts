import { z } from "zod";
import { unreadableSummaries } from "../entries.ts";
import type { AdapterContext, ListedOrder, MarketplaceAdapter } from "../types.ts";
import { BrickLinkClient } from "./client.ts";
import { bricklinkManifest } from "./manifest.ts";
import { mapBrickLinkStatus, mapInventoryLot, mapListedOrder, mapOrder, mapSummary } from "./mapping.ts";
import type { BrickLinkOrderSummary } from "./types.ts";
import { noticeFromNotifications } from "./webhooks.ts";

/** BrickLink has no paging: one list call is the whole store; the cursor remembers the newest change. */
const checkpointSchema = z.object({ newestChange: z.string().nullable() });
export type BrickLinkCheckpoint = z.infer<typeof checkpointSchema>;

function client(ctx: AdapterContext): BrickLinkClient {
  return new BrickLinkClient(ctx, {
    consumerKey: ctx.secrets.consumerKey ?? "",
    consumerSecret: ctx.secrets.consumerSecret ?? "",
    tokenValue: ctx.secrets.tokenValue ?? "",
    tokenSecret: ctx.secrets.tokenSecret ?? "",
  });
}

/** The list entry's summary row; an entry that does not map is fetched whole instead. */
function listedOrNot(o: BrickLinkOrderSummary): { listed?: ListedOrder } {
  try {
    return { listed: mapListedOrder(o) };
  } catch {
    return {};
  }
}

export const bricklinkAdapter: MarketplaceAdapter<BrickLinkCheckpoint> = {
  manifest: bricklinkManifest,
  async testConnection(ctx) {
    // The order list is the call a sync makes anyway, and it proves signature and IP binding.
    const orders = await client(ctx).getOrders({ direction: "in", status: "PENDING" });
    return { storeName: orders[0]?.store_name ?? null, currency: orders[0]?.cost.currency_code ?? null };
  },
  orders: {
    checkpointSchema,
    async page(ctx, req) {
      const c = client(ctx);
      const open = await c.getOrderEntries({ direction: "in" });
      const filed = req.includeArchived
        ? await c.getOrderEntries({ direction: "in", filed: true })
        : { ok: [], unreadable: [] };
      const byId = new Map([...open.ok, ...filed.ok].map((o) => [o.order_id, o]));
      const read = [...byId.values()]
        .sort((a, b) => a.date_status_changed.localeCompare(b.date_status_changed))
        .map((o) => ({ ...mapSummary(o), ...listedOrNot(o) }));
      const newest = read.at(-1)?.changeMarker ?? null;
      const summaries = [
        ...read,
        ...unreadableSummaries(ctx, "BrickLink", [...open.unreadable, ...filed.unreadable]),
      ];
      const previous = req.checkpoint?.newestChange ?? null;
      return {
        shape: "summaries",
        summaries,
        // Never backwards, even when the stored cursor lies in the future.
        checkpoint: { newestChange: previous && (!newest || previous > newest) ? previous : newest },
        done: true,
        total: summaries.length,
      };
    },
    async fetchOrder(ctx, externalId) {
      const c = client(ctx);
      const order = await c.getOrder(externalId);
      const items = await c.getOrderItems(externalId);
      return mapOrder(order, items);
    },
    mapStatus: (raw) => mapBrickLinkStatus(raw),
    // One list call (two with filed orders); an order is its detail and its items.
    cost: { listCalls: (req) => (req.includeArchived ? 2 : 1), perOrder: 2 },
  },
  notices: {
    style: "ping",
    async drain(ctx) {
      return noticeFromNotifications(await client(ctx).getNotifications());
    },
  },
  shipments: {
    granularity: "order",
    async push(ctx, push) {
      await client(ctx).updateOrder(push.externalOrderId, {
        shipping: {
          ...(push.trackingNumber ? { tracking_no: push.trackingNumber } : {}),
          ...(push.trackingUrl ? { tracking_link: push.trackingUrl } : {}),
          date_shipped: push.shippedAt.toISOString(),
        },
      });
      return { externalShipmentId: null };
    },
    async readBack(ctx, push) {
      // Setting the same tracking again changes nothing, but reading it tells whether it landed.
      const order = await client(ctx).getOrder(push.externalOrderId);
      const shipping = (
        order as { shipping?: { tracking_no?: string | null; tracking_link?: string | null } }
      ).shipping;
      const landed =
        (!push.trackingNumber || shipping?.tracking_no === push.trackingNumber) &&
        (!push.trackingUrl || shipping?.tracking_link === push.trackingUrl);
      return landed ? { externalShipmentId: null } : null;
    },
    extras: [
      {
        id: "drive_thru",
        label: "Drive Thru e-mail to the buyer",
        settingKey: "driveThru",
        async send(ctx, externalOrderId) {
          await client(ctx).driveThru(externalOrderId, false);
        },
      },
    ],
  },
  status: {
    kind: "settable",
    async push(ctx, push) {
      await client(ctx).updateOrderStatus(push.externalOrderId, push.rawStatus);
    },
    async readBack(ctx, externalOrderId) {
      return (await client(ctx).getOrder(externalOrderId)).status;
    },
  },
  stock: {
    mode: "delta",
    async fetchInventory(ctx) {
      // Available lots and all three stock rooms (not the unavailable or reserved ones).
      return (await client(ctx).getInventories({ status: "Y,S,B,C" })).map(mapInventoryLot);
    },
    async fetchQuantity(ctx, externalId) {
      return (await client(ctx).getInventory(Number(externalId))).quantity;
    },
    async pushDelta(ctx, push) {
      // A delta, never an absolute value; `description` must always be sent (or BrickLink clears it).
      const lot = await client(ctx).updateInventory(Number(push.externalId), {
        quantityDelta: push.delta,
        description: push.description ?? "",
      });
      return { quantity: lot.quantity };
    },
  },
  acceptance: { kind: "none" },
};
