import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../test/helpers/db.ts";
import { bearer, seedAccount, type TestApi, testApi } from "../../test/helpers/http.ts";
import { findOrderId, getOrderDetail } from "../db/repos/orders.ts";
import { orders, outbox } from "../db/schema.ts";
import {
  type BrickLinkSimulator,
  startBrickLinkSimulator,
} from "../marketplaces/bricklink/simulator/server.ts";
import { type BrickOwlSimulator, startBrickOwlSimulator } from "../marketplaces/brickowl/simulator/server.ts";
import { requestSync, runSync } from "../sync/engine.ts";
import { dispatchOutbox } from "../sync/outbox.ts";
import { registerPushHandlers } from "../worker.ts";

const clock = new ManualClock("2026-11-22T10:00:00Z");
let api: TestApi;
let bl: BrickLinkSimulator;
let bo: BrickOwlSimulator;
let token: string;
let accountId: number;
const conns: Record<string, number> = {};

beforeAll(async () => {
  api = await testApi({ clock });
  registerPushHandlers(api.ctx);
  await api.queue.work("sync.run", async (d) => {
    await runSync(api.ctx, Number(d.runId), { queue: api.queue });
  });
  bl = await startBrickLinkSimulator({ seed: 31, orders: 160 });
  bo = await startBrickOwlSimulator({ seed: 31, orders: 150 });
  const seeded = await seedAccount(api);
  accountId = seeded.account.id;
  token = seeded.tokens.owner;
  for (const [marketplace, baseUrl, config] of [
    ["bricklink", bl.baseUrl, { ...bl.credentials }],
    ["brickowl", bo.baseUrl, { apiKey: bo.apiKey }],
  ] as const) {
    const res = await api.app.inject({
      method: "POST",
      url: "/api/connections",
      headers: bearer(token),
      payload: { marketplace, name: marketplace, baseUrl, config },
    });
    expect(res.statusCode, res.body).toBe(201);
    conns[marketplace] = res.json().connection.id;
    await requestSync(api.ctx, api.queue, {
      accountId,
      connectionId: conns[marketplace]!,
      trigger: "manual",
    });
  }
  await api.queue.runUntilIdle();
});
afterAll(async () => {
  await api.close();
  await bl.close();
  await bo.close();
});

const post = (url: string, payload: object) =>
  api.app.inject({ method: "POST", url, headers: bearer(token), payload });
const detail = async (number: string) =>
  (await getOrderDetail(api.ctx.db, accountId, (await findOrderId(api.ctx.db, accountId, number))!))!;
/** Sends what is due; then lets time pass and sends again, until nothing is left or `rounds` ran out. */
async function settle(rounds = 6) {
  const total = { sent: 0, retried: 0, failed: 0 };
  for (let i = 0; i < rounds; i++) {
    const r = await dispatchOutbox(api.ctx);
    total.sent += r.sent;
    total.retried += r.retried;
    total.failed += r.failed;
    const left = await api.ctx.db.select().from(outbox).where(eq(outbox.status, "pending"));
    if (left.length === 0) break;
    clock.advance(10 * 60_000);
  }
  return total;
}
const blOrders = (status: string) =>
  [...bl.control.state.orders.values()]
    .filter((o) => o.direction === "in" && !o.order.is_filed && o.order.status === status)
    .map((o) => o.order.order_id);
const boOrders = (statusId: number) =>
  [...bo.control.state.orders.values()]
    .filter((o) => Number(o.order.status_id) === statusId)
    .map((o) => String(o.order.order_id));

async function syncBoth() {
  for (const id of Object.values(conns))
    await requestSync(api.ctx, api.queue, { accountId, connectionId: id, trigger: "manual" });
  await api.queue.runUntilIdle();
}

