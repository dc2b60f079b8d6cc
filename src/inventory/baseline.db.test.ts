import { and, eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, seedAccount, type TestApi, testApi } from "../../test/helpers/http.ts";
import { connections, inventoryLedger, inventoryLots, listings, outbox } from "../db/schema.ts";
import { startDemo } from "../demo.ts";
import {
  type BrickLinkSimulator,
  startBrickLinkSimulator,
} from "../marketplaces/bricklink/simulator/server.ts";
import { type BrickOwlSimulator, startBrickOwlSimulator } from "../marketplaces/brickowl/simulator/server.ts";
import { requestSync, runSync } from "../sync/engine.ts";
import { dispatchOutbox } from "../sync/outbox.ts";
import { openAdapter } from "../sync/session.ts";
import { registerPushHandlers } from "../worker.ts";
import { findLot, importInventory, listLots } from "./lots.ts";
import { reconcile } from "./reconcile.ts";

/** Sends every push that is due, a few rounds (a sale's push waits for nothing else). */
async function settle(api: TestApi) {
  for (let i = 0; i < 6; i++) {
    await dispatchOutbox(api.ctx);
    const left = await api.ctx.db
      .select({ id: outbox.id })
      .from(outbox)
      .where(inArray(outbox.status, ["pending", "sending"]));
    if (left.length === 0) return;
  }
}

async function workSyncs(api: TestApi) {
  registerPushHandlers(api.ctx);
  await api.queue.work("sync.run", async (d) => {
    await runSync(api.ctx, Number(d.runId), { queue: api.queue });
  });
}

/** Each lot's quantity, by the truth's lot id. */
async function lotsByBrickLinkId(api: TestApi, accountId: number) {
  const rows = await api.ctx.db
    .select({ externalId: listings.externalId, quantity: inventoryLots.quantity })
    .from(listings)
    .innerJoin(inventoryLots, eq(inventoryLots.id, listings.lotId))
    .where(and(eq(listings.accountId, accountId), eq(listings.marketplace, "bricklink")));
  return new Map(rows.map((r) => [r.externalId, r.quantity]));
}

