import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabase } from "../../../test/helpers/db.ts";
import type { OrderInput } from "../../core/order.ts";
import { SecretBox } from "../../core/secrets.ts";
import type { Database } from "../connection.ts";
import { orders } from "../schema.ts";
import { createAccount } from "./accounts.ts";
import { insertConnection } from "./connections.ts";
import { countMatching, findOrderId, getOrderDetail, listOrders, upsertOrders } from "./orders.ts";

let database: Database;
const box = new SecretBox(randomBytes(32));

function order(id: string, over: Partial<OrderInput> = {}): OrderInput {
  return {
    marketplace: "fake",
    externalId: id,
    number: `FK-${id}`,
    changeMarker: "1",
    status: "pending",
    rawStatus: "NEW",
    buyerName: `Buyer ${id}`,
    orderedAt: new Date(Date.UTC(2026, 0, (Number(id) % 28) + 1)),
    totals: { currency: "EUR", subtotal: 10_0000, grandTotal: 12_5000 },
    lines: [
      {
        externalLineId: "a",
        itemNo: "3001",
        name: "Brick 2 x 4",
        quantity: 2,
        unitPrice: 5_0000,
        lineTotal: 10_0000,
      },
    ],
    raw: { id },
    ...over,
  };
}

async function setup(name: string) {
  const account = await createAccount(database.db, { name });
  const conn = await insertConnection(database.db, box, {
    accountId: account.id,
    marketplace: "fake",
    name: "Fake",
    baseUrl: "http://127.0.0.1:1",
    config: {},
    secrets: {},
  });
  return {
    accountId: account.id,
    connectionId: conn.id,
    source: "marketplace:fake",
    at: new Date("2026-02-01T00:00:00Z"),
  };
}

beforeAll(async () => {
  database = await testDatabase();
});
afterAll(async () => {
  await database.close();
});

