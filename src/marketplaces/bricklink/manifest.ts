import type { MarketplaceManifest } from "../types.ts";

/** BrickLink's one-letter item type codes, as its image addresses use them. */
const BRICKLINK_IMAGE_TYPES: Record<string, string> = {
  part: "P",
  set: "S",
  minifig: "M",
  book: "B",
  gear: "G",
  catalog: "C",
  instruction: "I",
  original_box: "O",
};

export const bricklinkManifest: MarketplaceManifest = {
  id: "bricklink",
  displayName: "BrickLink",
  orderNumberPrefix: "BL-",
  defaultBaseUrl: "https://api.bricklink.com/api/store/v1",
  config: [
    { key: "consumerKey", label: "Consumer key", secret: true, required: true, flag: "--consumer-key" },
    {
      key: "consumerSecret",
      label: "Consumer secret",
      secret: true,
      required: true,
      flag: "--consumer-secret",
    },
    {
      key: "tokenValue",
      label: "Token value",
      secret: true,
      required: true,
      flag: "--token-value",
      help: "issued per registered IP address on BrickLink's API registration page",
    },
    { key: "tokenSecret", label: "Token secret", secret: true, required: true, flag: "--token-secret" },
    {
      key: "driveThru",
      label: "Send Drive Thru when marking shipped",
      secret: false,
      required: false,
      kind: "boolean",
      default: "false",
      flag: "--drive-thru",
      help: "BrickLink's shipping e-mail to the buyer, sent with every shipment unless the action says otherwise",
    },
  ],
  capabilities: {
    orderCursor: "change_marker",
    orderPages: "summaries",
    archivedOrders: true,
    webhooks: "ping",
    stockPush: "delta",
    // The store inventory can become the lots: BrickLink is the brick seller's truth.
    stockSource: "truth",
    shipmentPush: "order",
    statusPush: true,
    acceptance: "none",
    digitalDelivery: false,
  },
  auth: { kind: "static" },
  rateLimit: {
    limits: [{ type: "fixed_window", window: "day", limit: 5_000 }],
    orderIntakeReserve: 0.2,
    defaultDailyBudget: 5_000,
  },
  settableStatuses: ["PROCESSING", "READY", "PAID", "PACKED", "SHIPPED", "COMPLETED"],
  shippedStatus: "SHIPPED",
  orderUrl: (id) => `https://www.bricklink.com/orderDetail.asp?ID=${id}`,
  // BrickLink's catalogue images: /ItemImage/<type letter>N/<colour>/<item no>.png (colour 0 where the
  // type has none); the order items carry no image field, the address is built from type, number, colour.
  itemImage: {
    origins: ["https://img.bricklink.com"],
    url: (line) => {
      const letter = BRICKLINK_IMAGE_TYPES[line.itemType];
      if (!letter || !line.itemNo) return null;
      const colour = letter === "P" || letter === "G" ? (line.colorId ?? "0") : "0";
      return `https://img.bricklink.com/ItemImage/${letter}N/${encodeURIComponent(colour)}/${encodeURIComponent(line.itemNo)}.png`;
    },
  },
};
