import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, seedAccount, type TestApi, testApi } from "../../../test/helpers/http.ts";
import type { OrderInput } from "../../core/order.ts";
import { SecretBox } from "../../core/secrets.ts";
import { insertConnection } from "../../db/repos/connections.ts";
import { upsertOrders } from "../../db/repos/orders.ts";
import { accounts } from "../../db/schema.ts";

let api: TestApi;
beforeAll(async () => {
  api = await testApi();
});
afterAll(async () => {
  await api.close();
});

function order(id: string, over: Partial<OrderInput> = {}): OrderInput {
  return {
    marketplace: "fake",
    externalId: id,
    number: `FK-${id}`,
    changeMarker: "1",
    status: "processing",
    rawStatus: "PAID",
    buyerName: `Buyer ${id}`,
    orderedAt: new Date("2026-12-02T12:00:00Z"),
    totals: { currency: "EUR", subtotal: 10_0000, grandTotal: 12_5000 },
    lines: [
      { externalLineId: "a", itemNo: "3001", name: "Brick 2 x 4", quantity: 1, unitPrice: 1, lineTotal: 1 },
    ],
    raw: { id },
    ...over,
  };
}

async function shop(timezone: string, list: OrderInput[]) {
  const a = await seedAccount(api);
  await api.ctx.db.update(accounts).set({ timezone }).where(eq(accounts.id, a.account.id));
  const conn = await insertConnection(api.ctx.db, new SecretBox(randomBytes(32)), {
    accountId: a.account.id,
    marketplace: "fake",
    name: "Fake",
    baseUrl: "http://127.0.0.1:1",
    config: {},
    secrets: {},
  });
  await upsertOrders(
    api.ctx.db,
    { accountId: a.account.id, connectionId: conn.id, source: "marketplace:fake", at: new Date() },
    list,
  );
  return { ...a, h: bearer(a.tokens.owner), picker: bearer(a.tokens.picker) };
}

async function get(h: Record<string, string>, url: string) {
  const res = await api.app.inject({ method: "GET", url, headers: h });
  return { status: res.statusCode, body: res.json() };
}

describe("the orders table's date filter", () => {
  it("To includes the day picked, and days are the account's (Europe/Berlin)", async () => {
    const s = await shop("Europe/Berlin", [
      order("1", { orderedAt: new Date("2026-12-01T22:30:00Z") }), // 1 Dec 23:30 in Berlin
      order("2", { orderedAt: new Date("2026-12-02T12:00:00Z") }),
      order("3", { orderedAt: new Date("2026-12-02T23:30:00Z") }), // 3 Dec 00:30 in Berlin
    ]);
    const numbers = async (qs: string) =>
      (await get(s.h, `/api/orders?sort=orderedAt&dir=asc&${qs}`)).body.orders.map(
        (o: { number: string }) => o.number,
      );
    expect(await numbers("from=2026-12-01&to=2026-12-02")).toEqual(["FK-1", "FK-2"]);
    expect(await numbers("from=2026-12-02&to=2026-12-02")).toEqual(["FK-2"]);
    expect(await numbers("from=2026-12-03&to=2026-12-03")).toEqual(["FK-3"]);
    const bad = await get(s.h, "/api/orders?to=2026-02-30");
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/to/);
  });
});

describe("saved views", () => {
  it("built-in views and the seller's own, each with its count; create, rename, delete", async () => {
    const s = await shop("UTC", [
      order("10"),
      order("11"),
      order("12", { status: "pending", rawStatus: "PENDING" }),
      order("13", { status: "shipped", rawStatus: "SHIPPED", buyerName: "Łukasz Nowak" }),
    ]);
    const counts = async () =>
      Object.fromEntries(
        (await get(s.h, "/api/views")).body.views.map((v: { name: string; count: number }) => [
          v.name,
          v.count,
        ]),
      );
    expect(await counts()).toMatchObject({
      All: 4,
      "Awaiting shipment": 2,
      "Awaiting payment": 1,
      Shipped: 1,
      "Needs review": 0,
    });

    const created = await api.app.inject({
      method: "POST",
      url: "/api/views",
      headers: s.h,
      payload: { name: "Łukasz", query: "?q=lukasz&page=" },
    });
    expect(created.statusCode).toBe(201);
    const view = created.json().view;
    expect(view).toMatchObject({ name: "Łukasz", query: "q=lukasz", builtIn: false });
    expect((await counts()).Łukasz).toBe(1);

    const dup = await api.app.inject({
      method: "POST",
      url: "/api/views",
      headers: s.h,
      payload: { name: "łukasz", query: "status=shipped" },
    });
    expect(dup.statusCode).toBe(409);

    const renamed = await api.app.inject({
      method: "PATCH",
      url: `/api/views/${view.id}`,
      headers: s.h,
      payload: { name: "Polish buyers", query: "q=nowak&status=shipped" },
    });
    expect(renamed.statusCode).toBe(200);
    expect(renamed.json().view).toMatchObject({ name: "Polish buyers", query: "q=nowak&status=shipped" });
    expect((await counts())["Polish buyers"]).toBe(1);

    // A new order arriving moves the counts.
    await upsertOrders(
      api.ctx.db,
      {
        accountId: s.account.id,
        connectionId: (await get(s.h, "/api/orders")).body.orders[0].connectionId,
        source: "marketplace:fake",
        at: new Date(),
      },
      [order("14")],
    );
    expect((await counts())["Awaiting shipment"]).toBe(3);

    const del = await api.app.inject({ method: "DELETE", url: `/api/views/${view.id}`, headers: s.h });
    expect(del.statusCode).toBe(200);
    expect(await counts()).not.toHaveProperty("Polish buyers");
  });

  it("refuses a query the table does not know, naming it, and pickers only read views", async () => {
    const s = await shop("UTC", [order("20")]);
    const bad = await api.app.inject({
      method: "POST",
      url: "/api/views",
      headers: s.h,
      payload: { name: "Bad", query: "stauts=shipped" },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toMatch(/stauts/);
    const badStatus = await api.app.inject({
      method: "POST",
      url: "/api/views",
      headers: s.h,
      payload: { name: "Bad", query: "status=sent" },
    });
    expect(badStatus.statusCode).toBe(400);
    expect(badStatus.json().error.message).toMatch(/status/);
    expect((await get(s.picker, "/api/views")).status).toBe(200);
    const byPicker = await api.app.inject({
      method: "POST",
      url: "/api/views",
      headers: s.picker,
      payload: { name: "Mine", query: "status=shipped" },
    });
    expect(byPicker.statusCode).toBe(403);
    // Nothing half-written: the refused views are not there.
    const names = (await get(s.h, "/api/views")).body.views.map((v: { name: string }) => v.name);
    expect(names).not.toContain("Bad");
    expect(names).not.toContain("Mine");
  });
});