describe("order upsert", () => {
  it("creates, skips unchanged and updates with a status event, idempotently", async () => {
    const ctx = await setup("Upsert A");
    const first = await upsertOrders(database.db, ctx, [order("1"), order("2")]);
    expect(first.map((r) => r.outcome)).toEqual(["created", "created"]);

    const again = await upsertOrders(database.db, ctx, [order("1"), order("2")]);
    expect(again.map((r) => r.outcome)).toEqual(["unchanged", "unchanged"]);

    const changed = await upsertOrders(database.db, ctx, [
      order("1", {
        status: "processing",
        rawStatus: "PAID",
        changeMarker: "2",
        lines: [
          {
            externalLineId: "a",
            itemNo: "3001",
            name: "Brick 2 x 4",
            quantity: 3,
            unitPrice: 5_0000,
            lineTotal: 15_0000,
          },
          {
            externalLineId: "b",
            itemNo: "3003",
            name: "Brick 2 x 2",
            quantity: 1,
            unitPrice: 1_2345,
            lineTotal: 1_2345,
          },
        ],
      }),
    ]);
    expect(changed[0]).toMatchObject({ outcome: "updated", previousStatus: "pending", status: "processing" });

    const id = await findOrderId(database.db, ctx.accountId, "fk-1");
    const detail = await getOrderDetail(database.db, ctx.accountId, id!);
    expect(detail!.lines.map((l) => [l.externalLineId, l.quantity, l.unitPrice])).toEqual([
      ["a", 3, 5_0000],
      ["b", 1, 1_2345],
    ]);
    expect(detail!.events.map((e) => [e.kind, e.fromStatus, e.toStatus])).toEqual([
      ["created", null, "pending"],
      ["status_changed", "pending", "processing"],
    ]);

    // Repeating the same change is a no-op: no second event, no new lines.
    const repeat = await upsertOrders(database.db, ctx, [
      order("1", {
        status: "processing",
        rawStatus: "PAID",
        changeMarker: "2",
        lines: [
          {
            externalLineId: "a",
            itemNo: "3001",
            name: "Brick 2 x 4",
            quantity: 3,
            unitPrice: 5_0000,
            lineTotal: 15_0000,
          },
          {
            externalLineId: "b",
            itemNo: "3003",
            name: "Brick 2 x 2",
            quantity: 1,
            unitPrice: 1_2345,
            lineTotal: 1_2345,
          },
        ],
      }),
    ]);
    expect(repeat[0]!.outcome).toBe("unchanged");
    const detail2 = await getOrderDetail(database.db, ctx.accountId, id!);
    expect(detail2!.lines).toHaveLength(2);
    expect(detail2!.events).toHaveLength(2);
  });

  it("marks lines that vanished from an edited order as removed", async () => {
    const ctx = await setup("Upsert B");
    await upsertOrders(database.db, ctx, [
      order("7", {
        lines: [
          { externalLineId: "a", itemNo: "1", name: "A", quantity: 1, unitPrice: 1, lineTotal: 1 },
          { externalLineId: "b", itemNo: "2", name: "B", quantity: 1, unitPrice: 1, lineTotal: 1 },
        ],
      }),
    ]);
    await upsertOrders(database.db, ctx, [
      order("7", {
        lines: [{ externalLineId: "b", itemNo: "2", name: "B", quantity: 1, unitPrice: 1, lineTotal: 1 }],
      }),
    ]);
    const id = await findOrderId(database.db, ctx.accountId, "FK-7");
    const d = await getOrderDetail(database.db, ctx.accountId, id!);
    expect(d!.lines.map((l) => [l.externalLineId, l.removedAt !== null])).toEqual([
      ["a", true],
      ["b", false],
    ]);
  });

  it("refuses an order that does not fit the unified model, writing nothing", async () => {
    const ctx = await setup("Upsert C");
    await expect(
      upsertOrders(database.db, ctx, [order("9", { totals: { currency: "euro" } as never })]),
    ).rejects.toThrow(/currency/);
    expect((await listOrders(database.db, ctx.accountId, {})).total).toBe(0);
  });

  it("keeps accounts apart", async () => {
    const a = await setup("Iso A");
    const b = await setup("Iso B");
    await upsertOrders(database.db, a, [order("100")]);
    await upsertOrders(database.db, b, [order("100"), order("101")]);
    expect((await listOrders(database.db, a.accountId, {})).total).toBe(1);
    expect((await listOrders(database.db, b.accountId, {})).total).toBe(2);
    const idInA = await findOrderId(database.db, a.accountId, "FK-100");
    expect(await getOrderDetail(database.db, b.accountId, idInA!)).toBeNull();
  });

  it("filters, searches and sorts on the server", async () => {
    const ctx = await setup("Query");
    await upsertOrders(database.db, ctx, [
      order("201", { buyerName: "Zoë Müller", totals: { currency: "EUR", subtotal: 1, grandTotal: 300 } }),
      order("202", {
        buyerName: "anna",
        status: "shipped",
        rawStatus: "SHIPPED",
        totals: { currency: "EUR", subtotal: 1, grandTotal: 100 },
      }),
      order("203", {
        buyerName: "Bob",
        totals: { currency: "EUR", subtotal: 1, grandTotal: 200 },
        lines: [
          { externalLineId: "x", itemNo: "973pb123", name: "Torso", quantity: 1, unitPrice: 1, lineTotal: 1 },
        ],
      }),
    ]);
    const byTotal = await listOrders(database.db, ctx.accountId, { sort: "total", dir: "asc" });
    expect(byTotal.rows.map((r) => r.number)).toEqual(["FK-202", "FK-203", "FK-201"]);
    expect(
      (await listOrders(database.db, ctx.accountId, { status: ["shipped"] })).rows.map((r) => r.number),
    ).toEqual(["FK-202"]);
    expect(
      (await listOrders(database.db, ctx.accountId, { buyer: "zoe" })).rows.map((r) => r.number),
    ).toEqual(["FK-201"]);
    expect(
      (await listOrders(database.db, ctx.accountId, { q: "973PB123" })).rows.map((r) => r.number),
    ).toEqual(["FK-203"]);
    expect((await listOrders(database.db, ctx.accountId, { q: "fk-20" })).total).toBe(3);
    const paged = await listOrders(database.db, ctx.accountId, {
      sort: "buyer",
      dir: "asc",
      pageSize: 2,
      page: 2,
    });
    expect(paged).toMatchObject({ total: 3, page: 2, pageSize: 2 });
    expect(paged.rows.map((r) => r.buyerName)).toEqual(["Zoë Müller"]);
  });
});

