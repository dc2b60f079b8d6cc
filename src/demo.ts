import { and, eq } from "drizzle-orm";
import type { AppContext } from "./context.ts";
import { createAccount, firstAccount } from "./db/repos/accounts.ts";
import { insertConnection, updateConnection } from "./db/repos/connections.ts";
import { connections } from "./db/schema.ts";
import type { JobQueue } from "./jobs/queue.ts";
import { startBrickLinkSimulator } from "./marketplaces/bricklink/simulator/server.ts";
import { STATUS_FLOW } from "./marketplaces/bricklink/simulator/store.ts";
import { startBrickOwlSimulator } from "./marketplaces/brickowl/simulator/server.ts";
import { requestSync } from "./sync/engine.ts";

export const DEMO_NAME = "Demo BrickLink store";
export const DEMO_BRICKOWL_NAME = "Demo BrickOwl store";

/**
 * Demo mode: in-process BrickLink and BrickOwl simulators with realistic stores (the BrickOwl lots
 * mirror the BrickLink ones), connected as clearly labelled demo connections, where new orders
 * arrive and open ones move on every minute. It starts only on a fresh install (or where the demo
 * already runs), never beside real connections.
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

  /** Connects (or re-points) one demo connection at its simulator; a fresh one gets a first full sync. */
  async function connect(
    marketplace: "bricklink" | "brickowl",
    name: string,
    baseUrl: string,
    secrets: Record<string, string>,
    config: Record<string, string> = {},
  ) {
    let conn = existing.find((c) => c.marketplace === marketplace);
    if (!conn && !fresh) return null;
    if (!conn) {
      conn = await insertConnection(ctx.db, ctx.box, {
        accountId: account.id,
        marketplace,
        name,
        baseUrl,
        config,
        secrets,
        demo: true,
        nextSyncAt: new Date(Date.now() + 15 * 60_000),
      });
      await requestSync(ctx, queue, {
        accountId: account.id,
        connectionId: conn.id,
        trigger: "manual",
        mode: "full",
      });
    } else {
      // The simulator listens on a new port each start; its store is rebuilt from the same seed.
      await updateConnection(ctx.db, account.id, conn.id, {
        baseUrl,
        secretsEnc: ctx.box.sealJson(secrets),
        scheduleEnabled: true,
      });
    }
    return conn;
  }

  const sim = await startBrickLinkSimulator({ seed: 2026, orders: 250, lines: 6, start });
  const owl = await startBrickOwlSimulator({ seed: 2026, orders: 120, lines: 5, start });
  const bl = await connect("bricklink", DEMO_NAME, sim.baseUrl, { ...sim.credentials });
  const bo = await connect(
    "brickowl",
    DEMO_BRICKOWL_NAME,
    owl.baseUrl,
    { apiKey: owl.apiKey },
    {
      storeId: owl.control.state.storeId,
    },
  );
  if (bl) sim.control.state.callbackUrl = `${serverUrl}/webhooks/bricklink/${bl.webhookToken}`;

  const tick = async () => {
    try {
      sim.control.createOrder({ lines: 2 + Math.floor(Math.random() * 8) });
      const open = [...sim.control.state.orders.values()].filter(
        (o) =>
          o.direction === "in" &&
          !o.order.is_filed &&
          STATUS_FLOW.indexOf(o.order.status) >= 0 &&
          o.order.status !== "COMPLETED",
      );
      for (let i = 0; i < 2 && open.length; i++) {
        const o = open.splice(Math.floor(Math.random() * open.length), 1)[0]!;
        const next = STATUS_FLOW[STATUS_FLOW.indexOf(o.order.status) + 1];
        if (next) sim.control.setStatus(o.order.order_id, next);
      }
      if (bo && Math.random() < 0.5) {
        const id = owl.control.createOrder({ lines: 1 + Math.floor(Math.random() * 6) });
        // What BrickOwl's order/notify call-out would cause, without opening port 42500 for the demo.
        await requestSync(ctx, queue, {
          accountId: account.id,
          connectionId: bo.id,
          trigger: "webhook",
          targetIds: [id],
        });
      }
    } catch (err) {
      ctx.logger.warn({ err }, "demo store tick failed");
    }
  };
  const timer = setInterval(() => void tick(), opts.tickMs ?? 60_000);
  timer.unref();
  ctx.logger.info(
    { bricklink: sim.baseUrl, brickowl: owl.baseUrl },
    "demo BrickLink and BrickOwl stores running (ORDERHUB_DEMO=0 turns them off)",
  );
  return {
    connectionId: bl?.id ?? null,
    brickowlConnectionId: bo?.id ?? null,
    simulator: sim,
    brickowlSimulator: owl,
    async stop() {
      clearInterval(timer);
      await sim.close();
      await owl.close();
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
