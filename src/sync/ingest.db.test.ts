import { asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, seedAccount, type TestApi, testApi } from "../../test/helpers/http.ts";
import { createAccount } from "../db/repos/accounts.ts";
import { insertConnection } from "../db/repos/connections.ts";
import { orderEvents, orderLines, orders } from "../db/schema.ts";
import { registerAdapter } from "../marketplaces/registry.ts";
import { fakeStore, makeFakeAdapter, mapFakeOrder, signFakeNotice } from "../marketplaces/testing/fake.ts";
import type { MarketplaceAdapter } from "../marketplaces/types.ts";
import { requestSync, runSync } from "./engine.ts";
import { type IngestSubscriber, ingestOrders } from "./ingest.ts";

let api: TestApi;
let n = 0;
beforeAll(async () => {
  api = await testApi();
  await api.queue.work("sync.run", async (d) => {
    await runSync(api.ctx, Number(d.runId), { queue: api.queue });
  });
});
afterAll(async () => {
  await api.close();
});

async function setup(orderCount: number) {
  const name = `ingest-${++n}-${Date.now()}`;
  const store = fakeStore(name);
  store.seed(orderCount);
  const account = await createAccount(api.ctx.db, { name, slug: name });
  const conn = await insertConnection(api.ctx.db, api.ctx.box, {
    accountId: account.id,
    marketplace: "fake",
    name: "Fake",
    baseUrl: "memory://fake",
    config: { store: name, pageSize: "10" },
    secrets: { apiKey: "good-key" },
  });
  const sync = async () => {
    await requestSync(api.ctx, api.queue, {
      accountId: account.id,
      connectionId: conn.id,
      trigger: "manual",
    });
    await api.queue.runUntilIdle();
  };
  return { store, account, conn, sync };
}

/** What an account's orders look like once stored, without ids and times that differ by run. */
async function snapshot(accountId: number) {
  const os = await api.ctx.db
    .select()
    .from(orders)
    .where(eq(orders.accountId, accountId))
    .orderBy(asc(orders.externalId));
  const out = [];
  for (const o of os) {
    const lines = await api.ctx.db
      .select()
      .from(orderLines)
      .where(eq(orderLines.orderId, o.id))
      .orderBy(asc(orderLines.position));
    const events = await api.ctx.db.select().from(orderEvents).where(eq(orderEvents.orderId, o.id));
    out.push({
      number: o.number,
      status: o.status,
      rawStatus: o.rawStatus,
      buyerName: o.buyerName,
      grandTotal: o.grandTotal,
      contentHash: o.contentHash,
      lines: lines.map((l) => [l.externalLineId, l.sku, l.quantity, l.unitPrice, l.lineTotal]),
      events: events.map((e) => [e.kind, e.toStatus, e.source]).sort(),
    });
  }
  return out;
}

