import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../test/helpers/db.ts";
import { bearer, seedAccount, type TestApi, testApi } from "../../test/helpers/http.ts";
import { findOrderId, getOrderDetail } from "../db/repos/orders.ts";
import { outbox } from "../db/schema.ts";
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
let tokens: Record<"owner" | "staff" | "picker", string>;
let accountId: number;
let connectionId: number;

beforeAll(async () => {
  api = await testApi({ clock });
  registerPushHandlers(api.ctx);
  await api.queue.work("sync.run", async (d) => {
    await runSync(api.ctx, Number(d.runId), { queue: api.queue });
  });
  bl = await startBrickLinkSimulator({ seed: 44, orders: 80 });
  const seeded = await seedAccount(api);
  accountId = seeded.account.id;
  tokens = seeded.tokens;
  const res = await api.app.inject({
    method: "POST",
    url: "/api/connections",
    headers: bearer(tokens.owner),
    payload: { marketplace: "bricklink", name: "BL", baseUrl: bl.baseUrl, config: { ...bl.credentials } },
  });
  expect(res.statusCode, res.body).toBe(201);
  connectionId = res.json().connection.id;
  await sync();
});
afterAll(async () => {
  await api.close();
  await bl.close();
});

async function sync() {
  clock.advance(60_000);
  await requestSync(api.ctx, api.queue, { accountId, connectionId, trigger: "manual" });
  await api.queue.runUntilIdle();
}
const call = (method: "GET" | "POST", url: string, role: keyof typeof tokens = "owner") =>
  api.app.inject({
    method,
    url,
    headers: bearer(tokens[role]),
    ...(method === "POST" ? { payload: {} } : {}),
  });
const detail = async (number: string) =>
  (await getOrderDetail(api.ctx.db, accountId, (await findOrderId(api.ctx.db, accountId, number))!))!;
const blOrders = (status: string) =>
  [...bl.control.state.orders.values()]
    .filter((o) => o.direction === "in" && !o.order.is_filed && o.order.status === status)
    .map((o) => o.order.order_id);