describe("stock counted once: orders stored before the first import", () => {
  let api: TestApi;
  let bl: BrickLinkSimulator;
  let bo: BrickOwlSimulator;
  let accountId: number;
  let token: string;
  const conns = { bricklink: 0, brickowl: 0 };
  const boLotOf = (inv: number) =>
    [...bo.control.state.inventory.values()].find(
      (l) => (l.external_lot_ids as Record<string, string>).other === String(inv),
    )!;
  const boQty = (inv: number) => Number(boLotOf(inv).qty);
  async function sync(which: "bricklink" | "brickowl") {
    await requestSync(api.ctx, api.queue, { accountId, connectionId: conns[which], trigger: "manual" });
    await api.queue.runUntilIdle();
  }
  /** Every BrickLink lot against its Orderhub lot and its BrickOwl lot. */
  async function offBy() {
    const lots = await lotsByBrickLinkId(api, accountId);
    const wrong: string[] = [];
    for (const [inv, l] of bl.control.state.inventory) {
      const here = lots.get(String(inv));
      if (here !== l.quantity) wrong.push(`lot ${inv}: Orderhub ${here}, BrickLink ${l.quantity}`);
      if (boQty(inv) !== l.quantity)
        wrong.push(`lot ${inv}: BrickOwl ${boQty(inv)}, BrickLink ${l.quantity}`);
    }
    return wrong;
  }

  beforeAll(async () => {
    api = await testApi();
    await workSyncs(api);
    bl = await startBrickLinkSimulator({ seed: 77, orders: 12 });
    bo = await startBrickOwlSimulator({ seed: 77, orders: 8 });
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
    await api?.close();
    await bl?.close();
    await bo?.close();
  });

  it("an import takes BrickLink's quantities as they are; orders stored before it are not taken off again", async () => {
    // After the first sync, before any stock is imported: sales on both marketplaces.
    const blOrders = [bl.control.createOrder({ lines: 4 }), bl.control.createOrder({ lines: 3 })];
    const boOrder = bo.control.createOrder({ lines: 3 });
    await sync("bricklink");
    await sync("brickowl");
    // One of the BrickLink orders moves on after the import (shipped): still no take-off.
    const before = new Map([...bl.control.state.inventory].map(([k, v]) => [String(k), v.quantity]));

    await importInventory(api.ctx, accountId, conns.bricklink);
    const lots = await lotsByBrickLinkId(api, accountId);
    // BrickLink's quantities already hold its own sales: the lots are exactly what BrickLink shows,
    // except what BrickOwl sold, which BrickLink does not know yet and is sent to it.
    const boSold = new Map<string, number>();
    for (const it of bo.control.state.orders.get(boOrder)!.items)
      boSold.set(
        it.bl_lot_id as string,
        (boSold.get(it.bl_lot_id as string) ?? 0) + Number(it.ordered_quantity),
      );
    for (const [inv, q] of before) expect(lots.get(inv), `lot ${inv}`).toBe(q - (boSold.get(inv) ?? 0));
    const takeOffs = await api.ctx.db
      .select()
      .from(inventoryLedger)
      .where(and(eq(inventoryLedger.accountId, accountId), eq(inventoryLedger.kind, "reserve")));
    expect(takeOffs.filter((r) => r.quantityDelta !== 0).map((r) => r.reason)).toEqual(
      expect.not.arrayContaining([expect.stringMatching(/^BL-/)]),
    );
    await importInventory(api.ctx, accountId, conns.brickowl);
    await settle(api);
    for (const [inv, l] of bl.control.state.inventory)
      expect((await lotsByBrickLinkId(api, accountId)).get(String(inv)), `lot ${inv}`).toBe(l.quantity);

    bl.control.setStatus(blOrders[0]!, "SHIPPED");
    await sync("bricklink");
    await settle(api);
    for (const [inv, l] of bl.control.state.inventory)
      expect((await lotsByBrickLinkId(api, accountId)).get(String(inv)), `lot ${inv}`).toBe(l.quantity);
  });

  it("reconcile brings BrickOwl to BrickLink's quantity (BrickLink's own sales included) and leaves every lot at BrickLink's", async () => {
    expect((await offBy()).length).toBeGreaterThan(0); // BrickOwl never heard of BrickLink's early sales
    const r = await reconcile(api.ctx, api.queue, { accountId, connectionId: conns.bricklink });
    expect(r.adopted).toEqual([]);
    expect(r.flagged).toEqual([]);
    expect(r.aligned.length).toBeGreaterThan(0);
    await settle(api);
    expect(await offBy()).toEqual([]);
    // A second reconcile finds nothing to do.
    const again = await reconcile(api.ctx, api.queue, { accountId, connectionId: conns.bricklink });
    expect({ adopted: again.adopted, aligned: again.aligned, flagged: again.flagged }).toEqual({
      adopted: [],
      aligned: [],
      flagged: [],
    });
  });

  it("orders after the import take stock off exactly once, on both sides", async () => {
    const a = bl.control.createOrder({ lines: 3 });
    const b = bo.control.createOrder({ lines: 2 });
    await sync("bricklink");
    await sync("brickowl");
    await settle(api);
    expect(await offBy()).toEqual([]);
    bl.control.setStatus(a, "SHIPPED");
    bo.control.setStatus(b, 5);
    await sync("bricklink");
    await sync("brickowl");
    await settle(api);
    expect(await offBy()).toEqual([]);
  });

  it("a lot a reconcile cannot explain is flagged with the reason, not pushed; it clears once in step", async () => {
    const inv = [...bl.control.state.inventory.keys()][5]!;
    const boWrites = bo.control.state.writes.length;
    // Changed on BrickOwl by hand: no order explains it, and BrickLink knows nothing of it.
    boLotOf(inv).qty = String(boQty(inv) - 4);
    const r = await reconcile(api.ctx, api.queue, { accountId, connectionId: conns.bricklink });
    expect(r.flagged).toHaveLength(1);
    expect(r.flagged[0]).toMatchObject({ marketplace: "brickowl", externalId: String(boLotOf(inv).lot_id) });
    expect(r.flagged[0]!.reason).toMatch(/BrickOwl shows \d+, Orderhub expected \d+/);
    await settle(api);
    expect(bo.control.state.writes.length).toBe(boWrites); // no guess pushed
    const lotId = await findLot(api.ctx, accountId, `bricklink:${inv}`);
    const flagged = await listLots(api.ctx, accountId, { flagged: true });
    expect(flagged.lots.map((l) => l.id)).toEqual([lotId]);
    expect(flagged.lots[0]!.flagReason).toBe(r.flagged[0]!.reason);
    const res = await api.app.inject({
      method: "GET",
      url: "/api/inventory/lots?flagged=true",
      headers: bearer(token),
    });
    expect(res.json().lots.map((l: { id: number; flagReason: string }) => [l.id, l.flagReason])).toEqual([
      [lotId, r.flagged[0]!.reason],
    ]);
    // The seller puts it right on BrickOwl; the next reconcile clears the flag.
    boLotOf(inv).qty = String(boQty(inv) + 4);
    const next = await reconcile(api.ctx, api.queue, { accountId, connectionId: conns.bricklink });
    expect(next.flagged).toEqual([]);
    expect((await listLots(api.ctx, accountId, { flagged: true })).lots).toEqual([]);
    expect(await offBy()).toEqual([]);

    // Or the seller has looked and approves: BrickOwl is set to BrickLink's quantity.
    boLotOf(inv).qty = String(boQty(inv) + 6);
    expect(
      (await reconcile(api.ctx, api.queue, { accountId, connectionId: conns.bricklink })).flagged,
    ).toHaveLength(1);
    const approved = await reconcile(api.ctx, api.queue, {
      accountId,
      connectionId: conns.bricklink,
      approve: true,
    });
    expect(approved.flagged).toEqual([]);
    expect(approved.aligned).toMatchObject([{ lotId, marketplace: "brickowl" }]);
    await settle(api);
    expect(await offBy()).toEqual([]);
    expect((await listLots(api.ctx, accountId, { flagged: true })).lots).toEqual([]);
  });
});

