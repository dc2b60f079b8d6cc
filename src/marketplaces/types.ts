import type { z } from "zod";
import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import type { MarketplaceId } from "../core/marketplace-ids.ts";
import type { OrderInput, OrderSummary } from "../core/order.ts";
import type { OrderStatus, PaymentStatus } from "../core/status.ts";

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
      /** IANA time zone whose midnight starts the day (eBay: America/Los_Angeles); UTC when absent. */
      timeZone?: string;
    }
  | {
      /** The last `windowMs` milliseconds, sliding (Etsy: 10,000 requests per rolling 24 hours). */
      type: "rolling_window";
      windowMs: number;
      limit: number;
      operations?: readonly string[];
    }
  | {
      /** Refills continuously at `ratePerSecond` up to `burst` (Amazon SP-API usage plans). */
      type: "token_bucket";
      ratePerSecond: number;
      burst: number;
      /** Each listed operation has a bucket of its own; all operations share one when absent. */
      operations?: readonly string[];
    };

export interface RateLimitPolicy {
  limits: readonly RateLimit[];
  /** Share of the largest window kept for order intake, so bulk work never starves it (0–1). */
  orderIntakeReserve: number;
  /** Default per-connection daily budget a seller may lower (null when the marketplace has none). */
  defaultDailyBudget: number | null;
}

/**
 * What a marketplace can do, as data (the UI, the CLI and the API read it). Each entry names the
 * variant of the matching port on the adapter; the contract suite checks that they agree.
 */
export interface Capabilities {
  /** How the order list is walked. */
  orderCursor: "change_marker" | "updated_since" | "page_token";
  /** What a page of the order list carries: summaries (details fetched per order) or whole orders. */
  orderPages: "summaries" | "orders";
  /** The marketplace archives orders (BrickLink "filed") and can include them on request. */
  archivedOrders: boolean;
  /** Push notifications: none, an empty ping that says "look" (BrickLink), or a payload naming orders. */
  webhooks: "none" | "ping" | "payload";
  /** How stock is written back, if at all. */
  stockPush: "none" | "delta" | "absolute";
  /** The store's inventory can become the lots ("truth"), or is linked to lots that exist ("linked"). */
  stockSource: "none" | "truth" | "linked";
  /** Marking shipped with tracking: whole orders, or lines with quantities. */
  shipmentPush: "none" | "order" | "line";
  /** Setting a marketplace status directly. */
  statusPush: boolean;
  /** The seller accepts or declines each line / unit before shipping (Letzshop). */
  acceptance: "none" | "line" | "unit";
  digitalDelivery: boolean;
}

/** How a connection proves who it is. */
export type AuthSpec =
  | { kind: "static" }
  | {
      kind: "oauth2";
      /**
       * How access tokens are obtained: with the seller's refresh token (Amazon LWA, eBay, Etsy), or
       * with the app's own id and secret alone (CodesWholesale).
       */
      grant: "refresh_token" | "client_credentials";
      /** Token endpoint when the connection sets none (`tokenUrl` config key). */
      defaultTokenUrl: string;
      /** How the client id and secret reach the token endpoint (no secret: the id goes in the body). */
      clientAuth: "basic" | "body";
      /** Config keys (secret or not) holding the client id, client secret and refresh token. */
      clientIdKey: string;
      clientSecretKey: string | null;
      /** Null for the client-credentials grant. */
      refreshTokenKey: string | null;
      /** Each refresh returns a new refresh token and the old one stops working (Etsy). */
      rotatesRefreshToken: boolean;
      /** `scope` sent with every token request, where the marketplace wants one (CodesWholesale). */
      tokenScopes?: readonly string[];
      /** token_type values the token endpoint answers besides "bearer" (eBay: "User Access Token"). */
      tokenTypes?: readonly string[];
      /** "Connect with …": the authorization-code flow, where the marketplace offers one. */
      consent: {
        /** Authorization endpoint when the connection sets none (`authorizeUrl` config key). */
        defaultAuthorizeUrl: string;
        scopes: readonly string[];
        /** PKCE with S256 (Etsy requires it). */
        pkce: boolean;
        /** Extra query parameters of the authorization request. */
        extraParams?: Readonly<Record<string, string>>;
        /** A config key whose value the marketplace wants as redirect_uri instead of our URL (eBay RuName). */
        redirectUriKey?: string;
      } | null;
    };