describe("a marketplace reporting an older status than ours", () => {
  let id: number;
  let claimedAt: string;

  it("keeps our shipped state, records the claim on the timeline and flags the order for review", async () => {
    id = blOrders("PAID")[0]!;
    const ship = await api.app.inject({
      method: "POST",
      url: "/api/fulfilment/ship",
      headers: bearer(tokens.owner),
      payload: {
        orders: [`BL-${id}`],
        carrier: "DHL",
        trackingNumber: "JJD000390099",
        shippedAt: "2026-11-22",
      },
    });
    expect(ship.statusCode, ship.body).toBe(202);
    for (let i = 0; i < 6; i++) {
      await dispatchOutbox(api.ctx);
      if ((await api.ctx.db.select().from(outbox).where(eq(outbox.status, "pending"))).length === 0) break;
      clock.advance(10 * 60_000);
    }
    expect(bl.control.state.orders.get(id)!.order.status).toBe("SHIPPED");
    expect((await detail(`BL-${id}`)).order).toMatchObject({ status: "shipped", rawStatus: "SHIPPED" });

    // The store forgets our shipment (a restored store, a change on the website): it says PAID again.
    clock.advance(5 * 60_000);
    bl.control.state.now = () => clock.now();
    bl.control.setStatus(id, "PAID");
    claimedAt = bl.control.state.orders.get(id)!.order.date_status_changed;
    await sync();

    const d = await detail(`BL-${id}`);
    expect(d.order).toMatchObject({
      status: "shipped",
      rawStatus: "SHIPPED",
      trackingNumbers: ["JJD000390099"],
      needsReview: true,
    });
    expect(d.order.review).toMatchObject({
      reason: "backward_status",
      claimedStatus: "processing",
      claimedRawStatus: "PAID",
      keptStatus: "shipped",
      keptRawStatus: "SHIPPED",
      marketplaceAt: new Date(claimedAt).toISOString(),
    });
    const last = d.events.at(-1)!;
    expect(last).toMatchObject({
      kind: "status_refused",
      fromStatus: "shipped",
      toStatus: "processing",
      rawStatus: "PAID",
      source: "marketplace:bricklink",
    });
    expect(last.marketplaceAt?.toISOString()).toBe(new Date(claimedAt).toISOString());
    expect(last.at.toISOString()).toBe(clock.now().toISOString());
  });

  it("does not record the same claim again on the next sync", async () => {
    const before = (await detail(`BL-${id}`)).events.length;
    await sync();
    const d = await detail(`BL-${id}`);
    expect(d.events.length).toBe(before);
    expect(d.order.status).toBe("shipped");
  });

  it("orders the timeline by when Orderhub learnt each event, with the marketplace's time beside it", async () => {
    const res = await call("GET", `/api/orders/BL-${id}`);
    expect(res.statusCode, res.body).toBe(200);
    const events = res.json().order.events as { kind: string; at: string; marketplaceAt: string | null }[];
    const learnt = events.map((e) => Date.parse(e.at));
    expect(learnt).toEqual([...learnt].sort((a, b) => a - b));
    const created = events.find((e) => e.kind === "created")!;
    // Placed on the marketplace long before Orderhub imported it: shown beside, not used to sort.
    expect(Date.parse(created.marketplaceAt!)).toBeLessThan(Date.parse(created.at));
    expect(events.at(-1)).toMatchObject({ kind: "status_refused" });
  });

  it("the orders list shows the flag and filters on needsReview", async () => {
    const flagged = await call("GET", "/api/orders?needsReview=true");
    expect(flagged.statusCode, flagged.body).toBe(200);
    expect(flagged.json().orders.map((o: { number: string }) => o.number)).toEqual([`BL-${id}`]);
    expect(flagged.json().total).toBe(1);
    expect(flagged.json().orders[0].needsReview).toBe(true);
    const rest = await call("GET", "/api/orders?needsReview=false&pageSize=500");
    expect(rest.json().orders.some((o: { number: string }) => o.number === `BL-${id}`)).toBe(false);
    expect(rest.json().total + 1).toBe((await call("GET", "/api/orders")).json().total);
    const bad = await call("GET", "/api/orders?needsReview=yes");
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toMatch(/needsReview/);
  });

  it("a forward move still applies, without a flag", async () => {
    const other = blOrders("PAID").find((o) => o !== id)!;
    bl.control.setStatus(other, "SHIPPED");
    await sync();
    const d = await detail(`BL-${other}`);
    expect(d.order).toMatchObject({ status: "shipped", rawStatus: "SHIPPED", needsReview: false });
    expect(d.events.at(-1)).toMatchObject({ kind: "status_changed", rawStatus: "SHIPPED" });
  });

  it("a seller clears the flag: our status stays and the clearing is on the timeline", async () => {
    expect((await call("POST", `/api/orders/BL-${id}/review/clear`, "picker")).statusCode).toBe(403);
    const res = await call("POST", `/api/orders/BL-${id}/review/clear`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ cleared: true, needsReview: false });
    const d = await detail(`BL-${id}`);
    expect(d.order).toMatchObject({ status: "shipped", needsReview: false, review: null });
    expect(d.events.at(-1)).toMatchObject({ kind: "review_cleared", source: expect.stringMatching(/^user/) });
    expect(d.events.some((e) => e.kind === "status_refused")).toBe(true);
    const again = await call("POST", `/api/orders/BL-${id}/review/clear`);
    expect(again.json()).toMatchObject({ cleared: false });
    expect((await call("GET", "/api/orders?needsReview=true")).json().total).toBe(0);
    expect((await call("POST", "/api/orders/BL-1/review/clear")).statusCode).toBe(404);
  });
});
