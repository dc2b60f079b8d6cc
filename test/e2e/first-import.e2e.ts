import { eq } from "drizzle-orm";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isOpenStatus } from "../../src/core/status.ts";
import { insertConnection } from "../../src/db/repos/connections.ts";
import { connections } from "../../src/db/schema.ts";
import { mapBrickLinkStatus } from "../../src/marketplaces/bricklink/mapping.ts";
import {
  type BrickLinkSimulator,
  startBrickLinkSimulator,
} from "../../src/marketplaces/bricklink/simulator/server.ts";
import { type RunningServer, startServer } from "../../src/server.ts";
import { testSettings } from "../helpers/db.ts";
import { hasChromium, launch, shot } from "./browser.ts";

let server: RunningServer;
let bl: BrickLinkSimulator;
let browser: Browser;
let page: Page;
const errors: string[] = [];

beforeAll(async () => {
  if (!hasChromium) return;
  bl = await startBrickLinkSimulator({
    seed: 43,
    orders: 120,
    start: new Date(Date.now() - 120 * 3_600_000),
  });
  browser = await launch();
  server = await startServer({ ...testSettings({ logLevel: "error" }), port: 0 }, { role: "all" });
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
});

describe.skipIf(!hasChromium)("first import on a budget, in the Integrations page", () => {
  it("shows how many orders wait for details, and Full sync asks first with its cost", async () => {
    await page.goto(server.url!);
    await page.getByRole("heading", { name: "Welcome to Orderhub" }).waitFor();
    await page.getByLabel("Store name").fill("Brick Corner");
    await page.getByLabel("E-mail").fill("owner@brickcorner.example");
    await page.getByLabel(/^Password/).fill("correct horse battery");
    await page.getByRole("button", { name: "Create owner and sign in" }).click();
    await page.getByText("No orders match").waitFor();

    // A short budget: the first import takes the open orders whole and lists the rest.
    const account = (await server.ctx.db.query.accounts.findFirst())!;
    const open = [...bl.control.state.orders.values()].filter(
      (o) => o.direction === "in" && !o.order.is_filed && isOpenStatus(mapBrickLinkStatus(o.order.status)),
    ).length;
    const c = await insertConnection(server.ctx.db, server.ctx.box, {
      accountId: account.id,
      marketplace: "bricklink",
      name: "BL store",
      baseUrl: bl.baseUrl,
      config: {},
      secrets: { ...bl.credentials },
      dailyBudget: 1 + 2 * open + 4,
    });
    await page.getByRole("link", { name: "Integrations" }).click();
    const card = page.getByRole("article", { name: "BL store" });
    await card.getByRole("button", { name: "Sync now" }).click();
    await page.getByRole("dialog", { name: /Sync complete/ }).waitFor({ timeout: 60_000 });
    await shot(page, "first-import-00-result");
    await page.getByRole("button", { name: "Done" }).click();
    await server.ctx.db.update(connections).set({ dailyBudget: 5_000 }).where(eq(connections.id, c.id));

    await page.reload();
    const backlog = card.getByTestId("details-backlog");
    await backlog.waitFor();
    expect(await backlog.textContent()).toMatch(/^\d+ orders listed, lines and address to come · /);
    await shot(page, "first-import-01-backlog");

    // Every order is in the table after the one list call.
    await page.getByRole("link", { name: "Orders" }).click();
    await page.locator("table.orders tbody tr[data-order]").first().waitFor();
    await shot(page, "first-import-02-orders");

    await page.getByRole("link", { name: "Integrations" }).click();
    await card.getByRole("button", { name: "Full sync" }).click();
    const dialog = page.getByRole("dialog", { name: /Full sync of BL store/ });
    await dialog.waitFor();
    const cost = dialog.getByTestId("full-sync-cost");
    await cost.waitFor();
    expect(await cost.textContent()).toMatch(/about [\d,]+ API calls — [\d,]+ of today's 5,000 are left/);
    await shot(page, "first-import-03-full-sync-confirm");
    // Cancel starts nothing.
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "detached" });
    const active = await server.ctx.db.query.syncRuns.findMany({
      where: (r, { and, eq, inArray }) =>
        and(eq(r.connectionId, c.id), inArray(r.state, ["queued", "running"])),
    });
    expect(active).toEqual([]);

    // At phone size the card and the dialog fit.
    await page.setViewportSize({ width: 390, height: 844 });
    await card.getByRole("button", { name: "Full sync" }).click();
    await page
      .getByRole("dialog", { name: /Full sync of BL store/ })
      .getByTestId("full-sync-cost")
      .waitFor();
    await shot(page, "first-import-04-phone");
    await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click();
    expect(errors).toEqual([]);
  });
});