describe("mark shipped and set status, pushed through the outbox", () => {
  it("ships one BrickLink order: tracking and SHIPPED land on BrickLink, the timeline shows our action and the confirmation, the next sync adds nothing", async () => {
    const id = blOrders("PAID")[0]!;
    const res = await post("/api/fulfilment/ship", {
      orders: [`BL-${id}`],
      carrier: "DHL",
      trackingNumber: "JJD000390007",
      shippedAt: "2026-11-22",
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json().pushes[0].calls).toEqual([
      "BrickLink: tracking JJD000390007 (DHL), shipped 2026-11-22",
      "BrickLink: status → SHIPPED",
    ]);
    expect(await settle()).toMatchObject({ sent: 1, failed: 0 });
    const sim = bl.control.state.orders.get(id)!.order;
    expect(sim.status).toBe("SHIPPED");
    expect(sim.shipping?.tracking_no).toBe("JJD000390007");
    const d = await detail(`BL-${id}`);
    expect(d.order).toMatchObject({
      status: "shipped",
      rawStatus: "SHIPPED",
      trackingNumbers: ["JJD000390007"],
    });
    const kinds = d.events.map((e) => `${e.kind}:${e.source.split(":")[0]}`);
    expect(kinds.slice(-3)).toEqual([
      "ship_requested:user",
      "push_sent:marketplace",
      "status_changed:marketplace",
    ]);
    const before = d.events.length;
    await syncBoth();
    expect((await detail(`BL-${id}`)).events.length).toBe(before);
    const view = await api.app.inject({ method: "GET", url: `/api/orders/BL-${id}`, headers: bearer(token) });
    expect(view.json().order.pushes[0]).toMatchObject({
      state: "sent",
      marketplace: "bricklink",
      stepsDone: 2,
    });
  });

  it("ships 50 orders across BrickLink and BrickOwl; both simulators hold every tracking number and status", async () => {
    const blIds = ["PACKED", "PAID", "READY", "PROCESSING", "PENDING", "UPDATED"]
      .flatMap(blOrders)
      .slice(0, 25);
    const boIds = [3, 2, 4, 1].flatMap(boOrders).slice(0, 25);
    expect(blIds.length + boIds.length).toBe(50);
    const refs = [...blIds.map((i) => `BL-${i}`), ...boIds.map((i) => `BO-${i}`)];
    const res = await post("/api/fulfilment/ship", { orders: refs, trackingNumber: "RR000000050GB" });
    expect(res.statusCode, res.body).toBe(202);
    expect(await settle()).toMatchObject({ sent: 50, failed: 0 });
    for (const i of blIds) expect(bl.control.state.orders.get(i)!.order).toMatchObject({ status: "SHIPPED" });
    for (const i of boIds)
      expect(bo.control.state.orders.get(i)!.order).toMatchObject({
        status: "Shipped",
        tracking_number: "RR000000050GB",
      });
    // The same request again pushes nothing new.
    const again = await post("/api/fulfilment/ship", { orders: refs, trackingNumber: "RR000000050GB" });
    expect(
      again
        .json()
        .pushes.every((p: { duplicate?: boolean; calls: string[] }) => p.duplicate || p.calls.length === 1),
    ).toBe(true);
  });

  it("a status BrickLink refuses becomes the marketplace's reason on the order, with no retries", async () => {
    const id = blOrders("COMPLETED")[0]!;
    const res = await post("/api/fulfilment/status", { orders: [`BL-${id}`], status: "packed" });
    expect(res.statusCode, res.body).toBe(202);
    expect(await settle()).toMatchObject({ failed: 1, sent: 0 });
    const [push] = await api.ctx.db.select().from(outbox).where(eq(outbox.id, res.json().pushes[0].pushId));
    expect(push).toMatchObject({ status: "failed", attempts: 1 });
    expect(push!.lastError).toMatch(/cannot change from COMPLETED to PACKED/);
    const d = await detail(`BL-${id}`);
    expect(d.events.at(-1)).toMatchObject({ kind: "push_failed", source: "system" });
    expect(bl.control.state.orders.get(id)!.order.status).toBe("COMPLETED");
  });

  it("refuses statuses a marketplace does not take, naming the allowed ones; dry run writes nothing", async () => {
    const bad = await post("/api/fulfilment/status", {
      orders: [`BO-${boOrders(2)[0]}`],
      status: "Cancelled",
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toMatch(/BrickOwl does not let a seller set "Cancelled".*On Hold/);
    const before = (await api.ctx.db.select().from(outbox)).length;
    const dry = await post("/api/fulfilment/status", {
      orders: [`BO-${boOrders(2)[0]}`],
      status: "4",
      dryRun: true,
    });
    expect(dry.json().pushes[0].calls).toEqual(["BrickOwl: status → Processed"]);
    expect((await api.ctx.db.select().from(outbox)).length).toBe(before);
  });

  it("a 5xx is retried and lands once; a write cut off after BrickOwl applied it is read back, not repeated", async () => {
    const blId = ["PAID", "PACKED", "READY", "PROCESSING", "PENDING", "UPDATED"].flatMap(blOrders)[0]!;
    bl.control.fault("server_error", 1, { path: `/orders/${blId}/status` });
    const queued = await post("/api/fulfilment/status", { orders: [`BL-${blId}`], status: "SHIPPED" });
    expect(queued.statusCode, queued.body).toBe(202);
    const r1 = await settle();
    expect(r1).toMatchObject({ retried: 1, sent: 1, failed: 0 });
    expect(bl.control.state.orders.get(blId)!.order.status).toBe("SHIPPED");

    const boId = [2, 1, 3].flatMap(boOrders)[0]!;
    bo.control.fault("drop_after_apply", 1, { path: "order/set_status" });
    const writes = () =>
      bo.control.state.writes.filter((w) => w.path === "order/set_status" && w.params.order_id === boId)
        .length;
    await post("/api/fulfilment/status", { orders: [`BO-${boId}`], status: "Processed" });
    const r2 = await settle();
    expect(r2).toMatchObject({ sent: 1, failed: 0 });
    expect(writes()).toBe(1);
    expect((await detail(`BO-${boId}`)).order).toMatchObject({
      rawStatus: "Processed",
      status: "processing",
    });
  });

  it("a push claimed by a process that died is sent after its lease runs out", async () => {
    const id = boOrders(3)[0] ?? boOrders(2)[0]!;
    const res = await post("/api/fulfilment/ship", { orders: [`BO-${id}`], trackingNumber: "LEASE1" });
    const pushId = res.json().pushes[0].pushId as number;
    // What a claim leaves behind when the process is killed right after it.
    await api.ctx.db
      .update(outbox)
      .set({ status: "sending", attempts: 1, nextAttemptAt: new Date(clock.now().getTime() + 120_000) })
      .where(eq(outbox.id, pushId));
    expect(await dispatchOutbox(api.ctx)).toMatchObject({ sent: 0 });
    clock.advance(121_000);
    expect(await dispatchOutbox(api.ctx)).toMatchObject({ sent: 1 });
    expect(bo.control.state.orders.get(id)!.order.tracking_number).toBe("LEASE1");
  });

  it("a combined shipment pushes one tracking number to a BrickLink and a BrickOwl order of the same buyer", async () => {
    const [a] = await api.ctx.db.select().from(orders).where(eq(orders.marketplace, "bricklink")).limit(1);
    const [b] = await api.ctx.db.select().from(orders).where(eq(orders.marketplace, "brickowl")).limit(1);
    const refused = await post("/api/fulfilment/ship", {
      orders: [a!.number, b!.number],
      trackingNumber: "PARCEL1",
      combine: true,
    });
    if (JSON.stringify(a!.shippingAddress) !== JSON.stringify(b!.shippingAddress)) {
      // Different people: refused, naming the orders.
      expect(refused.statusCode).toBe(400);
      expect(refused.json().error.message).toMatch(/different recipients/);
    }
    // Same buyer on both marketplaces.
    await api.ctx.db.update(orders).set({ shippingAddress: a!.shippingAddress }).where(eq(orders.id, b!.id));
    const ok = await post("/api/fulfilment/ship", {
      orders: [a!.number, b!.number],
      trackingNumber: "PARCEL2",
      combine: true,
      setStatus: false,
    });
    expect(ok.statusCode, ok.body).toBe(202);
    expect(await settle()).toMatchObject({ failed: 0 });
    expect(bl.control.state.orders.get(Number(a!.externalId))!.order.shipping?.tracking_no).toBe("PARCEL2");
    expect(bo.control.state.orders.get(b!.externalId)!.order.tracking_number).toBe("PARCEL2");
    expect(
      (await detail(b!.number)).events.find(
        (e) => e.kind === "ship_requested" && (e.detail as { combinedWith?: string[] }).combinedWith,
      ),
    ).toBeDefined();
  });

  it("a push committed just before the process stops is sent by the next process from the persisted job", async () => {
    const id = [2, 1, 3, 4].flatMap(boOrders)[0]!;
    const res = await post("/api/fulfilment/ship", {
      orders: [`BO-${id}`],
      trackingNumber: "RESTART1",
      setStatus: false,
    });
    expect(res.statusCode, res.body).toBe(202);
    // "Restart": a new queue and worker in the same database; the dispatch job sent with the push runs.
    const { JobQueue } = await import("../jobs/queue.ts");
    const { startWorker } = await import("../worker.ts");
    const q2 = await JobQueue.start(api.ctx, { work: false });
    const w = await startWorker(api.ctx, q2, { scheduler: false });
    try {
      await q2.runUntilIdle();
    } finally {
      await w.stop();
      await q2.stop();
    }
    expect(bo.control.state.orders.get(id)!.order.tracking_number).toBe("RESTART1");
  });

  it("Drive Thru follows the connection's default unless the action says otherwise", async () => {
    const patch = await api.app.inject({
      method: "PATCH",
      url: `/api/connections/${conns.bricklink}`,
      headers: bearer(token),
      payload: { config: { driveThru: "true" } },
    });
    expect(patch.statusCode, patch.body).toBe(200);
    const [a, b] = ["PAID", "PACKED", "READY", "PROCESSING", "PENDING", "UPDATED"].flatMap(blOrders);
    const withDefault = await post("/api/fulfilment/ship", { orders: [`BL-${a}`], trackingNumber: "DT1" });
    expect(withDefault.json().pushes[0].calls.at(-1)).toBe("BrickLink: Drive Thru e-mail to the buyer");
    await post("/api/fulfilment/ship", { orders: [`BL-${b}`], trackingNumber: "DT2", driveThru: false });
    expect(await settle()).toMatchObject({ failed: 0 });
    expect(bl.control.state.orders.get(a!)!.order.drive_thru_sent).toBe(true);
    expect(bl.control.state.orders.get(b!)!.order.drive_thru_sent).toBeFalsy();
  });

  it("whole-order marketplaces refuse lines with the reason; a whole-order shipment records every line; unsafe links are refused", async () => {
    const id = ["PAID", "PACKED", "READY", "PROCESSING", "PENDING", "UPDATED"].flatMap(blOrders)[0]!;
    const boId = [2, 1, 3, 4].flatMap(boOrders)[0]!;
    const d = await detail(`BL-${id}`);
    for (const ref of [`BL-${id}`, `BO-${boId}`]) {
      const lines = (await detail(ref)).lines;
      const refused = await post("/api/fulfilment/ship", {
        orders: [ref],
        trackingNumber: "PARTIAL1",
        lines: [{ lineId: lines[0]!.id, quantity: 1 }],
      });
      expect(refused.statusCode).toBe(400);
      expect(refused.json().error.message).toMatch(
        `${ref}: ${ref.startsWith("BL") ? "BrickLink" : "BrickOwl"} ships whole orders only (no partial shipment by line)`,
      );
    }
    for (const trackingUrl of ["javascript:alert(document.cookie)", "data:text/html;base64,PHNjcmlwdD4="]) {
      const bad = await post("/api/fulfilment/ship", { orders: [`BL-${id}`], trackingUrl });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.message).toMatch(/^body\.trackingUrl: must be an http:\/\/ or https:\/\/ link/);
    }
    const ok = await post("/api/fulfilment/ship", {
      orders: [`BL-${id}`],
      trackingUrl: "https://www.dhl.de/track?id=1",
      setStatus: false,
    });
    expect(ok.statusCode, ok.body).toBe(202);
    expect(await settle()).toMatchObject({ failed: 0 });
    expect(bl.control.state.orders.get(id)!.order.shipping?.tracking_link).toBe(
      "https://www.dhl.de/track?id=1",
    );
    const view = await api.app.inject({ method: "GET", url: `/api/orders/BL-${id}`, headers: bearer(token) });
    const [shipment] = view.json().order.shipments;
    expect(shipment).toMatchObject({
      trackingUrl: "https://www.dhl.de/track?id=1",
      state: "sent",
      push: { state: "sent" },
    });
    expect(shipment.lines.map((l: { lineId: number; quantity: number }) => [l.lineId, l.quantity])).toEqual(
      d.lines.filter((l) => !l.removedAt).map((l) => [l.id, l.quantity]),
    );
  });

  it("a BrickLink tracking update whose answer was lost is read back, not sent again", async () => {
    const id = ["PAID", "PACKED", "READY", "PROCESSING", "PENDING", "UPDATED"].flatMap(blOrders)[0]!;
    const puts = () => bl.control.state.calls.byPath.get("PUT /api/store/v1/orders/{id}") ?? 0;
    const before = puts();
    bl.control.fault("drop_after_apply", 1, { path: `/orders/${id}` });
    const res = await post("/api/fulfilment/ship", { orders: [`BL-${id}`], trackingNumber: "BLLOST1" });
    expect(res.statusCode, res.body).toBe(202);
    expect(await settle()).toMatchObject({ sent: 1, retried: 1, failed: 0 });
    expect(puts() - before).toBe(1);
    expect(bl.control.state.orders.get(id)!.order).toMatchObject({
      status: "SHIPPED",
      shipping: { tracking_no: "BLLOST1" },
    });
  });

  it("internal notes and tags stay local and show on the timeline", async () => {
    const [o] = await api.ctx.db.select().from(orders).limit(1);
    const res = await api.app.inject({
      method: "PATCH",
      url: `/api/orders/${o!.number}`,
      headers: bearer(token),
      payload: { internalNote: "Bag the small parts", tags: ["gift", "gift", "fragile"] },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().order).toMatchObject({
      internalNote: "Bag the small parts",
      tags: ["gift", "fragile"],
    });
    expect((await detail(o!.number)).events.at(-1)).toMatchObject({ kind: "note" });
  });
});
