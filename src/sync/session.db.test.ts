import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../test/helpers/db.ts";
import { bearer, seedAccount, type TestApi, testApi } from "../../test/helpers/http.ts";
import { apiUsage, inventoryLots } from "../db/schema.ts";
import {
  type BrickLinkSimulator,
  startBrickLinkSimulator,
} from "../marketplaces/bricklink/simulator/server.ts";
import { registerPushHandlers } from "../worker.ts";
import { requestSync, runSync } from "./engine.ts";
import { dispatchOutbox } from "./outbox.ts";

const clock = new ManualClock("2026-11-22T10:00:00Z");
let api: TestApi;
let bl: BrickLinkSimulator;

beforeAll(async () => {
  api = await testApi({ clock });
  registerPushHandlers(api.ctx);
  await api.queue.work("sync.run", async (d) => {
    await runSync(api.ctx, Number(d.runId), { queue: api.queue });
  });
  bl = await startBrickLinkSimulator({ seed: 44, orders: 20 });
});
afterAll(async () => {
  await api.close();
  await bl.close();
});

describe("adapter sessions", () => {
  it("the outbox counts each push as what it is: stock as stock, fulfilment as fulfilment", async () => {
    const { account, tokens } = await seedAccount(api);
    const post = (url: string, payload: object) =>
      api.app.inject({ method: "POST", url, headers: bearer(tokens.owner), payload });
    const conn = await post("/api/connections", {
      marketplace: "bricklink",
      name: "BL",
      baseUrl: bl.baseUrl,
      config: { ...bl.credentials },
    });
    expect(conn.statusCode, conn.body).toBe(201);
    const connectionId = conn.json().connection.id as number;
    await requestSync(api.ctx, api.queue, { accountId: account.id, connectionId, trigger: "manual" });
    await api.queue.runUntilIdle();
    expect((await post("/api/inventory/import", { connectionId })).statusCode).toBe(200);
    const [lot] = await api.ctx.db
      .select()
      .from(inventoryLots)
      .where(eq(inventoryLots.accountId, account.id))
      .limit(1);
    // One stock push (the adjustment) claimed first, then one fulfilment push on the same connection.
    expect(
      (await post(`/api/inventory/lots/${lot!.id}/adjust`, { by: -1, reason: "damaged" })).statusCode,
    ).toBe(200);
    const open = [...bl.control.state.orders.values()].find(
      (o) => o.direction === "in" && o.order.status === "PAID",
    );
    const ship = await post("/api/fulfilment/ship", {
      orders: [`BL-${open!.order.order_id}`],
      trackingNumber: "JJD000111",
      setStatus: false,
    });
    expect(ship.statusCode, ship.body).toBe(202);
    const before = await usage(connectionId);
    const r = await dispatchOutbox(api.ctx);
    expect(r).toMatchObject({ sent: 2, failed: 0 });
    const after = await usage(connectionId);
    expect((after.stock ?? 0) - (before.stock ?? 0)).toBeGreaterThan(0);
    expect((after.fulfilment ?? 0) - (before.fulfilment ?? 0)).toBeGreaterThan(0);
  });
});

async function usage(connectionId: number): Promise<Record<string, number>> {
  const rows = await api.ctx.db
    .select({ category: apiUsage.category, calls: apiUsage.calls })
    .from(apiUsage)
    .where(and(eq(apiUsage.connectionId, connectionId)));
  const out: Record<string, number> = {};
  for (const r of rows) out[r.category] = (out[r.category] ?? 0) + r.calls;
  return out;
}
