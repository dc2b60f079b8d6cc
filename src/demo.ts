import { existsSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { and, eq } from "drizzle-orm";
import type { AppContext } from "./context.ts";
import { preparePrivateDir } from "./db/data-dir.ts";
import { createAccount, firstAccount } from "./db/repos/accounts.ts";
import { insertConnection, updateConnection } from "./db/repos/connections.ts";
import { connections } from "./db/schema.ts";
import type { JobQueue } from "./jobs/queue.ts";
import { getAdapter, loadSimulator, simulatorIds } from "./marketplaces/registry.ts";
import type { RunningSimulator } from "./marketplaces/simulator.ts";
import { requestSync } from "./sync/engine.ts";

/** The demo connection's name for a marketplace ("Demo BrickLink store"). */
export function demoName(marketplace: string): string {
  return `Demo ${getAdapter(marketplace).manifest.displayName} store`;
}

/** Every demo store is built from this seed, so stores that mirror each other (lots) agree. */
const DEMO_SEED = 2026;

/** Where a demo store is kept between starts, so a restart changes nothing the seller did. */
export function demoStateFile(dataDir: string, marketplace: string): string {
  return join(dataDir, "demo", `${marketplace}.json`);
}

/**
 * Demo mode: an in-process simulator of every marketplace that has one, with realistic stores,
 * connected as clearly labelled demo connections, where new orders arrive and open ones move on
 * every ten minutes (well inside BrickLink's daily budget). It starts only on a fresh install (or where the demo already runs), never beside
 * real connections.
 */
export async function startDemo(
  ctx: AppContext,
  queue: JobQueue,
  serverUrl: string,
  opts: { tickMs?: number } = {},
) {
  const account =
    (await firstAccount(ctx.db)) ?? (await createAccount(ctx.db, { name: "My store", slug: "my-store" }));
  const all = await ctx.db.select().from(connections).where(eq(connections.accountId, account.id));
  const existing = all.filter((c) => c.demo && !c.disabledAt);
  if (existing.length === 0 && all.some((c) => !c.demo)) return null;
  if (existing.length === 0 && all.some((c) => c.demo)) return null; // the seller disconnected the demo
  const fresh = all.length === 0;
  const start = new Date(Date.now() - 250 * 3_600_000);
  preparePrivateDir(join(ctx.settings.dataDir, "demo"));
  const stateFile = (id: string) => demoStateFile(ctx.settings.dataDir, id);
  // A fresh install starts fresh stores; a store kept from an earlier database would not match it.
  if (fresh) for (const id of simulatorIds()) rmSync(stateFile(id), { force: true });

  /** Connects (or re-points) one demo connection at its simulator; a fresh one gets a first full sync. */
  async function connect(marketplace: string, sim: RunningSimulator) {
    let conn = existing.find((c) => c.marketplace === marketplace);
    if (!conn && !fresh) return null;
    if (!conn) {
      conn = await insertConnection(ctx.db, ctx.box, {
        accountId: account.id,
        marketplace,
        name: demoName(marketplace),
        baseUrl: sim.baseUrl,
        config: sim.config,
        secrets: sim.secrets,
        demo: true,
        nextSyncAt: new Date(Date.now() + 15 * 60_000),
      });
      await requestSync(ctx, queue, {
        accountId: account.id,
        connectionId: conn.id,
        trigger: "first_import",
        mode: "full",
      });
    } else {
      // The simulator listens on a new port each start; its store is the one kept in the data directory.
      await updateConnection(ctx.db, account.id, conn.id, {
        baseUrl: sim.baseUrl,
        secretsEnc: ctx.box.sealJson(sim.secrets),
        scheduleEnabled: true,
      });
    }
    return conn;
  }

  const stores: { sim: RunningSimulator; conn: Awaited<ReturnType<typeof connect>> }[] = [];
  try {
    for (const id of simulatorIds()) {
      const entry = await loadSimulator(id);
      const opts = { seed: DEMO_SEED, ...entry.demo, start, stateFile: stateFile(id) };
      const sim = await entry.start(opts).catch(async (err) => {
        // A kept store that cannot be read is set aside (not lost) and the store starts again from its seed.
        if (!existsSync(opts.stateFile) || !String(err?.message).includes(opts.stateFile)) throw err;
        const aside = `${opts.stateFile}.unreadable-${Date.now()}`;
        renameSync(opts.stateFile, aside);
        ctx.logger.warn(
          { err, marketplace: id, keptAs: aside },
          "demo store could not be read; starting it again",
        );
        return entry.start(opts);
      });
      stores.push({ sim, conn: null });
      const conn = await connect(id, sim);
      stores[stores.length - 1]!.conn = conn;
      // Marketplaces that ping a URL of ours get the connection's push URL.
      if (conn && getAdapter(id).notices.style === "ping")
        sim.setCallbackUrl(`${serverUrl}/webhooks/${id}/${conn.webhookToken}`);
    }
  } catch (err) {
    for (const s of stores) await s.sim.close().catch(() => {});
    throw err;
  }

  const tick = async () => {
    for (const { sim, conn } of stores) {
      try {
        const { notifiedOrderIds } = await sim.tick();
        // What the marketplace's own notice would cause, without opening its call-out port for the demo.
        if (conn && notifiedOrderIds.length)
          await requestSync(ctx, queue, {
            accountId: account.id,
            connectionId: conn.id,
            trigger: "demo",
            targetIds: notifiedOrderIds,
          });
      } catch (err) {
        ctx.logger.warn({ err, marketplace: sim.marketplace }, "demo store tick failed");
      }
    }
  };
  // A step costs BrickLink ~7 calls (the ping's drain, two per changed order): one every ten minutes
  // spends ~1,100 of its 5,000 a day with the schedule's syncs (bench/bricklink-sync-demo-traffic.ts).
  const timer = setInterval(() => void tick(), opts.tickMs ?? 10 * 60_000);
  timer.unref();
  ctx.logger.info(
    Object.fromEntries(stores.map((s) => [s.sim.marketplace, s.sim.baseUrl])),
    "demo stores running (ORDERHUB_DEMO=0 turns them off)",
  );
  return {
    /** The demo connection of each marketplace (null where the seller removed it). */
    connections: Object.fromEntries(stores.map((s) => [s.sim.marketplace, s.conn?.id ?? null])),
    simulators: Object.fromEntries(stores.map((s) => [s.sim.marketplace, s.sim])),
    async stop() {
      clearInterval(timer);
      for (const s of stores) await s.sim.close();
    },
  };
}

/** With the demo off, its connection stops syncing (the simulator is gone); its orders stay. */
export async function pauseDemoConnections(ctx: AppContext): Promise<void> {
  await ctx.db
    .update(connections)
    .set({ scheduleEnabled: false })
    .where(and(eq(connections.demo, true)));
}