export interface MarketplaceManifest {
  id: MarketplaceId;
  displayName: string;
  /** Prefix of the order number shown to people ("BL-"), empty when the marketplace's own number is shown. */
  orderNumberPrefix: string;
  defaultBaseUrl: string;
  config: readonly ConfigField[];
  capabilities: Capabilities;
  auth: AuthSpec;
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
  /**
   * The picture of an ordered item, where the marketplace serves one (pick mode shows it): the
   * origins its images come from (the web UI's content policy allows them) and the rule for a line.
   */
  itemImage?: { origins: readonly string[]; url: (line: ItemImageLine) => string | null };
  /**
   * A listener of its own for push notifications (BrickOwl calls a fixed port): the path it calls,
   * the port it uses, and the query parameters naming the order and the store.
   */
  noticeListener?: { path: string; defaultPort: number; orderParam: string; storeParam: string };
  /** Hidden from people (the fake adapter used by tests). */
  internal?: boolean;
}

/** What an item picture's address is made from: an order line as stored. */
export interface ItemImageLine {
  itemType: string;
  itemNo: string | null;
  colorId: string | null;
  extra: Record<string, unknown>;
}

/** The only way adapters reach the network: injected, so tests and simulators can stand in. */
export type HttpTransport = (url: string, init?: RequestInit) => Promise<Response>;

/** What a marketplace said about its limits in an answer (headers, or a 429's body). */
export interface BudgetFeedback {
  /** Calls left in the window the marketplace counts (x-remaining-today, x-ratelimit-remaining). */
  remaining?: number;
  /** The window's size as the marketplace states it. */
  limit?: number;
  /** When that window resets. */
  resetsAt?: Date;
  /** The rate the marketplace granted this operation (x-amzn-RateLimit-Limit), calls per second. */
  ratePerSecond?: number;
  /** Wait at least this long before the next call of the operation (Retry-After). */
  retryAfterMs?: number;
}

export interface ApiBudget {
  /**
   * Count `calls` against the connection's limits before they are made. Throws a `rate_limited`
   * MarketplaceError with retryAfterMs when the budget (less the intake reserve for bulk work) is spent.
   */
  spend(operation: string, calls?: number): Promise<void>;
  /** Tighten the limits of `operation` from what the marketplace said; never loosens beyond the manifest. */
  observe(operation: string, feedback: BudgetFeedback): Promise<void>;
}

/** Access tokens of OAuth 2 connections; clients never hold or refresh tokens themselves. */
export interface TokenProvider {
  /** A valid access token, refreshed (once across all processes) shortly before it expires. */
  getAccessToken(): Promise<string>;
  /** The marketplace refused `token` as expired: the next getAccessToken() refreshes first. */
  invalidate(token: string): Promise<void>;
}

export interface AdapterContext {
  connectionId: number;
  baseUrl: string;
  config: Readonly<Record<string, string>>;
  secrets: Readonly<Record<string, string>>;
  http: HttpTransport;
  budget: ApiBudget;
  tokens: TokenProvider;
  clock: Clock;
  logger: Logger;
  signal?: AbortSignal;
  /** Per-call timeout (default 30 s). */
  timeoutMs?: number;
}

// ------------------------------------------------------------------ orders

export interface OrderPageRequest<C> {
  /** Where the previous page (or run) stopped; null on a first sync. */
  checkpoint: C | null;
  mode: "incremental" | "full";
  includeArchived: boolean;
}

/**
 * What the order list itself says of an order: enough for a row in the orders table (a "summary row")
 * before its details are fetched, so a first import lists the whole store after one call.
 */
