import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  check,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import type { Charge } from "../core/order.ts";
import type { OrderReview } from "../core/status.ts";

const id = () => bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity();
const ref = (name: string) => bigint(name, { mode: "number" });
const money = (name: string) => bigint(name, { mode: "number" });
const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });
const created = () => ts("created_at").notNull().defaultNow();

export const roleEnum = pgEnum("user_role", ["owner", "staff", "picker"]);
export const orderStatusEnum = pgEnum("order_status", [
  "pending",
  "processing",
  "shipped",
  "delivered",
  "completed",
  "fulfilled",
  "on_hold",
  "problem",
  "cancelled",
  "refunded",
  "partially_refunded",
  "needs_review",
]);
export const ledgerKindEnum = pgEnum("ledger_kind", [
  "reserve",
  "release",
  "deduct",
  "adjust",
  "reconcile",
  "import",
]);
export const syncStateEnum = pgEnum("sync_state", [
  "queued",
  "running",
  "completed",
  "completed_with_errors",
  "failed",
  "cancelled",
]);
export const outboxStatusEnum = pgEnum("outbox_status", ["pending", "sending", "sent", "failed", "dead"]);

export const accounts = pgTable("accounts", {
  id: id(),
  slug: text("slug").notNull().unique(),
  name: text("name").notNull(),
  timezone: text("timezone").notNull().default("UTC"),
  settings: jsonb("settings").notNull().default({}),
  createdAt: created(),
});

export const users = pgTable(
  "users",
  {
    id: id(),
    accountId: ref("account_id")
      .notNull()
      .references(() => accounts.id),
    email: text("email").notNull(),
    name: text("name"),
    passwordHash: text("password_hash").notNull(),
    role: roleEnum("role").notNull(),
    failedLogins: integer("failed_logins").notNull().default(0),
    lockedUntil: ts("locked_until"),
    lastLoginAt: ts("last_login_at"),
    disabledAt: ts("disabled_at"),
    createdAt: created(),
  },
  (t) => [
    // Unique per account only, so adding a user never tells whether another account has the address.
    uniqueIndex("users_account_email_key").on(t.accountId, sql`lower(${t.email})`),
    index("users_email_idx").on(sql`lower(${t.email})`),
    index("users_account_idx").on(t.accountId),
  ],
);

