import type { z } from "zod";
import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import type { MarketplaceId } from "../core/marketplace-ids.ts";
import type { OrderInput, OrderSummary } from "../core/order.ts";

/** One setting of a connection. Secrets are encrypted at rest, write-only through the API, never logged. */
export interface ConfigField {
  key: string;
  label: string;
  /** Flag name on `orderhub connect` (defaults to the key in kebab case). */
  flag?: string;
  secret: boolean;
  required: boolean;
  default?: string;
  kind?: "string" | "url" | "integer" | "boolean";
  help?: string;
}

/** Rate limits are data; the budget keeper and the retry classifier read them. */
export type RateLimit =
  | {
      type: "fixed_window";
      window: "day" | "hour" | "minute" | "second";
      limit: number;
      /** Operations this limit covers; all when absent. */
      operations?: readonly string[];
    }
  | { type: "token_bucket"; ratePerSecond: number; burst: number; operations?: readonly string[] };

export interface RateLimitPolicy {
  limits: readonly RateLimit[];
  /** Share of the largest window kept for order intake, so bulk work never starves it (0–1). */
  orderIntakeReserve: number;
  /** Default per-connection daily budget a seller may lower (null when the marketplace has none). */
  defaultDailyBudget: number | null;
}

export interface Capabilities {
  /** How the order list is walked. */
  orderCursor: "change_marker" | "updated_since" | "page_token";
  /** The marketplace archives orders (BrickLink "filed") and can include them on request. */
  archivedOrders: boolean;
  /** Push notifications: none, an empty ping that says "look" (BrickLink), or a payload naming orders. */
  webhooks: "none" | "ping" | "payload";
  /** How stock is written back, if at all. */
  stockPush: "none" | "delta" | "absolute";
  /** Marking shipped with tracking. */
  shipmentPush: "none" | "order" | "line";
  /** Setting a marketplace status directly. */
  statusPush: boolean;
  digitalDelivery: boolean;
}

export interface MarketplaceManifest {
  id: MarketplaceId;
  displayName: string;
  /** Prefix of the order number shown to people ("BL-"), empty when the marketplace's own number is shown. */
  orderNumberPrefix: string;
  defaultBaseUrl: string;
  config: readonly ConfigField[];
  capabilities: Capabilities;
  rateLimit: RateLimitPolicy;
  /**
   * Raw statuses a seller may set through the API (canonical spelling), for "set status" actions;
   * empty when the marketplace takes none. `shippedStatus` is the one "mark shipped" sets.
   */
  settableStatuses?: readonly string[];
  shippedStatus?: string | null;
  /** Other spellings of settable statuses (BrickOwl's numeric ids) → the canonical one. */
  statusAliases?: Readonly<Record<string, string>>;
  /** Link to an order on the marketplace, for "View on …". */
  orderUrl?: (externalId: string) => string;
  /** Hidden from people (the fake adapter used by tests). */
  internal?: boolean;
}

/** The only way adapters reach the network: injected, so tests and simulators can stand in. */
export type HttpTransport = (url: string, init?: RequestInit) => Promise<Response>;

export interface ApiBudget {
  /**
   * Count `calls` against the connection's limits before they are made. Throws a `rate_limited`
   * MarketplaceError with retryAfterMs when the budget (less the intake reserve for bulk work) is spent.
   */
  spend(operation: string, calls?: number): Promise<void>;
}

export interface AdapterContext {
  connectionId: number;
  baseUrl: string;
  config: Readonly<Record<string, string>>;
  secrets: Readonly<Record<string, string>>;
  http: HttpTransport;
  budget: ApiBudget;
  clock: Clock;
  logger: Logger;
  signal?: AbortSignal;
  /** Per-call timeout (default 30 s). */
  timeoutMs?: number;
}

export interface OrderPageRequest<C> {
  /** Where the previous page (or run) stopped; null on a first sync. */
  checkpoint: C | null;
  mode: "incremental" | "full";
  includeArchived: boolean;
}

export interface OrderPage<C> {
  summaries: OrderSummary[];
  /** Stored after this page's orders are stored, in the same transaction. */
  checkpoint: C;
  done: boolean;
  /** The marketplace told us the total, for progress bars. */
  total?: number;
}

export interface ConnectionInfo {
  storeName: string | null;
  currency: string | null;
  /** The marketplace's id for the store, as its push notifications name it (BrickOwl store_id). */
  storeId?: string | null;
  detail?: Record<string, unknown>;
}

export interface ShipmentPush {
  externalOrderId: string;
  carrier: string | null;
  trackingNumber: string | null;
  trackingUrl: string | null;
  shippedAt: Date;
  lineIds: string[] | null;
  idempotencyKey: string;
}

export interface StatusPush {
  externalOrderId: string;
  rawStatus: string;
  idempotencyKey: string;
}

export interface WebhookNotice {
  /** Orders the notice names; empty means "something changed, look". */
  externalOrderIds: string[];
}

/** A store lot as a marketplace lists it, in unified terms. */
export interface MarketplaceLot {
  externalId: string;
  itemNo: string | null;
  itemType: string;
  colorId: string | null;
  colorName: string | null;
  condition: "new" | "used" | "unknown";
  completeness: string | null;
  name: string | null;
  quantity: number;
  /** Ten-thousandths of the store currency. */
  price: number | null;
  location: string | null;
  description: string | null;
  /** The BrickLink lot this lot is linked to (BrickOwl's external lot id). */
  linkedExternalId: string | null;
}

/**
 * What every marketplace implements. The engine reads `manifest.capabilities`; the ports that a
 * capability needs are present exactly when it is declared (the contract suite checks that).
 */
export interface MarketplaceAdapter<C = unknown> {
  manifest: MarketplaceManifest;
  /** Validates a stored checkpoint; a checkpoint that fails it is treated as absent. */
  checkpointSchema: z.ZodType<C>;
  testConnection(ctx: AdapterContext): Promise<ConnectionInfo>;
  fetchOrderPage(ctx: AdapterContext, req: OrderPageRequest<C>): Promise<OrderPage<C>>;
  fetchOrder(ctx: AdapterContext, externalId: string): Promise<OrderInput>;
  /** After a webhook ping: the orders that changed (BrickLink drains GET /notifications). */
  fetchNotices: ((ctx: AdapterContext) => Promise<WebhookNotice>) | null;
  pushShipment: ((ctx: AdapterContext, push: ShipmentPush) => Promise<void>) | null;
  pushStatus: ((ctx: AdapterContext, push: StatusPush) => Promise<void>) | null;
  /** The whole store inventory (stock rooms included); null where stock is not kept there. */
  fetchInventory?: ((ctx: AdapterContext) => Promise<MarketplaceLot[]>) | null;
  /** One lot's quantity now (to read back after an ambiguous stock push). */
  fetchLotQuantity?: ((ctx: AdapterContext, externalId: string) => Promise<number>) | null;
  /** A signed quantity change; answers the new quantity when the marketplace says it. */
  pushStockDelta?:
    | ((
        ctx: AdapterContext,
        push: { externalId: string; delta: number; description: string | null },
      ) => Promise<{ quantity: number | null }>)
    | null;
  /** BrickLink's "Drive Thru" e-mail to the buyer; null where the marketplace has none. */
  pushDriveThru?: ((ctx: AdapterContext, externalOrderId: string) => Promise<void>) | null;
  /** The unified status of a raw one (to apply a confirmed status push locally). */
  mapStatus?: (raw: string) => import("../core/status.ts").OrderStatus;
}