export interface ListedOrder {
  /** Shown to people, as on the whole order ("BL-12345678"). */
  number: string;
  rawStatus: string;
  status: OrderStatus;
  rawPaymentStatus: string | null;
  paymentStatus: PaymentStatus;
  buyerName: string | null;
  buyerUsername: string | null;
  orderedAt: Date;
  statusChangedAt: Date | null;
  /** Ten-thousandths of `currency`; the parts the list does not carry are 0. */
  currency: string;
  /** Null where the list carries only the total. */
  subtotal: number | null;
  grandTotal: number;
  lotCount: number | null;
  itemCount: number | null;
  archived: boolean;
  url: string | null;
  /** False where the marketplace no longer gives the order's details (no lines will ever come). */
  detailsAvailable: boolean;
}

/** A listed order with, where the list carries them, the fields of its summary row. */
export type ListedSummary = OrderSummary & { listed?: ListedOrder };

interface OrderPageBase<C> {
  /** Every order the page lists, with its change marker (the engine compares them with what is stored). */
  summaries: ListedSummary[];
  /** Stored after this page's orders are stored, in the same transaction. */
  checkpoint: C;
  done: boolean;
  /** The marketplace told us the total, for progress bars. */
  total?: number;
}

/** `shape` is the manifest's `orderPages`: whole orders need no fetch per order. */
export type OrderPage<C> =
  | (OrderPageBase<C> & { shape: "summaries" })
  | (OrderPageBase<C> & { shape: "orders"; orders: OrderInput[] });

export interface OrdersPort<C> {
  /** Validates a stored checkpoint; a checkpoint that fails it is treated as absent. */
  checkpointSchema: z.ZodType<C>;
  page(ctx: AdapterContext, req: OrderPageRequest<C>): Promise<OrderPage<C>>;
  fetchOrder(ctx: AdapterContext, externalId: string): Promise<OrderInput>;
  /** The unified status of a raw one (to apply a confirmed status push locally). */
  mapStatus(raw: string): OrderStatus;
  /**
   * What the order list and `fetchOrder` cost in calls (for estimates: a full sync's cost, when a
   * backlog of details will be done); one call each when absent.
   */
  cost?: { listCalls(req: { includeArchived: boolean; orders: number }): number; perOrder: number };
}

// ------------------------------------------------------------------ notices

export interface WebhookNotice {
  /** Orders the notice names; empty means "something changed, look". */
  externalOrderIds: string[];
  /** Whole orders the notice carried, stored as they are (no fetch). */
  orders?: OrderInput[];
}

/** A push notification as it reached us. */
export interface InboundNotice {
  query: Readonly<Record<string, string | undefined>>;
  headers: Readonly<Record<string, string | undefined>>;
  /** The body exactly as received (signatures are computed over it). */
  body: string;
}

export type NoticesPort =
  | { style: "none" }
  /** The marketplace pings; what changed is then drained from it (BrickLink GET /notifications). */
  | { style: "ping"; drain(ctx: AdapterContext): Promise<WebhookNotice> }
  /** The notification itself names the orders (or carries them). */
  | {
      style: "payload";
      /** True when the notice is really from the marketplace for this connection. */
      verify(
        notice: InboundNotice,
        connection: {
          config: Readonly<Record<string, string>>;
          secrets: Readonly<Record<string, string>>;
          storeId: string | null;
        },
      ): boolean;
      /** What the notice says; throws a contract_changed MarketplaceError for a shape we do not know. */
      parse(notice: InboundNotice): WebhookNotice;
    };

// ------------------------------------------------------------------ shipments and statuses

export interface ShipmentLine {
  externalLineId: string;
  quantity: number;
}

export interface ShipmentPush {
  externalOrderId: string;
  carrier: string | null;
  trackingNumber: string | null;
  trackingUrl: string | null;
  shippedAt: Date;
  /** The lines in this parcel; null for the whole order (always null where shipments are by order). */
  lines: ShipmentLine[] | null;
  idempotencyKey: string;
}

export interface ShipmentReceipt {
  /** The marketplace's id of the shipment it created (eBay fulfillmentId), when it has one. */
  externalShipmentId: string | null;
}

