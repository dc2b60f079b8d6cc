import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OrderInput } from "../src/core/order.ts";
import { insertConnection } from "../src/db/repos/connections.ts";
import { upsertOrders } from "../src/db/repos/orders.ts";
import { NO_ADDRESS } from "../src/documents/labels.ts";
import {
  decodeBarcodes,
  NO_PDFTOTEXT,
  NO_ZBAR,
  PDFTOTEXT,
  pageCount,
  pdfText,
  ZBAR,
} from "../src/documents/testing.ts";
import { ManualClock } from "./helpers/db.ts";
import { bearer, seedAccount, type TestApi, testApi } from "./helpers/http.ts";

const clock = new ManualClock("2026-11-22T23:30:05Z");
let api: TestApi;
let token: string;
let otherToken: string;
let staffToken: string;
let pickerToken: string;

const BIG = 199; // BL-500199 has 1,000 lines
const NO_ADDRESS_ORDER = 7; // BL-500007 has no shipping address

function order(i: number, lines: number): OrderInput {
  return {
    marketplace: "bricklink",
    externalId: String(500000 + i),
    number: `BL-${500000 + i}`,
    status: i % 10 === 0 ? "pending" : "processing",
    rawStatus: "PAID",
    buyerName: i % 3 === 0 ? "Дмитрий Иванов" : `Buyer ${i}`,
    buyerUsername: `buyer${i}`,
    shippingAddress:
      i === NO_ADDRESS_ORDER
        ? null
        : {
            name: "Zoë Martin",
            line1: "3 rue Mercière",
            city: "Lyon",
            postalCode: "69002",
            countryCode: "FR",
            full: "Zoë Martin\n3 rue Mercière\n69002 Lyon",
          },
    orderedAt: new Date(Date.UTC(2026, 10, 1, 0, i)),
    totals: { currency: "EUR", subtotal: 10_0000, shipping: 2_5000, grandTotal: 12_5000 },
    lines: Array.from({ length: lines }, (_, j) => ({
      externalLineId: `l${j}`,
      itemNo: `300${j % 10}`,
      name: `Brick ${j}`,
      colorName: "Red",
      condition: "new" as const,
      quantity: 1 + (j % 3),
      unitPrice: 1040,
      lineTotal: 1040 * (1 + (j % 3)),
      location: j % 5 === 4 ? null : `B-${1 + (j % 12)}`,
    })),
    raw: {},
  };
}
const ALL = Array.from({ length: 200 }, (_, i) => order(i, i === BIG ? 1000 : 3));

beforeAll(async () => {
  api = await testApi({ clock });
  const a = await seedAccount(api);
  const b = await seedAccount(api);
  token = a.tokens.owner;
  staffToken = a.tokens.staff;
  pickerToken = a.tokens.picker;
  otherToken = b.tokens.owner;
  const conn = await insertConnection(api.ctx.db, api.ctx.box, {
    accountId: a.account.id,
    marketplace: "bricklink",
    name: "BL",
    baseUrl: "http://127.0.0.1:1/none",
    config: {},
    secrets: {},
  });
  await api.ctx.db.transaction((tx) =>
    upsertOrders(
      tx,
      { accountId: a.account.id, connectionId: conn.id, source: "test", at: clock.now() },
      ALL,
    ),
  );
});
afterAll(async () => {
  await api?.close();
});

const post = (payload: unknown, t = token) =>
  api.app.inject({ method: "POST", url: "/api/documents", headers: bearer(t), payload: payload as object });
const csvRows = (body: Buffer) =>
  parse(body.toString("utf8"), { columns: true, bom: true }) as Record<string, string>[];

