/**
 * The order panel's data from the API (GET /api/orders/:ref, which `orders show --json` prints):
 * the ship-to with its country, totals that add up, and the lot each line was matched to.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertConnection } from "../src/db/repos/connections.ts";
import { upsertOrders } from "../src/db/repos/orders.ts";
import { accounts, inventoryLots, listings, orderLines } from "../src/db/schema.ts";
import { mapOrder as mapBrickLink } from "../src/marketplaces/bricklink/mapping.ts";
import { brickLinkOrderItemSchema, brickLinkOrderSchema } from "../src/marketplaces/bricklink/types.ts";
import { ManualClock } from "./helpers/db.ts";
import { bearer, seedAccount, type TestApi, testApi } from "./helpers/http.ts";

const clock = new ManualClock("2026-11-22T10:00:00Z");
let api: TestApi;
let token: string;
let lotId: number;

/** A BrickLink order as BrickLink sends it: a free-text address (no country in it), VAT inside, insurance. */
const raw = {
  order_id: 24000001,
  date_ordered: "2026-11-20T10:00:00.000Z",
  date_status_changed: "2026-11-20T11:00:00.000Z",
  buyer_name: "ana_g",
  status: "PAID",
  payment: { status: "Received" },
  shipping: {
    method: "Letter",
    address: {
      name: { full: "Ana Garc&#237;a" },
      full: "Ana Garc&#237;a\r\nCalle Mayor 5\r\n28013 Madrid",
      country_code: "ES",
    },
  },
  cost: {
    currency_code: "EUR",
    subtotal: "10.1210",
    shipping: "3.0000",
    insurance: "1.0000",
    credit: "0.5000",
    grand_total: "13.6210",
    vat_rate: "21.00",
    vat_amount: "2.3640",
  },
};
const items = [
  [
    {
      inventory_id: 1000017,
      item: { no: "3001", name: "Brick 2 x 4", type: "PART" },
      color_id: 5,
      color_name: "Red",
      quantity: 2,
      new_or_used: "N",
      unit_price: "1.2000",
      remarks: "A-1",
    },
    {
      inventory_id: 1000099,
      item: { no: "3023", name: "Plate 1 x 2", type: "PART" },
      color_id: 11,
      color_name: "Black",
      quantity: 1,
      new_or_used: "U",
      unit_price: "7.7210",
      remarks: "B-2",
    },
  ],
];

beforeAll(async () => {
  api = await testApi({ clock });
  const a = await seedAccount(api);
  token = a.tokens.owner;
  const accountId = a.account.id;
  // The seller ships from Luxembourg.
  await api.ctx.db
    .update(accounts)
    .set({
      settings: {
        documents: {
          storeName: "Brick Corner",
          returnAddress: {
            name: "Brick Corner",
            line1: "Rue de la Gare 4",
            city: "Luxembourg",
            postalCode: "1611",
            countryCode: "LU",
            full: "x",
          },
        },
      },
    })
    .where(eq(accounts.id, accountId));
  const bl = await insertConnection(api.ctx.db, api.ctx.box, {
    accountId,
    marketplace: "bricklink",
    name: "My BL",
    baseUrl: "http://127.0.0.1:1/none",
    config: {},
    secrets: {},
  });
  const bo = await insertConnection(api.ctx.db, api.ctx.box, {
    accountId,
    marketplace: "brickowl",
    name: "My BO",
    baseUrl: "http://127.0.0.1:1/none",
    config: {},
    secrets: {},
  });
  const [lot] = await api.ctx.db
    .insert(inventoryLots)
    .values({
      accountId,
      itemType: "part",
      itemNo: "3001",
      colorId: "5",
      colorName: "Red",
      condition: "new",
      location: "A-1",
      quantity: 40,
    })
    .returning();
  lotId = lot!.id;
  await api.ctx.db.insert(listings).values([
    { accountId, lotId, connectionId: bl.id, marketplace: "bricklink", externalId: "1000017" },
    { accountId, lotId, connectionId: bo.id, marketplace: "brickowl", externalId: "2726017" },
  ]);
  const order = mapBrickLink(
    brickLinkOrderSchema.parse(raw),
    items.map((b) => b.map((i) => brickLinkOrderItemSchema.parse(i))),
  );
  const [res] = await api.ctx.db.transaction((tx) =>
    upsertOrders(tx, { accountId, connectionId: bl.id, source: "marketplace:bricklink", at: clock.now() }, [
      order,
    ]),
  );
  // The stock matcher links a line to its lot by the marketplace's lot id (src/inventory/stock.ts).
  const lines = await api.ctx.db.select().from(orderLines).where(eq(orderLines.orderId, res!.orderId));
  const first = lines.find((l) => l.marketplaceLotId === "1000017")!;
  await api.ctx.db.update(orderLines).set({ lotId }).where(eq(orderLines.id, first.id));
});
afterAll(async () => {
  await api?.close();
});

const show = async () => {
  const res = await api.app.inject({ method: "GET", url: "/api/orders/BL-24000001", headers: bearer(token) });
  expect(res.statusCode).toBe(200);
  return res.json().order;
};

describe("GET /api/orders/:ref — what the panel and `orders show --json` show", () => {
  it("ship-to: a free-text address going abroad names its country; the address itself is kept as given", async () => {
    const o = await show();
    expect(o.shippingAddress.full).toBe("Ana García\r\nCalle Mayor 5\r\n28013 Madrid");
    expect(o.shipTo).toEqual({
      lines: ["Ana García", "Calle Mayor 5", "28013 Madrid", "SPAIN"],
      text: "Ana García\nCalle Mayor 5\n28013 Madrid\nSPAIN",
      countryCode: "ES",
      countryName: "Spain",
    });
  });

  it("charges: every component BrickLink names, VAT inside shown apart, and the lines add up", async () => {
    const { charges } = await show();
    expect(charges.rows.map((r: { label: string; display: string }) => [r.label, r.display])).toEqual([
      ["Shipping", "3.000"],
      ["Insurance", "1.000"],
      ["Credit", "-0.500"],
    ]);
    expect(charges.included.map((r: { label: string }) => r.label)).toEqual(["VAT 21 % included"]);
    const sum =
      charges.subtotal.amount + charges.rows.reduce((n: number, r: { amount: number }) => n + r.amount, 0);
    expect(sum).toBe(charges.grandTotal.amount);
    expect(charges.grandTotal.display).toBe("13.621");
  });

  it("lines: the matched lot (Orderhub's id and its id on every marketplace); unmatched lines say null", async () => {
    const { lines } = await show();
    const matched = lines.find((l: { itemNo: string }) => l.itemNo === "3001");
    expect(matched.marketplaceLotId).toBe("1000017");
    expect(matched.lot).toEqual({
      id: lotId,
      itemNo: "3001",
      colorName: "Red",
      condition: "new",
      location: "A-1",
      listings: [
        {
          marketplace: "bricklink",
          connectionId: expect.any(Number),
          connectionName: "My BL",
          externalId: "1000017",
        },
        {
          marketplace: "brickowl",
          connectionId: expect.any(Number),
          connectionName: "My BO",
          externalId: "2726017",
        },
      ],
    });
    const unmatched = lines.find((l: { itemNo: string }) => l.itemNo === "3023");
    expect(unmatched.lot).toBeNull();
    expect(unmatched.marketplaceLotId).toBe("1000099");
  });
});