/** A message to the buyer a marketplace offers when an order ships (BrickLink's Drive Thru). */
export interface ShipmentExtra {
  id: string;
  label: string;
  /** Connection setting ("true"/"false") that sends it by default. */
  settingKey: string;
  /** Never sent twice: after a lost answer it is skipped, not repeated. */
  send(ctx: AdapterContext, externalOrderId: string): Promise<void>;
}

export type ShipmentsPort =
  | { granularity: "none" }
  | {
      granularity: "order" | "line";
      push(ctx: AdapterContext, push: ShipmentPush): Promise<ShipmentReceipt>;
      /**
       * After a lost answer: the shipment as the marketplace holds it, or null when it did not land
       * (only then is it sent again).
       */
      readBack(ctx: AdapterContext, push: ShipmentPush): Promise<ShipmentReceipt | null>;
      extras: readonly ShipmentExtra[];
    };

export interface StatusPush {
  externalOrderId: string;
  rawStatus: string;
  idempotencyKey: string;
}

export type StatusPort =
  | { kind: "none" }
  | {
      kind: "settable";
      push(ctx: AdapterContext, push: StatusPush): Promise<void>;
      /** The order's raw status now (to settle a lost answer). */
      readBack(ctx: AdapterContext, externalOrderId: string): Promise<string>;
    };

// ------------------------------------------------------------------ stock

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
  /** The lot of the truth marketplace this lot is linked to (BrickOwl's external lot id). */
  linkedExternalId: string | null;
}

export interface AbsoluteStockItem {
  externalId: string;
  quantity: number;
}

export type AbsoluteStockResult =
  | { externalId: string; ok: true; quantity: number }
  | { externalId: string; ok: false; error: import("../core/errors.ts").MarketplaceError };

export type StockPort =
  | { mode: "none" }
  | {
      /** A signed change; not idempotent, so a lost answer is settled by reading the quantity back. */
      mode: "delta";
      /** The whole store inventory (stock rooms included). */
      fetchInventory(ctx: AdapterContext): Promise<MarketplaceLot[]>;
      fetchQuantity(ctx: AdapterContext, externalId: string): Promise<number>;
      pushDelta(
        ctx: AdapterContext,
        push: { externalId: string; delta: number; description: string | null },
      ): Promise<{ quantity: number | null }>;
    }
  | {
      /** The quantity to show, in batches; the answer settles each item on its own (207-style). */
      mode: "absolute";
      fetchInventory(ctx: AdapterContext): Promise<MarketplaceLot[]>;
      maxBatch: number;
      pushBatch(ctx: AdapterContext, items: AbsoluteStockItem[]): Promise<AbsoluteStockResult[]>;
    };

// ------------------------------------------------------------------ acceptance

export type AcceptancePort =
  | { kind: "none" }
  | {
      kind: "line" | "unit";
      /** Accept or decline lines (or units) of an order; the same decision twice lands once. */
      decide(
        ctx: AdapterContext,
        decision: {
          externalOrderId: string;
          accept: string[];
          decline: { id: string; reason: string }[];
          idempotencyKey: string;
        },
      ): Promise<void>;
    };

// ------------------------------------------------------------------ the adapter

export interface ConnectionInfo {
  storeName: string | null;
  currency: string | null;
  /** The marketplace's id for the store, as its push notifications name it (BrickOwl store_id). */
  storeId?: string | null;
  detail?: Record<string, unknown>;
}

/**
 * What every marketplace implements: one port per capability, each a tagged variant that names
 * what the marketplace does. The engine, the outbox, inventory, the CLI and the UI read the tags
 * (or `manifest.capabilities`, which says the same as data), never whether a method exists.
 */
export interface MarketplaceAdapter<C = unknown> {
  manifest: MarketplaceManifest;
  testConnection(ctx: AdapterContext): Promise<ConnectionInfo>;
  orders: OrdersPort<C>;
  notices: NoticesPort;
  shipments: ShipmentsPort;
  status: StatusPort;
  stock: StockPort;
  acceptance: AcceptancePort;
}