export const sessions = pgTable(
  "sessions",
  {
    /** sha256 of the cookie value; the value itself is never stored. */
    id: text("id").primaryKey(),
    userId: ref("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    accountId: ref("account_id")
      .notNull()
      .references(() => accounts.id),
    csrfToken: text("csrf_token").notNull(),
    createdAt: created(),
    lastSeenAt: ts("last_seen_at").notNull().defaultNow(),
    expiresAt: ts("expires_at").notNull(),
  },
  (t) => [index("sessions_user_idx").on(t.userId)],
);

export const apiTokens = pgTable(
  "api_tokens",
  {
    id: id(),
    accountId: ref("account_id")
      .notNull()
      .references(() => accounts.id),
    userId: ref("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** sha256 of the token; shown once at creation. */
    tokenHash: text("token_hash").notNull().unique(),
    prefix: text("prefix").notNull(),
    createdAt: created(),
    lastUsedAt: ts("last_used_at"),
    expiresAt: ts("expires_at"),
    revokedAt: ts("revoked_at"),
  },
  (t) => [index("api_tokens_account_idx").on(t.accountId)],
);

export const connections = pgTable(
  "connections",
  {
    id: id(),
    accountId: ref("account_id")
      .notNull()
      .references(() => accounts.id),
    marketplace: text("marketplace").notNull(),
    name: text("name").notNull(),
    baseUrl: text("base_url").notNull(),
    /** Settings that are not secret. */
    config: jsonb("config").$type<Record<string, string>>().notNull().default({}),
    /** AES-256-GCM envelope of the secret settings. */
    secretsEnc: text("secrets_enc"),
    /** {kind:"interval",minutes} or {kind:"cron",expression}. */
    schedule: jsonb("schedule")
      .$type<{ kind: "interval"; minutes: number } | { kind: "cron"; expression: string }>()
      .notNull()
      .default({ kind: "interval", minutes: 15 }),
    scheduleEnabled: boolean("schedule_enabled").notNull().default(true),
    nextSyncAt: ts("next_sync_at"),
    dailyBudget: integer("daily_budget"),
    /** Unguessable part of the push-notification URL. */
    webhookToken: text("webhook_token").notNull().unique(),
    storeName: text("store_name"),
    currency: text("currency"),
    lastSyncAt: ts("last_sync_at"),
    lastSyncState: text("last_sync_state"),
    lastError: text("last_error"),
    /** Orders first seen before this moment are history (they never move stock elsewhere). */
    baselineAt: ts("baseline_at"),
    demo: boolean("demo").notNull().default(false),
    disabledAt: ts("disabled_at"),
    createdAt: created(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("connections_account_name_key").on(t.accountId, t.name),
    index("connections_due_idx").on(t.nextSyncAt),
  ],
);

export const orders = pgTable(
  "orders",
  {
    id: id(),
    accountId: ref("account_id")
      .notNull()
      .references(() => accounts.id),
    connectionId: ref("connection_id")
      .notNull()
      .references(() => connections.id),
    marketplace: text("marketplace").notNull(),
    externalId: text("external_id").notNull(),
    number: text("number").notNull(),
    changeMarker: text("change_marker"),
    status: orderStatusEnum("status").notNull(),
    rawStatus: text("raw_status").notNull(),
    paymentStatus: text("payment_status").notNull().default("unknown"),
    rawPaymentStatus: text("raw_payment_status"),
    buyerName: text("buyer_name"),
    buyerUsername: text("buyer_username"),
    buyerEmail: text("buyer_email"),
    shippingAddress: jsonb("shipping_address"),
    countryCode: text("country_code"),
    orderedAt: ts("ordered_at").notNull(),
    marketplaceUpdatedAt: ts("marketplace_updated_at"),
    statusChangedAt: ts("status_changed_at"),
    currency: text("currency").notNull(),
    subtotal: money("subtotal").notNull(),
    shipping: money("shipping").notNull().default(0),
    tax: money("tax").notNull().default(0),
    fees: money("fees").notNull().default(0),
    credits: money("credits").notNull().default(0),
    grandTotal: money("grand_total").notNull(),
    /** Each component of the total as the marketplace itemises it (migration 0014); [] when it did not. */
    charges: jsonb("charges").$type<Charge[]>().notNull().default([]),
    shippingMethod: text("shipping_method"),
    trackingNumbers: jsonb("tracking_numbers").$type<string[]>().notNull().default([]),
    tags: text("tags").array().notNull().default(sql`'{}'::text[]`),
    internalNote: text("internal_note"),
    /** Held in Orderhub (not shipped until released), e.g. by an automation rule; with why. */
    onHold: boolean("on_hold").notNull().default(false),
    holdReason: text("hold_reason"),
    buyerRemarks: text("buyer_remarks"),
    archived: boolean("archived").notNull().default(false),
    /** A marketplace reported an older status than ours: we kept ours; `review` holds its claim. */
    needsReview: boolean("needs_review").notNull().default(false),
    review: jsonb("review").$type<OrderReview | null>(),
    url: text("url"),
    lotCount: integer("lot_count").notNull().default(0),
    itemCount: integer("item_count").notNull().default(0),
    extra: jsonb("extra").notNull().default({}),
    raw: jsonb("raw"),
    /**
     * 'pending': stored from the order list alone (a summary row: no lines, no address yet);
     * 'unavailable': the marketplace gives no details any more (a purged order); else 'complete'.
     */
    details: text("details").$type<"complete" | "pending" | "unavailable">().notNull().default("complete"),
    contentHash: text("content_hash").notNull(),
    /** Lower-cased buyer name, username and e-mail, for prefix search. */
    buyerSort: text("buyer_sort").notNull().default(""),
    createdAt: created(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("orders_account_marketplace_external_key").on(t.accountId, t.marketplace, t.externalId),
    index("orders_account_ordered_idx").on(t.accountId, t.orderedAt, t.id),
    index("orders_account_status_ordered_idx").on(t.accountId, t.status, t.orderedAt),
    index("orders_account_marketplace_ordered_idx").on(t.accountId, t.marketplace, t.orderedAt),
    index("orders_account_total_idx").on(t.accountId, t.grandTotal, t.id),
    // Byte order ("C") serves both prefix search and sorting, whatever the database's collation.
    index("orders_account_buyer_c_idx").on(t.accountId, sql`(${t.buyerSort} collate "C")`, t.id),
    index("orders_account_number_c_idx").on(t.accountId, sql`(lower(${t.number}) collate "C")`, t.id),
    index("orders_account_external_idx").on(t.accountId, t.externalId),
    index("orders_connection_idx").on(t.connectionId, t.status),
    index("orders_account_review_idx").on(t.accountId, t.orderedAt).where(sql`${t.needsReview}`),
    index("orders_details_backlog_idx").on(t.connectionId, t.orderedAt).where(sql`${t.details} = 'pending'`),
    check("orders_details_check", sql`${t.details} in ('complete', 'pending', 'unavailable')`),
  ],
);

/**
 * Orders per (account, marketplace, status), kept by statement-level triggers on orders (migration
 * 0004), so the table view's total for its common filters is a sum of a few rows, not a count of all.
 */
export const orderCounts = pgTable(
  "order_counts",
  {
    accountId: ref("account_id")
      .notNull()
      .references(() => accounts.id),
    marketplace: text("marketplace").notNull(),
    status: orderStatusEnum("status").notNull(),
    n: bigint("n", { mode: "number" }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.marketplace, t.status] })],
);

/**
 * The words an order is found by (drizzle/0016_order_search_views.sql): buyer name, username, e-mail,
 * order id, item numbers and part names, folded in code (`foldText`). `term` is collated "C" in the
 * database so the primary key serves prefix search.
 */
export const orderSearchTerms = pgTable(
  "order_search_terms",
  {
    accountId: ref("account_id").notNull(),
    term: text("term").notNull(),
    orderId: ref("order_id")
      .notNull()
      .references(() => orders.id, { onDelete: "cascade" }),
  },
  (t) => [
    primaryKey({ columns: [t.accountId, t.term, t.orderId] }),
    index("order_search_terms_order_idx").on(t.orderId),
  ],
);

/** A seller's own saved filter set for the orders table: `query` is the table's query string. */
export const savedViews = pgTable(
  "saved_views",
  {
    id: id(),
    accountId: ref("account_id")
      .notNull()
      .references(() => accounts.id),
    name: text("name").notNull(),
    query: text("query").notNull().default(""),
    position: integer("position").notNull().default(0),
    createdBy: ref("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: created(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [uniqueIndex("saved_views_account_name_key").on(t.accountId, sql`lower(${t.name})`)],
);

export const inventoryLots = pgTable(
  "inventory_lots",
  {
    id: id(),
    accountId: ref("account_id")
      .notNull()
      .references(() => accounts.id),
    sku: text("sku"),
    itemType: text("item_type").notNull().default("part"),
    itemNo: text("item_no"),
    colorId: text("color_id"),
    colorName: text("color_name"),
    condition: text("condition").notNull().default("unknown"),
    completeness: text("completeness"),
    name: text("name"),
    location: text("location"),
    /** Cached sum of the ledger for this lot. */
    quantity: integer("quantity").notNull().default(0),
    reserved: integer("reserved").notNull().default(0),
    price: money("price"),
    cost: money("cost"),
    currency: text("currency"),
    remarks: text("remarks"),
    description: text("description"),
    /** Why the last reconcile could not explain this lot (nothing was pushed for it); null when in step. */
    flagReason: text("flag_reason"),
    flaggedAt: ts("flagged_at"),
    createdAt: created(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [
    index("inventory_lots_flagged_idx").on(t.accountId, t.flaggedAt).where(sql`${t.flaggedAt} is not null`),
    index("inventory_lots_item_idx").on(t.accountId, t.itemType, t.itemNo, t.colorId, t.condition),
    index("inventory_lots_sku_idx").on(t.accountId, t.sku),
    // How a file import finds the lot a line adds to (drizzle/0010_import_jobs.sql).
    index("inventory_lots_import_key_idx").on(
      t.accountId,
      sql`lower(${t.itemNo})`,
      sql`coalesce(${t.colorId}, '')`,
      t.condition,
      sql`coalesce(${t.location}, '')`,
    ),
  ],
);

export const orderLines = pgTable(
  "order_lines",
  {
    id: id(),
    accountId: ref("account_id")
      .notNull()
      .references(() => accounts.id),
    orderId: ref("order_id")
      .notNull()
      .references(() => orders.id, { onDelete: "cascade" }),
    externalLineId: text("external_line_id").notNull(),
    position: integer("position").notNull().default(0),
    itemNo: text("item_no"),
    sku: text("sku"),
    name: text("name").notNull(),
    itemType: text("item_type").notNull(),
    colorId: text("color_id"),
    colorName: text("color_name"),
    condition: text("condition").notNull(),
    completeness: text("completeness"),
    quantity: integer("quantity").notNull(),
    unitPrice: money("unit_price").notNull(),
    lineTotal: money("line_total").notNull(),
    marketplaceLotId: text("marketplace_lot_id"),
    location: text("location"),
    batch: integer("batch"),
    digital: boolean("digital").notNull().default(false),
    extra: jsonb("extra").notNull().default({}),
    lotId: ref("lot_id").references(() => inventoryLots.id),
    reservedQty: integer("reserved_qty").notNull().default(0),
    pickedQty: integer("picked_qty").notNull().default(0),
    shippedQty: integer("shipped_qty").notNull().default(0),
    deliveredKeyRef: text("delivered_key_ref"),
    /** Set when an edited order no longer has this line; the row stays for the ledger. */
    removedAt: ts("removed_at"),
  },
  (t) => [
    uniqueIndex("order_lines_order_external_key").on(t.orderId, t.externalLineId),
    index("order_lines_account_item_idx").on(t.accountId, sql`lower(${t.itemNo})`),
    index("order_lines_lot_idx").on(t.lotId),
  ],
);

export const orderEvents = pgTable(
  "order_events",
  {
    id: id(),
    accountId: ref("account_id")
      .notNull()
      .references(() => accounts.id),
    orderId: ref("order_id")
      .notNull()
      .references(() => orders.id, { onDelete: "cascade" }),
    kind: text("kind").notNull(),
    fromStatus: orderStatusEnum("from_status"),
    toStatus: orderStatusEnum("to_status"),
    rawStatus: text("raw_status"),
    /** `marketplace:bricklink`, `user:42`, `system`. */
    source: text("source").notNull(),
    /** When Orderhub learnt it (the timeline's order). */
    at: ts("at").notNull(),
    /** The marketplace's own time for it (placed, status changed), where it gives one. */
    marketplaceAt: ts("marketplace_at"),
    detail: jsonb("detail").notNull().default({}),
    createdAt: created(),
  },
  (t) => [index("order_events_order_idx").on(t.orderId, t.at)],
);

export const listings = pgTable(
  "listings",
  {
    id: id(),
    accountId: ref("account_id")
      .notNull()
      .references(() => accounts.id),
    lotId: ref("lot_id")
      .notNull()
      .references(() => inventoryLots.id, { onDelete: "cascade" }),
    connectionId: ref("connection_id")
      .notNull()
      .references(() => connections.id),
    marketplace: text("marketplace").notNull(),
    /** BrickLink inventory_id, BrickOwl lot_id, eBay SKU, Etsy listing id, Amazon seller SKU. */
    externalId: text("external_id").notNull(),
    externalRef: text("external_ref"),
    quantitySeen: integer("quantity_seen"),
    priceSeen: money("price_seen"),
    syncedAt: ts("synced_at"),
    /**
     * When the lot's quantity was taken from this listing (the truth's import), and the newest order
     * stored by then: a sale on this listing's connection stored by then, or placed before then, is
     * already in that quantity and never taken off again. Null on listings the lot was not read from.
     */
    stockBaselineAt: ts("stock_baseline_at"),
    stockBaselineOrderId: ref("stock_baseline_order_id"),
    createdAt: created(),
  },
  (t) => [
    uniqueIndex("listings_connection_external_key").on(t.connectionId, t.externalId),
    index("listings_lot_idx").on(t.lotId),
  ],
);

export const inventoryLedger = pgTable(
  "inventory_ledger",
  {
    id: id(),
    accountId: ref("account_id")
      .notNull()
      .references(() => accounts.id),
    lotId: ref("lot_id")
      .notNull()
      .references(() => inventoryLots.id, { onDelete: "cascade" }),
    kind: ledgerKindEnum("kind").notNull(),
    /** Change of on-hand quantity. */
    quantityDelta: integer("quantity_delta").notNull().default(0),
    /** Change of reserved quantity. */
    reservedDelta: integer("reserved_delta").notNull().default(0),
    reason: text("reason").notNull(),
    orderLineId: ref("order_line_id").references(() => orderLines.id),
    userId: ref("user_id").references(() => users.id, { onDelete: "set null" }),
    /** Makes a ledger write idempotent (e.g. `reserve:line:42:v3`). */
    dedupeKey: text("dedupe_key"),
    createdAt: created(),
  },
  (t) => [
    index("inventory_ledger_lot_idx").on(t.lotId, t.createdAt),
    uniqueIndex("inventory_ledger_dedupe_key").on(t.accountId, t.dedupeKey),
  ],
);

export const syncRuns = pgTable(
  "sync_runs",
  {
    id: id(),
    accountId: ref("account_id")
      .notNull()
      .references(() => accounts.id),
    connectionId: ref("connection_id")
      .notNull()
      .references(() => connections.id),
    trigger: text("trigger").notNull(),
    mode: text("mode").notNull(),
    includeArchived: boolean("include_archived").notNull().default(false),
    /** For webhook and single-order refresh runs: just these orders. */
    targetIds: jsonb("target_ids").$type<string[] | null>(),
    state: syncStateEnum("state").notNull().default("queued"),
    seen: integer("seen").notNull().default(0),
    total: integer("total"),
    created: integer("created").notNull().default(0),
    updated: integer("updated").notNull().default(0),
    skipped: integer("skipped").notNull().default(0),
    failed: integer("failed").notNull().default(0),
    failures: jsonb("failures")
      .$type<{ externalId: string; reason: string; kind: string }[]>()
      .notNull()
      .default([]),
    apiCalls: integer("api_calls").notNull().default(0),
    error: text("error"),
    cancelRequested: boolean("cancel_requested").notNull().default(false),
    /** A push ping arrived while this run was going: drain the notifications again before finishing. */
    noticesPending: boolean("notices_pending").notNull().default(false),
    waitingUntil: ts("waiting_until"),
    /** The process running it renews this while it works; past it, the run's process is gone. */
    leaseUntil: ts("lease_until"),
    startedAt: ts("started_at"),
    finishedAt: ts("finished_at"),
    createdAt: created(),
  },
  (t) => [
    index("sync_runs_connection_idx").on(t.connectionId, t.createdAt),
    index("sync_runs_account_idx").on(t.accountId, t.createdAt),
    uniqueIndex("sync_runs_one_active_key")
      .on(t.connectionId)
      .where(sql`${t.state} in ('queued', 'running')`),
  ],
);

export const syncCursors = pgTable(
  "sync_cursors",
  {
    connectionId: ref("connection_id")
      .notNull()
      .references(() => connections.id, { onDelete: "cascade" }),
    stream: text("stream").notNull(),
    version: integer("version").notNull().default(1),
    value: jsonb("value").notNull(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.connectionId, t.stream] })],
);

export const outbox = pgTable(
  "outbox",
  {
    id: id(),
    accountId: ref("account_id")
      .notNull()
      .references(() => accounts.id),
    connectionId: ref("connection_id")
      .notNull()
      .references(() => connections.id),
    kind: text("kind").notNull(),
    payload: jsonb("payload").notNull(),
    idempotencyKey: text("idempotency_key").notNull(),
    status: outboxStatusEnum("status").notNull().default("pending"),
    /** Lower runs first (quantity pushes before price pushes). */
    priority: integer("priority").notNull().default(100),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: ts("next_attempt_at").notNull().defaultNow(),
    lastError: text("last_error"),
    orderId: ref("order_id").references(() => orders.id),
    lotId: ref("lot_id").references(() => inventoryLots.id),
    createdAt: created(),
    sentAt: ts("sent_at"),
  },
  (t) => [
    uniqueIndex("outbox_idempotency_key").on(t.accountId, t.idempotencyKey),
    index("outbox_due_idx").on(t.status, t.nextAttemptAt, t.priority),
    index("outbox_order_idx").on(t.orderId),
    // Stock pushes of one listing go out one at a time, in order; coalescing finds the waiting one.
    index("outbox_stock_listing_idx")
      .on(sql`(${t.payload}->>'listingId')`, t.id)
      .where(sql`${t.kind} = 'stock' and ${t.status} in ('pending', 'sending')`),
  ],
);

export const apiUsage = pgTable(
  "api_usage",
  {
    connectionId: ref("connection_id")
      .notNull()
      .references(() => connections.id, { onDelete: "cascade" }),
    /** Start of the UTC hour the calls fell in. */
    bucketStart: ts("bucket_start").notNull(),
    /** What the calls were for: orders, stock, fulfilment, other. */
    category: text("category").notNull(),
    calls: integer("calls").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.connectionId, t.bucketStart, t.category] })],
);

/** The shared state of one rate limit of a connection (a window's count, a bucket's tokens), across processes. */
export const rateLimits = pgTable(
  "rate_limits",
  {
    connectionId: ref("connection_id")
      .notNull()
      .references(() => connections.id, { onDelete: "cascade" }),
    /** Which limit of the manifest, and which operation for per-operation buckets. */
    key: text("key").notNull(),
    /** Fixed windows: the start of the window `used` counts. */
    windowStart: ts("window_start"),
    used: integer("used").notNull().default(0),
    /** Rolling windows: calls per slot, as [slot start in ms, calls]. */
    slots: jsonb("slots").$type<[number, number][]>(),
    /** Token buckets: tokens left at `refilledAt`. */
    tokens: doublePrecision("tokens"),
    refilledAt: ts("refilled_at"),
    /** What the marketplace said, where it is tighter than the manifest. */
    learnedLimit: integer("learned_limit"),
    learnedRate: doublePrecision("learned_rate"),
    /** Retry-After: no call under this limit before then. */
    blockedUntil: ts("blocked_until"),
  },
  (t) => [primaryKey({ columns: [t.connectionId, t.key] })],
);

export const auditLog = pgTable(
  "audit_log",
  {
    id: id(),
    accountId: ref("account_id").references(() => accounts.id),
    userId: ref("user_id").references(() => users.id, { onDelete: "set null" }),
    action: text("action").notNull(),
    target: text("target"),
    detail: jsonb("detail").notNull().default({}),
    ip: text("ip"),
    at: ts("at").notNull().defaultNow(),
  },
  (t) => [index("audit_log_account_idx").on(t.accountId, t.at)],
);

/** One parcel of an order: tracking, and the lines (with quantities) it carries. */
export const shipments = pgTable(
  "shipments",
  {
    id: id(),
    accountId: ref("account_id")
      .notNull()
      .references(() => accounts.id),
    orderId: ref("order_id")
      .notNull()
      .references(() => orders.id, { onDelete: "cascade" }),
    connectionId: ref("connection_id")
      .notNull()
      .references(() => connections.id),
    carrier: text("carrier"),
    trackingNumber: text("tracking_number"),
    trackingUrl: text("tracking_url"),
    shippedAt: ts("shipped_at").notNull(),
    /** pending until the marketplace confirmed it (sent), or failed when it refused. */
    state: text("state").$type<"pending" | "sent" | "failed">().notNull().default("pending"),
    externalShipmentId: text("external_shipment_id"),
    /** The outbox push that tells the marketplace. */
    pushId: ref("push_id").references(() => outbox.id),
    createdAt: created(),
  },
  (t) => [index("shipments_order_idx").on(t.orderId), uniqueIndex("shipments_push_key").on(t.pushId)],
);

export const shipmentLines = pgTable(
  "shipment_lines",
  {
    shipmentId: ref("shipment_id")
      .notNull()
      .references(() => shipments.id, { onDelete: "cascade" }),
    orderLineId: ref("order_line_id")
      .notNull()
      .references(() => orderLines.id, { onDelete: "cascade" }),
    quantity: integer("quantity").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.shipmentId, t.orderLineId] }),
    index("shipment_lines_order_line_idx").on(t.orderLineId),
    check("shipment_lines_quantity_positive", sql`${t.quantity} > 0`),
  ],
);

