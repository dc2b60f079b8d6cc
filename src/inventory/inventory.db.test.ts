import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../test/helpers/db.ts";
import { bearer, seedAccount, type TestApi, testApi } from "../../test/helpers/http.ts";
import { importFileAndWait } from "../../test/helpers/imports.ts";
import { inventoryLedger, inventoryLots, listings, outbox } from "../db/schema.ts";
import {
  type BrickLinkSimulator,
  startBrickLinkSimulator,
} from "../marketplaces/bricklink/simulator/server.ts";
import { type BrickOwlSimulator, startBrickOwlSimulator } from "../marketplaces/brickowl/simulator/server.ts";
import { requestSync, runSync } from "../sync/engine.ts";
import { dispatchOutbox } from "../sync/outbox.ts";
import { registerPushHandlers } from "../worker.ts";
import { adjustLot, findLot, importInventory } from "./lots.ts";
import { reconcile } from "./reconcile.ts";

// Before the real time of day, so rows the database stamps itself come after the baseline.
const clock = new ManualClock("2026-01-01T00:00:00Z");
let api: TestApi;
let bl: BrickLinkSimulator;
let bo: BrickOwlSimulator;
let token: string;
let accountId: number;
const conns: Record<"bricklink" | "brickowl", number> = { bricklink: 0, brickowl: 0 };

const blQty = (inventoryId: number) => bl.control.state.inventory.get(inventoryId)!.quantity;
const boLotOf = (inventoryId: number) =>
  [...bo.control.state.inventory.values()].find(
    (l) => (l.external_lot_ids as Record<string, string>).other === String(inventoryId),
  )!;
const boQty = (inventoryId: number) => Number(boLotOf(inventoryId).qty);

async function sync(which: "bricklink" | "brickowl") {
  clock.advance(1000);
  await requestSync(api.ctx, api.queue, { accountId, connectionId: conns[which], trigger: "manual" });
  await api.queue.runUntilIdle();
}
async function settle(rounds = 12) {
  for (let i = 0; i < rounds; i++) {
    await dispatchOutbox(api.ctx);
    const left = await api.ctx.db.select().from(outbox).where(eq(outbox.status, "pending"));
    if (left.length === 0) return;
    clock.advance(5 * 60_000);
  }
}
async function findLotId(inventoryId: number): Promise<number | null> {
  const [l] = await api.ctx.db
    .select({ lotId: inventoryLedger.lotId })
    .from(inventoryLedger)
    .where(eq(inventoryLedger.reason, `imported from BrickLink lot ${inventoryId}`));
  return l?.lotId ?? null;
}
async function lotOf(inventoryId: number) {
  const id = await findLot(api.ctx, accountId, `bricklink:${inventoryId}`);
  const [lot] = await api.ctx.db.select().from(inventoryLots).where(eq(inventoryLots.id, id));
  return lot!;
}

beforeAll(async () => {
  api = await testApi({ clock });
  registerPushHandlers(api.ctx);
  await api.queue.work("sync.run", async (d) => {
    await runSync(api.ctx, Number(d.runId), { queue: api.queue });
  });
  bl = await startBrickLinkSimulator({ seed: 51, orders: 20 });
  bo = await startBrickOwlSimulator({ seed: 51, orders: 15 });
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
    conns[marketplace] = res.json().connection.id;
    await sync(marketplace);
  }
});
afterAll(async () => {
  await api.close();
  await bl.close();
  await bo.close();
});

