/**
 * The order panel in Chromium: the ship-to names the country of a free-text address abroad, the
 * totals add up line by line (rounding as its own line), each line shows its matched lot — at
 * desktop (1440×900) and phone (390×844) sizes.
 */
import { eq } from "drizzle-orm";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertConnection } from "../../src/db/repos/connections.ts";
import { upsertOrders } from "../../src/db/repos/orders.ts";
import { accounts, inventoryLots, listings, orderLines } from "../../src/db/schema.ts";
import { mapOrder as mapBrickLink } from "../../src/marketplaces/bricklink/mapping.ts";
import { brickLinkOrderItemSchema, brickLinkOrderSchema } from "../../src/marketplaces/bricklink/types.ts";
import { mapOrder as mapBrickOwl } from "../../src/marketplaces/brickowl/mapping.ts";
import { seedStore } from "../../src/marketplaces/brickowl/simulator/store.ts";
import { boOrderItemSchema, boOrderSchema } from "../../src/marketplaces/brickowl/types.ts";
import { type RunningServer, startServer } from "../../src/server.ts";
import { testSettings } from "../helpers/db.ts";
import { hasChromium, launch, shot } from "./browser.ts";

let server: RunningServer;
let browser: Browser;
let page: Page;
const errors: string[] = [];

const blOrder = {
  order_id: 24000001,
  date_ordered: new Date(Date.now() - 3_600_000).toISOString(),
  date_status_changed: new Date(Date.now() - 3_000_000).toISOString(),
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
    subtotal: "16.6410",
    shipping: "3.0000",
    insurance: "1.0000",
    credit: "0.5000",
    grand_total: "20.1410",
    vat_rate: "21.00",
    vat_amount: "3.4950",
  },
};
const blItems = [
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
      item: { no: "60581", name: "Panel 1 x 4 x 3 with Side Supports - Hollow Studs", type: "PART" },
      color_id: 11,
      color_name: "Black",
      quantity: 1,
      new_or_used: "U",
      unit_price: "14.2410",
      remarks: "B-12",
    },
  ],
];

beforeAll(async () => {
  if (!hasChromium) return;
  browser = await launch();
  server = await startServer({ ...testSettings(), port: 0 }, { role: "all" });
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error" && !/401/.test(m.text())) errors.push(m.text());
  });
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function seed() {
  const db = server.ctx.db;
  const account = (await db.query.accounts.findFirst())!;
  await db
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
            full: "Brick Corner\nRue de la Gare 4\nL-1611 Luxembourg",
          },
        },
      },
    })
    .where(eq(accounts.id, account.id));
  const never = new Date("2100-01-01T00:00:00Z");
  const common = {
    accountId: account.id,
    baseUrl: "http://127.0.0.1:9/none",
    config: {},
    secrets: {},
    nextSyncAt: never,
  };
  const bl = await insertConnection(db, server.ctx.box, {
    ...common,
    marketplace: "bricklink",
    name: "BL store",
  });
  const bo = await insertConnection(db, server.ctx.box, {
    ...common,
    marketplace: "brickowl",
    name: "Owl store",
  });
  const [lot] = await db
    .insert(inventoryLots)
    .values({
      accountId: account.id,
      itemNo: "3001",
      colorId: "5",
      colorName: "Red",
      condition: "new",
      location: "A-1",
      quantity: 40,
    })
    .returning();
  await db.insert(listings).values([
    {
      accountId: account.id,
      lotId: lot!.id,
      connectionId: bl.id,
      marketplace: "bricklink",
      externalId: "1000017",
    },
    {
      accountId: account.id,
      lotId: lot!.id,
      connectionId: bo.id,
      marketplace: "brickowl",
      externalId: "2726017",
    },
  ]);
  const at = new Date();
  const blMapped = mapBrickLink(
    brickLinkOrderSchema.parse(blOrder),
    blItems.map((b) => b.map((i) => brickLinkOrderItemSchema.parse(i))),
  );
  const [res] = await db.transaction((tx) =>
    upsertOrders(tx, { accountId: account.id, connectionId: bl.id, source: "marketplace:bricklink", at }, [
      blMapped,
    ]),
  );
  const lines = await db.select().from(orderLines).where(eq(orderLines.orderId, res!.orderId));
  await db
    .update(orderLines)
    .set({ lotId: lot!.id })
    .where(eq(orderLines.id, lines.find((l) => l.marketplaceLotId === "1000017")!.id));
  // The demo store's BO-3500002: 3.42 + 5.00 = 8.43 as BrickOwl rounds it.
  const sim = seedStore({ seed: 2026, orders: 120, lines: 5 }).orders.get("3500002")!;
  const boMapped = mapBrickOwl(boOrderSchema.parse(sim.order), boOrderItemSchema.array().parse(sim.items));
  await db.transaction((tx) =>
    upsertOrders(tx, { accountId: account.id, connectionId: bo.id, source: "marketplace:brickowl", at }, [
      { ...boMapped, orderedAt: new Date(Date.now() - 7_200_000) },
    ]),
  );
}