/** OAuth 2 tokens of a connection, sealed; rewritten under a row lock so every process refreshes once. */
export const credentials = pgTable(
  "credentials",
  {
    connectionId: ref("connection_id")
      .primaryKey()
      .references(() => connections.id, { onDelete: "cascade" }),
    accountId: ref("account_id")
      .notNull()
      .references(() => accounts.id),
    refreshTokenEnc: text("refresh_token_enc"),
    accessTokenEnc: text("access_token_enc"),
    accessExpiresAt: ts("access_expires_at"),
    /** sha256 of the refresh token the connection's secrets held when this row was seeded from them. */
    seedHash: text("seed_hash"),
    /** Bumped by every refresh, so a reader can tell whether another process refreshed meanwhile. */
    version: integer("version").notNull().default(0),
    state: text("state").$type<"ok" | "reconnect_needed">().notNull().default("ok"),
    stateMessage: text("state_message"),
    refreshedAt: ts("refreshed_at"),
    createdAt: created(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [check("credentials_state_check", sql`${t.state} in ('ok', 'reconnect_needed')`)],
);

/** A "Connect with …" sign-in under way: single-use, short-lived, bound to who started it. */
export const oauthStates = pgTable(
  "oauth_states",
  {
    /** sha256 of the state parameter; the value itself only travels in the browser. */
    id: text("id").primaryKey(),
    accountId: ref("account_id")
      .notNull()
      .references(() => accounts.id),
    userId: ref("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    marketplace: text("marketplace").notNull(),
    /** The connection being reconnected; null for a new one. */
    connectionId: ref("connection_id").references(() => connections.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    baseUrl: text("base_url"),
    config: jsonb("config").$type<Record<string, string>>().notNull().default({}),
    /** Sealed: the client secret the seller typed and the PKCE code verifier. */
    secretsEnc: text("secrets_enc").notNull(),
    redirectUri: text("redirect_uri").notNull(),
    expiresAt: ts("expires_at").notNull(),
    createdAt: created(),
  },
  (t) => [index("oauth_states_expires_idx").on(t.expiresAt)],
);

/** A bulk import running as a background job: its progress, outcome and a cancel request. */
export const importJobs = pgTable(
  "import_jobs",
  {
    id: id(),
    accountId: ref("account_id")
      .notNull()
      .references(() => accounts.id),
    userId: ref("user_id").references(() => users.id, { onDelete: "set null" }),
    /** What is imported (`inventory-file`). */
    kind: text("kind").notNull(),
    /** The file's name, for the ledger rows' reason and the progress shown. */
    name: text("name").notNull(),
    /** queued, running, completed, failed, cancelled. */
    state: text("state").notNull().default("queued"),
    total: integer("total").notNull().default(0),
    /** Lines written so far (they are written in order, so this is also where to resume). */
    done: integer("done").notNull().default(0),
    created: integer("created").notNull().default(0),
    added: integer("added").notNull().default(0),
    error: text("error"),
    cancelRequested: boolean("cancel_requested").notNull().default(false),
    createdAt: created(),
    startedAt: ts("started_at"),
    finishedAt: ts("finished_at"),
  },
  (t) => [index("import_jobs_account_idx").on(t.accountId, t.createdAt)],
);

/** The checked lines of an import job, waiting to be written (deleted with the job's outcome). */
export const importJobLines = pgTable(
  "import_job_lines",
  {
    jobId: ref("job_id")
      .notNull()
      .references(() => importJobs.id, { onDelete: "cascade" }),
    seq: integer("seq").notNull(),
    /** Where in the file the line was read ("line 7", "ITEM 3"). */
    line: text("line").notNull(),
    itemType: text("item_type").notNull(),
    itemNo: text("item_no").notNull(),
    colorId: text("color_id"),
    colorName: text("color_name"),
    condition: text("condition").notNull(),
    quantity: integer("quantity").notNull(),
    price: money("price"),
    location: text("location"),
    description: text("description"),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.seq] })],
);

/** Lots an import job created, so a cancelled import can take them away again. */
export const importJobCreatedLots = pgTable(
  "import_job_created_lots",
  {
    jobId: ref("job_id")
      .notNull()
      .references(() => importJobs.id, { onDelete: "cascade" }),
    lotId: ref("lot_id").notNull(),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.lotId] })],
);

