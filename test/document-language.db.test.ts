import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertConnection } from "../src/db/repos/connections.ts";
import { upsertOrders } from "../src/db/repos/orders.ts";
import { NO_PDFTOTEXT, PDFTOTEXT, pdfText } from "../src/documents/testing.ts";
import { ManualClock } from "./helpers/db.ts";
import { bearer, seedAccount, type TestApi, testApi } from "./helpers/http.ts";

const clock = new ManualClock("2026-11-22T23:30:05Z");
let api: TestApi;
let token: string;
let staffToken: string;

beforeAll(async () => {
  api = await testApi({ clock });
  const a = await seedAccount(api);
  token = a.tokens.owner;
  staffToken = a.tokens.staff;
  const conn = await insertConnection(api.ctx.db, api.ctx.box, {
    accountId: a.account.id,
    marketplace: "bricklink",
    name: "BL",
    baseUrl: "http://127.0.0.1:1/none",
    config: {},
    secrets: {},
  });
  await api.ctx.db.transaction((tx) =>
    upsertOrders(tx, { accountId: a.account.id, connectionId: conn.id, source: "test", at: clock.now() }, [
      {
        marketplace: "bricklink",
        externalId: "700001",
        number: "BL-700001",
        status: "processing",
        rawStatus: "PAID",
        buyerName: "Zoë Martin",
        buyerUsername: "zoe",
        shippingAddress: {
          name: "Zoë Martin",
          line1: "3 rue Mercière",
          city: "Lyon",
          postalCode: "69002",
          countryCode: "FR",
          full: "Zoë Martin\n3 rue Mercière\n69002 Lyon",
        },
        orderedAt: new Date("2026-11-01T08:00:00Z"),
        totals: { currency: "EUR", subtotal: 10_0000, shipping: 2_5000, grandTotal: 12_5000 },
        lines: [
          {
            externalLineId: "l1",
            itemNo: "3001",
            name: "Brick 2 x 4",
            colorName: "Red",
            condition: "new" as const,
            quantity: 2,
            unitPrice: 5_0000,
            lineTotal: 10_0000,
            location: "A-1",
          },
        ],
        raw: {},
      },
    ]),
  );
});
afterAll(async () => {
  await api?.close();
});

const put = (payload: object, t = token) =>
  api.app.inject({ method: "PUT", url: "/api/settings/documents", headers: bearer(t), payload });
const post = (payload: object) =>
  api.app.inject({ method: "POST", url: "/api/documents", headers: bearer(token), payload });

describe("document language", () => {
  it("the settings keep the language; anything but en, de, fr is refused naming `language`", async () => {
    const bad = await put({ storeName: "Brick Corner", language: "lb" });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toBe("body.language: must be one of en, de, fr");
    expect((await put({ language: "de" }, staffToken)).statusCode).toBe(403);
    const ok = await put({ storeName: "Brick Corner", language: "de" });
    expect(ok.statusCode, ok.body).toBe(200);
    const get = await api.app.inject({
      method: "GET",
      url: "/api/settings/documents",
      headers: bearer(staffToken),
    });
    expect(get.json().documents).toMatchObject({ storeName: "Brick Corner", language: "de" });
  });

  it("a print may ask for another language; a bad one is refused naming `language`", async () => {
    const bad = await post({ kind: "labels", orders: ["BL-700001"], language: "es" });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toBe("body.language: must be one of en, de, fr");
    const misplaced = await post({ kind: "labels", orders: ["BL-700001"], options: { language: "fr" } });
    expect(misplaced.statusCode).toBe(400);
    expect(misplaced.json().error.message).toMatch(/options/);
  });

  it.skipIf(!PDFTOTEXT)(
    `documents print in the account's language, or in the one a print asks for${PDFTOTEXT ? "" : ` (${NO_PDFTOTEXT})`}`,
    async () => {
      await put({ storeName: "Brick Corner", language: "de" });
      const german = await post({ kind: "packing-slips", orders: ["BL-700001"] });
      expect(german.statusCode, german.body).toBe(200);
      const de = pdfText(german.rawPayload, "api-lang-de");
      expect(de).toContain("Lieferschein");
      expect(de).toContain("Empfänger");
      expect(de).toContain("FRANKREICH");
      expect(de).toContain("01.11.2026");
      const french = await post({ kind: "pick-sheet", orders: ["BL-700001"], language: "fr" });
      expect(french.statusCode, french.body).toBe(200);
      const fr = pdfText(french.rawPayload, "api-lang-fr");
      expect(fr).toContain("Liste de préparation");
      expect(fr).toContain("page 1 sur 1");
      expect(fr).not.toContain("Pickliste");
      const english = await post({ kind: "labels", orders: ["BL-700001"], language: "en" });
      expect(pdfText(english.rawPayload, "api-lang-en")).toContain("SHIP TO");
    },
  );
});
