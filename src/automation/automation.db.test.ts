import { and, count, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../test/helpers/db.ts";
import { bearer, seedAccount, type TestApi, testApi } from "../../test/helpers/http.ts";
import { findOrderId, getOrderDetail } from "../db/repos/orders.ts";
import { automationRuns, orderEvents, orders, outbox } from "../db/schema.ts";
import {
  type BrickLinkSimulator,
  startBrickLinkSimulator,
} from "../marketplaces/bricklink/simulator/server.ts";
import { type BrickOwlSimulator, startBrickOwlSimulator } from "../marketplaces/brickowl/simulator/server.ts";
import { requestSync, runSync } from "../sync/engine.ts";
import { dispatchOutbox } from "../sync/outbox.ts";
import { registerPushHandlers } from "../worker.ts";
import { runRules } from "./run.ts";

const clock = new ManualClock("2026-12-01T09:00:00Z");
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
  bl = await startBrickLinkSimulator({ seed: 71, orders: 12 });
  bo = await startBrickOwlSimulator({ seed: 71, orders: 12 });
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
  }
  await syncAll();
});
afterAll(async () => {
  await api?.close();
  await bl?.close();
  await bo?.close();
});

async function syncAll() {
  for (const id of Object.values(conns))
    await requestSync(api.ctx, api.queue, { accountId, connectionId: id, trigger: "manual" });
  await api.queue.runUntilIdle();
}
const call = (method: "GET" | "POST" | "PATCH" | "DELETE" | "PUT", url: string, payload?: object) =>
  api.app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });
const detail = async (number: string) =>
  (await getOrderDetail(api.ctx.db, accountId, (await findOrderId(api.ctx.db, accountId, number))!))!;
const ruleEvents = (d: Awaited<ReturnType<typeof detail>>, ruleId: number) =>
  d.events.filter((e) => e.kind === "automation" && e.source === `rule:${ruleId}`);
async function settle(rounds = 6) {
  for (let i = 0; i < rounds; i++) {
    await dispatchOutbox(api.ctx);
    const left = await api.ctx.db.select().from(outbox).where(eq(outbox.status, "pending"));
    if (left.length === 0) break;
    clock.advance(10 * 60_000);
  }
}
async function createRule(body: object): Promise<number> {
  const res = await call("POST", "/api/rules", body);
  expect(res.statusCode, res.body).toBe(201);
  return res.json().rule.id;
}
const disable = (id: number) => call("PATCH", `/api/rules/${id}`, { enabled: false });

async function counts() {
  const [o] = await api.ctx.db
    .select({ n: count() })
    .from(orders)
    .where(and(eq(orders.accountId, accountId), eq(orders.onHold, true)));
  const [e] = await api.ctx.db
    .select({ n: count() })
    .from(orderEvents)
    .where(eq(orderEvents.accountId, accountId));
  const [p] = await api.ctx.db.select({ n: count() }).from(outbox).where(eq(outbox.accountId, accountId));
  const [r] = await api.ctx.db
    .select({ n: count() })
    .from(automationRuns)
    .where(eq(automationRuns.accountId, accountId));
  const tagged = await api.ctx.db.select({ tags: orders.tags, note: orders.internalNote }).from(orders);
  return { held: o!.n, events: e!.n, pushes: p!.n, runs: r!.n, tagged: JSON.stringify(tagged) };
}

