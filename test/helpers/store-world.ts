/**
 * A seller's world for the crash and fault suites: a BrickLink and a BrickOwl simulator whose lots
 * mirror each other, an Orderhub reached through its API, random things a seller and buyers do, and
 * the checks of what must hold afterwards, read straight from the database and the simulators.
 */
import { sql } from "drizzle-orm";
import { expect } from "vitest";
import type { Database } from "../../src/db/connection.ts";
import {
  type BrickLinkSimulator,
  startBrickLinkSimulator,
} from "../../src/marketplaces/bricklink/simulator/server.ts";
import { prng } from "../../src/marketplaces/bricklink/simulator/store.ts";
import {
  type BrickOwlSimulator,
  startBrickOwlSimulator,
} from "../../src/marketplaces/brickowl/simulator/server.ts";

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}
/** One API call as the owner; null when nothing answered (the server was killed, say). */
export type CallApi = (method: string, path: string, body?: unknown) => Promise<Answer | null>;

type Db = Database["db"];

export async function rows<T>(db: Db, query: ReturnType<typeof sql>): Promise<T[]> {
  const res = await db.execute(query);
  return ((res as unknown as { rows?: T[] }).rows ?? (res as unknown as T[])) as T[];
}

export class StoreWorld {
  readonly conn = { bl: 0, bo: 0 };
  /** What the seller was told had happened (2xx), to check against what the marketplaces hold. */
  readonly acknowledged = { adjust: new Set<string>(), ship: new Map<string, string>() };
  readonly createdBl: number[] = [];
  readonly createdBo: string[] = [];
  private readonly blStart = new Map<number, number>();
  private readonly boStart = new Map<number, number>();
  private seq = 0;
  readonly rnd: () => number;

  private constructor(
    readonly bl: BrickLinkSimulator,
    readonly bo: BrickOwlSimulator,
    readonly seed: number,
    private readonly tag: string,
  ) {
    this.rnd = prng(seed);
  }

  static async start(seed: number, tag: string): Promise<StoreWorld> {
    const bl = await startBrickLinkSimulator({ seed, orders: 20, lines: 4, dailyLimit: 1_000_000 });
    const bo = await startBrickOwlSimulator({
      seed,
      orders: 12,
      lines: 3,
      perMinute: 1_000_000,
      batchPerMinute: 1_000_000,
    });
    return new StoreWorld(bl, bo, seed, tag);
  }

