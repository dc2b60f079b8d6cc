import type { AppContext } from "../../context.ts";
import { resolveAuth } from "../auth.ts";
import { trackStream } from "../live-streams.ts";
import { defineRoute, type RouteDef } from "../route.ts";

/** Server-sent events: order and sync changes of the caller's account, as they happen. */
export function eventRoutes(ctx: AppContext): RouteDef[] {
  return [
    defineRoute({
      method: "GET",
      url: "/api/events",
      auth: "orders.read",
      summary:
        "Live updates (text/event-stream): order.created, order.updated, sync.progress, connection.updated",
      tags: ["events"],
      raw: true,
      async handler({ auth, req }, reply) {
        reply.hijack();
        const res = reply.raw;
        res.writeHead(200, {
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-store, no-transform",
          connection: "keep-alive",
          // The stream bypasses the reply hooks, so it sends the API's security headers itself.
          "x-content-type-options": "nosniff",
          "x-frame-options": "DENY",
          "referrer-policy": "no-referrer",
          "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
        });
        res.write(": connected\n\n");
        const unsubscribe = ctx.events.subscribe(auth!.accountId!, (e) => {
          res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
        });
        // A user who was cut off (disabled, deleted, signed out) loses the stream at the next beat.
        const heartbeat = setInterval(() => {
          void resolveAuth(ctx, req)
            .then((still) => (still ? res.write(": keep-alive\n\n") : res.end()))
            .catch(() => res.end());
        }, 15_000);
        const untrack = trackStream(auth!.userId, () => res.end());
        const close = () => {
          clearInterval(heartbeat);
          unsubscribe();
          untrack();
        };
        req.raw.on("close", close);
        res.on("close", close);
      },
    }),
  ];
}
