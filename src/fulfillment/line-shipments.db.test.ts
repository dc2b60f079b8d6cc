import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../test/helpers/db.ts";
import { bearer, seedAccount, type TestApi, testApi } from "../../test/helpers/http.ts";
import { insertConnection } from "../db/repos/connections.ts";
import { inventoryLedger, inventoryLots, orderLines, orders, outbox, shipments } from "../db/schema.ts";
import { writeLedger } from "../inventory/ledger.ts";
import "../marketplaces/testing/register-fake.ts";
import { type FakeStore, fakeStore, mapFakeOrder } from "../marketplaces/testing/fake.ts";
import { ingestOrders } from "../sync/ingest.ts";
import { dispatchOutbox } from "../sync/outbox.ts";
import { registerPushHandlers } from "../worker.ts";
import { shipOrders } from "./shipments.ts";

const clock = new ManualClock("2026-11-22T10:00:00Z");
let api: TestApi;
let token: string;
let accountId: number;
let connectionId: number;
let store: FakeStore;
const storeName = `line-shipments-${Date.now()}`;

/** The fake marketplace's orders as a sync stores them. */
async function ingest(ids: string[]) {
  await ingestOrders(
    api.ctx,
    { accountId, connectionId, marketplace: "fake", source: "marketplace:fake", at: clock.now() },
    ids.map((id) => mapFakeOrder(store.orders.get(id)!)),
  );
}

beforeAll(async () => {
  api = await testApi({ clock });
  registerPushHandlers(api.ctx);
  const seeded = await seedAccount(api);
  accountId = seeded.account.id;
  token = seeded.tokens.owner;
  store = fakeStore(storeName);
  const conn = await insertConnection(api.ctx.db, api.ctx.box, {
    accountId,
    marketplace: "fake",
    name: "Fake",
    baseUrl: "memory://fake",
    config: { store: storeName },
    secrets: { apiKey: "good-key" },
  });
  connectionId = conn.id;
});
afterAll(async () => {
  await api.close();
});

const post = (payload: object) =>
  api.app.inject({ method: "POST", url: "/api/fulfilment/ship", headers: bearer(token), payload });
