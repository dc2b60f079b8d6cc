import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, seedAccount, type TestApi, testApi } from "../../test/helpers/http.ts";
import { fakeStore } from "../marketplaces/testing/fake.ts";

let api: TestApi;

beforeAll(async () => {
  api = await testApi();
});
afterAll(async () => {
  await api.close();
});

async function shopWithOrders(name: string, orders: number) {
  const a = await seedAccount(api, name);
  const h = bearer(a.tokens.owner);
  fakeStore(`iso-${name}`).seed(orders);
  const conn = await api.app.inject({
    method: "POST",
    url: "/api/connections",
    headers: h,
    payload: {
      marketplace: "fake",
      name: "Shop",
      config: { store: `iso-${name}`, apiKey: "good-key" },
      test: true,
    },
  });
  expect(conn.statusCode).toBe(201);
  const id = conn.json().connection.id as number;
  const run = await api.app.inject({
    method: "POST",
    url: `/api/connections/${id}/sync`,
    headers: h,
    payload: {},
  });
  expect(run.statusCode).toBe(202);
  await api.queue.work("sync.run", async (d) => {
    const { runSync } = await import("../sync/engine.ts");
    await runSync(api.ctx, Number(d.runId));
  });
  await api.queue.runUntilIdle();
  return { ...a, h, connectionId: id, runId: run.json().runId as number };
}

describe("accounts are isolated through every route", () => {
  it("nothing of one account is visible or changeable from another", async () => {
    const a = await shopWithOrders(`Alpha${Date.now()}`, 3);
    const b = await shopWithOrders(`Beta${Date.now()}`, 2);
    const listA = (await api.app.inject({ method: "GET", url: "/api/orders", headers: a.h })).json();
    const listB = (await api.app.inject({ method: "GET", url: "/api/orders", headers: b.h })).json();
    expect(listA.total).toBe(3);
    expect(listB.total).toBe(2);
    const orderOfA = listA.orders[0];

    const probes: [string, string, object?][] = [
      ["GET", `/api/orders/${orderOfA.id}`],
      ["GET", `/api/orders/${orderOfA.number}`],
      ["POST", `/api/orders/${orderOfA.id}/refresh`],
      ["GET", `/api/connections/${a.connectionId}`],
      ["PATCH", `/api/connections/${a.connectionId}`, { name: "stolen" }],
      ["DELETE", `/api/connections/${a.connectionId}`],
      ["POST", `/api/connections/${a.connectionId}/sync`, {}],
      ["POST", `/api/connections/${a.connectionId}/test`],
      ["GET", `/api/sync-runs/${a.runId}`],
      ["POST", `/api/sync-runs/${a.runId}/cancel`],
      ["POST", `/api/sync-runs/${a.runId}/retry-failed`],
    ];
    for (const [method, url, payload] of probes) {
      const res = await api.app.inject({
        method: method as "GET",
        url,
        headers: b.h,
        ...(payload ? { payload } : {}),
      });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
    }
    const ids = (
      await api.app.inject({ method: "GET", url: `/api/orders?ids=${orderOfA.id}`, headers: b.h })
    ).json();
    expect(ids.total).toBe(0);
    const search = (
      await api.app.inject({ method: "GET", url: `/api/orders?q=${orderOfA.number}`, headers: b.h })
    ).json();
    expect(search.total).toBe(0);
    const conns = (await api.app.inject({ method: "GET", url: "/api/connections", headers: b.h })).json();
    expect(conns.connections.map((c: { id: number }) => c.id)).toEqual([b.connectionId]);
    const runs = (await api.app.inject({ method: "GET", url: "/api/sync-runs", headers: b.h })).json();
    expect(runs.runs.every((r: { connectionId: number }) => r.connectionId === b.connectionId)).toBe(true);
    const users = (await api.app.inject({ method: "GET", url: "/api/users", headers: b.h })).json();
    expect(users.users.every((u: { email: string }) => u.email.endsWith(`@${b.account.slug}.example`))).toBe(
      true,
    );
    const tokens = (await api.app.inject({ method: "GET", url: "/api/tokens", headers: b.h })).json();
    expect(
      tokens.tokens.every((t: { userId: number }) => Object.values(b.users).some((u) => u.id === t.userId)),
    ).toBe(true);
    // A's connection is untouched.
    const still = (
      await api.app.inject({ method: "GET", url: `/api/connections/${a.connectionId}`, headers: a.h })
    ).json();
    expect(still.connection.name).toBe("Shop");
  });

  it("live events go only to their own account", async () => {
    const seen: number[] = [];
    const unsubscribe = api.ctx.events.subscribe(999_999, () => seen.push(1));
    await api.ctx.events.publish(1, { type: "connection.updated", connectionId: 1 });
    expect(seen).toEqual([]);
    unsubscribe();
  });
});
