import type { z } from "zod";
import type { MarketplaceErrorKind } from "../../core/errors.ts";
import { type Entries, entriesOf } from "../entries.ts";
import { errorFor, isHtml, jsonBody, send } from "../http.ts";
import type { AdapterContext } from "../types.ts";
import {
  type BrickOwlInventoryLot,
  type BrickOwlOrder,
  type BrickOwlOrderItem,
  type BrickOwlOrderListEntry,
  type BrickOwlTokenDetails,
  boErrorSchema,
  boInventoryLotSchema,
  boOrderItemSchema,
  boOrderListEntrySchema,
  boOrderSchema,
  boStatusSchema,
  boTokenDetailsSchema,
} from "./types.ts";

/** `order/list` answers at most this many orders (newest first); there is no paging. */
export const LIST_LIMIT = 5_000;

const WHO = { id: "brickowl", name: "BrickOwl" } as const;
const fail = errorFor("brickowl");

/** BrickOwl's error texts do not come with codes; the HTTP status and a few words decide. */
function kindOf(status: number, message: string): MarketplaceErrorKind {
  if (status === 429 || /rate limit|too many/i.test(message)) return "rate_limited";
  if (status === 401 || status === 403 || /api key|invalid key|permission|store not found/i.test(message))
    return "auth";
  if (status === 404 || /not found/i.test(message)) return "not_found";
  if (status >= 500) return "transient";
  return "invalid_request";
}

type Params = Record<string, string | number | undefined>;

/**
 * BrickOwl API v1: one API key, sent as a query parameter on GET and in a form-encoded body on POST;
 * bare JSON answers; errors as `{"error":{"status":"…"}}`.
 */
interface OrderListQuery {
  orderTime?: number;
  status?: number | string;
  limit?: number;
}

function listParams(q: OrderListQuery) {
  return { list_type: "store", limit: q.limit ?? LIST_LIMIT, order_time: q.orderTime, status: q.status };
}

export class BrickOwlClient {
  constructor(
    private readonly ctx: Pick<
      AdapterContext,
      "baseUrl" | "http" | "budget" | "clock" | "signal" | "timeoutMs"
    >,
    private readonly key: string,
  ) {
    if (!key) throw fail("auth", "config", "the BrickOwl API key is missing: reconnect the store");
  }

  private async call<T>(
    operation: string,
    method: "GET" | "POST",
    path: string,
    params: Params,
    schema: z.ZodType<T>,
  ): Promise<T> {
    const form = new URLSearchParams({ key: this.key });
    for (const [k, v] of Object.entries(params)) if (v !== undefined) form.set(k, String(v));
    const base = `${this.ctx.baseUrl.replace(/\/$/, "")}/${path}`;
    const url = method === "GET" ? `${base}?${form}` : base;
    const write = method === "POST";
    const answer = await send(this.ctx, WHO, {
      operation,
      method,
      url,
      label: `${method} ${path}`,
      headers: {
        accept: "application/json",
        ...(write ? { "content-type": "application/x-www-form-urlencoded" } : {}),
      },
      ...(write ? { body: form.toString() } : {}),
    });
    const { retryAfterMs } = answer;
    const res = { status: answer.status, ok: answer.status >= 200 && answer.status < 300 };
    if (res.status === 429)
      throw fail("rate_limited", operation, "BrickOwl rate limit reached", {
        code: 429,
        retryAfterMs: retryAfterMs ?? 60_000,
      });
    if (isHtml(answer.text)) {
      throw fail(
        res.status >= 500 || res.status === 0 ? "transient" : write ? "ambiguous_write" : "contract_changed",
        operation,
        `BrickOwl answered with an HTML page (HTTP ${res.status})`,
        { code: res.status, retryAfterMs },
      );
    }
    const json = jsonBody(WHO, operation, answer);
    // Errors come as {"error":{"status":"…"}}, with a non-2xx status — or, to be safe, a 2xx one.
    const err = boErrorSchema.safeParse(json);
    if (err.success || !res.ok) {
      const message = (err.success ? err.data.error.status : null) ?? `HTTP ${res.status}`;
      const kind = kindOf(res.status, message);
      throw fail(
        kind,
        operation,
        kind === "auth"
          ? `BrickOwl refused the API key (${message}): check that the key exists and may view and edit orders and inventory`
          : `BrickOwl: ${message}`,
        { code: res.status, retryAfterMs: kind === "rate_limited" ? (retryAfterMs ?? 60_000) : retryAfterMs },
      );
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.join(".") || "(root)";
      throw fail(
        write ? "ambiguous_write" : "contract_changed",
        operation,
        `BrickOwl's ${path} answer changed shape at ${field}: ${issue?.message ?? ""}`,
        { field },
      );
    }
    return parsed.data;
  }