describe("inventory with BrickLink as the ground truth", () => {
  it("imports the BrickLink store as lots and links every BrickOwl lot by its BrickLink lot id; history pushes nothing", async () => {
    const before = [...bl.control.state.inventory.values()].map((l) => l.quantity);
    const a = await importInventory(api.ctx, accountId, conns.bricklink);
    expect(a).toMatchObject({ created: bl.control.state.inventory.size, unlinked: [] });
    const b = await importInventory(api.ctx, accountId, conns.brickowl);
    expect(b).toMatchObject({ linked: bo.control.state.inventory.size, unlinked: [] });
    // Open orders from before the first sync reserve stock here but move nothing on the marketplaces.
    const reserved = await api.ctx.db
      .select()
      .from(inventoryLedger)
      .where(eq(inventoryLedger.kind, "reserve"));
    expect(reserved.length).toBeGreaterThan(0);
    expect(reserved.every((r) => r.quantityDelta === 0 && r.reservedDelta > 0)).toBe(true);
    await settle();
    expect((await api.ctx.db.select().from(outbox)).length).toBe(0);
    expect([...bl.control.state.inventory.values()].map((l) => l.quantity)).toEqual(before);
    // A lot's numbers are the sum of its ledger.
    const lot = await lotOf([...bl.control.state.inventory.keys()][0]!);
    const rows = await api.ctx.db.select().from(inventoryLedger).where(eq(inventoryLedger.lotId, lot.id));
    expect(rows.reduce((n, r) => n + r.quantityDelta, 0)).toBe(lot.quantity);
    expect(rows.reduce((n, r) => n + r.reservedDelta, 0)).toBe(lot.reserved);
  });

  it("a BrickOwl order lowers BrickLink by exactly its quantities", async () => {
    const id = bo.control.createOrder({ lines: 3 });
    const items = bo.control.state.orders.get(id)!.items;
    const expected = new Map<number, number>();
    for (const it of items) {
      const inv = Number(it.bl_lot_id);
      expected.set(inv, (expected.get(inv) ?? blQty(inv)) - Number(it.ordered_quantity));
    }
    const boBefore = items.map((it) => boQty(Number(it.bl_lot_id)));
    const boWrites = bo.control.state.writes.length;
    const dispatchesDue = async () => {
      const { rows } = await api.ctx.database.sql.executeSql(
        "select count(*)::int as n from pgboss.job where name = 'outbox.dispatch' and state = 'created' and start_after <= now()",
        [],
      );
      return (rows[0] as { n: number }).n;
    };
    await api.ctx.database.sql.executeSql("delete from pgboss.job where name = 'outbox.dispatch'", []);
    await sync("brickowl");
    // The sync asked for the pushes to go out at once (not at the worker's next sweep).
    expect(await dispatchesDue()).toBe(1);
    await settle();
    for (const [inv, q] of expected) expect(blQty(inv)).toBe(q);
    // BrickOwl took the sale off itself: we send it nothing.
    expect(items.map((it) => boQty(Number(it.bl_lot_id)))).toEqual(boBefore);
    expect(bo.control.state.writes.length).toBe(boWrites);
    for (const [inv, q] of expected) expect((await lotOf(inv)).quantity).toBe(q);
  });

  it("a BrickLink order lowers BrickOwl; syncing it again changes nothing", async () => {
    const blBefore = new Map([...bl.control.state.inventory].map(([k, v]) => [k, v.quantity]));
    const id = bl.control.createOrder({ lines: 2 });
    const batch = bl.control.state.orders.get(id)!.batches.flat();
    const expected = new Map<number, number>();
    for (const it of batch) {
      const inv = it.inventory_id!;
      expected.set(inv, (expected.get(inv) ?? boQty(inv)) - it.quantity);
      // BrickLink took its own sale off the lot.
      expect(blQty(inv)).toBeLessThan(blBefore.get(inv)!);
    }
    await sync("bricklink");
    await settle();
    for (const [inv, q] of expected) expect(boQty(inv)).toBe(q);
    await sync("bricklink");
    await sync("bricklink");
    await settle();
    for (const [inv, q] of expected) expect(boQty(inv)).toBe(q);
  });

  it("a local adjustment reaches both; 100 rapid adjustments become a few pushes with the right total", async () => {
    const inv = [...bl.control.state.inventory.keys()][3]!;
    const lotId = await findLot(api.ctx, accountId, `bricklink:${inv}`);
    const [b0, o0] = [blQty(inv), boQty(inv)];
    await adjustLot(api.ctx, null, { accountId, userId: null, lotId, by: 5, reason: "found a bag" });
    await settle();
    expect([blQty(inv), boQty(inv)]).toEqual([b0 + 5, o0 + 5]);
    const writes = bl.control.callsByPath()["PUT /api/store/v1/inventories/{id}"] ?? 0;
    let sum = 0;
    for (let i = 0; i < 100; i++) {
      const by = i % 3 === 0 ? -1 : 2;
      sum += by;
      await adjustLot(api.ctx, null, { accountId, userId: null, lotId, by, reason: "count" });
    }
    await settle();
    expect([blQty(inv), boQty(inv)]).toEqual([b0 + 5 + sum, o0 + 5 + sum]);
    expect((bl.control.callsByPath()["PUT /api/store/v1/inventories/{id}"] ?? 0) - writes).toBe(1);
    // BrickLink was always sent `description` with the delta.
    expect(bl.control.state.inventory.get(inv)!.description).toBeDefined();
  });

  it("a cancelled BrickOwl order restocks both marketplaces", async () => {
    const id = bo.control.createOrder({ lines: 1 });
    await sync("brickowl");
    await settle();
    const it = bo.control.state.orders.get(id)!.items[0]!;
    const inv = Number(it.bl_lot_id);
    const [b1, o1] = [blQty(inv), boQty(inv)];
    bo.control.state.orders.get(id)!.order.status_id = "8";
    bo.control.state.orders.get(id)!.order.status = "Cancelled";
    await sync("brickowl");
    await settle();
    const q = Number(it.ordered_quantity);
    expect([blQty(inv), boQty(inv)]).toEqual([b1 + q, o1 + q]);
  });

  it("a 429 storm delays the pushes but loses none; an answer lost after BrickOwl applied a change is not applied twice", async () => {
    const inv = [...bl.control.state.inventory.keys()][7]!;
    const lotId = await findLot(api.ctx, accountId, `bricklink:${inv}`);
    const [b0, o0] = [blQty(inv), boQty(inv)];
    bl.control.faultRate(0.6, ["rate_limit"]);
    bo.control.fault("drop_after_apply", 1, { path: "inventory/update" });
    await adjustLot(api.ctx, null, { accountId, userId: null, lotId, by: -4, reason: "damaged" });
    await settle(40);
    bl.control.clearFaults();
    await settle();
    expect([blQty(inv), boQty(inv)]).toEqual([b0 - 4, o0 - 4]);
    const boWrites = bo.control.state.writes.filter(
      (w) => w.path === "inventory/update" && w.params.lot_id === String(boLotOf(inv).lot_id),
    );
    expect(boWrites.filter((w) => w.params.relative_quantity === "-4")).toHaveLength(1);
    const failed = await api.ctx.db
      .select()
      .from(outbox)
      .where(and(eq(outbox.kind, "stock"), eq(outbox.status, "failed")));
    expect(failed).toEqual([]);
  });

  it("reconcile: BrickLink's quantity wins where nothing explains the difference; lots on one side are only proposed until approved", async () => {
    const keys = [...bl.control.state.inventory.keys()];
    const [edited, gone, explained] = [keys[10]!, keys[11]!, keys[12]!];
    const o0 = boQty(edited);
    bl.control.state.inventory.get(edited)!.quantity += 7; // the seller changed it on BrickLink
    const goneQty = (await lotOf(gone)).quantity;
    const goneBo = boQty(gone);
    const goneLot = bl.control.state.inventory.get(gone)!;
    bl.control.state.inventory.delete(gone);
    bl.control.state.inventory.set(990_001, {
      ...goneLot,
      inventory_id: 990_001,
      quantity: 3,
      remarks: "Z-1",
    });
    // A push still on its way explains a difference: left alone.
    await adjustLot(api.ctx, null, {
      accountId,
      userId: null,
      lotId: (await lotOf(explained)).id,
      by: 2,
      reason: "count",
    });

    const first = await reconcile(api.ctx, api.queue, { accountId, connectionId: conns.bricklink });
    expect(first.adopted.map((a) => a.externalId)).toEqual([String(edited)]);
    expect(first.explained).toBe(1);
    expect(first.proposals.delete.map((d) => d.externalId)).toEqual([String(gone)]);
    expect(first.proposals.create.map((c) => c.externalId)).toEqual(["990001"]);
    expect(first.applied).toEqual({ created: 0, deleted: 0 });
    expect((await lotOf(edited)).quantity).toBe(blQty(edited));
    await settle();
    expect(boQty(edited)).toBe(o0 + 7);
    // Not deleted without approval.
    expect(
      (
        await api.ctx.db
          .select()
          .from(inventoryLots)
          .where(eq(inventoryLots.id, (await findLotId(gone))!))
      ).length,
    ).toBe(1);

    const second = await reconcile(api.ctx, api.queue, {
      accountId,
      connectionId: conns.bricklink,
      approve: true,
    });
    expect(second.applied).toEqual({ created: 1, deleted: 1 });
    await settle();
    expect(boQty(gone)).toBe(goneBo - goneQty);
    expect((await lotOf(990_001)).quantity).toBe(3);
    const third = await reconcile(api.ctx, api.queue, { accountId, connectionId: conns.bricklink });
    expect(third).toMatchObject({ adopted: [], proposals: { create: [], delete: [] } });
  });

  it("a change committed just before the process stops is pushed exactly once by the next process", async () => {
    const inv = [...bl.control.state.inventory.keys()][20]!;
    const lotId = await findLot(api.ctx, accountId, `bricklink:${inv}`);
    const [b0, o0] = [blQty(inv), boQty(inv)];
    await adjustLot(api.ctx, null, { accountId, userId: null, lotId, by: 6, reason: "restart" });
    const { JobQueue } = await import("../jobs/queue.ts");
    const { startWorker } = await import("../worker.ts");
    const q2 = await JobQueue.start(api.ctx, { work: false });
    const w = await startWorker(api.ctx, q2, { scheduler: false }); // its start looks for pushes left due
    try {
      await q2.runUntilIdle();
      await q2.runUntilIdle();
    } finally {
      await w.stop();
      await q2.stop();
    }
    expect([blQty(inv), boQty(inv)]).toEqual([b0 + 6, o0 + 6]);
    await settle();
    expect([blQty(inv), boQty(inv)]).toEqual([b0 + 6, o0 + 6]);
  });

  it("an adjustment below zero is refused with the lot's quantity named", async () => {
    const inv = [...bl.control.state.inventory.keys()][1]!;
    const lot = await lotOf(inv);
    await expect(
      adjustLot(api.ctx, null, {
        accountId,
        userId: null,
        lotId: lot.id,
        by: -(lot.quantity + 1),
        reason: "x",
      }),
    ).rejects.toThrow(`holds ${lot.quantity}`);
    const ls = await api.ctx.db.select().from(listings).where(eq(listings.lotId, lot.id));
    expect(ls.map((l) => l.marketplace).sort()).toEqual(["bricklink", "brickowl"]);
  });
});