describe.skipIf(!hasChromium)("the order panel in Chromium", () => {
  it("signs up, and the two seeded orders are in the table", async () => {
    await page.goto(server.url!);
    await page.getByRole("heading", { name: "Welcome to Orderhub" }).waitFor();
    await page.getByLabel("Store name").fill("Brick Corner");
    await page.getByLabel("E-mail").fill("owner@brickcorner.example");
    await page.getByLabel(/^Password/).fill("correct horse battery");
    await page.getByRole("button", { name: "Create owner and sign in" }).click();
    await page.getByText("No orders match").waitFor();
    await seed();
    await page.reload();
    await page.locator('tr[data-order="BL-24000001"]').waitFor();
    await page.locator('tr[data-order="BO-3500002"]').waitFor();
  });

  it("a BrickLink free-text address abroad: the country is in the panel, each line shows its lot", async () => {
    await page.locator('tr[data-order="BL-24000001"]').click();
    const drawer = page.locator(".drawer");
    await drawer.locator(".address").waitFor();
    expect(await drawer.locator(".address").innerText()).toBe(
      "Ana García\nCalle Mayor 5\n28013 Madrid\nSPAIN",
    );
    const totals = drawer.getByRole("region", { name: "Totals" });
    const text = await totals.innerText();
    for (const part of [
      "Subtotal",
      "16.641 EUR",
      "Shipping",
      "Insurance",
      "Credit",
      "-0.500 EUR",
      "20.141 EUR",
      "VAT 21 % included",
    ])
      expect(text).toContain(part);
    const lotCells = await drawer.locator("table.lines tbody tr").allInnerTexts();
    expect(lotCells.find((r) => r.includes("Brick 2 x 4"))).toMatch(
      /Lot #\d+ · BrickLink 1000017 · BrickOwl 2726017/,
    );
    expect(lotCells.find((r) => r.includes("Panel 1 x 4 x 3"))).toContain(
      "Lot: not matched · BrickLink 1000099",
    );
    await shot(page, "order-detail-desktop-bl");
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, "order-detail-phone-bl");
    await drawer.locator("table.lines").scrollIntoViewIfNeeded();
    await shot(page, "order-detail-phone-bl-lines");
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.getByRole("button", { name: "Close order" }).click();
  });

  it("BO-3500002 adds up: 3.42 + 5.00 + rounding 0.01 = 8.43", async () => {
    await page.locator('tr[data-order="BO-3500002"]').click();
    const totals = page.locator(".drawer").getByRole("region", { name: "Totals" });
    await totals.waitFor();
    const rows = await totals.locator(":scope > div").allInnerTexts();
    expect(rows.map((r) => r.replace(/\s+/g, " ").trim())).toEqual([
      "Subtotal 3.42 GBP",
      "Shipping 5.00 GBP",
      "Rounding by the marketplace 0.01 GBP",
      "Total 8.43 GBP",
    ]);
    await shot(page, "order-detail-desktop-bo");
    await page.setViewportSize({ width: 390, height: 844 });
    await totals.scrollIntoViewIfNeeded();
    await shot(page, "order-detail-phone-bo-totals");
    expect(errors).toEqual([]);
  });
});