describe("automation rules", () => {
  it("refuses a rule it cannot run, naming the field", async () => {
    const res = await call("POST", "/api/rules", {
      name: "bad",
      triggers: ["order_created"],
      conditions: [{ field: "marketplace", op: "is", values: ["nowhere"] }],
      actions: [{ type: "set_status", status: "TELEPORTED" }],
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(/conditions\.0\.values: "nowhere" is not a marketplace/);
    const res2 = await call("POST", "/api/rules", {
      name: "bad2",
      triggers: ["order_created"],
      conditions: [],
      actions: [{ type: "set_status", status: "TELEPORTED" }],
    });
    expect(res2.statusCode).toBe(400);
    expect(res2.json().error.message).toMatch(
      /actions\.0\.status: no marketplace of this rule takes "TELEPORTED"/,
    );
  });

  it("a dry run lists the matching orders and what would happen, and writes nothing", async () => {
    const before = await counts();
    const res = await call("POST", "/api/rules/dry-run", {
      name: "tag everything from the simulators",
      conditions: [{ field: "itemCount", op: "gte", value: 1 }],
      actions: [
        { type: "tag", tag: "seen" },
        { type: "note", text: "checked" },
        { type: "hold", reason: "look first" },
        { type: "set_status", status: "Payment Received" },
      ],
    });
    expect(res.statusCode, res.body).toBe(200);
    const dry = res.json();
    expect(dry.scanned).toBe(dry.total);
    expect(dry.matched).toBeGreaterThan(0);
    const bo1 = dry.orders.find((o: { number: string }) => o.number.startsWith("BO-"));
    const bl1 = dry.orders.find((o: { number: string }) => o.number.startsWith("BL-"));
    expect(bo1.actions.map((a: { result: string }) => a.result).slice(0, 3)).toEqual([
      "done",
      "done",
      "done",
    ]);
    // The status is checked per marketplace, as a seller's Set status would be.
    expect(bl1.actions[3]).toMatchObject({
      result: "skipped",
      detail: expect.stringMatching(/does not let a seller set "Payment Received"/),
    });
    expect(await counts()).toEqual(before);
  });

  it("runs once on a new order from a sync: the tag and note land, the timeline names the rule", async () => {
    const ruleId = await createRule({
      name: "New BrickOwl orders",
      triggers: ["order_created"],
      conditions: [{ field: "marketplace", op: "is", values: ["brickowl"] }],
      actions: [
        { type: "tag", tag: "owl" },
        { type: "note", text: "came in through a rule" },
      ],
    });
    const boId = bo.control.createOrder({ lines: 2 });
    const blId = bl.control.createOrder({ lines: 2 });
    await syncAll();
    const d = await detail(`BO-${boId}`);
    expect(d.order.tags).toEqual(["owl"]);
    expect(d.order.internalNote).toBe("came in through a rule");
    const ev = ruleEvents(d, ruleId);
    expect(ev.map((e) => e.detail)).toEqual([
      expect.objectContaining({
        rule: { id: ruleId, name: "New BrickOwl orders" },
        action: 'tag "owl"',
        result: "done",
      }),
      expect.objectContaining({ action: 'internal note "came in through a rule"', result: "done" }),
    ]);
    expect((await detail(`BL-${blId}`)).order.tags).toEqual([]);
    // The same order synced again, and the same event offered again: nothing twice.
    bo.control.editOrder(String(boId));
    await syncAll();
    const again = await api.ctx.db.transaction((tx) =>
      runRules(tx, {
        accountId,
        trigger: "order_created",
        events: [{ orderId: d.order.id, eventKey: "created" }],
        at: clock.now(),
      }),
    );
    expect(again.runs).toBe(0);
    const d2 = await detail(`BO-${boId}`);
    expect(d2.order.tags).toEqual(["owl"]);
    expect(ruleEvents(d2, ruleId)).toHaveLength(2);
    await disable(ruleId);
  });

  it("runs on a status change, from a sync and from our own push", async () => {
    const ruleId = await createRule({
      name: "Shipped BrickLink",
      triggers: ["status_changed"],
      conditions: [
        { field: "marketplace", op: "is", values: ["bricklink"] },
        { field: "status", op: "is", values: ["shipped"] },
      ],
      actions: [{ type: "tag", tag: "gone" }],
    });
    // The marketplace says shipped.
    const a = bl.control.createOrder({ lines: 1, status: "PAID" });
    const b = bl.control.createOrder({ lines: 1, status: "PAID" });
    await syncAll();
    expect((await detail(`BL-${a}`)).order.tags).toEqual([]);
    bl.control.setStatus(a, "SHIPPED");
    await syncAll();
    const da = await detail(`BL-${a}`);
    expect(da.order.tags).toEqual(["gone"]);
    expect(ruleEvents(da, ruleId)).toHaveLength(1);
    // We mark it shipped: once the marketplace confirmed, the rule runs.
    const res = await call("POST", "/api/fulfilment/ship", { orders: [`BL-${b}`], trackingNumber: "T-1" });
    expect(res.statusCode, res.body).toBe(202);
    expect((await detail(`BL-${b}`)).order.tags).toEqual([]);
    await settle();
    const db_ = await detail(`BL-${b}`);
    expect(db_.order.status).toBe("shipped");
    expect(db_.order.tags).toEqual(["gone"]);
    await syncAll();
    expect(ruleEvents(await detail(`BL-${b}`), ruleId)).toHaveLength(1);
    await disable(ruleId);
  });

  it("does not loop: a status a rule set runs no rule again, and a rule sets a status on an order once", async () => {
    const hold = await createRule({
      name: "Hold processing",
      triggers: ["status_changed"],
      conditions: [
        { field: "marketplace", op: "is", values: ["brickowl"] },
        { field: "status", op: "is", values: ["processing"] },
      ],
      actions: [{ type: "set_status", status: "On Hold" }],
    });
    const release = await createRule({
      name: "Release held",
      triggers: ["status_changed"],
      conditions: [
        { field: "marketplace", op: "is", values: ["brickowl"] },
        { field: "status", op: "is", values: ["on_hold"] },
      ],
      actions: [{ type: "set_status", status: "Processing" }],
    });
    const id = bo.control.createOrder({ lines: 1, statusId: 1 });
    await syncAll();
    expect((await detail(`BO-${id}`)).order.status).toBe("pending");
    const res = await call("POST", "/api/fulfilment/status", { orders: [`BO-${id}`], status: "Processing" });
    expect(res.statusCode, res.body).toBe(202);
    await settle();
    const d = await detail(`BO-${id}`);
    expect(d.order.status).toBe("on_hold");
    expect(bo.control.state.orders.get(String(id))!.order.status_id).toBe("7");
    expect(ruleEvents(d, hold)).toHaveLength(1);
    expect(ruleEvents(d, release)).toHaveLength(0);
    // The marketplace moves it back: the hold rule already set On Hold on this order once.
    bo.control.setStatus(String(id), 3);
    await syncAll();
    await settle();
    const d2 = await detail(`BO-${id}`);
    expect(d2.order.status).toBe("processing");
    const last = ruleEvents(d2, hold).at(-1)!;
    expect(last.detail).toMatchObject({
      result: "skipped",
      detail: expect.stringMatching(/already set On Hold/),
    });
    const pushes = await api.ctx.db.select().from(outbox).where(eq(outbox.orderId, d2.order.id));
    expect(pushes).toHaveLength(2);
    await disable(hold);
    await disable(release);
  });

  it("a hold keeps an order from being shipped until it is released", async () => {
    const ruleId = await createRule({
      name: "Hold big ones",
      triggers: ["order_created"],
      conditions: [
        { field: "itemCount", op: "gte", value: 1 },
        { field: "marketplace", op: "is", values: ["bricklink"] },
      ],
      actions: [{ type: "hold", reason: "check the address" }],
    });
    const id = bl.control.createOrder({ lines: 1, status: "PAID" });
    await syncAll();
    const d = await detail(`BL-${id}`);
    expect(d.order).toMatchObject({ onHold: true, holdReason: "check the address" });
    const refused = await call("POST", "/api/fulfilment/ship", {
      orders: [`BL-${id}`],
      trackingNumber: "H-1",
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.message).toMatch(/on hold \(check the address\)/);
    expect((await call("PATCH", `/api/orders/BL-${id}`, { hold: false })).statusCode).toBe(200);
    expect(
      (await call("POST", "/api/fulfilment/ship", { orders: [`BL-${id}`], trackingNumber: "H-1" }))
        .statusCode,
    ).toBe(202);
    await disable(ruleId);
  });

  it("rules keep their order, can be reordered and deleted", async () => {
    const list = (await call("GET", "/api/rules")).json().rules as { id: number; position: number }[];
    expect(list.map((r) => r.position)).toEqual([...list.keys()].map((i) => i + 1));
    const ids = list.map((r) => r.id).reverse();
    const res = await call("PUT", "/api/rules/order", { ids });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().rules.map((r: { id: number }) => r.id)).toEqual(ids);
    expect((await call("PUT", "/api/rules/order", { ids: ids.slice(1) })).statusCode).toBe(400);
    expect((await call("DELETE", `/api/rules/${ids[0]}`)).statusCode).toBe(200);
    expect((await call("GET", "/api/rules")).json().rules).toHaveLength(ids.length - 1);
  });
});
