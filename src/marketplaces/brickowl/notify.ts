import { and, eq, isNull } from "drizzle-orm";
import Fastify from "fastify";
import type { AppContext } from "../../context.ts";
import { connections } from "../../db/schema.ts";
import type { JobQueue } from "../../jobs/queue.ts";
import { requestSync } from "../../sync/engine.ts";

/** BrickOwl's fixed path; the port is 42500 on BrickOwl's side, configurable here for tests. */
export const NOTIFY_PATH = "/brick_owl_order_notify";
const PER_MINUTE = 120;

/**
 * The optional listener for BrickOwl's `order/notify` call-outs: a GET naming `order_id` and
 * `store_id`, nothing else. Each one asks for a targeted fetch of that order by the connection whose
 * store it is. Best effort on BrickOwl's side, so the schedule keeps polling regardless.
 */
export async function startBrickOwlNotifyListener(
  ctx: AppContext,
  queue: JobQueue,
  opts: { port: number; host?: string },
): Promise<{ url: string; close(): Promise<void> }> {
  const app = Fastify({ logger: false, forceCloseConnections: true });
  let window = { start: 0, count: 0 };
  app.get(NOTIFY_PATH, async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const now = Date.now();
    if (now - window.start > 60_000) window = { start: now, count: 0 };
    if (++window.count > PER_MINUTE) return reply.status(429).send({ error: "too many notifications" });
    const orderId = q.order_id?.trim() ?? "";
    const storeId = q.store_id?.trim() ?? "";
    if (!/^\d{1,15}$/.test(orderId) || !/^\d{1,15}$/.test(storeId)) {
      return reply.status(400).send({ error: "order_id and store_id must be numbers" });
    }
    const candidates = await ctx.db
      .select()
      .from(connections)
      .where(and(eq(connections.marketplace, "brickowl"), isNull(connections.disabledAt)));
    // The store id is learnt when the connection is tested (token/details).
    const matching = candidates.filter((c) => c.config.storeId === storeId);
    if (matching.length === 0) {
      ctx.logger.warn({ storeId }, "BrickOwl notification for a store no connection knows");
      return reply.status(404).send({ error: "no BrickOwl connection for this store" });
    }
    const runs = [];
    for (const c of matching) {
      const res = await requestSync(ctx, queue, {
        accountId: c.accountId,
        connectionId: c.id,
        trigger: "webhook",
        targetIds: [orderId],
      });
      runs.push(res.runId);
    }
    ctx.logger.info({ orderId, storeId, runs }, "BrickOwl order notification");
    return reply.status(200).send({ accepted: true });
  });
  await app.listen({ port: opts.port, host: opts.host ?? "0.0.0.0" });
  const addr = app.server.address();
  const port = typeof addr === "object" && addr ? addr.port : opts.port;
  return {
    url: `http://${opts.host ?? "0.0.0.0"}:${port}${NOTIFY_PATH}`,
    close: () => app.close(),
  };
}