describe("the ingest pipeline", () => {
  it("a direct push and a sync of the same orders produce the same rows", async () => {
    const synced = await setup(6);
    await synced.sync();
    const pushed = await setup(0);
    // The same orders, pushed in directly (as the storefront does) instead of synced.
    const same = [...synced.store.orders.values()].map(mapFakeOrder);
    await ingestOrders(
      api.ctx,
      {
        accountId: pushed.account.id,
        connectionId: pushed.conn.id,
        marketplace: "fake",
        source: "marketplace:fake",
        at: api.ctx.clock.now(),
      },
      same,
    );
    const a = await snapshot(synced.account.id);
    const b = await snapshot(pushed.account.id);
    expect(a).toHaveLength(6);
    expect(b).toEqual(a);
  });

  it("a page of whole orders is stored without a fetch per order", async () => {
    const restore = registerAdapter(makeFakeAdapter({ pages: "orders" }) as MarketplaceAdapter<unknown>);
    try {
      const { store, account, sync } = await setup(23);
      await sync();
      expect(store.calls.order).toBe(0);
      expect(store.calls.list).toBe(3);
      expect(await snapshot(account.id)).toHaveLength(23);
      store.setStatus([...store.orders.keys()][4]!, "PAID");
      await sync();
      expect(store.calls.order).toBe(0);
      const changed = (await snapshot(account.id))[4]!;
      expect(changed.rawStatus).toBe("PAID");
    } finally {
      restore();
    }
  });

  it("one order with a lone surrogate in its text does not stop the others", async () => {
    const { store, account, conn, sync } = await setup(5);
    const ids = [...store.orders.keys()];
    store.orders.get(ids[2]!)!.buyer = "Zoë \ud83d Müller";
    store.orders.get(ids[3]!)!.lines[0]!.name = "Brick \udc00 2 x 4";
    await sync();
    const rows = await snapshot(account.id);
    expect(rows).toHaveLength(5);
    expect(rows[2]!.buyerName).toBe("Zoë \ufffd Müller");
    const run = await api.ctx.db.query.syncRuns.findFirst({
      where: (r, { eq }) => eq(r.connectionId, conn.id),
    });
    expect(run).toMatchObject({ state: "completed", created: 5, failed: 0 });
  });

  it("subscribers run inside the transaction: one that fails leaves nothing behind", async () => {
    const { account, conn, store } = await setup(3);
    const failing: IngestSubscriber = {
      name: "failing",
      async onOrders() {
        throw new Error("subscriber refused");
      },
    };
    const before = api.ctx.ingestSubscribers;
    api.ctx.ingestSubscribers = [...before, failing];
    try {
      await expect(
        ingestOrders(
          api.ctx,
          {
            accountId: account.id,
            connectionId: conn.id,
            marketplace: "fake",
            source: "system",
            at: new Date(),
          },
          [...store.orders.values()].slice(0, 1).map(mapFakeOrder),
        ),
      ).rejects.toThrow(/subscriber refused/);
    } finally {
      api.ctx.ingestSubscribers = before;
    }
    expect(await snapshot(account.id)).toHaveLength(0);
  });

  it("a signed payload notice carrying orders is stored at once; a forged one is refused", async () => {
    const { store, account, conn } = await setup(2);
    const carried = [...store.orders.values()].map((o) => ({ ...o, placedAt: o.placedAt.toISOString() }));
    const body = JSON.stringify({ orderIds: carried.map((o) => o.id), orders: carried });
    const url = `/webhooks/fake/${conn.webhookToken}`;
    const forged = await api.app.inject({
      method: "POST",
      url,
      headers: { "content-type": "application/json", "x-fake-signature": signFakeNotice(body, "wrong-key") },
      payload: body,
    });
    expect(forged.statusCode).toBe(401);
    expect(await snapshot(account.id)).toHaveLength(0);
    const res = await api.app.inject({
      method: "POST",
      url,
      headers: { "content-type": "application/json", "x-fake-signature": signFakeNotice(body, "good-key") },
      payload: body,
    });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ accepted: true, stored: 2, failed: [] });
    expect(res.json().runId).toBeUndefined();
    expect(await snapshot(account.id)).toHaveLength(2);
    expect(store.calls.order).toBe(0);
  });

  it("text a seller sends with half a surrogate pair is refused naming the field, not a 500", async () => {
    const { account, tokens } = await seedAccount(api);
    const conn = await insertConnection(api.ctx.db, api.ctx.box, {
      accountId: account.id,
      marketplace: "fake",
      name: "Fake",
      baseUrl: "memory://fake",
      config: { store: `s-${Date.now()}` },
      secrets: { apiKey: "good-key" },
    });
    const store = fakeStore(`surrogate-${Date.now()}`);
    const [id] = store.seed(1);
    await ingestOrders(
      api.ctx,
      { accountId: account.id, connectionId: conn.id, marketplace: "fake", source: "system", at: new Date() },
      [mapFakeOrder(store.orders.get(id!)!)],
    );
    const res = await api.app.inject({
      method: "PATCH",
      url: `/api/orders/FK-${id}`,
      headers: { ...bearer(tokens.owner), "content-type": "application/json" },
      payload: '{"internalNote": "call back \\ud800 later"}',
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error.message).toMatch(/^body\.internalNote: must be valid text/);
  });
});
