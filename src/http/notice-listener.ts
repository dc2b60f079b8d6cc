import { and, eq, isNull } from "drizzle-orm";
import Fastify from "fastify";
import type { AppContext } from "../context.ts";
import { isMarketplaceError } from "../core/errors.ts";
import { connectionSecrets } from "../db/repos/connections.ts";
import { connections } from "../db/schema.ts";
import type { JobQueue } from "../jobs/queue.ts";
import { getAdapter } from "../marketplaces/registry.ts";
import type { InboundNotice } from "../marketplaces/types.ts";
import { requestSync } from "../sync/engine.ts";
import { limitKey } from "./routes/auth.ts";
import { MinuteWindow } from "./routes/webhooks.ts";

/** Notices per calling address per minute: a forger's flood never uses up a genuine caller's share. */
const PER_ADDRESS_PER_MINUTE = 120;
/** The same order named again within this long asks for nothing new. */
const REPEAT_MS = 60_000;
/** Notices arriving this close together become one sync request per connection. */
const FLUSH_MS = 100;
/** Orders remembered for folding; the oldest go first. */
const MAX_REMEMBERED = 50_000;

export interface NoticeListener {
  url: string;
  /** Sends what is still waiting to be requested, then stops listening. */
  close(): Promise<void>;
}

/**
 * A listener of its own for marketplaces that call a fixed port with their push notifications
 * (the manifest's `noticeListener`: path, port, and the query parameters naming order and store).
 * The adapter's `notices` port (`style: "payload"`) verifies and parses each call; a notice only
 * ever asks for the orders it names, so an unknown or forged order id costs one targeted fetch at
 * most, never a full sync. Best effort on the marketplace's side: the schedule keeps polling.
 */
export async function startNoticeListener(
  ctx: AppContext,
  queue: JobQueue,
  opts: { marketplace: string; port?: number; host?: string; flushMs?: number },
): Promise<NoticeListener> {
  const { app, spec, flush } = buildNoticeApp(ctx, queue, opts);
  const host = opts.host ?? ctx.settings.notifyHost ?? ctx.settings.host;
  await app.listen({ port: opts.port ?? spec.defaultPort, host });
  const addr = app.server.address();
  const port = typeof addr === "object" && addr ? addr.port : opts.port;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}${spec.path}`,
    async close() {
      await app.close();
      await flush();
    },
  };
}

/** The listener's routes without a socket (tests call it through `inject`). */
export function buildNoticeApp(
  ctx: AppContext,
  queue: JobQueue,
  opts: { marketplace: string; flushMs?: number },
) {
  const adapter = getAdapter(opts.marketplace);
  const spec = adapter.manifest.noticeListener;
  const notices = adapter.notices;
  if (!spec || notices.style !== "payload") {
    throw new Error(`${adapter.manifest.displayName} declares no notice listener with a payload port`);
  }
  const name = adapter.manifest.displayName;
  const perAddress = new MinuteWindow(PER_ADDRESS_PER_MINUTE);
  const recent = new Map<string, number>();
  const pending = new Map<number, { accountId: number; ids: Set<string> }>();
  let timer: NodeJS.Timeout | null = null;

  const flush = async () => {
    timer = null;
    const batch = [...pending.entries()];
    pending.clear();
    for (const [connectionId, p] of batch) {
      try {
        const res = await requestSync(ctx, queue, {
          accountId: p.accountId,
          connectionId,
          trigger: "webhook",
          targetIds: [...p.ids],
        });
        ctx.logger.info(
          { connectionId, orders: p.ids.size, runId: res.runId, joined: res.joined },
          `${name} order notification`,
        );
      } catch (err) {
        ctx.logger.error({ err, connectionId }, `${name} notification could not request a sync`);
      }
    }
  };

  /** True when this order was asked for lately (remembered per connection, bounded in memory). */
  const seenLately = (key: string, now: number) => {
    const at = recent.get(key);
    if (at !== undefined && now - at < REPEAT_MS) return true;
    recent.delete(key);
    recent.set(key, now);
    if (recent.size > MAX_REMEMBERED) {
      const oldest = recent.keys().next().value;
      if (oldest !== undefined) recent.delete(oldest);
    }
    return false;
  };

  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 64 * 1024 });
  app.addContentTypeParser("*", { parseAs: "string" }, (_req, body, done) => done(null, body));
  app.route({
    method: ["GET", "POST"],
    url: spec.path,
    async handler(req, reply) {
      const now = ctx.clock.now().getTime();
      const wait = perAddress.take(limitKey(req.ip), now);
      if (wait !== null) {
        reply.header("retry-after", String(Math.ceil(wait / 1000)));
        return reply.status(429).send({ error: "too many notifications from this address" });
      }
      const inbound: InboundNotice = {
        query: req.query as Record<string, string | undefined>,
        headers: req.headers as Record<string, string | undefined>,
        body: typeof req.body === "string" ? req.body : "",
      };
      let named: string[];
      try {
        named = notices.parse(inbound).externalOrderIds;
      } catch (err) {
        if (!isMarketplaceError(err)) throw err;
        return reply.status(400).send({ error: err.message });
      }
      // A notice that names no order asks for nothing (never a full sync).
      if (named.length === 0)
        return reply.status(400).send({ error: `the notice names no ${spec.orderParam}` });
      const storeId = inbound.query[spec.storeParam]?.trim() ?? "";
      const candidates = await ctx.db
        .select()
        .from(connections)
        .where(and(eq(connections.marketplace, opts.marketplace), isNull(connections.disabledAt)));
      // The store id is learnt when the connection is tested; the port's verify has the last word.
      const matching = candidates.filter((c) => {
        if ((c.config.storeId ?? null) !== storeId) return false;
        const secrets = connectionSecrets(ctx.box, c);
        for (const v of Object.values(secrets)) ctx.secrets.add(v);
        return notices.verify(inbound, { config: c.config, secrets, storeId: c.config.storeId ?? null });
      });
      if (matching.length === 0) {
        ctx.logger.warn({ storeId }, `${name} notification for a store no connection knows`);
        return reply.status(404).send({ error: `no ${name} connection for this store` });
      }
      let fresh = 0;
      for (const c of matching) {
        for (const id of named) {
          if (seenLately(`${c.id}:${id}`, now)) continue;
          const p = pending.get(c.id) ?? { accountId: c.accountId, ids: new Set<string>() };
          p.ids.add(id);
          pending.set(c.id, p);
          fresh++;
        }
      }
      if (fresh > 0 && !timer) timer = setTimeout(() => void flush(), opts.flushMs ?? FLUSH_MS);
      return reply.status(200).send({ accepted: true, folded: fresh === 0 });
    },
  });
  return {
    app,
    spec,
    /** Requests what is waiting now (on close, and in tests). */
    async flush() {
      if (timer) clearTimeout(timer);
      await flush();
    },
  };
}