describe("order totals", () => {
  it("the counts kept by triggers always equal a real count, through inserts and status changes", async () => {
    const ctx = await setup("Counts");
    const ids = Array.from({ length: 30 }, (_, i) => String(500 + i));
    await upsertOrders(
      database.db,
      ctx,
      ids.map((id, i) => order(id, { status: i % 3 ? "pending" : "shipped", rawStatus: "X" })),
    );
    await upsertOrders(
      database.db,
      ctx,
      ids.slice(0, 10).map((id) => order(id, { status: "cancelled", rawStatus: "C" })),
    );
    const real = async (where: string) =>
      Number(
        (
          (
            await database.sql.executeSql(
              `select count(*)::int as n from orders where account_id = $1 ${where}`,
              [ctx.accountId],
            )
          ).rows[0] as { n: number }
        ).n,
      );
    expect((await listOrders(database.db, ctx.accountId, {})).total).toBe(await real(""));
    for (const status of ["pending", "shipped", "cancelled"] as const) {
      expect((await listOrders(database.db, ctx.accountId, { status: [status] })).total).toBe(
        await real(`and status = '${status}'`),
      );
    }
    expect(
      (
        await listOrders(database.db, ctx.accountId, {
          status: ["pending", "cancelled"],
          marketplace: ["fake"],
        })
      ).total,
    ).toBe(await real("and status in ('pending', 'cancelled')"));
    expect((await listOrders(database.db, ctx.accountId, { marketplace: ["bricklink"] })).total).toBe(0);
    await database.sql.executeSql("delete from orders where account_id = $1 and external_id = '529'", [
      ctx.accountId,
    ]);
    expect((await listOrders(database.db, ctx.accountId, {})).total).toBe(29);
  });
});

describe("date filter", () => {
  it("a day picked as To is included, in the account's time zone, and From = To is that one day", async () => {
    const ctx = await setup("Days");
    await upsertOrders(database.db, ctx, [
      // 1 Dec, 23:30 in Berlin (22:30 UTC) — Berlin's 1 December.
      order("301", { orderedAt: new Date("2026-12-01T22:30:00Z") }),
      order("302", { orderedAt: new Date("2026-12-02T12:00:00Z") }),
      // 3 Dec, 00:30 in Berlin (23:30 UTC on the 2nd) — no longer Berlin's 2 December.
      order("303", { orderedAt: new Date("2026-12-02T23:30:00Z") }),
      order("304", { orderedAt: new Date("2026-11-30T22:59:00Z") }),
    ]);
    const numbers = async (q: Parameters<typeof listOrders>[2]) =>
      (await listOrders(database.db, ctx.accountId, { sort: "orderedAt", dir: "asc", ...q })).rows.map(
        (r) => r.number,
      );
    expect(await numbers({ from: "2026-12-01", to: "2026-12-02", timeZone: "Europe/Berlin" })).toEqual([
      "FK-301",
      "FK-302",
    ]);
    expect(await numbers({ from: "2026-12-02", to: "2026-12-02", timeZone: "Europe/Berlin" })).toEqual([
      "FK-302",
    ]);
    // The same days in UTC: the 23:30 UTC order is still the 2nd.
    expect(await numbers({ from: "2026-12-02", to: "2026-12-02" })).toEqual(["FK-302", "FK-303"]);
    expect(await numbers({ from: "2026-12-01", to: "2026-12-01" })).toEqual(["FK-301"]);
    // An instant is an instant: To before it, as before.
    expect(await numbers({ to: new Date("2026-12-02T12:00:00Z") })).toEqual(["FK-304", "FK-301"]);
  });
});