  async close(): Promise<void> {
    await this.bl.close();
    await this.bo.close();
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)]!;
  }

  blQty(inv: number): number {
    return this.bl.control.state.inventory.get(inv)?.quantity ?? 0;
  }

  /** BrickOwl lots by the BrickLink lot they mirror. */
  boLots() {
    return new Map(
      [...this.bo.control.state.inventory.values()].map((l) => [
        Number((l.external_lot_ids as Record<string, string>).other),
        l,
      ]),
    );
  }

  /** Connects both stores, syncs them and imports the inventory; remembers where every lot started. */
  async connect(call: CallApi, waitForRun: (runId: number) => Promise<string>, webhookBase: string) {
    const must = async (method: string, path: string, body?: unknown) => {
      const a = await call(method, path, body);
      if (!a || a.status >= 300)
        throw new Error(`${method} ${path}: ${a?.status} ${JSON.stringify(a?.body)}`);
      return a.body;
    };
    const made = await must("POST", "/api/connections", {
      marketplace: "bricklink",
      name: "BrickLink",
      baseUrl: this.bl.baseUrl,
      config: { ...this.bl.credentials },
    });
    const blConn = made.connection as { id: number; webhookUrl: string };
    this.conn.bl = blConn.id;
    this.bl.control.state.callbackUrl = `${webhookBase}${new URL(blConn.webhookUrl).pathname}`;
    const madeBo = await must("POST", "/api/connections", {
      marketplace: "brickowl",
      name: "BrickOwl",
      baseUrl: this.bo.baseUrl,
      config: { apiKey: this.bo.apiKey },
    });
    this.conn.bo = (madeBo.connection as { id: number }).id;
    // Ample stock on both sides, so no sale ever runs a lot dry (the simulators would clamp at 0).
    for (const lot of this.bl.control.state.inventory.values()) lot.quantity += 1000;
    for (const lot of this.bo.control.state.inventory.values()) lot.qty = String(Number(lot.qty) + 1000);
    for (const id of [this.conn.bl, this.conn.bo]) {
      const run = await must("POST", `/api/connections/${id}/sync`, { mode: "full" });
      expect(await waitForRun(Number(run.runId))).toBe("completed");
    }
    await must("POST", "/api/inventory/import", { connectionId: this.conn.bl });
    await must("POST", "/api/inventory/import", { connectionId: this.conn.bo });
    const lots = this.boLots();
    for (const inv of this.bl.control.state.inventory.keys()) {
      if (!lots.has(inv)) continue;
      this.blStart.set(inv, this.blQty(inv));
      this.boStart.set(inv, Number(lots.get(inv)!.qty));
    }
    expect(this.blStart.size).toBeGreaterThan(10);
  }

  /** One thing a seller or a buyer does, at random. */
  async act(call: CallApi): Promise<void> {
    const r = this.rnd();
    const n = ++this.seq;
    if (r < 0.3) {
      this.createdBl.push(this.bl.control.createOrder({ lines: 1 + Math.floor(this.rnd() * 3) }));
    } else if (r < 0.45) {
      this.createdBo.push(this.bo.control.createOrder({ lines: 1 + Math.floor(this.rnd() * 2) }));
      await call("POST", `/api/connections/${this.conn.bo}/sync`, {});
    } else if (r < 0.7) {
      const inv = this.pick([...this.blStart.keys()]);
      const reason = `${this.tag}-adjust-${n}`;
      const a = await call("POST", `/api/inventory/lots/bricklink:${inv}/adjust`, {
        by: this.pick([-2, -1, 1, 2, 3]),
        reason,
      });
      if (a && a.status < 300) this.acknowledged.adjust.add(reason);
    } else if (r < 0.9) {
      const candidates = [
        ...this.createdBl.slice(0, -2).map((i) => `BL-${i}`),
        ...this.createdBo.slice(0, -2).map((i) => `BO-${i}`),
      ].filter((ref) => !this.acknowledged.ship.has(ref));
      if (candidates.length === 0) return;
      const ref = this.pick(candidates);
      const tracking = `TRK${n}X${ref.replace("-", "")}`;
      const a = await call("POST", "/api/fulfilment/ship", { orders: [ref], trackingNumber: tracking });
      if (a && a.status < 300) this.acknowledged.ship.set(ref, tracking);
    } else {
      await call("POST", `/api/connections/${this.conn.bl}/sync`, {});
    }
  }

  /** Orders the stores hold that Orderhub should have (BrickLink's filed ones are left out). */
  expectedOrderCount(): number {
    return (
      [...this.bl.control.state.orders.values()].filter((o) => o.direction === "in" && !o.order.is_filed)
        .length + this.bo.control.state.orders.size
    );
  }

  /**
   * What must hold once everything has settled: every order exactly once with all its lines; every
   * lot the sum of its ledger; no run left going and no push left unsent; every acknowledged change
   * in the ledger; both marketplaces moved by exactly what the sales and adjustments say (so every
   * push landed exactly once); every acknowledged shipment on the marketplace, its status set once.
   */
  async expectInvariants(db: Db, opts: { allowFailedPushes?: number[] } = {}): Promise<void> {
    const { bl, bo } = this;
    const stored = await rows<{ marketplace: string; external_id: string; n: number; lines: number }>(
      db,
      sql`select o.marketplace, o.external_id, count(distinct o.id)::int as n,
             (select count(*)::int from order_lines l where l.order_id = min(o.id)) as lines
          from orders o group by o.marketplace, o.external_id`,
    );
    expect(stored.filter((s) => s.n !== 1)).toEqual([]);
    const have = new Map(stored.map((s) => [`${s.marketplace}:${s.external_id}`, s.lines]));
    const want = new Map<string, number>();
    for (const o of bl.control.state.orders.values())
      if (o.direction === "in" && !o.order.is_filed)
        // BrickLink serves no items for a purged order.
        want.set(`bricklink:${o.order.order_id}`, o.order.status === "PURGED" ? 0 : o.batches.flat().length);
    for (const [id, o] of bo.control.state.orders) want.set(`brickowl:${id}`, o.items.length);
    expect([...have.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [k, n] of want) expect(have.get(k), k).toBe(n);

    const lots = await rows<{ id: number; quantity: number; reserved: number; q: number; r: number }>(
      db,
      sql`select l.id, l.quantity, l.reserved, coalesce(sum(g.quantity_delta), 0)::int as q,
             coalesce(sum(g.reserved_delta), 0)::int as r
          from inventory_lots l left join inventory_ledger g on g.lot_id = l.id group by l.id`,
    );
    expect(lots.filter((l) => l.q !== l.quantity || l.r !== l.reserved)).toEqual([]);
    const stuck = await rows<{ state: string; n: number }>(
      db,
      sql`select state::text, count(*)::int as n from sync_runs where state in ('queued', 'running') group by state`,
    );
    expect(stuck).toEqual([]);
    const open = await rows<{ id: number; status: string; kind: string; last_error: string | null }>(
      db,
      sql`select id::int, status::text, kind, attempts, last_error from outbox where status <> 'sent' order by id`,
    );
    const allowed = new Set(opts.allowFailedPushes ?? []);
    expect(open.filter((o) => !(o.status === "failed" && allowed.has(o.id)))).toEqual([]);

    const adjustRows = await rows<{ reason: string; inv: string; d: number }>(
      db,
      sql`select g.reason, s.external_id as inv, g.quantity_delta as d
          from inventory_ledger g join listings s on s.lot_id = g.lot_id
          join connections c on c.id = s.connection_id and c.marketplace = 'bricklink'
          where g.reason like ${`${this.tag}-adjust-%`}`,
    );
    const inLedger = new Set(adjustRows.map((a) => a.reason));
    for (const reason of this.acknowledged.adjust) expect(inLedger.has(reason), reason).toBe(true);
    const expected = new Map<number, number>();
    const add = (inv: number, d: number) => expected.set(inv, (expected.get(inv) ?? 0) + d);
    for (const a of adjustRows) add(Number(a.inv), a.d);
    for (const id of this.createdBl)
      for (const it of bl.control.state.orders.get(id)!.batches.flat()) add(it.inventory_id!, -it.quantity);
    for (const id of this.createdBo)
      for (const it of bo.control.state.orders.get(id)!.items)
        add(Number(it.bl_lot_id), -Number(it.ordered_quantity));
    const byInv = await rows<{ inv: string; quantity: number }>(
      db,
      sql`select s.external_id as inv, l.quantity from listings s
          join inventory_lots l on l.id = s.lot_id
          join connections c on c.id = s.connection_id and c.marketplace = 'bricklink'`,
    );
    const lotQty = new Map(byInv.map((r) => [Number(r.inv), r.quantity]));
    const owl = this.boLots();
    const wrong: string[] = [];
    for (const [inv, bl0] of this.blStart) {
      const w = expected.get(inv) ?? 0;
      const dBl = this.blQty(inv) - bl0;
      const dBo = Number(owl.get(inv)!.qty) - this.boStart.get(inv)!;
      if (dBl !== w || dBo !== w)
        wrong.push(`lot ${inv}: expected ${w}, BrickLink moved ${dBl}, BrickOwl moved ${dBo}`);
      if (lotQty.has(inv) && lotQty.get(inv) !== this.blQty(inv))
        wrong.push(`lot ${inv}: Orderhub holds ${lotQty.get(inv)}, BrickLink ${this.blQty(inv)}`);
    }
    expect(wrong).toEqual([]);

    for (const [ref, tracking] of this.acknowledged.ship) {
      const [mp, id] = ref.split("-") as ["BL" | "BO", string];
      if (mp === "BL") {
        const o = bl.control.state.orders.get(Number(id))!.order;
        expect(o.status, ref).toBe("SHIPPED");
        expect(o.shipping?.tracking_no, ref).toBe(tracking);
        const changes = bl.control.state.statusChanges.filter(
          (c) => c.orderId === Number(id) && c.to === "SHIPPED",
        );
        expect(changes, ref).toHaveLength(1);
      } else {
        const o = bo.control.state.orders.get(id)!.order;
        expect(o.status, ref).toBe("Shipped");
        expect(o.tracking_number, ref).toBe(tracking);
      }
    }
  }
}