describe("stock counted once: the import before the first sync has finished", () => {
  let api: TestApi;
  let bl: BrickLinkSimulator;
  afterAll(async () => {
    await api?.close();
    await bl?.close();
  });

  it("orders placed before the import are history however late they are stored; later ones come off once", async () => {
    api = await testApi();
    await workSyncs(api);
    bl = await startBrickLinkSimulator({ seed: 78, orders: 15 });
    const seeded = await seedAccount(api);
    const accountId = seeded.account.id;
    const res = await api.app.inject({
      method: "POST",
      url: "/api/connections",
      headers: bearer(seeded.tokens.owner),
      payload: { marketplace: "bricklink", name: "bl", baseUrl: bl.baseUrl, config: { ...bl.credentials } },
    });
    const connectionId = res.json().connection.id as number;
    // The stock first (a big store's first sync may take days on its budget), the orders after.
    await importInventory(api.ctx, accountId, connectionId);
    const sold = bl.control.createOrder({ lines: 3 }); // placed after the import: BrickLink took it off
    await requestSync(api.ctx, api.queue, { accountId, connectionId, trigger: "manual", mode: "full" });
    await api.queue.runUntilIdle();
    const lots = await lotsByBrickLinkId(api, accountId);
    for (const [inv, l] of bl.control.state.inventory)
      expect(lots.get(String(inv)), `lot ${inv}`).toBe(l.quantity);
    const takeOffs = await api.ctx.db
      .select({ reason: inventoryLedger.reason, d: inventoryLedger.quantityDelta })
      .from(inventoryLedger)
      .where(and(eq(inventoryLedger.accountId, accountId), eq(inventoryLedger.kind, "reserve")));
    const moved = takeOffs.filter((r) => r.d !== 0).map((r) => r.reason);
    expect(new Set(moved)).toEqual(new Set([`BL-${sold} sold`]));
  });
});

