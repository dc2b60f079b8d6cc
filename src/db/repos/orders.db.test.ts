import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabase } from "../../../test/helpers/db.ts";
import type { OrderInput } from "../../core/order.ts";
import { SecretBox } from "../../core/secrets.ts";
import type { Database } from "../connection.ts";
import { createAccount } from "./accounts.ts";
import { insertConnection } from "./connections.ts";
import { findOrderId, getOrderDetail, listOrders, upsertOrders } from "./orders.ts";

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
