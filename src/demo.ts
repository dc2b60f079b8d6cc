import { and, eq } from "drizzle-orm";
import type { AppContext } from "./context.ts";
import { createAccount, firstAccount } from "./db/repos/accounts.ts";
import { insertConnection, updateConnection } from "./db/repos/connections.ts";
import { connections } from "./db/schema.ts";
import type { JobQueue } from "./jobs/queue.ts";
import { startBrickLinkSimulator } from "./marketplaces/bricklink/simulator/server.ts";
import { STATUS_FLOW } from "./marketplaces/bricklink/simulator/store.ts";
import { requestSync } from "./sync/engine.ts";

export const DEMO_NAME = "Demo BrickLink store";

/**
 * Demo mode: an in-process BrickLink simulator with a realistic store, connected as a clearly
 * labelled demo connection, where new orders arrive and open ones move on every minute. It starts
 * only on a fresh install (or where the demo already runs), never beside real connections.
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
  const existing = all.find((c) => c.demo && !c.disabledAt);
  if (!existing && all.some((c) => !c.demo)) return null;
  if (existing === undefined && all.some((c) => c.demo)) return null; // the seller disconnected the demo

  const sim = await startBrickLinkSimulator({
    seed: 2026,
    orders: 250,
    lines: 6,
    start: new Date(Date.now() - 250 * 3_600_000),
  });
  let conn = existing;
  if (!conn) {
    conn = await insertConnection(ctx.db, ctx.box, {
      accountId: account.id,
      marketplace: "bricklink",
      name: DEMO_NAME,
      baseUrl: sim.baseUrl,
      config: {},
      secrets: { ...sim.credentials },
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
      baseUrl: sim.baseUrl,
      secretsEnc: ctx.box.sealJson({ ...sim.credentials }),
      scheduleEnabled: true,
    });
  }
  sim.control.state.callbackUrl = `${serverUrl}/webhooks/bricklink/${conn.webhookToken}`;
  const demoId = conn.id;

  const tick = () => {
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
    } catch (err) {
      ctx.logger.warn({ err }, "demo store tick failed");
    }
  };
  const timer = setInterval(tick, opts.tickMs ?? 60_000);
  timer.unref();
  ctx.logger.info(
    { connectionId: demoId, simulator: sim.baseUrl },
    "demo BrickLink store running (ORDERHUB_DEMO=0 turns it off)",
  );
  return {
    connectionId: demoId,
    simulator: sim,
    async stop() {
      clearInterval(timer);
      await sim.close();
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
