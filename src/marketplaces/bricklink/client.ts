import { createHmac } from "node:crypto";
import OAuth from "oauth-1.0a";
import type { z } from "zod";
import type { MarketplaceErrorKind } from "../../core/errors.ts";
import { type Entries, entriesOf } from "../entries.ts";
import { errorFor, isHtml, jsonBody, send } from "../http.ts";
import type { AdapterContext } from "../types.ts";
import {
  type BrickLinkInventory,
  type BrickLinkNotification,
  type BrickLinkOrder,
  type BrickLinkOrderItem,
  type BrickLinkOrderSummary,
  brickLinkEnvelopeSchema,
  brickLinkInventorySchema,
  brickLinkNotificationSchema,
  brickLinkOrderItemsSchema,
  brickLinkOrderSchema,
  brickLinkOrderSummarySchema,
} from "./types.ts";

export interface BrickLinkCredentials {
  consumerKey: string;
  consumerSecret: string;
  tokenValue: string;
  tokenSecret: string;
}

/** RFC 3986: only A-Z a-z 0-9 - . _ ~ stay as they are (space is %20, never +). */
export function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Process-wide: BrickLink rejects a reused timestamp+nonce, so timestamps go up with each call — but
 * never more than a little ahead of the clock (a burst of calls would otherwise run minutes into the
 * future); past that they stay level, and the random nonce keeps every pair unique.
 */
let lastTimestamp = 0;
const MAX_AHEAD_S = 30;
export function nextTimestamp(nowMs: number): number {
  const now = Math.floor(nowMs / 1000);
  lastTimestamp = Math.max(now, Math.min(lastTimestamp + 1, now + MAX_AHEAD_S), lastTimestamp);
  return lastTimestamp;
}

export function signer(creds: BrickLinkCredentials, nowMs: () => number) {
  const oauth = new OAuth({
    consumer: { key: creds.consumerKey, secret: creds.consumerSecret },
    signature_method: "HMAC-SHA1",
    hash_function: (base, key) => createHmac("sha1", key).update(base).digest("base64"),
  });
  oauth.getTimeStamp = () => nextTimestamp(nowMs());
  return (method: string, url: string): string => {
    // authorize() adds the URL's query parameters to `data`: give it a fresh object every time.
    const data = oauth.authorize(
      { url, method, data: {} },
      { key: creds.tokenValue, secret: creds.tokenSecret },
    );
    return oauth.toHeader(data).Authorization;
  };
}

const WHO = { id: "bricklink", name: "BrickLink" } as const;
const fail = errorFor("bricklink");

function kindOfMeta(code: number): MarketplaceErrorKind {
  if (code === 401 || code === 403) return "auth";
  if (code === 404) return "not_found";
  if (code === 429) return "rate_limited";
  if (code >= 500) return "transient";
  return "invalid_request";
}

/** What the seller should do about an auth error, in words. */
function authMessage(description: string): string {
  const ip = /TOKEN_IP_MISMATCHED:.*IP:\s*([0-9a-fA-F.:]+)/.exec(description)?.[1];
  if (ip) {
    return `BrickLink refused the access token from this server's address ${ip}: register IP ${ip} for the token on BrickLink's API registration page (or 0.0.0.0 with mask 0.0.0.0 for any address), then enter the new token`;
  }
  if (description.startsWith("SIGNATURE_INVALID"))
    return "BrickLink says the request signature is invalid: check the consumer secret and token secret";
  if (/CONSUMER_KEY_UNKNOWN|TOKEN_VALUE_UNKNOWN/.test(description))
    return `BrickLink does not know these credentials (${description.split(":")[0]}): check the consumer key and token value`;
  return `BrickLink refused the credentials (${description || "no reason given"})`;
}

export class BrickLinkClient {
  private readonly sign: (method: string, url: string) => string;

