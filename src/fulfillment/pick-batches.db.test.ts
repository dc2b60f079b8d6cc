import { and, eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../test/helpers/db.ts";
import { bearer, seedAccount, type TestApi, testApi } from "../../test/helpers/http.ts";
import { orderEvents, orderLines, orders, pickBatchItems, pickShortages } from "../db/schema.ts";
import {
  type BrickLinkSimulator,
  startBrickLinkSimulator,
} from "../marketplaces/bricklink/simulator/server.ts";
import { type BrickOwlSimulator, startBrickOwlSimulator } from "../marketplaces/brickowl/simulator/server.ts";
import { requestSync, runSync } from "../sync/engine.ts";
import { addOrdersToPickBatch, CLAIM_TTL_MS, walkingOrder } from "./pick-batches.ts";

const clock = new ManualClock("2026-11-22T10:00:00Z");
let api: TestApi;
let bl: BrickLinkSimulator;
let bo: BrickOwlSimulator;
let seeded: Awaited<ReturnType<typeof seedAccount>>;
let other: Awaited<ReturnType<typeof seedAccount>>;
let accountId: number;

beforeAll(async () => {
  api = await testApi({ clock });
  await api.queue.work("sync.run", async (d) => {
    await runSync(api.ctx, Number(d.runId), { queue: api.queue });
  });
  bl = await startBrickLinkSimulator({ seed: 17, orders: 40 });
  bo = await startBrickOwlSimulator({ seed: 17, orders: 30 });
  seeded = await seedAccount(api);
  other = await seedAccount(api);
  accountId = seeded.account.id;
  for (const [marketplace, baseUrl, config] of [
    ["bricklink", bl.baseUrl, { ...bl.credentials }],
    ["brickowl", bo.baseUrl, { apiKey: bo.apiKey }],
  ] as const) {
    const res = await api.app.inject({
      method: "POST",
      url: "/api/connections",
      headers: bearer(seeded.tokens.owner),
      payload: { marketplace, name: marketplace, baseUrl, config },
    });
    expect(res.statusCode, res.body).toBe(201);
    await requestSync(api.ctx, api.queue, {
      accountId,
      connectionId: res.json().connection.id,
      trigger: "manual",
    });
  }
  await api.queue.runUntilIdle();
});
afterAll(async () => {
  await api?.close();
  await bl?.close();
  await bo?.close();
});

const as = (role: "owner" | "staff" | "picker", token = seeded.tokens[role]) => ({
  get: (url: string) => api.app.inject({ method: "GET", url, headers: bearer(token) }),
  post: (url: string, payload: object = {}) =>
    api.app.inject({ method: "POST", url, headers: bearer(token), payload }),
});

/** Orders with at least two physical lines, some of each marketplace. */
async function someOrders(n: number, marketplace?: string): Promise<number[]> {
  const rows = await api.ctx.db
    .select({ id: orders.id, marketplace: orders.marketplace, lotCount: orders.lotCount })
    .from(orders)
    .where(eq(orders.accountId, accountId))
    .orderBy(orders.id);
  return rows
    .filter((r) => r.lotCount >= 2 && (!marketplace || r.marketplace === marketplace))
    .slice(0, n)
    .map((r) => r.id);
}

type Batch = {
  batch: { id: number; name: string; state: string };
  orders: { orderId: number; tote: string; number: string }[];
  items: {
    id: number;
    version: number;
    quantity: number;
    location: string | null;
    itemNo: string | null;
    name: string;
    colorName: string | null;
    condition: string;
    image: string | null;
    state: string;
    breakdown: { orderId: number; tote: string; quantity: number }[];
    claimedBy: { id: number } | null;
    claimedByMe: boolean;
  }[];
  progress: { done: number; total: number };
};

describe("pick batches", () => {
  it("folds the orders' lines into lots, each once with every tote's share, in walking order", async () => {
    const ids = [...(await someOrders(3, "bricklink")), ...(await someOrders(2, "brickowl"))];
    const { batchId, added } = await addOrdersToPickBatch(api.ctx.db, String(accountId), "Fold", ids);
    expect(added).toBe(5);
    const res = await as("picker").get(`/api/pick-batches/${batchId}`);
    expect(res.statusCode, res.body).toBe(200);
    const b = res.json() as Batch;
    expect(b.orders.map((o) => o.tote)).toEqual(["A", "B", "C", "D", "E"]);
    // Every physical line of the orders is in exactly one lot, with its quantity.
    const lines = await api.ctx.db
      .select()
      .from(orderLines)
      .where(and(inArray(orderLines.orderId, ids), eq(orderLines.digital, false)));
    const wanted = lines.filter((l) => !l.removedAt).reduce((n, l) => n + l.quantity - l.shippedQty, 0);
    expect(b.items.reduce((n, i) => n + i.quantity, 0)).toBe(wanted);
    for (const i of b.items) expect(i.breakdown.reduce((n, s) => n + s.quantity, 0)).toBe(i.quantity);
    // Walking order as the server sorts it.
    expect(b.items.map((i) => i.id)).toEqual(walkingOrder(b.items).map((i) => i.id));
    expect(b.progress).toEqual({ done: 0, total: b.items.length });
    // Pictures where the marketplace gives one: BrickLink's rule from type, number and colour.
    const blItem = b.items.find((i) => i.image?.startsWith("https://img.bricklink.com/ItemImage/"));
    expect(blItem, "a BrickLink picture").toBeTruthy();
  });

  it("adding the same orders again changes nothing; new orders get the next tote letter", async () => {
    const ids = await someOrders(4, "bricklink");
    const first = await addOrdersToPickBatch(api.ctx.db, accountId, "Again", ids.slice(0, 2));
    const again = await addOrdersToPickBatch(api.ctx.db, accountId, "again", ids.slice(0, 2));
    expect(again).toMatchObject({ batchId: first.batchId, added: 0 });
    const more = await addOrdersToPickBatch(api.ctx.db, accountId, "Again", ids);
    expect(more).toMatchObject({ batchId: first.batchId, added: 2 });
    const b = (await as("owner").get(`/api/pick-batches/${first.batchId}`)).json() as Batch;
    expect(b.orders.map((o) => [o.orderId, o.tote])).toEqual(ids.map((id, i) => [id, "ABCD"[i]]));
  });

  it("refuses what it cannot do, naming it, and writes nothing", async () => {
    await expect(addOrdersToPickBatch(api.ctx.db, accountId, "  ", [1])).rejects.toThrow(/name/);
    await expect(addOrdersToPickBatch(api.ctx.db, accountId, "X", [])).rejects.toThrow(/at least one order/);
    const [foreign] = await api.ctx.db
      .select({ id: orders.id })
      .from(orders)
      .where(eq(orders.accountId, accountId))
      .limit(1);
    // Another account's batch cannot take this account's orders.
    await expect(addOrdersToPickBatch(api.ctx.db, other.account.id, "X", [foreign!.id])).rejects.toThrow(
      new RegExp(`order ${foreign!.id} not found`),
    );
    const list = (await as("owner", other.tokens.owner).get("/api/pick-batches")).json();
    expect(list.batches).toEqual([]);
    const bad = await as("owner").post("/api/pick-batches", { name: "Y", query: "status=nonsense" });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toMatch(/status/);
  });

  it("takes the orders list's query string (a saved view)", async () => {
    const res = await as("staff").post("/api/pick-batches", {
      name: "View",
      query: "?marketplace=brickowl&status=pending,processing&sort=total&page=2",
    });
    expect(res.statusCode, res.body).toBe(201);
    const b = (await as("staff").get(`/api/pick-batches/${res.json().batchId}`)).json() as Batch;
    const expected = await api.ctx.db
      .select({ id: orders.id })
      .from(orders)
      .where(
        and(
          eq(orders.accountId, accountId),
          eq(orders.marketplace, "brickowl"),
          inArray(orders.status, ["pending", "processing"]),
        ),
      );
    expect(b.orders.map((o) => o.orderId).sort()).toEqual(expected.map((e) => e.id).sort());
  });

  it("two pickers never get the same lot; a tick on a lot someone else holds is refused with who", async () => {
    const { batchId } = await addOrdersToPickBatch(api.ctx.db, accountId, "Two", await someOrders(3));
    const picker = as("picker");
    const staff = as("staff");
    const [a, b] = await Promise.all([
      picker.post(`/api/pick-batches/${batchId}/next`),
      staff.post(`/api/pick-batches/${batchId}/next`),
    ]);
    expect(a.statusCode, a.body).toBe(200);
    expect(b.statusCode, b.body).toBe(200);
    const ia = a.json().item;
    const ib = b.json().item;
    expect(ia.id).not.toBe(ib.id);
    expect(ia.claimedByMe).toBe(true);
    // Asking again keeps one's claim.
    expect((await picker.post(`/api/pick-batches/${batchId}/next`)).json().item.id).toBe(ia.id);
    // Staff taps the picker's lot: refused, naming who is on it; nothing changed.
    const steal = await staff.post(`/api/pick-batches/${batchId}/items/${ia.id}`, {
      action: "pick",
      version: ia.version,
    });
    expect(steal.statusCode).toBe(409);
    expect(steal.json().error.message).toMatch(/picker is picking this lot/);
    // The picker ticks it; a second tick with the old version is refused as already picked.
    const tick = await picker.post(`/api/pick-batches/${batchId}/items/${ia.id}`, {
      action: "pick",
      version: ia.version,
    });
    expect(tick.statusCode, tick.body).toBe(200);
    expect(tick.json().item.state).toBe("picked");
    const twice = await staff.post(`/api/pick-batches/${batchId}/items/${ia.id}`, {
      action: "pick",
      version: ia.version,
    });
    expect(twice.statusCode).toBe(409);
    expect(twice.json().error.message).toMatch(/already picked/);
    expect(twice.json().error.details.item.state).toBe("picked");
    // A claim nobody renews runs out: after the TTL staff may take the lot the picker held.
    const next = (await picker.post(`/api/pick-batches/${batchId}/next`)).json().item;
    clock.advance(CLAIM_TTL_MS + 1000);
    const taken = await staff.post(`/api/pick-batches/${batchId}/items/${next.id}`, {
      action: "pick",
      version: next.version,
    });
    expect(taken.statusCode, taken.body).toBe(200);
  });

  it("many pickers at once: every lot claimed by exactly one", async () => {
    const { batchId } = await addOrdersToPickBatch(api.ctx.db, accountId, "Crowd", await someOrders(2));
    const tokens = [seeded.tokens.owner, seeded.tokens.staff, seeded.tokens.picker];
    const got = await Promise.all(
      tokens.map((t) => as("owner", t).post(`/api/pick-batches/${batchId}/next`)),
    );
    const ids = got.map((r) => r.json().item?.id).filter(Boolean);
    expect(new Set(ids).size).toBe(ids.length);
    const rows = await api.ctx.db.select().from(pickBatchItems).where(eq(pickBatchItems.batchId, batchId));
    expect(rows.filter((r) => r.claimedBy !== null)).toHaveLength(ids.length);
  });

  it("a shortage is recorded on each order that gets less and on the lot; resume shows it after reload", async () => {
    const ids = await someOrders(6);
    const { batchId } = await addOrdersToPickBatch(api.ctx.db, accountId, "Short", ids);
    const b = (await as("picker").get(`/api/pick-batches/${batchId}`)).json() as Batch;
    const shared =
      b.items.find((i) => i.breakdown.length >= 2 && i.quantity >= 2) ??
      b.items.find((i) => i.quantity >= 2)!;
    const found = shared.breakdown[0]!.quantity - 1;
    const res = await as("picker").post(`/api/pick-batches/${batchId}/items/${shared.id}`, {
      action: "short",
      version: shared.version,
      found,
      note: "drawer empty",
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().item).toMatchObject({ state: "short", foundQty: found });
    // Tote A got `found`, every other tote nothing: each of them has a shortage on its timeline.
    const events = await api.ctx.db
      .select()
      .from(orderEvents)
      .where(and(eq(orderEvents.kind, "pick.shortage"), inArray(orderEvents.orderId, ids)));
    expect(events.map((e) => e.orderId).sort()).toEqual(shared.breakdown.map((s) => s.orderId).sort());
    const first = events.find((e) => e.orderId === shared.breakdown[0]!.orderId)!;
    expect(first.detail).toMatchObject({ found, short: 1, note: "drawer empty", batch: "Short" });
    const rows = await api.ctx.db.select().from(pickShortages).where(eq(pickShortages.itemId, shared.id));
    expect(rows.reduce((n, r) => n + r.quantity, 0)).toBe(shared.quantity - found);
    // The order's timeline in the API carries it.
    const detail = (await as("picker").get(`/api/orders/${shared.breakdown[0]!.orderId}`)).json();
    expect(JSON.stringify(detail.order)).toContain("pick.shortage");
    // Resume: the batch as a reload sees it keeps the shortage and the progress.
    const again = (await as("staff").get(`/api/pick-batches/${batchId}`)).json() as Batch;
    expect(again.items.find((i) => i.id === shared.id)!.state).toBe("short");
    expect(again.progress.done).toBe(1);
    // A found count that is not a shortage is refused.
    const other = again.items.find((i) => i.state === "open")!;
    const wrong = await as("picker").post(`/api/pick-batches/${batchId}/items/${other.id}`, {
      action: "short",
      version: other.version,
      found: other.quantity,
    });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().error.message).toMatch(/found: how many were found/);
    // Unticking the shortage takes it off the lot and says so on the orders.
    const undo = await as("picker").post(`/api/pick-batches/${batchId}/items/${shared.id}`, {
      action: "unpick",
      version: res.json().item.version,
    });
    expect(undo.statusCode, undo.body).toBe(200);
    expect(await api.ctx.db.select().from(pickShortages).where(eq(pickShortages.itemId, shared.id))).toEqual(
      [],
    );
  });

  it("the last lot done finishes the batch and frees its name", async () => {
    const ids = await someOrders(1);
    const { batchId } = await addOrdersToPickBatch(api.ctx.db, accountId, "Finish", ids);
    const b = (await as("picker").get(`/api/pick-batches/${batchId}`)).json() as Batch;
    let last: { finished: boolean } | null = null;
    for (const i of b.items) {
      const r = await as("picker").post(`/api/pick-batches/${batchId}/items/${i.id}`, {
        action: "pick",
        version: i.version,
      });
      expect(r.statusCode, r.body).toBe(200);
      last = r.json();
    }
    expect(last!.finished).toBe(true);
    const done = (await as("picker").get(`/api/pick-batches/${batchId}`)).json() as Batch;
    expect(done.batch.state).toBe("done");
    expect(done.progress).toEqual({ done: b.items.length, total: b.items.length });
    const fresh = await addOrdersToPickBatch(api.ctx.db, accountId, "Finish", ids);
    expect(fresh.batchId).not.toBe(batchId);
    expect(fresh.created).toBe(true);
  });

  it("pack mode finds an order by its barcode text and lists each line's codes", async () => {
    const [id] = await someOrders(1, "brickowl");
    const [o] = await api.ctx.db.select().from(orders).where(eq(orders.id, id!));
    const res = await as("picker").get(`/api/pack/${encodeURIComponent(o!.number)}`);
    expect(res.statusCode, res.body).toBe(200);
    const v = res.json();
    expect(v.order.id).toBe(id);
    expect(v.lines.length).toBeGreaterThanOrEqual(2);
    for (const l of v.lines) if (l.itemNo) expect(l.codes).toContain(l.itemNo);
    expect((await as("picker").get("/api/pack/NOPE-1")).statusCode).toBe(404);
    const wrongCount = await as("picker").post(`/api/pack/${id}/verified`, { lines: 99, scanned: 0 });
    expect(wrongCount.statusCode).toBe(400);
    const ok = await as("picker").post(`/api/pack/${id}/verified`, { lines: v.lines.length, scanned: 1 });
    expect(ok.statusCode, ok.body).toBe(201);
  });
});