  /** token/details: who the key belongs to and the store's currency; the connection test. */
  tokenDetails(): Promise<BrickOwlTokenDetails> {
    return this.call("tokenDetails", "GET", "token/details", {}, boTokenDetailsSchema);
  }

  /** order/list: at most `limit` orders with order time ≥ `orderTime`, newest first; no paging. */
  listOrders(q: OrderListQuery = {}): Promise<BrickOwlOrderListEntry[]> {
    return this.call("listOrders", "GET", "order/list", listParams(q), boOrderListEntrySchema.array());
  }

  /** The same list, read entry by entry: an entry of an unknown shape is reported, not fatal. */
  listOrderEntries(q: OrderListQuery = {}): Promise<Entries<BrickOwlOrderListEntry>> {
    return this.call(
      "listOrders",
      "GET",
      "order/list",
      listParams(q),
      entriesOf(boOrderListEntrySchema, "order_id"),
    );
  }

  getOrder(orderId: string): Promise<BrickOwlOrder> {
    return this.call("getOrder", "GET", "order/view", { order_id: orderId }, boOrderSchema);
  }

  getOrderItems(orderId: string): Promise<BrickOwlOrderItem[]> {
    return this.call("getOrderItems", "GET", "order/items", { order_id: orderId }, boOrderItemSchema.array());
  }

  /** order/set_status: ids 1–7 only (Pending and Cancelled cannot be set). */
  async setOrderStatus(orderId: string, statusId: number): Promise<void> {
    await this.call(
      "setOrderStatus",
      "POST",
      "order/set_status",
      { order_id: orderId, status_id: statusId },
      boStatusSchema,
    );
  }

  /** order/tracking: a tracking number or a tracking URL. */
  async setTracking(orderId: string, trackingId: string): Promise<void> {
    await this.call(
      "setTracking",
      "POST",
      "order/tracking",
      { order_id: orderId, tracking_id: trackingId },
      boStatusSchema,
    );
  }

  /** inventory/list: the whole inventory in one answer (active_only=0 includes empty and hidden lots). */
  listInventory(q: { activeOnly?: boolean; lotId?: string } = {}): Promise<BrickOwlInventoryLot[]> {
    return this.call(
      "listInventory",
      "GET",
      "inventory/list",
      { active_only: q.activeOnly === false ? 0 : 1, lot_id: q.lotId },
      boInventoryLotSchema.array(),
    );
  }

  /** inventory/update with a signed relative quantity: not idempotent, read the lot back after an ambiguous failure. */
  async updateInventory(
    lotId: string,
    change: { relativeQuantity?: number; absoluteQuantity?: number; price?: string; personalNote?: string },
  ): Promise<void> {
    await this.call(
      "updateInventory",
      "POST",
      "inventory/update",
      {
        lot_id: lotId,
        relative_quantity: change.relativeQuantity,
        absolute_quantity: change.absoluteQuantity,
        price: change.price,
        personal_note: change.personalNote,
      },
      boStatusSchema,
    );
  }
}