describe("stock counted once in the demo's sequence", () => {
  let api: TestApi;
  let demo: Awaited<ReturnType<typeof startDemo>>;
  afterAll(async () => {
    await demo?.stop();
    await api?.close();
  });

  it("first sync, orders arriving and moving on, import, reconcile: every lot and BrickOwl equal BrickLink", async () => {
    api = await testApi();
    await workSyncs(api);
    // Nothing listens at this address: the stores' pings go nowhere, the syncs below stand for them.
    demo = await startDemo(api.ctx, api.queue, "http://127.0.0.1:9", { tickMs: 3_600_000 });
    expect(demo).not.toBeNull();
    await api.queue.runUntilIdle();
    const ids = demo!.connections as Record<"bricklink" | "brickowl", number>;
    const [conn] = await api.ctx.db.select().from(connections).where(eq(connections.id, ids.bricklink));
    const accountId = conn!.accountId;
    const syncAll = async () => {
      for (const id of Object.values(ids))
        await requestSync(api.ctx, api.queue, { accountId, connectionId: id, trigger: "schedule" });
      await api.queue.runUntilIdle();
    };
    // The demo runs a while before the seller imports the stock: orders arrive and move on.
    for (let i = 0; i < 8; i++) {
      for (const sim of Object.values(demo!.simulators)) await sim.tick();
      await syncAll();
    }
    /** What each store shows now, read through Orderhub's own clients. */
    const remote = async (marketplace: "bricklink" | "brickowl") => {
      const [c] = await api.ctx.db.select().from(connections).where(eq(connections.id, ids[marketplace]));
      const { getAdapter } = await import("../marketplaces/registry.ts");
      const stock = getAdapter(marketplace).stock;
      if (stock.mode === "none") throw new Error("no stock");
      const s = await openAdapter(api.ctx, c!, "stock");
      try {
        return await stock.fetchInventory(s.actx);
      } finally {
        await s.close();
      }
    };
    const wrongLots = async () => {
      const lots = await lotsByBrickLinkId(api, accountId);
      return (await remote("bricklink"))
        .filter((r) => lots.get(r.externalId) !== r.quantity)
        .map((r) => `lot ${r.externalId}: Orderhub ${lots.get(r.externalId)}, BrickLink ${r.quantity}`);
    };

    await importInventory(api.ctx, accountId, ids.bricklink);
    await importInventory(api.ctx, accountId, ids.brickowl);
    await settle(api);
    expect(await wrongLots()).toEqual([]);

    const r = await reconcile(api.ctx, api.queue, { accountId, connectionId: ids.bricklink });
    expect(r.flagged).toEqual([]);
    await settle(api);
    expect(await wrongLots()).toEqual([]);
    const bl = new Map((await remote("bricklink")).map((l) => [l.externalId, l.quantity]));
    const owl = await remote("brickowl");
    const apart = owl
      .filter((l) => l.linkedExternalId && bl.get(l.linkedExternalId) !== l.quantity)
      .map(
        (l) => `lot ${l.linkedExternalId}: BrickOwl ${l.quantity}, BrickLink ${bl.get(l.linkedExternalId!)}`,
      );
    expect(apart).toEqual([]);

    // Orders after the import still take stock off exactly once.
    for (let i = 0; i < 4; i++) {
      for (const sim of Object.values(demo!.simulators)) await sim.tick();
      await syncAll();
      await settle(api);
    }
    expect(await wrongLots()).toEqual([]);
  }, 120_000);
});