describe("POST /api/documents", () => {
  it("refuses an empty selection, unknown orders and bad input with messages naming the field", async () => {
    const empty = await post({ kind: "labels" });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().error.message).toMatch(/no orders selected/);
    const emptyList = await post({ kind: "labels", orders: [] });
    expect(emptyList.statusCode).toBe(400);
    expect(emptyList.json().error.message).toMatch(/no orders selected: orders is an empty list/);
    const none = await post({ kind: "pick-sheet", filter: { q: "nothing-matches" } });
    expect(none.statusCode).toBe(400);
    expect(none.json().error.message).toMatch(/matches no orders/);
    const missing = await post({ kind: "labels", orders: ["BL-500001", "BL-999"] });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.message).toContain("BL-999");
    const both = await post({ kind: "labels", orders: ["BL-500001"], filter: { status: "processing" } });
    expect(both.statusCode).toBe(400);
    expect(both.json().error.message).toMatch(/either orders or filter/);
    const bad = await post({ kind: "labels", orders: ["BL-500001"], options: { layout: "a5-9x9" } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toMatch(/options\.layout/);
    const start = await post({
      kind: "labels",
      orders: ["BL-500001"],
      options: { layout: "a4-2x7", startAt: 15 },
    });
    expect(start.statusCode).toBe(400);
    expect(start.json().error.message).toMatch(/options\.startAt: the a4-2x7 layout has 14 positions/);
    const kind = await post({ kind: "poster", orders: ["BL-500001"] });
    expect(kind.statusCode).toBe(400);
    expect(kind.json().error.message).toMatch(/kind/);
    // A misspelt filter field is refused rather than read as "all orders".
    const typo = await post({ kind: "csv-orders", filter: { stauts: "processing" } });
    expect(typo.statusCode).toBe(400);
    expect(typo.json().error.message).toMatch(/filter/);
    expect(JSON.stringify(typo.json().error)).toContain("stauts");
    const status = await post({ kind: "csv-orders", filter: { status: "shipped,bogus" } });
    expect(status.statusCode).toBe(400);
    expect(status.json().error.message).toMatch(/filter\.status/);
    // Another account's orders do not exist for this one.
    expect((await post({ kind: "labels", orders: ["BL-500001"] }, otherToken)).statusCode).toBe(404);
    expect(
      (await api.app.inject({ method: "POST", url: "/api/documents", payload: { kind: "labels" } }))
        .statusCode,
    ).toBe(401);
  });

  it("answers the file with its name in the account's time zone, orders in the order asked", async () => {
    const res = await post({ kind: "csv-orders", orders: ["BL-500002", "bl-500001", "BL-500002"] });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/csv; charset=utf-8");
    expect(res.headers["content-disposition"]).toBe(
      'attachment; filename="orderhub-orders-20261122-233005.csv"',
    );
    expect(res.headers["x-order-count"]).toBe("2");
    const rows = csvRows(res.rawPayload);
    expect(rows.map((r) => r.order_number)).toEqual(["BL-500002", "BL-500001"]);
    expect(rows[0]).toMatchObject({
      total: "12.50",
      ship_city: "Lyon",
      ship_country: "FR",
      items: "6",
      lots: "3",
    });
  });

  it("a filter selects like the orders table; lines CSV has one row per line, 1,000-line order included", async () => {
    const pending = csvRows((await post({ kind: "csv-orders", filter: { status: "pending" } })).rawPayload);
    expect(pending.map((r) => r.order_number)).toEqual(
      ALL.filter((o) => o.status === "pending").map((o) => o.number),
    );
    const res = await post({ kind: "csv-lines", filter: { q: "BL-50019" } });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-disposition"]).toMatch(/filename="orderhub-order-lines-\d{8}-\d{6}\.csv"/);
    const rows = csvRows(res.rawPayload);
    // BL-500190 … BL-500199: nine orders of 3 lines and the 1,000-line one.
    expect(rows).toHaveLength(9 * 3 + 1000);
    const big = rows.filter((r) => r.order_number === "BL-500199");
    expect(big.map((r) => r.line)).toEqual(Array.from({ length: 1000 }, (_, j) => String(j + 1)));
    expect(big[4]).toMatchObject({
      item_no: "3004",
      quantity: "2",
      unit_price: "0.104",
      line_total: "0.208",
      location: "",
    });
  });

  it.skipIf(!PDFTOTEXT)(
    `labels, pick sheet and packing slips for all 200 orders name every order and lose no line${PDFTOTEXT ? "" : ` (${NO_PDFTOTEXT})`}`,
    async () => {
      const all = { filter: { marketplace: "bricklink" } };
      for (const kind of ["labels", "pick-sheet", "packing-slips"] as const) {
        const res = await post(
          { kind, ...all, options: kind === "labels" ? { layout: "a4-2x7", startAt: 3 } : {} },
          pickerToken,
        );
        expect(res.statusCode, res.body.slice(0, 200)).toBe(200);
        expect(res.headers["content-type"]).toBe("application/pdf");
        expect(res.headers["content-disposition"]).toBe(
          `attachment; filename="orderhub-${kind}-20261122-233005.pdf"`,
        );
        expect(res.headers["x-order-count"]).toBe("200");
        const text = pdfText(res.rawPayload, `api-${kind}`);
        for (const o of ALL) expect(text, `${kind} names ${o.number}`).toContain(o.number);
        if (kind === "labels") {
          expect(pageCount(text)).toBe(Math.ceil((200 + 2) / 14));
          expect(text).toContain("Zoë Martin");
          expect(text).toContain(NO_ADDRESS);
        }
        if (kind === "pick-sheet") {
          const rows = [...text.matchAll(/[ \t]([A-Z]{1,2}) · (BL-5\d{5})[ \t]*$/gm)];
          expect(rows).toHaveLength(199 * 3 + 1000);
          const big = rows.filter((r) => r[2] === "BL-500199");
          expect(big).toHaveLength(1000);
          expect(new Set(big.map((r) => r[1]))).toEqual(new Set(["GR"])); // the 200th order's tote
          expect(text).toContain("Дмитрий Иванов");
          expect(text).toMatch(/Total: 200 orders, 1597 lots, \d+ items/);
        }
        if (kind === "packing-slips") {
          expect(text).toContain("(no shipping address on the order)");
          expect(text).toContain("BL-500199 (continued)");
        }
      }
    },
  );

  it.skipIf(!ZBAR)(
    `a label's barcode from the API scans as the order number${ZBAR ? "" : ` (${NO_ZBAR})`}`,
    async () => {
      const res = await post({ kind: "labels", orders: ["BL-500042"], options: { layout: "4x6" } });
      expect(decodeBarcodes(res.rawPayload, "api-barcode")).toEqual(["BL-500042"]);
    },
  );

  it.skipIf(!PDFTOTEXT)(
    `the sender comes from the document settings, which only the owner may change${PDFTOTEXT ? "" : ` (${NO_PDFTOTEXT})`}`,
    async () => {
      const settings = {
        storeName: "Łódź Bricks",
        email: "hello@lodz.example",
        returnAddress: {
          name: "Łódź Bricks",
          line1: "ul. Piotrkowska 1",
          city: "Łódź",
          postalCode: "90-001",
          countryCode: "pl",
        },
        labelLayout: "letter-2x5",
      };
      const put = (payload: object, t = token) =>
        api.app.inject({ method: "PUT", url: "/api/settings/documents", headers: bearer(t), payload });
      expect((await put(settings, staffToken)).statusCode).toBe(403);
      const bad = await put({
        ...settings,
        returnAddress: { ...settings.returnAddress, countryCode: "Poland" },
      });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.message).toMatch(/returnAddress\.countryCode/);
      const ok = await put(settings);
      expect(ok.statusCode, ok.body).toBe(200);
      const get = await api.app.inject({
        method: "GET",
        url: "/api/settings/documents",
        headers: bearer(staffToken),
      });
      expect(get.json()).toMatchObject({
        documents: {
          storeName: "Łódź Bricks",
          labelLayout: "letter-2x5",
          returnAddress: { countryCode: "PL", full: "Łódź Bricks\nul. Piotrkowska 1\n90-001 Łódź" },
        },
        timezone: "UTC",
      });
      // The account's label layout is the default now: 10 per Letter sheet.
      const res = await post({ kind: "labels", orders: ["BL-500007", "BL-500008"] });
      const text = pdfText(res.rawPayload, "api-settings");
      expect(pageCount(text)).toBe(1);
      expect(text).toContain("From: Łódź Bricks, ul. Piotrkowska 1, 90-001 Łódź, POLAND");
      expect(text).toContain("BL-500007"); // no address: the label still names the order and buyer
      expect(text).toContain(NO_ADDRESS);
      expect(text).toContain("FRANCE");
      const slip = pdfText(
        (await post({ kind: "packing-slips", orders: ["BL-500008"] })).rawPayload,
        "api-slip",
      );
      expect(slip).toContain("Łódź Bricks");
      expect(slip).toContain("hello@lodz.example");
    },
  );
});
