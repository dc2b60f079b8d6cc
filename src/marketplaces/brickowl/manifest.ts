import type { MarketplaceManifest } from "../types.ts";

export const brickowlManifest: MarketplaceManifest = {
  id: "brickowl",
  displayName: "BrickOwl",
  orderNumberPrefix: "BO-",
  defaultBaseUrl: "https://api.brickowl.com/v1",
  config: [
    {
      key: "apiKey",
      label: "API key",
      secret: true,
      required: true,
      flag: "--api-key",
      help: "created under Profile → API Keys on BrickOwl; allow it to view and edit orders and inventory",
    },
  ],
  capabilities: {
    orderCursor: "change_marker",
    orderPages: "summaries",
    archivedOrders: false,
    // order/notify calls http://<ip>:42500/brick_owl_order_notify?order_id=…: it names the order.
    webhooks: "payload",
    stockPush: "delta",
    // Its lots are linked to the truth's lots (BrickOwl keeps the BrickLink lot id).
    stockSource: "linked",
    shipmentPush: "order",
    statusPush: true,
    acceptance: "none",
    digitalDelivery: false,
  },
  auth: { kind: "static" },
  rateLimit: {
    limits: [
      { type: "fixed_window", window: "minute", limit: 600 },
      { type: "fixed_window", window: "minute", limit: 200, operations: ["batch"] },
    ],
    orderIntakeReserve: 0.2,
    defaultDailyBudget: null,
  },
  // order/set_status takes ids 1–7: Pending (0) and Cancelled (8) cannot be set.
  settableStatuses: [
    "Payment Submitted",
    "Payment Received",
    "Processing",
    "Processed",
    "Shipped",
    "Received",
    "On Hold",
  ],
  shippedStatus: "Shipped",
  statusAliases: {
    "1": "Payment Submitted",
    "2": "Payment Received",
    "3": "Processing",
    "4": "Processed",
    "5": "Shipped",
    "6": "Received",
    "7": "On Hold",
  },
  orderUrl: (id) => `https://www.brickowl.com/mystore/orders/history/${id}`,
  // BrickOwl sends each order item's picture (`image_small`, kept as the line's `extra.image`).
  itemImage: {
    origins: ["https://img.brickowl.com"],
    url: (line) => {
      const image = line.extra.image;
      return typeof image === "string" && image.startsWith("https://img.brickowl.com/") ? image : null;
    },
  },
  // order/notify calls http://<registered ip>:42500/brick_owl_order_notify?order_id=…&store_id=…
  noticeListener: {
    path: "/brick_owl_order_notify",
    defaultPort: 42500,
    orderParam: "order_id",
    storeParam: "store_id",
  },
};
