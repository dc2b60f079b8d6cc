import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { safeEqual } from "../../auth/tokens.ts";
import type { AppContext } from "../../context.ts";
import { AppError, badRequest, isMarketplaceError, notFound } from "../../core/errors.ts";
import {
  type ConnectionRow,
  connectionSecrets,
  findConnectionByWebhookToken,
} from "../../db/repos/connections.ts";
import { getAdapter } from "../../marketplaces/registry.ts";
import type { InboundNotice, NoticesPort, WebhookNotice } from "../../marketplaces/types.ts";
import { requestSync } from "../../sync/engine.ts";
import { ingestOrders } from "../../sync/ingest.ts";
import { requestDispatch } from "../../sync/outbox.ts";
import type { HttpDeps } from "../deps.ts";
import { defineRoute, type RouteDef } from "../route.ts";
import { limitKey } from "./auth.ts";

/** Pings per connection per minute. */
const PER_MINUTE = 30;
/** Calls per address per minute whose token names no active connection. */
const MISSES_PER_MINUTE = 30;
/** Pings this close together fold into one sync request. */
const FOLD_MS = 2_000;
/** Keys remembered at most per window; the oldest go first. */
const MAX_KEYS = 50_000;

/** A sliding one-minute window per key, bounded in memory. */
export class MinuteWindow {
  private readonly hits = new Map<string, number[]>();
  constructor(private readonly limit: number) {}
  /** Null when allowed, else milliseconds until the next call would be. */
  take(key: string, now: number): number | null {
    const recent = (this.hits.get(key) ?? []).filter((t) => t > now - 60_000);
    recent.push(now);
    this.hits.delete(key);
    this.hits.set(key, recent);
    if (this.hits.size > MAX_KEYS) {
      const oldest = this.hits.keys().next().value;
      if (oldest !== undefined) this.hits.delete(oldest);
    }
    if (recent.length <= this.limit) return null;
    return Math.max(1000, (recent[recent.length - this.limit] ?? now) + 60_000 - now);
  }
}

function rateLimited(reply: FastifyReply, waitMs: number): AppError {
  const seconds = Math.ceil(waitMs / 1000);
  reply.header("retry-after", String(seconds));
  return new AppError(429, "rate_limited", `too many notifications: try again in ${seconds} seconds`, {
    retryAfterSeconds: seconds,
  });
}

/**
 * Push-notification ingress. Marketplaces like BrickLink sign nothing, so the unguessable token in
 * the URL is the credential; calls are rate-limited and folded together, and polling goes on regardless.
 * An unknown token and a disconnected store's token get the same answer.
 */
export function webhookRoutes(ctx: AppContext, deps: HttpDeps): RouteDef[] {
  const perConnection = new MinuteWindow(PER_MINUTE);
  const misses = new MinuteWindow(MISSES_PER_MINUTE);
  const lastRequest = new Map<number, number>();

  /**
   * A notice that names orders or carries them: verified with the connection's secrets, then the
   * orders it carries go through the ingest pipeline at once, and the ones it only names are fetched.
   */
  async function payloadNotice(
    c: ConnectionRow,
    port: Extract<NoticesPort, { style: "payload" }>,
    req: FastifyRequest,
    body: string,
  ) {
    const notice: InboundNotice = {
      query: req.query as Record<string, string | undefined>,
      headers: req.headers as Record<string, string | undefined>,
      body,
    };
    const secrets = connectionSecrets(ctx.box, c);
    for (const v of Object.values(secrets)) ctx.secrets.add(v);
    if (!port.verify(notice, { config: c.config, secrets, storeId: c.config.storeId ?? null }))
      throw new AppError(401, "unauthorized", "the notice's signature does not match this connection");
    let parsed: WebhookNotice;
    try {
      parsed = port.parse(notice);
    } catch (err) {
      if (isMarketplaceError(err)) throw badRequest(`${err.field ?? "body"}: ${err.message}`);
      throw err;
    }
    const carried = parsed.orders ?? [];
    const stored = carried.length
      ? await ingestOrders(
          ctx,
          {
            accountId: c.accountId,
            connectionId: c.id,
            marketplace: c.marketplace,
            source: `marketplace:${c.marketplace}`,
            at: ctx.clock.now(),
          },
          carried,
        )
      : null;
    if (stored?.dispatch) await requestDispatch(deps.queue);
    // Orders it names but did not carry (or could not be stored) are fetched: only those, never a full walk.
    const have = new Set(stored?.results.map((r) => r.externalId) ?? []);
    const fetch = [...new Set(parsed.externalOrderIds)].filter((id) => !have.has(id));
    const run = fetch.length
      ? await requestSync(ctx, deps.queue, {
          accountId: c.accountId,
          connectionId: c.id,
          trigger: "webhook",
          targetIds: fetch,
        })
      : null;
    return {
      accepted: true,
      stored: stored?.results.length ?? 0,
      failed: stored?.failures.map((f) => ({ externalId: f.externalId, reason: f.reason })) ?? [],
      ...(run ? { runId: run.runId } : {}),
    };
  }
  return [
    defineRoute({
      method: "POST",
      url: "/webhooks/:marketplace/:token",
      auth: "public",
      summary: "A marketplace's push notification (no sign-in; the URL's token identifies the connection)",
      tags: ["webhooks"],
      status: 202,
      params: z.object({ marketplace: z.string().regex(/^[a-z]+$/), token: z.string().min(20).max(100) }),
      // Payload notices are signed over the body exactly as sent.
      rawBody: true,
      async handler({ params, ip, req, rawBody }, reply) {
        const now = ctx.clock.now().getTime();
        const c = await findConnectionByWebhookToken(ctx.db, params.token);
        if (
          !c ||
          c.disabledAt ||
          c.marketplace !== params.marketplace ||
          !safeEqual(c.webhookToken, params.token)
        ) {
          const wait = misses.take(limitKey(ip), now);
          if (wait !== null) throw rateLimited(reply, wait);
          throw notFound("webhook");
        }
        const wait = perConnection.take(String(c.id), now);
        if (wait !== null) throw rateLimited(reply, wait);
        const notices = getAdapter(c.marketplace).notices;
        if (notices.style === "payload") return payloadNotice(c, notices, req, rawBody ?? "");
        if (notices.style === "none") throw notFound("webhook");
        const last = lastRequest.get(c.id) ?? 0;
        if (now - last < FOLD_MS) return { accepted: true, folded: true };
        lastRequest.set(c.id, now);
        // The ping only says "look"; the sync asks the marketplace what changed.
        const res = await requestSync(ctx, deps.queue, {
          accountId: c.accountId,
          connectionId: c.id,
          trigger: "webhook",
          mode: "incremental",
        });
        return { accepted: true, folded: false, runId: res.runId };
      },
    }),
  ];
}