/** Automation rules of an account, evaluated in `position` order on the triggers they name. */
export const automationRules = pgTable(
  "automation_rules",
  {
    id: id(),
    accountId: ref("account_id")
      .notNull()
      .references(() => accounts.id),
    name: text("name").notNull(),
    position: integer("position").notNull(),
    enabled: boolean("enabled").notNull().default(true),
    /** `order_created`, `status_changed`. */
    triggers: text("triggers").array().notNull().default(sql`'{}'::text[]`),
    conditions: jsonb("conditions").notNull().default([]),
    actions: jsonb("actions").notNull().default([]),
    createdAt: created(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("automation_rules_account_name_key").on(t.accountId, sql`lower(${t.name})`),
    index("automation_rules_account_position_idx").on(t.accountId, t.position),
  ],
);

/** What a rule did to an order for one event: the unique key makes a rule act once per event. */
export const automationRuns = pgTable(
  "automation_runs",
  {
    id: id(),
    accountId: ref("account_id")
      .notNull()
      .references(() => accounts.id),
    ruleId: ref("rule_id")
      .notNull()
      .references(() => automationRules.id, { onDelete: "cascade" }),
    orderId: ref("order_id")
      .notNull()
      .references(() => orders.id, { onDelete: "cascade" }),
    /** `created`, or `status:<order_events.id>` for a status change. */
    eventKey: text("event_key").notNull(),
    actions: jsonb("actions").notNull().default([]),
    at: ts("at").notNull(),
  },
  (t) => [
    uniqueIndex("automation_runs_rule_order_event_key").on(t.ruleId, t.orderId, t.eventKey),
    index("automation_runs_order_idx").on(t.orderId),
  ],
);

/** A pick of several orders at once (drizzle/0017_pick_batches.sql): one open batch per name. */
export const pickBatches = pgTable(
  "pick_batches",
  {
    id: id(),
    accountId: ref("account_id")
      .notNull()
      .references(() => accounts.id),
    name: text("name").notNull(),
    state: text("state").$type<"open" | "done">().notNull().default("open"),
    createdBy: ref("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: created(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("pick_batches_account_open_name_key")
      .on(t.accountId, sql`lower(${t.name})`)
      .where(sql`${t.state} = 'open'`),
    index("pick_batches_account_idx").on(t.accountId, t.createdAt),
    check("pick_batches_state_check", sql`${t.state} in ('open', 'done')`),
  ],
);

/** The orders of a pick batch, each with its tote letter. */
export const pickBatchOrders = pgTable(
  "pick_batch_orders",
  {
    batchId: ref("batch_id")
      .notNull()
      .references(() => pickBatches.id, { onDelete: "cascade" }),
    orderId: ref("order_id")
      .notNull()
      .references(() => orders.id, { onDelete: "cascade" }),
    accountId: ref("account_id")
      .notNull()
      .references(() => accounts.id),
    tote: text("tote").notNull(),
    position: integer("position").notNull(),
    addedAt: ts("added_at").notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.batchId, t.orderId] }),
    index("pick_batch_orders_order_idx").on(t.orderId),
  ],
);

