import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OrderInput } from "../src/core/order.ts";
import { insertConnection } from "../src/db/repos/connections.ts";
import { upsertOrders } from "../src/db/repos/orders.ts";
import { ManualClock } from "./helpers/db.ts";
import { bearer, seedAccount, type TestApi, testApi } from "./helpers/http.ts";

const PDFTOTEXT = spawnSync("which", ["pdftotext"]).status === 0;
const dir = mkdtempSync(join(tmpdir(), "orderhub-docapi-"));
const pdfText = (pdf: Buffer) => {
  const f = join(dir, `${Math.random().toString(36).slice(2)}.pdf`);
  writeFileSync(f, pdf);
  return execFileSync("pdftotext", ["-layout", f, "-"], { encoding: "utf8", maxBuffer: 64 << 20 });
};

const clock = new ManualClock("2026-11-22T23:30:05Z");
let api: TestApi;
let token: string;
let otherToken: string;
let staffToken: string;

function order(i: number, lines: number): OrderInput {
  return {
    marketplace: "bricklink",
    externalId: String(500000 + i),
    number: `BL-${500000 + i}`,
    status: "processing",
    rawStatus: "PAID",
    buyerName: i % 3 === 0 ? "Дмитрий Иванов" : `Buyer ${i}`,
    buyerUsername: `buyer${i}`,
    shippingAddress:
      i === 7
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

beforeAll(async () => {
  api = await testApi({ clock });
  const a = await seedAccount(api);
  const b = await seedAccount(api);
  token = a.tokens.owner;
  staffToken = a.tokens.staff;
  otherToken = b.tokens.owner;
  const conn = await insertConnection(api.ctx.db, api.ctx.box, {
    accountId: a.account.id,
    marketplace: "bricklink",
    name: "BL",
    baseUrl: "http://127.0.0.1:1/none",
    config: {},
    secrets: {},
  });
  const all = Array.from({ length: 200 }, (_, i) => order(i, i === 199 ? 1000 : 3));
  await api.ctx.db.transaction((tx) =>
    upsertOrders(
      tx,
      { accountId: a.account.id, connectionId: conn.id, source: "test", at: clock.now() },
      all,
    ),
  );
});
afterAll(async () => {
  await api.close();
});

const post = (payload: unknown, t = token) =>
  api.app.inject({ method: "POST", url: "/api/documents", headers: bearer(t), payload: payload as object });

describe("POST /api/documents", () => {
  it("refuses an empty selection, unknown orders and bad options with clear messages", async () => {
    const empty = await post({ kind: "labels" });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().error.message).toMatch(/no orders selected/);
    const none = await post({ kind: "labels", filter: { q: "nothing-matches" } });
    expect(none.statusCode).toBe(400);
    expect(none.json().error.message).toMatch(/matches no orders/);
    const missing = await post({ kind: "labels", orders: ["BL-500001", "BL-999"] });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.message).toContain("BL-999");
    const bad = await post({ kind: "labels", orders: ["BL-500001"], options: { layout: "a5-9x9" } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toMatch(/options\.layout/);
    const kind = await post({ kind: "poster", orders: ["BL-500001"] });
    expect(kind.statusCode).toBe(400);
    expect(kind.json().error.message).toMatch(/kind/);
    // Another account's orders do not exist for this one.
    expect((await post({ kind: "labels", orders: ["BL-500001"] }, otherToken)).statusCode).toBe(404);
  });

  it("answers the file with its name in the account's time zone", async () => {
    const res = await post({ kind: "csv-orders", orders: ["BL-500001", "bl-500002"] });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/csv; charset=utf-8");
    expect(res.headers["content-disposition"]).toBe(
      'attachment; filename="orderhub-orders-20261122-233005.csv"',
    );
    const rows = parse(res.rawPayload.toString("utf8"), { columns: true, bom: true }) as Record<
      string,
      string
    >[];
    expect(rows.map((r) => r.order_number)).toEqual(["BL-500001", "BL-500002"]);
    expect(rows[0]).toMatchObject({ total: "12.50", ship_city: "Lyon", items: "6", lots: "3" });
  });

  it("lines CSV for a filter: one row per line with its order number", async () => {
    const res = await post({ kind: "csv-lines", filter: { q: "BL-50019" } });
    expect(res.statusCode).toBe(200);
    const rows = parse(res.rawPayload.toString("utf8"), { columns: true, bom: true }) as Record<
      string,
      string
    >[];
    // BL-500190 … BL-500199: nine orders of 3 lines and the 1,000-line one.
    expect(rows).toHaveLength(9 * 3 + 1000);
    expect(new Set(rows.map((r) => r.order_number)).size).toBe(10);
  });

  it.skipIf(!PDFTOTEXT)(
    "labels, pick sheet and packing slips for all 200 orders name every order",
    async () => {
      const all = { filter: { marketplace: "bricklink" } };
      for (const kind of ["labels", "pick-sheet", "packing-slips"] as const) {
        const res = await post({
          kind,
          ...all,
          options: kind === "labels" ? { layout: "a4-2x7", startAt: 3 } : {},
        });
        expect(res.statusCode, res.body.slice(0, 200)).toBe(200);
        expect(res.headers["content-type"]).toBe("application/pdf");
        expect(res.headers["x-order-count"]).toBe("200");
        const text = pdfText(res.rawPayload);
        for (let i = 0; i < 200; i++)
          expect(text, `${kind} names BL-${500000 + i}`).toContain(`BL-${500000 + i}`);
        expect(text).toContain(kind === "labels" ? "Zoë Martin" : "Дмитрий Иванов");
      }
    },
  );

  it.skipIf(!PDFTOTEXT)(
    "the sender comes from the document settings; only the owner may change them",
    async () => {
      const settings = {
        storeName: "Łódź Bricks",
        email: "hello@lodz.example",
        returnAddress: {
          name: "Łódź Bricks",
          line1: "ul. Piotrkowska 1",
          city: "Łódź",
          postalCode: "90-001",
          countryCode: "PL",
          full: "Łódź Bricks\nul. Piotrkowska 1\n90-001 Łódź",
        },
        labelLayout: "letter-2x5",
      };
      const denied = await api.app.inject({
        method: "PUT",
        url: "/api/settings/documents",
        headers: bearer(staffToken),
        payload: settings,
      });
      expect(denied.statusCode).toBe(403);
      const put = await api.app.inject({
        method: "PUT",
        url: "/api/settings/documents",
        headers: bearer(token),
        payload: settings,
      });
      expect(put.statusCode, put.body).toBe(200);
      const get = await api.app.inject({
        method: "GET",
        url: "/api/settings/documents",
        headers: bearer(token),
      });
      expect(get.json().documents.storeName).toBe("Łódź Bricks");
      const text = pdfText((await post({ kind: "labels", orders: ["BL-500007", "BL-500008"] })).rawPayload);
      expect(text).toContain("Łódź Bricks");
      expect(text).toContain("BL-500007"); // no address: the label still names the order and buyer
      expect(text).toContain("FRANCE");
    },
  );
});
