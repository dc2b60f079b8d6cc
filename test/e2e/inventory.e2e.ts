import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertConnection } from "../../src/db/repos/connections.ts";
import {
  type BrickLinkSimulator,
  startBrickLinkSimulator,
} from "../../src/marketplaces/bricklink/simulator/server.ts";
import {
  type BrickOwlSimulator,
  startBrickOwlSimulator,
} from "../../src/marketplaces/brickowl/simulator/server.ts";
import { type RunningServer, startServer } from "../../src/server.ts";
import { testSettings } from "../helpers/db.ts";
import { hasChromium, launch, shot } from "./browser.ts";

let server: RunningServer;
let bl: BrickLinkSimulator;
let bo: BrickOwlSimulator;
let browser: Browser;
let page: Page;
const errors: string[] = [];

beforeAll(async () => {
  if (!hasChromium) return;
  bl = await startBrickLinkSimulator({ seed: 43, orders: 10, start: new Date(Date.now() - 20 * 3_600_000) });
  bo = await startBrickOwlSimulator({ seed: 43, orders: 6, start: new Date(Date.now() - 20 * 3_600_000) });
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
  await bl?.close();
  await bo?.close();
});

describe.skipIf(!hasChromium)("Inventory in Chromium: flagged lots", () => {
  it("import both stores, reconcile: a lot BrickOwl changed by hand is flagged with its reason, nothing sent", async () => {
    await page.goto(server.url!);
    await page.getByRole("heading", { name: "Welcome to Orderhub" }).waitFor();
    await page.getByLabel("Store name").fill("Brick Corner");
    await page.getByLabel("E-mail").fill("owner@brickcorner.example");
    await page.getByLabel(/^Password/).fill("correct horse battery");
    await page.getByRole("button", { name: "Create owner and sign in" }).click();
    await page.getByText("No orders match").waitFor();
    const account = (await server.ctx.db.query.accounts.findFirst())!;
    for (const [marketplace, name, baseUrl, secrets] of [
      ["bricklink", "BL store", bl.baseUrl, { ...bl.credentials }],
      ["brickowl", "Owl store", bo.baseUrl, { apiKey: bo.apiKey }],
    ] as const)
      await insertConnection(server.ctx.db, server.ctx.box, {
        accountId: account.id,
        marketplace,
        name,
        baseUrl,
        config: {},
        secrets,
      });

    await page.getByRole("link", { name: "Inventory" }).click();
    await page.getByRole("button", { name: "Import BL store" }).click();
    await page.getByText(/BL store: \d+ new lots/).waitFor({ timeout: 60_000 });
    await page.getByRole("button", { name: "Import Owl store" }).click();
    await page.getByText(/Owl store: 0 new lots, \d+ linked/).waitFor({ timeout: 60_000 });

    // The seller changes one lot on BrickOwl by hand: nothing Orderhub knows explains it.
    const owlLot = [...bo.control.state.inventory.values()][3]!;
    owlLot.qty = String(Number(owlLot.qty) - 5);
    const writes = bo.control.state.writes.length;
    await page.getByRole("button", { name: "Reconcile with BL store" }).click();
    const dialog = page.getByRole("dialog", { name: /Reconcile with BrickLink/ });
    await dialog.waitFor({ timeout: 120_000 });
    await dialog.getByText(/1 flagged/).waitFor();
    expect(await dialog.getByText(/BrickOwl shows \d+, Orderhub expected \d+/).isVisible()).toBe(true);
    await shot(page, "inventory-01-reconcile-flagged");
    expect(bo.control.state.writes.length).toBe(writes); // no guess was pushed
    await dialog.getByRole("button", { name: "Not now" }).click();

    const row = page.locator("table.lots tbody tr", { has: page.getByText("flagged", { exact: true }) });
    await row.first().waitFor();
    expect(await row.count()).toBe(1);
    await page.getByText(/1 flagged by the reconcile/).waitFor();
    await page.getByLabel(/Flagged only/).check();
    await page.waitForFunction(
      () =>
        (
          globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }
        ).document.querySelectorAll("table.lots tbody tr").length === 1,
    );
    await row.first().click();
    const drawer = page.getByRole("complementary");
    await drawer
      .getByText(/Flagged/)
      .first()
      .waitFor();
    expect(await drawer.getByText(/BrickOwl shows/).isVisible()).toBe(true);
    await shot(page, "inventory-02-flagged-lot");

    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, "inventory-03-flagged-lot-phone");
    await drawer.getByRole("button", { name: "Close lot" }).click();
    await shot(page, "inventory-04-flagged-phone");
    expect(errors).toEqual([]);
  }, 240_000);
});