const view = async (number: string) => {
  const res = await api.app.inject({ method: "GET", url: `/api/orders/${number}`, headers: bearer(token) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().order as {
    status: string;
    rawStatus: string;
    lines: { id: number; externalLineId: string; quantity: number }[];
    shipments: {
      id: number;
      trackingNumber: string | null;
      state: string;
      externalShipmentId: string | null;
      push: { id: number; state: string } | null;
      lines: { lineId: number; externalLineId: string; quantity: number }[];
    }[];
  };
};
/** A new fake order (line A: 2 units, line B: 5), stored as a sync stores it. */
async function newOrder() {
  const [id] = store.seed(1, clock.now());
  await ingest([id!]);
  const o = await view(`FK-${id}`);
  const [a, b] = o.lines;
  return { id: id!, number: `FK-${id}`, a: a!, b: b! };
}
/** Sends what is due, letting time pass between rounds (an ambiguous push waits a minute). */
async function settle(rounds = 4) {
  const total = { sent: 0, retried: 0, failed: 0 };
  for (let i = 0; i < rounds; i++) {
    const r = await dispatchOutbox(api.ctx);
    total.sent += r.sent;
    total.retried += r.retried;
    total.failed += r.failed;
    const [left] = await api.ctx.db
      .select({ n: sql<number>`count(*)::int` })
      .from(outbox)
      .where(and(eq(outbox.accountId, accountId), sql`${outbox.status} in ('pending', 'sending')`));
    if (left!.n === 0) break;
    clock.advance(2 * 60_000);
  }
  return total;
}
const shipmentsOf = (id: string) => store.shipments.filter((s) => s.orderId === id);

describe("shipments by line on a marketplace that ships by line", () => {
  it("ships part of an order: the parcel's lines reach the marketplace, the order stays open, the API shows the shipment", async () => {
    const o = await newOrder();
    const res = await post({
      orders: [o.number],
      trackingNumber: "PART1",
      carrier: "DHL",
      lines: [{ lineId: o.a.id, quantity: 1 }],
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json().pushes[0]).toMatchObject({
      lines: [{ lineId: o.a.id, externalLineId: o.a.externalLineId, quantity: 1 }],
      calls: [`Fake marketplace: tracking PART1 (DHL), shipped 2026-11-22, lines ${o.a.externalLineId} ×1`],
    });
    expect(await settle()).toMatchObject({ sent: 1, failed: 0 });
    expect(shipmentsOf(o.id)).toMatchObject([
      { trackingNumber: "PART1", lines: [{ sku: o.a.externalLineId, quantity: 1 }] },
    ]);
    const after = await view(o.number);
    expect(after.status).toBe("pending");
    expect(after.shipments).toMatchObject([
      {
        trackingNumber: "PART1",
        state: "sent",
        externalShipmentId: shipmentsOf(o.id)[0]!.id,
        push: { state: "sent" },
        lines: [{ lineId: o.a.id, quantity: 1 }],
      },
    ]);
  });

  it("a second parcel is a second shipment; the order is shipped only once every line is", async () => {
    const o = await newOrder();
    expect(
      (await post({ orders: [o.number], trackingNumber: "P1", lines: [{ lineId: o.a.id, quantity: 2 }] }))
        .statusCode,
    ).toBe(202);
    expect(
      (await post({ orders: [o.number], trackingNumber: "P2", lines: [{ lineId: o.b.id, quantity: 4 }] }))
        .statusCode,
    ).toBe(202);
    await settle();
    expect((await view(o.number)).status).toBe("pending");
    // The rest of the order, without naming lines: what is left of each line.
    const rest = await post({ orders: [o.number], trackingNumber: "P3" });
    expect(rest.json().pushes[0].lines).toEqual([
      { lineId: o.b.id, externalLineId: o.b.externalLineId, quantity: 1 },
    ]);
    await settle();
    const after = await view(o.number);
    expect(after).toMatchObject({ status: "shipped", rawStatus: "SENT" });
    expect(after.shipments.map((s) => s.trackingNumber)).toEqual(["P1", "P2", "P3"]);
    expect(shipmentsOf(o.id)).toHaveLength(3);
    expect(store.orders.get(o.id)!.status).toBe("SENT");
    // The next sync agrees with what we applied.
    await ingest([o.id]);
    expect((await view(o.number)).status).toBe("shipped");
    const nothing = await post({ orders: [o.number], trackingNumber: "P4" });
    expect(nothing.statusCode).toBe(400);
    expect(nothing.json().error.message).toMatch(`${o.number}: every line is already shipped`);
  });

  it("refuses more than is left to ship, naming the line; stray, repeated and removed lines too", async () => {
    const o = await newOrder();
    const other = await newOrder();
    const over = await post({
      orders: [o.number],
      trackingNumber: "X",
      lines: [{ lineId: o.a.id, quantity: 3 }],
    });
    expect(over.statusCode).toBe(400);
    expect(over.json().error.message).toBe(
      `lines: line ${o.a.id} (${o.a.externalLineId}) of ${o.number} has 2 left to ship (2 ordered, 0 shipped), not 3`,
    );
    expect(
      (await post({ orders: [o.number], trackingNumber: "X1", lines: [{ lineId: o.a.id, quantity: 2 }] }))
        .statusCode,
    ).toBe(202);
    // Still on its way to the marketplace, and already counted.
    const again = await post({
      orders: [o.number],
      trackingNumber: "X2",
      lines: [{ lineId: o.a.id, quantity: 1 }],
    });
    expect(again.statusCode).toBe(400);
    expect(again.json().error.message).toMatch(`has 0 left to ship (2 ordered, 2 shipped), not 1`);
    const stray = await post({
      orders: [o.number],
      trackingNumber: "X3",
      lines: [{ lineId: other.a.id, quantity: 1 }],
    });
    expect(stray.statusCode).toBe(400);
    expect(stray.json().error.message).toMatch(`line ${other.a.id} is not a line of the orders named`);
    const twice = await post({
      orders: [o.number],
      trackingNumber: "X4",
      lines: [
        { lineId: o.b.id, quantity: 1 },
        { lineId: o.b.id, quantity: 1 },
      ],
    });
    expect(twice.statusCode).toBe(400);
    expect(twice.json().error.message).toMatch(`line ${o.b.id} is named twice`);
    const zero = await post({
      orders: [o.number],
      trackingNumber: "X5",
      lines: [{ lineId: o.b.id, quantity: 0 }],
    });
    expect(zero.statusCode).toBe(400);
    expect(zero.json().error.message).toMatch(/body\.lines\.0\.quantity/);
    await settle();
    expect(shipmentsOf(o.id)).toHaveLength(1);
    expect(shipmentsOf(other.id)).toHaveLength(0);
  });

  it("the same request twice is one shipment; a dry run records nothing", async () => {
    const o = await newOrder();
    const body = { orders: [o.number], trackingNumber: "SAME1", lines: [{ lineId: o.b.id, quantity: 2 }] };
    const dry = await post({ ...body, dryRun: true });
    expect(dry.json().pushes[0].lines).toEqual([
      { lineId: o.b.id, externalLineId: o.b.externalLineId, quantity: 2 },
    ]);
    expect((await view(o.number)).shipments).toEqual([]);
    const first = await post(body);
    const second = await post(body);
    expect(second.json().pushes[0]).toMatchObject({
      duplicate: true,
      pushId: first.json().pushes[0].pushId,
      shipmentId: first.json().pushes[0].shipmentId,
    });
    await settle();
    expect(shipmentsOf(o.id)).toHaveLength(1);
    expect((await view(o.number)).shipments).toHaveLength(1);
  });

  it("a shipment whose answer was lost after the marketplace applied it is read back, never created twice", async () => {
    const o = await newOrder();
    store.loseShipmentAnswers = 1;
    const queued = await post({
      orders: [o.number],
      trackingNumber: "LOST1",
      lines: [{ lineId: o.a.id, quantity: 1 }],
    });
    expect(await dispatchOutbox(api.ctx)).toMatchObject({ sent: 0, retried: 1 });
    expect(shipmentsOf(o.id)).toHaveLength(1);
    const [row] = await api.ctx.db.select().from(outbox).where(eq(outbox.id, queued.json().pushes[0].pushId));
    expect(row).toMatchObject({ status: "pending", payload: { ambiguous: true, done: 0 } });
    expect(await settle()).toMatchObject({ sent: 1, failed: 0 });
    expect(shipmentsOf(o.id)).toHaveLength(1);
    expect((await view(o.number)).shipments[0]).toMatchObject({
      state: "sent",
      externalShipmentId: shipmentsOf(o.id)[0]!.id,
    });
  });

  it("a shipment whose request was lost before it landed is read back, found missing, and sent once", async () => {
    const o = await newOrder();
    store.failNext("ambiguous_write", 1, o.id);
    await post({ orders: [o.number], trackingNumber: "LOST2", lines: [{ lineId: o.b.id, quantity: 5 }] });
    expect(await dispatchOutbox(api.ctx)).toMatchObject({ sent: 0, retried: 1 });
    expect(shipmentsOf(o.id)).toHaveLength(0);
    expect(await settle()).toMatchObject({ sent: 1, failed: 0 });
    expect(shipmentsOf(o.id)).toMatchObject([
      { trackingNumber: "LOST2", lines: [{ sku: o.b.externalLineId, quantity: 5 }] },
    ]);
  });

  it("refuses unsafe tracking links (javascript:, data:), naming the field, through the API and the service", async () => {
    const o = await newOrder();
    for (const url of [
      "javascript:alert(1)",
      "data:text/html,<script>alert(1)</script>",
      "ftp://example.com/t",
      "not a url",
    ]) {
      const res = await post({ orders: [o.number], trackingUrl: url });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error.message, url).toMatch(/^body\.trackingUrl: must be/);
    }
    await expect(
      shipOrders(api.ctx, api.queue, {
        accountId,
        userId: null,
        orderIds: [await orderId(o.number)],
        trackingUrl: "JavaScript:alert(1)",
      }),
    ).rejects.toThrow(/^trackingUrl: must be an http:\/\/ or https:\/\/ link \(not javascript:\)/);
    const ok = await post({ orders: [o.number], trackingUrl: "https://track.example/ABC?x=1" });
    expect(ok.statusCode, ok.body).toBe(202);
    await settle();
    expect(shipmentsOf(o.id)[0]).toMatchObject({ trackingUrl: "https://track.example/ABC?x=1" });
  });
});

async function orderId(number: string): Promise<number> {
  const [o] = await api.ctx.db
    .select({ id: orders.id })
    .from(orders)
    .where(and(eq(orders.accountId, accountId), eq(orders.number, number)));
  return o!.id;
}

describe("stock follows shipments", () => {
  it("a partial shipment moves its units from reserved to shipped; a cancel then restocks only what did not ship", async () => {
    const o = await newOrder();
    // Stock for line A, then the order again so stock keeping reserves it.
    const [lot] = await api.ctx.db
      .insert(inventoryLots)
      .values({ accountId, itemNo: o.a.externalLineId, name: "Brick 2 x 4" })
      .returning();
    await api.ctx.db.transaction(async (tx) => {
      await writeLedger(tx, {
        accountId,
        lotId: lot!.id,
        kind: "import",
        quantityDelta: 10,
        reservedDelta: 0,
        reason: "test stock",
      });
    });
    store.touch(o.id);
    await ingest([o.id]);
    const line = async () =>
      (await api.ctx.db.select().from(orderLines).where(eq(orderLines.id, o.a.id)))[0]!;
    const lotNow = async () =>
      (await api.ctx.db.select().from(inventoryLots).where(eq(inventoryLots.id, lot!.id)))[0]!;
    expect(await line()).toMatchObject({ lotId: lot!.id, reservedQty: 2, shippedQty: 0 });
    expect(await lotNow()).toMatchObject({ reserved: 2 });

    await post({ orders: [o.number], trackingNumber: "STOCK1", lines: [{ lineId: o.a.id, quantity: 1 }] });
    expect(await line()).toMatchObject({ reservedQty: 1, shippedQty: 1 });
    expect(await lotNow()).toMatchObject({ reserved: 1 });
    const ledger = await api.ctx.db.select().from(inventoryLedger).where(eq(inventoryLedger.lotId, lot!.id));
    expect(ledger.find((l) => l.kind === "deduct")).toMatchObject({
      quantityDelta: 0,
      reservedDelta: -1,
      reason: `${o.number} shipped`,
    });
    await settle();

    store.setStatus(o.id, "CANCELLED");
    await ingest([o.id]);
    expect(await line()).toMatchObject({ reservedQty: 0, shippedQty: 1 });
    const after = await lotNow();
    // 10 on the shelf, 2 sold, 1 of them shipped: the unshipped one comes back.
    expect(after).toMatchObject({ reserved: 0 });
    const sums = await api.ctx.db
      .select({
        q: sql<number>`sum(${inventoryLedger.quantityDelta})::int`,
        r: sql<number>`sum(${inventoryLedger.reservedDelta})::int`,
      })
      .from(inventoryLedger)
      .where(eq(inventoryLedger.lotId, lot!.id));
    expect(sums[0]).toEqual({ q: after.quantity, r: after.reserved });
    const [s] = await api.ctx.db
      .select()
      .from(shipments)
      .where(eq(shipments.orderId, await orderId(o.number)));
    expect(s).toMatchObject({ state: "sent", trackingNumber: "STOCK1" });
  });
});