  constructor(
    private readonly ctx: Pick<
      AdapterContext,
      "baseUrl" | "http" | "budget" | "clock" | "signal" | "timeoutMs"
    >,
    creds: BrickLinkCredentials,
  ) {
    for (const [k, v] of Object.entries(creds)) {
      if (!v) throw fail("auth", "config", `the BrickLink ${k} is missing: reconnect the store`);
    }
    this.sign = signer(creds, () => ctx.clock.now().getTime());
  }

  private async call<T>(
    operation: string,
    method: "GET" | "PUT" | "POST" | "DELETE",
    path: string,
    opts: { query?: Record<string, string>; body?: unknown; schema?: z.ZodType<T> } = {},
  ): Promise<T> {
    const qs = Object.entries(opts.query ?? {})
      .map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`)
      .join("&");
    const url = `${this.ctx.baseUrl.replace(/\/$/, "")}${path}${qs ? `?${qs}` : ""}`;
    const write = method !== "GET";
    const answer = await send(this.ctx, WHO, {
      operation,
      method,
      url,
      label: `${method} ${path}`,
      headers: {
        authorization: this.sign(method, url),
        accept: "application/json",
        ...(opts.body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    });
    const { retryAfterMs, status } = answer;
    if (isHtml(answer.text)) {
      // nginx's HTML error page under burst load: no envelope, nothing was processed.
      throw fail(
        status === 429 ? "rate_limited" : "transient",
        operation,
        `BrickLink is overloaded (HTTP ${status} page); will retry`,
        { code: status, retryAfterMs },
      );
    }
    if (status === 429)
      throw fail("rate_limited", operation, "BrickLink rate limit reached", {
        code: 429,
        retryAfterMs: retryAfterMs ?? 60_000,
      });
    if (status === 204 && answer.text.trim() === "") return undefined as T;
    const json = jsonBody(WHO, operation, answer);
    const env = brickLinkEnvelopeSchema.safeParse(json);
    if (!env.success) {
      throw fail(
        write ? "ambiguous_write" : "contract_changed",
        operation,
        "BrickLink's answer has no meta envelope",
        { field: "meta" },
      );
    }
    // Success is meta.code: BrickLink reports errors inside HTTP 200.
    const { code, message, description } = env.data.meta;
    if (code >= 300) {
      const kind = kindOfMeta(code);
      const text =
        kind === "auth"
          ? authMessage(description)
          : `BrickLink: ${message}${description && description !== message ? ` — ${description}` : ""}`;
      throw fail(kind, operation, text, {
        code,
        retryAfterMs: kind === "rate_limited" ? (retryAfterMs ?? 60_000) : null,
      });
    }
    if (!opts.schema) return env.data.data as T;
    const parsed = opts.schema.safeParse(env.data.data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.join(".") || "data";
      throw fail(
        "contract_changed",
        operation,
        `BrickLink's ${operation} answer changed shape at ${field}: ${issue?.message ?? ""}`,
        { field },
      );
    }
    return parsed.data;
  }

  /** https://www.bricklink.com/v3/api.page?page=get-orders */
  getOrders(
    q: { direction?: "in" | "out"; status?: string; filed?: boolean } = {},
  ): Promise<BrickLinkOrderSummary[]> {
    const query: Record<string, string> = { direction: q.direction ?? "in" };
    if (q.status) query.status = q.status;
    if (q.filed !== undefined) query.filed = String(q.filed);
    return this.call("listOrders", "GET", "/orders", { query, schema: brickLinkOrderSummarySchema.array() });
  }

  /** The same list, read entry by entry: an entry of an unknown shape is reported, not fatal. */
  getOrderEntries(
    q: { direction?: "in" | "out"; status?: string; filed?: boolean } = {},
  ): Promise<Entries<BrickLinkOrderSummary>> {
    const query: Record<string, string> = { direction: q.direction ?? "in" };
    if (q.status) query.status = q.status;
    if (q.filed !== undefined) query.filed = String(q.filed);
    return this.call("listOrders", "GET", "/orders", {
      query,
      schema: entriesOf(brickLinkOrderSummarySchema, "order_id"),
    });
  }

  /** https://www.bricklink.com/v3/api.page?page=get-order */
  getOrder(id: string): Promise<BrickLinkOrder> {
    return this.call("getOrder", "GET", `/orders/${rfc3986(id)}`, { schema: brickLinkOrderSchema });
  }

  /** https://www.bricklink.com/v3/api.page?page=get-order-items — batches (array of arrays). */
  getOrderItems(id: string): Promise<BrickLinkOrderItem[][]> {
    return this.call("getOrderItems", "GET", `/orders/${rfc3986(id)}/items`, {
      schema: brickLinkOrderItemsSchema,
    });
  }

  /** https://www.bricklink.com/v3/api.page?page=get-notifications — the unread ones. */
  getNotifications(): Promise<BrickLinkNotification[]> {
    return this.call("getNotifications", "GET", "/notifications", {
      schema: brickLinkNotificationSchema.array(),
    });
  }

  /** https://www.bricklink.com/v3/api.page?page=update-order — only tracking, ship date and a few costs are honoured. */
  updateOrder(
    id: string,
    body: { shipping?: { tracking_no?: string; tracking_link?: string; date_shipped?: string } },
  ): Promise<unknown> {
    return this.call("updateOrder", "PUT", `/orders/${rfc3986(id)}`, { body });
  }

  /** https://www.bricklink.com/v3/api.page?page=update-order-status — 422 on a disallowed move. */
  updateOrderStatus(id: string, status: string): Promise<void> {
    return this.call("updateOrderStatus", "PUT", `/orders/${rfc3986(id)}/status`, {
      body: { field: "status", value: status },
    });
  }

  /** https://www.bricklink.com/v3/api.page?page=update-payment-status */
  updatePaymentStatus(id: string, status: string): Promise<void> {
    return this.call("updatePaymentStatus", "PUT", `/orders/${rfc3986(id)}/payment_status`, {
      body: { field: "payment_status", value: status },
    });
  }

  /** https://www.bricklink.com/v3/api.page?page=send-drive-thru */
  driveThru(id: string, mailMe: boolean): Promise<void> {
    return this.call("driveThru", "POST", `/orders/${rfc3986(id)}/drive_thru`, {
      query: { mail_me: String(mailMe) },
    });
  }

  /** https://www.bricklink.com/v3/api.page?page=get-inventories — the whole store in one answer. */
  getInventories(q: { item_type?: string; status?: string } = {}): Promise<BrickLinkInventory[]> {
    return this.call("getInventories", "GET", "/inventories", {
      query: q as Record<string, string>,
      schema: brickLinkInventorySchema.array(),
    });
  }

  /** https://www.bricklink.com/v3/api.page?page=get-inventory */
  getInventory(id: number): Promise<BrickLinkInventory> {
    return this.call("getInventory", "GET", `/inventories/${id}`, { schema: brickLinkInventorySchema });
  }

  /**
   * https://www.bricklink.com/v3/api.page?page=update-inventory — quantity is a signed DELTA ("+2", "-3"),
   * and `description` must always be sent. Not idempotent: after an ambiguous failure read the lot back.
   */
  updateInventory(
    id: number,
    change: { quantityDelta?: number; description: string; unit_price?: string; remarks?: string },
  ): Promise<BrickLinkInventory> {
    const body: Record<string, unknown> = { description: change.description };
    if (change.quantityDelta)
      body.quantity = change.quantityDelta > 0 ? `+${change.quantityDelta}` : String(change.quantityDelta);
    if (change.unit_price !== undefined) body.unit_price = change.unit_price;
    if (change.remarks !== undefined) body.remarks = change.remarks;
    return this.call("updateInventory", "PUT", `/inventories/${id}`, {
      body,
      schema: brickLinkInventorySchema,
    });
  }
}
