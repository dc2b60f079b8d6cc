/**
 * An order the marketplace reported as moving backwards, in Chromium: the table marks it, the panel
 * says what was claimed and what was kept, the timeline runs in the order Orderhub learnt things with
 * the marketplace's time beside, and Clear review takes the flag off — at 1440×900 and 390×844.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertConnection } from "../../src/db/repos/connections.ts";
import { upsertOrders } from "../../src/db/repos/orders.ts";
import { mapOrder } from "../../src/marketplaces/bricklink/mapping.ts";
import { seedStore } from "../../src/marketplaces/bricklink/simulator/store.ts";
import { brickLinkOrderItemSchema, brickLinkOrderSchema } from "../../src/marketplaces/bricklink/types.ts";
import { type RunningServer, startServer } from "../../src/server.ts";
import { testSettings } from "../helpers/db.ts";
import { hasChromium, launch, shot } from "./browser.ts";

let server: RunningServer;
let browser: Browser;
let page: Page;
const errors: string[] = [];
let number = "";

beforeAll(async () => {
  if (!hasChromium) return;
  browser = await launch();
  server = await startServer({ ...testSettings({ logLevel: "silent" }), port: 0 }, { role: "all" });
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

/** A BrickLink order stored as shipped, then reported by BrickLink as PAID again an hour later. */
async function seed() {
  const db = server.ctx.db;
  const account = (await db.query.accounts.findFirst())!;
  const conn = await insertConnection(db, server.ctx.box, {
    accountId: account.id,
    marketplace: "bricklink",
    name: "BL store",
    baseUrl: "http://127.0.0.1:9/none",
    config: {},
    secrets: {},
    nextSyncAt: new Date("2100-01-01T00:00:00Z"),
  });
  const sim = [...seedStore({ seed: 5, orders: 30 }).orders.values()].find((o) => o.direction === "in")!;
  const map = (status: string, changed: Date) =>
    mapOrder(
      brickLinkOrderSchema.parse({ ...sim.order, status, date_status_changed: changed.toISOString() }),
      sim.batches.map((b) => b.map((i) => brickLinkOrderItemSchema.parse(i))),
    );
  const ctx = (at: Date) => ({
    accountId: account.id,
    connectionId: conn.id,
    source: "marketplace:bricklink",
    at,
  });
  const t0 = Date.now() - 3 * 3_600_000;
  await db.transaction((tx) => upsertOrders(tx, ctx(new Date(t0)), [map("PACKED", new Date(t0 - 60_000))]));
  await db.transaction((tx) =>
    upsertOrders(tx, ctx(new Date(t0 + 3_600_000)), [map("SHIPPED", new Date(t0 + 3_590_000))]),
  );
  await db.transaction((tx) =>
    upsertOrders(tx, ctx(new Date(t0 + 7_200_000)), [map("PAID", new Date(t0 + 7_000_000))]),
  );
  number = `BL-${sim.order.order_id}`;
}

describe.skipIf(!hasChromium)("an order flagged for review in Chromium", () => {
  it("the table marks the flagged order", async () => {
    await page.goto(server.url!);
    await page.getByRole("heading", { name: "Welcome to Orderhub" }).waitFor();
    await page.getByLabel("Store name").fill("Brick Corner");
    await page.getByLabel("E-mail").fill("owner@brickcorner.example");
    await page.getByLabel(/^Password/).fill("correct horse battery");
    await page.getByRole("button", { name: "Create owner and sign in" }).click();
    await page.getByText("No orders match").waitFor();
    await seed();
    await page.reload();
    const row = page.locator(`tr[data-order="${number}"]`);
    await row.waitFor();
    expect(await row.locator(".badge-review").innerText()).toBe("Needs review");
    expect(await row.locator(".badge").first().innerText()).toBe("Shipped");
  });

  it("the panel says what BrickLink claimed and what was kept; the timeline runs as Orderhub learnt it", async () => {
    await page.locator(`tr[data-order="${number}"]`).click();
    const drawer = page.locator(".drawer");
    const notice = drawer.getByRole("status", { name: "Needs review" });
    await notice.waitFor();
    expect(await notice.innerText()).toMatch(
      /BrickLink reported PAID \(Processing\).*Orderhub kept SHIPPED/s,
    );
    const items = drawer.locator(".timeline li");
    const texts = await items.allInnerTexts();
    expect(texts[0]).toContain("Order imported");
    expect(texts.at(-1)).toMatch(/Reported Processing \(PAID\) — older than Shipped \(SHIPPED\)/);
    expect(await items.last().locator("time.marketplace-time").count()).toBe(1);
    await shot(page, "review-desktop");
    await page.setViewportSize({ width: 390, height: 844 });
    await notice.scrollIntoViewIfNeeded();
    await shot(page, "review-phone");
    expect(
      await page.evaluate(
        () =>
          (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document
            .documentElement.scrollWidth <= (globalThis as unknown as { innerWidth: number }).innerWidth,
      ),
    ).toBe(true);
    await drawer.locator(".timeline").scrollIntoViewIfNeeded();
    await shot(page, "review-phone-timeline");
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  it("Clear review takes the flag off; the claim stays on the timeline", async () => {
    const drawer = page.locator(".drawer");
    await drawer.getByRole("button", { name: "Clear review" }).click();
    await drawer.getByRole("status", { name: "Needs review" }).waitFor({ state: "detached" });
    await drawer.locator(".timeline li.event-review_cleared").waitFor();
    expect(await drawer.locator(".timeline li.event-status_refused").count()).toBe(1);
    await page.getByRole("button", { name: "Close order" }).click();
    await page.locator(`tr[data-order="${number}"] .badge-review`).waitFor({ state: "detached" });
    await shot(page, "review-cleared");
    expect(errors).toEqual([]);
  });
});