/** One stop of a pick: a lot (or an unlinked item) once, with every order's share; claimed and ticked. */
export const pickBatchItems = pgTable(
  "pick_batch_items",
  {
    id: id(),
    accountId: ref("account_id")
      .notNull()
      .references(() => accounts.id),
    batchId: ref("batch_id")
      .notNull()
      .references(() => pickBatches.id, { onDelete: "cascade" }),
    /** `lot:<id>` for a matched lot, else item type, number, colour, condition and location. */
    key: text("key").notNull(),
    lotId: ref("lot_id").references(() => inventoryLots.id, { onDelete: "set null" }),
    location: text("location"),
    itemType: text("item_type").notNull(),
    itemNo: text("item_no"),
    colorId: text("color_id"),
    colorName: text("color_name"),
    condition: text("condition").notNull(),
    name: text("name").notNull(),
    /** The marketplace of the first order that brought the item (whose image rule applies). */
    marketplace: text("marketplace").notNull(),
    image: text("image"),
    quantity: integer("quantity").notNull(),
    /** Place in walking order within the batch. */
    walk: integer("walk").notNull().default(0),
    breakdown: jsonb("breakdown")
      .$type<{ orderId: number; lineId: number; tote: string; quantity: number }[]>()
      .notNull()
      .default([]),
    state: text("state").$type<"open" | "picked" | "short">().notNull().default("open"),
    /** For a shortage: how many were found. */
    foundQty: integer("found_qty"),
    claimedBy: ref("claimed_by").references(() => users.id, { onDelete: "set null" }),
    claimedAt: ts("claimed_at"),
    doneBy: ref("done_by").references(() => users.id, { onDelete: "set null" }),
    doneAt: ts("done_at"),
    /** Bumped by every change: writes name the version they saw (optimistic concurrency). */
    version: integer("version").notNull().default(0),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("pick_batch_items_batch_key").on(t.batchId, t.key),
    index("pick_batch_items_batch_walk_idx").on(t.batchId, t.walk),
    check("pick_batch_items_state_check", sql`${t.state} in ('open', 'picked', 'short')`),
  ],
);

/** A shortage found while picking: per order line, on the lot it was picked from. */
export const pickShortages = pgTable(
  "pick_shortages",
  {
    id: id(),
    accountId: ref("account_id")
      .notNull()
      .references(() => accounts.id),
    batchId: ref("batch_id")
      .notNull()
      .references(() => pickBatches.id, { onDelete: "cascade" }),
    itemId: ref("item_id")
      .notNull()
      .references(() => pickBatchItems.id, { onDelete: "cascade" }),
    lotId: ref("lot_id").references(() => inventoryLots.id, { onDelete: "set null" }),
    orderId: ref("order_id")
      .notNull()
      .references(() => orders.id, { onDelete: "cascade" }),
    orderLineId: ref("order_line_id")
      .notNull()
      .references(() => orderLines.id, { onDelete: "cascade" }),
    quantity: integer("quantity").notNull(),
    userId: ref("user_id").references(() => users.id, { onDelete: "set null" }),
    note: text("note"),
    createdAt: created(),
  },
  (t) => [
    index("pick_shortages_lot_idx").on(t.lotId),
    index("pick_shortages_order_idx").on(t.orderId),
    check("pick_shortages_quantity_positive", sql`${t.quantity} > 0`),
  ],
);