describe("inventory files", () => {
  it("exports BrickLink XML and CSV that import back; a bad line names itself and writes nothing", async () => {
    const xml = await api.app.inject({
      method: "GET",
      url: "/api/inventory/export?format=xml",
      headers: bearer(token),
    });
    expect(xml.statusCode).toBe(200);
    expect(xml.headers["content-disposition"]).toMatch(/orderhub-inventory-\d{8}-\d{6}\.xml/);
    expect(xml.body).toContain("<INVENTORY>");
    const items = (xml.body.match(/<ITEM>/g) ?? []).length;
    const csv = await api.app.inject({
      method: "GET",
      url: "/api/inventory/export?format=csv",
      headers: bearer(token),
    });
    expect(csv.body.split("\r\n")[0]).toBe(
      "lot_id,item_type,item_no,color_id,color,condition,quantity,reserved,price,location,description",
    );
    const { parseXml, parseLotCsv } = await import("./files.ts");
    expect(parseXml(xml.body)).toHaveLength(items);
    expect(parseLotCsv(csv.body)).toHaveLength(items);

    const before = (await api.ctx.db.select().from(inventoryLedger)).length;
    const bad = await api.app.inject({
      method: "POST",
      url: "/api/inventory/import-file",
      headers: bearer(token),
      payload: {
        format: "xml",
        content:
          "<INVENTORY><ITEM><ITEMTYPE>P</ITEMTYPE><ITEMID>3001</ITEMID><COLOR>5</COLOR><QTY>4</QTY></ITEM><ITEM><ITEMTYPE>P</ITEMTYPE><ITEMID>3002</ITEMID><QTY>-1</QTY></ITEM></INVENTORY>",
      },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toMatch(/ITEM 2: QTY must be a whole number \(0 or more\), not "-1"/);
    expect((await api.ctx.db.select().from(inventoryLedger)).length).toBe(before);
    const broken = await api.app.inject({
      method: "POST",
      url: "/api/inventory/import-file",
      headers: bearer(token),
      payload: { format: "xml", content: "<INVENTORY><ITEM>" },
    });
    expect(broken.statusCode).toBe(400);

    const ok = await importFileAndWait(api, token, {
      format: "csv",
      name: "count.csv",
      content:
        "item_no,color_id,color,condition,quantity,price,location\r\n98765,5,Red,new,12,0.25,Q-1\r\n98765,5,Red,new,3,0.25,Q-1\r\n",
    });
    expect(ok.statusCode, ok.body).toBe(202);
    expect(ok.job).toMatchObject({ state: "completed", total: 2, done: 2, created: 1, added: 1 });
    const [lot] = await api.ctx.db.select().from(inventoryLots).where(eq(inventoryLots.itemNo, "98765"));
    expect(lot!.quantity).toBe(15);
  });

  it("a lost BrickLink answer with a quantity nothing explains waits for a sync that reads every order, not a push ping's", async () => {
    await settle();
    const inv = [...bl.control.state.inventory.keys()][9]!;
    const lotId = await findLot(api.ctx, accountId, `bricklink:${inv}`);
    const blRow = async () =>
      (
        await api.ctx.db
          .select()
          .from(outbox)
          .where(and(eq(outbox.lotId, lotId), eq(outbox.kind, "stock")))
      ).find(
        (r) => (r.payload as { marketplace: string }).marketplace === "bricklink" && r.status !== "sent",
      )!;
    // The update lands on BrickLink but its answer is lost; then the lot changes there by hand.
    bl.control.fault("drop_after_apply", 1, { path: `/inventories/${inv}` });
    await adjustLot(api.ctx, null, { accountId, userId: null, lotId, by: -1, reason: "lost answer" });
    await dispatchOutbox(api.ctx);
    expect((await blRow()).lastError).toMatch(/could not be reached|answer/i);
    bl.control.state.inventory.get(inv)!.quantity -= 3;
    clock.advance(61_000);
    await dispatchOutbox(api.ctx);
    expect((await blRow()).lastError).toMatch(/looking again after the next sync/);
    // A push ping's run fetches only the orders BrickLink names: it proves nothing about the lot.
    clock.advance(1_000);
    await requestSync(api.ctx, api.queue, { accountId, connectionId: conns.bricklink, trigger: "webhook" });
    await api.queue.runUntilIdle();
    clock.advance(31_000);
    await dispatchOutbox(api.ctx);
    expect((await blRow()).status).toBe("pending");
    expect((await blRow()).lastError).toMatch(/looking again after the next sync/);
    // A sync that read the whole order list knows every sale: what is left needs a person.
    await sync("bricklink");
    clock.advance(31_000);
    await dispatchOutbox(api.ctx);
    const failed = await blRow();
    expect(failed.status).toBe("failed");
    expect(failed.lastError).toMatch(/reconcile it before sending more/);
    // Which the seller does: BrickLink's quantity wins.
    await reconcile(api.ctx, api.queue, { accountId, connectionId: conns.bricklink });
    await settle();
    expect((await lotOf(inv)).quantity).toBe(blQty(inv));
    // The failed push is closed for good: a Retry could otherwise apply its delta a second time.
    const [closed] = await api.ctx.db.select().from(outbox).where(eq(outbox.id, failed.id));
    expect(closed!.status).toBe("dead");
    expect(closed!.lastError).toMatch(/settled by the reconcile/);
  });
});
