import { count } from "drizzle-orm";
import { ensureOperatorToken } from "./auth/tokens.ts";
import type { Settings } from "./config.ts";
import { type AppContext, type ContextOverrides, createContext } from "./context.ts";
import { users } from "./db/schema.ts";
import { pauseDemoConnections, startDemo } from "./demo.ts";
import { defaultDeps } from "./http/default-deps.ts";
import { startNoticeListener } from "./http/notice-listener.ts";
import { startHttpServer } from "./http/server.ts";
import { JobQueue } from "./jobs/queue.ts";
import { listManifests } from "./marketplaces/registry.ts";
import { startWorker } from "./worker.ts";

export type Role = "all" | "web" | "worker";

export interface RunningServer {
  ctx: AppContext;
  url: string | null;
  stop(): Promise<void>;
}

/** Starts the parts of Orderhub this process runs. Web and worker roles need PostgreSQL to run apart. */
export async function startServer(
  settings: Settings,
  opts: { role: Role; context?: ContextOverrides },
): Promise<RunningServer> {
  if (opts.role !== "all" && !settings.databaseUrl) {
    throw new Error(
      `--role ${opts.role} needs DATABASE_URL: separate web and worker processes share a PostgreSQL database (PGlite has one owner)`,
    );
  }
  const ctx = await createContext(settings, opts.context);
  const runWorker = opts.role !== "web";
  const runWeb = opts.role !== "worker";
  let queue: JobQueue | null = null;
  let worker: { stop(): Promise<void> } | null = null;
  let http: { url: string; close(): Promise<void> } | null = null;
  let demo: { stop(): Promise<void> } | null = null;
  const notify: { url: string; close(): Promise<void> }[] = [];
  try {
    queue = await JobQueue.start(ctx, { work: runWorker });
    if (runWorker) worker = await startWorker(ctx, queue);
    if (runWeb) {
      ensureOperatorToken(settings.dataDir);
      http = await startHttpServer(ctx, defaultDeps(queue), { port: settings.port, host: settings.host });
      ctx.database.announce({ url: http.url });
      if (settings.notifyPort) {
        // The marketplaces whose notices call a fixed port of ours (BrickOwl's order/notify).
        for (const m of listManifests().filter((x) => x.noticeListener)) {
          const l = await startNoticeListener(ctx, queue, { marketplace: m.id, port: settings.notifyPort });
          notify.push(l);
          ctx.logger.info({ url: l.url, marketplace: m.id }, `listening for ${m.displayName} notifications`);
        }
      }
    }
    if (opts.role === "all") {
      if (settings.demo) demo = await startDemo(ctx, queue, http!.url);
      else await pauseDemoConnections(ctx);
    }
  } catch (err) {
    await demo?.stop().catch(() => {});
    for (const l of notify) await l.close().catch(() => {});
    await worker?.stop().catch(() => {});
    await queue?.stop({ graceful: false }).catch(() => {});
    await ctx.close();
    throw err;
  }
  ctx.logger.info(
    { role: opts.role, database: ctx.database.kind, url: http?.url ?? null },
    "Orderhub started",
  );
  return {
    ctx,
    url: http?.url ?? null,
    async stop() {
      // New requests stop first, then running jobs finish or are released, then the database closes.
      await http?.close().catch((err) => ctx.logger.warn({ err }, "http close failed"));
      for (const l of notify) await l.close().catch(() => {});
      await demo?.stop().catch(() => {});
      await worker?.stop().catch((err) => ctx.logger.warn({ err }, "worker stop failed"));
      await queue
        ?.stop({ graceful: true, timeoutMs: 20_000 })
        .catch((err) => ctx.logger.warn({ err }, "queue stop failed"));
      await ctx.close();
    },
  };
}

/** `orderhub serve`: runs until SIGTERM/SIGINT, then shuts down cleanly. */
export async function serve(settings: Settings, opts: { role: Role }): Promise<void> {
  const server = await startServer(settings, opts);
  if (server.url) await printFirstRun(server);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    server.ctx.logger.info({ signal }, "shutting down");
    server.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

async function printFirstRun(server: RunningServer): Promise<void> {
  const [row] = await server.ctx.db.select({ n: count() }).from(users);
  if ((row?.n ?? 0) > 0) return;
  const lines = [
    "",
    "Orderhub is running, but nobody can sign in yet. Create the first owner:",
    `  open ${server.url}/setup in a browser, or run`,
    "  npx orderhub user add --email you@example.com --role owner   (it asks for the password)",
    "",
  ];
  process.stderr.write(`${lines.join("\n")}\n`);
}
