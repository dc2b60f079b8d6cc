import { z } from "zod";
import { safeEqual } from "../../auth/tokens.ts";
import type { AppContext } from "../../context.ts";
import { AppError, notFound } from "../../core/errors.ts";
import { findConnectionByWebhookToken } from "../../db/repos/connections.ts";
import { requestSync } from "../../sync/engine.ts";
import type { HttpDeps } from "../deps.ts";
import { defineRoute, type RouteDef } from "../route.ts";

const PER_MINUTE = 30;
/** Pings this close together fold into one sync request. */
const FOLD_MS = 2_000;

/**
 * Push-notification ingress. Marketplaces like BrickLink sign nothing, so the unguessable token in
 * the URL is the credential; calls are rate-limited and folded together, and polling goes on regardless.
 */
export function webhookRoutes(ctx: AppContext, deps: HttpDeps): RouteDef[] {
  const hits = new Map<string, number[]>();
  const lastRequest = new Map<string, number>();
  return [
    defineRoute({
      method: "POST",
      url: "/webhooks/:marketplace/:token",
      auth: "public",
      summary: "A marketplace's push notification (no sign-in; the URL's token identifies the connection)",
      tags: ["webhooks"],
      status: 202,
      params: z.object({ marketplace: z.string().regex(/^[a-z]+$/), token: z.string().min(20).max(100) }),
      async handler({ params }) {
        const now = ctx.clock.now().getTime();
        const recent = (hits.get(params.token) ?? []).filter((t) => t > now - 60_000);
        recent.push(now);
        hits.set(params.token, recent);
        if (recent.length > PER_MINUTE)
          throw new AppError(429, "rate_limited", "too many notifications; slow down");
        const c = await findConnectionByWebhookToken(ctx.db, params.token);
        if (
          !c ||
          c.disabledAt ||
          c.marketplace !== params.marketplace ||
          !safeEqual(c.webhookToken, params.token)
        ) {
          throw notFound("webhook");
        }
        const last = lastRequest.get(params.token) ?? 0;
        if (now - last < FOLD_MS) return { accepted: true, folded: true };
        lastRequest.set(params.token, now);
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