describe("on hold", () => {
  it("holds in Orderhub and the marketplace's own on-hold status are one filter, counted alike", async () => {
    const ctx = await setup("Holds");
    await upsertOrders(database.db, ctx, [
      order("401"),
      order("402", { status: "on_hold", rawStatus: "On Hold" }),
      order("403"),
    ]);
    const id = await findOrderId(database.db, ctx.accountId, "FK-403");
    await database.db.update(orders).set({ onHold: true, holdReason: "rule" }).where(eq(orders.id, id!));
    const numbers = async (onHold: boolean) =>
      (await listOrders(database.db, ctx.accountId, { onHold, sort: "number", dir: "asc" })).rows.map((r) => [
        r.number,
        r.onHold,
      ]);
    expect(await numbers(true)).toEqual([
      ["FK-402", false],
      ["FK-403", true],
    ]);
    expect(await numbers(false)).toEqual([["FK-401", false]]);
    expect(await countMatching(database.db, ctx.accountId, { onHold: true })).toBe(2);
  });
});

describe("search", () => {
  it("finds what the table shows: buyer usernames and names in any case and accent, lines, numbers with or without prefix", async () => {
    const ctx = await setup("Search");
    await upsertOrders(database.db, ctx, [
      order("123", {
        number: "BL-123",
        buyerName: "Łukasz Nowak",
        buyerUsername: "brickfan_77",
        buyerEmail: "lukasz@example.pl",
      }),
      order("456", {
        number: "BL-456",
        buyerName: "Zoë Dubois",
        buyerUsername: "ZoeBricks",
        lines: [
          {
            externalLineId: "z",
            itemNo: "973pb1234c01",
            name: "Torso Space Police Pattern",
            quantity: 1,
            unitPrice: 1,
            lineTotal: 1,
          },
        ],
      }),
      order("789", { number: "BL-789", buyerName: "Søren Jensen", buyerUsername: "sj" }),
      order("4000", {
        marketplace: "fake",
        number: "FK-4000",
        buyerName: "Seán O'Brien",
        buyerUsername: "blake",
        lines: [
          {
            externalLineId: "w",
            itemNo: "4073",
            name: "Plate Round 1 x 1",
            quantity: 1,
            unitPrice: 1,
            lineTotal: 1,
          },
        ],
      }),
    ]);
    const found = async (q: string) =>
      (await listOrders(database.db, ctx.accountId, { q, sort: "number", dir: "asc" })).rows.map(
        (r) => r.number,
      );
    expect(await found("lukasz")).toEqual(["BL-123"]);
    expect(await found("ŁUKASZ")).toEqual(["BL-123"]);
    expect(await found("nowak")).toEqual(["BL-123"]);
    expect(await found("Lukasz Nowak")).toEqual(["BL-123"]);
    expect(await found("brickfan")).toEqual(["BL-123"]);
    expect(await found("brickfan_77")).toEqual(["BL-123"]);
    expect(await found("zoebricks")).toEqual(["BL-456"]);
    expect(await found("zoe")).toEqual(["BL-456"]);
    expect(await found("soren")).toEqual(["BL-789"]);
    expect(await found("lukasz@example")).toEqual(["BL-123"]);
    // Lines: part names (any word) and item numbers.
    expect(await found("space police")).toEqual(["BL-456"]);
    expect(await found("torso")).toEqual(["BL-456"]);
    expect(await found("973PB1234")).toEqual(["BL-456"]);
    expect(await found("3001")).toEqual(["BL-123", "BL-789"]);
    // Order numbers with and without the marketplace prefix.
    expect(await found("BL-123")).toEqual(["BL-123"]);
    expect(await found("bl-45")).toEqual(["BL-456"]);
    expect(await found("123")).toEqual(["BL-123"]);
    expect(await found("78")).toEqual(["BL-789"]);
    expect(await found("nobody")).toEqual([]);
    // Found by several kinds of match at once, an order still counts once.
    expect((await listOrders(database.db, ctx.accountId, { q: "123" })).total).toBe(1);
    expect((await listOrders(database.db, ctx.accountId, { q: "BL-" })).total).toBe(3);
    expect((await listOrders(database.db, ctx.accountId, { q: "3001", status: ["pending"] })).total).toBe(2);
    // A name with an apostrophe, whole or by its parts; a number never matches a buyer's word.
    expect(await found("o'brien")).toEqual(["FK-4000"]);
    expect(await found("brien")).toEqual(["FK-4000"]);
    expect(await found("sean o'brien")).toEqual(["FK-4000"]);
    expect(await found("BL-")).toEqual(["BL-123", "BL-456", "BL-789"]);
    expect(await found("bl-4")).toEqual(["BL-456"]);
    // One-character words ("1 x 1") are left out; the rest must all match.
    expect(await found("plate round 1 x 1")).toEqual(["FK-4000"]);
    expect(await found("brick 2 x 4")).toEqual(["BL-123", "BL-789"]);
    // The buyer filter folds the same way.
    expect(
      (await listOrders(database.db, ctx.accountId, { buyer: "lukasz" })).rows.map((r) => r.number),
    ).toEqual(["BL-123"]);
  });

  it("orders stored before the search words existed are found after the migration fills them in", async () => {
    const ctx = await setup("Search backfill");
    await upsertOrders(database.db, ctx, [
      order("950", {
        buyerName: "Łukasz Żółć",
        buyerUsername: "Brick_Fan",
        lines: [
          {
            externalLineId: "a",
            itemNo: "3069bpr0099",
            name: "Tile 1 x 2 Pattern",
            quantity: 1,
            unitPrice: 1,
            lineTotal: 1,
          },
        ],
      }),
    ]);
    // As an install before migration 0016 had them: no words, buyer_sort folded the old way.
    await database.sql.executeSql(
      "delete from order_search_terms where order_id in (select id from orders where account_id = $1)",
      [ctx.accountId],
    );
    await database.sql.executeSql(
      "update orders set buyer_sort = 'łukasz zołc brick_fan' where account_id = $1",
      [ctx.accountId],
    );
    const total = async (q: string) => (await listOrders(database.db, ctx.accountId, { q })).total;
    expect(await total("lukasz")).toBe(0);
    const migration = readFileSync(
      join(import.meta.dirname, "../../../drizzle/0016_order_search_views.sql"),
      "utf8",
    ).split("--> statement-breakpoint");
    for (const statement of migration.filter((st) =>
      /UPDATE "orders"|INSERT INTO "order_search_terms"/.test(st),
    ))
      await database.sql.executeSql(statement, []);
    for (const q of ["lukasz", "zolc", "brick_fan", "brick", "3069BPR", "tile", "pattern", "950"])
      expect([q, await total(q)]).toEqual([q, 1]);
    expect(
      (await listOrders(database.db, ctx.accountId, { buyer: "lukasz" })).rows.map((r) => r.number),
    ).toEqual(["FK-950"]);
  });

  it("an edited order is found by its new lines and no longer by the ones it lost", async () => {
    const ctx = await setup("Search edits");
    await upsertOrders(database.db, ctx, [order("900")]);
    await upsertOrders(database.db, ctx, [
      order("900", {
        changeMarker: "2",
        lines: [
          {
            externalLineId: "b",
            itemNo: "3003",
            name: "Plate 2 x 2",
            quantity: 1,
            unitPrice: 1,
            lineTotal: 1,
          },
        ],
      }),
    ]);
    const total = async (q: string) => (await listOrders(database.db, ctx.accountId, { q })).total;
    expect(await total("3003")).toBe(1);
    expect(await total("plate")).toBe(1);
    expect(await total("3001")).toBe(0);
    expect(await total("brick")).toBe(0);
  });
});
