import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../test/helpers/db.ts";
import { bearer, seedAccount, type TestApi, testApi } from "../../test/helpers/http.ts";
import { outbox, shipments } from "../db/schema.ts";
import {
  type BrickLinkSimulator,
  startBrickLinkSimulator,
} from "../marketplaces/bricklink/simulator/server.ts";
import { requestSync, runSync } from "../sync/engine.ts";
import { dispatchOutbox } from "../sync/outbox.ts";
import { registerPushHandlers } from "../worker.ts";

const clock = new ManualClock("2026-12-02T09:00:00Z");
let api: TestApi;
let bl: BrickLinkSimulator;
let token: string;
let accountId: number;
let connectionId: number;

beforeAll(async () => {
  api = await testApi({ clock });
  registerPushHandlers(api.ctx);
  await api.queue.work("sync.run", async (d) => {
    await runSync(api.ctx, Number(d.runId), { queue: api.queue });
  });
  bl = await startBrickLinkSimulator({ seed: 5, orders: 30 });
  const seeded = await seedAccount(api);
  accountId = seeded.account.id;
  token = seeded.tokens.owner;
  const res = await api.app.inject({
    method: "POST",
    url: "/api/connections",
    headers: bearer(token),
    payload: { marketplace: "bricklink", name: "bl", baseUrl: bl.baseUrl, config: { ...bl.credentials } },
  });
  expect(res.statusCode, res.body).toBe(201);
  connectionId = res.json().connection.id;
  await requestSync(api.ctx, api.queue, { accountId, connectionId, trigger: "manual" });
  await api.queue.runUntilIdle();
});
afterAll(async () => {
  await api?.close();
  await bl?.close();
});

const post = (url: string, payload: object) =>
  api.app.inject({ method: "POST", url, headers: bearer(token), payload });
/** Fresh paid orders, made on the marketplace and synced, for each test. */
async function paid(n = 3): Promise<string[]> {
  const ids = Array.from({ length: n }, () => bl.control.createOrder({ lines: 1, status: "PAID" }));
  await requestSync(api.ctx, api.queue, { accountId, connectionId, trigger: "manual" });
  await api.queue.runUntilIdle();
  return ids.map((id) => `BL-${id}`);
}
const shipmentCount = async () =>
  (await api.ctx.db.select().from(shipments).where(eq(shipments.accountId, accountId))).length;

describe("batch shipping", () => {
  it("ships several orders, each with its own tracking, in one request", async () => {
    const [a, b] = await paid();
    const res = await post("/api/fulfilment/ship-batch", {
      shipments: [
        { order: a, carrier: "DHL", trackingNumber: "B-A" },
        { order: b, trackingNumber: "B-B" },
      ],
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json().pushes.map((p: { calls: string[] }) => p.calls[0])).toEqual([
      expect.stringMatching(/tracking B-A \(DHL\)/),
      expect.stringMatching(/tracking B-B,/),
    ]);
    await dispatchOutbox(api.ctx);
    expect(bl.control.state.orders.get(Number(a!.slice(3)))!.order.shipping?.tracking_no).toBe("B-A");
    expect(bl.control.state.orders.get(Number(b!.slice(3)))!.order.shipping?.tracking_no).toBe("B-B");
  });

  it("asks before replacing the tracking of a shipped order", async () => {
    const [a] = await paid();
    expect((await post("/api/fulfilment/ship", { orders: [a], trackingNumber: "R-1" })).statusCode).toBe(202);
    await dispatchOutbox(api.ctx);
    const dry = await post("/api/fulfilment/ship", { orders: [a], trackingNumber: "R-2", dryRun: true });
    expect(dry.json().pushes[0].replacesTracking).toEqual(["R-1"]);
    const before = await shipmentCount();
    const refused = await post("/api/fulfilment/ship", { orders: [a], trackingNumber: "R-2" });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error).toMatchObject({
      code: "tracking_exists",
      message: expect.stringMatching(new RegExp(`${a} already shipped with tracking R-1`)),
    });
    expect(await shipmentCount()).toBe(before);
    const ok = await post("/api/fulfilment/ship", {
      orders: [a],
      trackingNumber: "R-2",
      replaceTracking: true,
    });
    expect(ok.statusCode, ok.body).toBe(202);
    await dispatchOutbox(api.ctx);
    expect(bl.control.state.orders.get(Number(a!.slice(3)))!.order.shipping?.tracking_no).toBe("R-2");
  });

  it("imports tracking from a CSV all or nothing, naming the bad line", async () => {
    const [a, b, c] = await paid();
    const before = await shipmentCount();
    const pushesBefore = (await api.ctx.db.select().from(outbox).where(eq(outbox.accountId, accountId)))
      .length;
    const bad = `order number,carrier,tracking\n${a},DHL,C-A\nBL-999999999,DHL,C-X\n${b},,C-B\n`;
    const refused = await post("/api/fulfilment/tracking-import", { csv: bad });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.message).toBe('file: line 3: no order "BL-999999999"');
    expect(await shipmentCount()).toBe(before);
    // The same order twice (in any case) is refused, not shipped twice.
    const held = `${a},DHL,C-A\n${b},DHL,C-B\n${b!.toLowerCase()},DHL,C-B2\n`;
    expect((await post("/api/fulfilment/tracking-import", { csv: held })).json().error.message).toMatch(
      /line 3: .* is already on line 2/,
    );
    const good = `order,carrier,tracking\n${a},DHL,C-A\n${b},Royal Mail,C-B\n${c},,https://track.example/C\n`;
    const dry = await post("/api/fulfilment/tracking-import", { csv: good, dryRun: true });
    expect(dry.statusCode, dry.body).toBe(202);
    expect(dry.json()).toMatchObject({ dryRun: true, lines: 3 });
    expect(await shipmentCount()).toBe(before);
    const res = await post("/api/fulfilment/tracking-import", { csv: good });
    expect(res.statusCode, res.body).toBe(202);
    expect(await shipmentCount()).toBe(before + 3);
    expect(
      (
        await api.ctx.db
          .select()
          .from(outbox)
          .where(and(eq(outbox.accountId, accountId)))
      ).length,
    ).toBe(pushesBefore + 3);
  });

  it("a batch with one order that cannot ship writes nothing, and names it", async () => {
    const [a, b] = await paid();
    expect((await post("/api/fulfilment/ship", { orders: [b], trackingNumber: "S-1" })).statusCode).toBe(202);
    await dispatchOutbox(api.ctx);
    const before = await shipmentCount();
    const res = await post("/api/fulfilment/ship-batch", {
      shipments: [
        { order: a, trackingNumber: "S-A" },
        { order: b, trackingNumber: "S-2" },
      ],
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.message).toMatch(new RegExp(`${b} already shipped with tracking S-1`));
    expect(await shipmentCount()).toBe(before);
  });
});
