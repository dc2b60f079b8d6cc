import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertConnection } from "../../src/db/repos/connections.ts";
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
  bl = await startBrickLinkSimulator({ seed: 17, orders: 60, start: new Date(Date.now() - 60 * 3_600_000) });
  browser = await launch();
  server = await startServer({ ...testSettings(), port: 0 }, { role: "all" });
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.addInitScript(() => {
    (globalThis as unknown as { dom: () => unknown }).dom = () =>
      (globalThis as unknown as { document: unknown }).document;
  });
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

/** The page's document inside browser-side predicates (this file is type-checked without DOM types). */
type El = {
  textContent: string | null;
  getBoundingClientRect(): { top: number; bottom: number };
};
type Doc = {
  querySelector(s: string): El | null;
  querySelectorAll(s: string): ArrayLike<El>;
  documentElement: { scrollWidth: number; clientWidth: number };
};
declare function dom(): Doc;
declare const innerWidth: number;
declare const innerHeight: number;

const rows = () => page.locator("table.orders tbody tr[data-order]");
const count = (view: string) => page.locator(`.views-nav a[data-view="${view}"] .view-count`);

describe.skipIf(!hasChromium)("saved views, live counts, dense rows and columns in Chromium", () => {
  it("the sidebar's counts follow a new order without a reload", async () => {
    await page.goto(server.url!);
    await page.getByRole("heading", { name: "Welcome to Orderhub" }).waitFor();
    await page.getByLabel("Store name").fill("Brick Corner");
    await page.getByLabel("E-mail").fill("owner@brickcorner.example");
    await page.getByLabel(/^Password/).fill("correct horse battery");
    await page.getByRole("button", { name: "Create owner and sign in" }).click();
    await page.getByText("No orders match").waitFor();

    const account = (await server.ctx.db.query.accounts.findFirst())!;
    const c = await insertConnection(server.ctx.db, server.ctx.box, {
      accountId: account.id,
      marketplace: "bricklink",
      name: "BL store",
      baseUrl: bl.baseUrl,
      config: {},
      secrets: { ...bl.credentials },
    });
    bl.control.state.callbackUrl = `${server.url}/webhooks/bricklink/${c.webhookToken}`;
    await page.getByRole("link", { name: "Integrations" }).click();
    await page.getByRole("article", { name: "BL store" }).getByRole("button", { name: "Sync now" }).click();
    await page.getByRole("dialog", { name: /Sync complete/ }).waitFor({ timeout: 90_000 });
    await page.getByRole("button", { name: "Done" }).click();

    await page.getByRole("link", { name: "Orders", exact: true }).click();
    await rows().first().waitFor();
    await count("all").waitFor();
    const total = Number(await count("all").textContent());
    expect(total).toBeGreaterThanOrEqual(30);
    const pending = Number(await count("awaiting-payment").textContent());
    await shot(page, "views-01-sidebar");

    // A new order on the marketplace: BrickLink's callback, a sync, and the counts move by one.
    bl.control.createOrder({ lines: 2 });
    await page.waitForFunction(
      ([n, p]) =>
        dom().querySelector('.views-nav a[data-view="all"] .view-count')?.textContent === String(n) &&
        dom().querySelector('.views-nav a[data-view="awaiting-payment"] .view-count')?.textContent ===
          String(p),
      [total + 1, pending + 1],
      { timeout: 30_000 },
    );
    await shot(page, "views-02-live-count");
  });

  it("filters saved as a view, counted, renamed and deleted; Clear filters shows every order", async () => {
    await page.getByLabel("Status").selectOption("pending");
    await page.waitForURL(/status=pending/);
    // The built-in view with that filter lights up; no need to save it again.
    await page.locator('.views-nav li.active a[data-view="awaiting-payment"]').waitFor();
    await page.getByRole("searchbox", { name: "Search orders" }).fill("BL-");
    await page.waitForURL(/q=BL-/);
    await page.getByRole("button", { name: "Save these filters as a view…" }).click();
    await page.getByLabel("View name").fill("Unpaid BrickLink");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    const mine = page.locator(".views-nav li.active a");
    await mine.getByText("Unpaid BrickLink").waitFor();
    await page.waitForFunction(() => {
      const c = dom().querySelector(".views-nav li.active .view-count")?.textContent;
      const pager = dom().querySelector(".pager .muted")?.textContent ?? "";
      return c !== undefined && new RegExp(`of ${c} orders|^${c} orders`).test(pager.replace(/,/g, ""));
    });
    await shot(page, "views-03-saved-view");

    await page.getByRole("button", { name: "Clear filters" }).click();
    await page.waitForURL((u) => u.search === "");
    expect(await page.getByRole("searchbox", { name: "Search orders" }).inputValue()).toBe("");
    expect(await page.getByLabel("Status").inputValue()).toBe("");
    await page.locator('.views-nav li.active a[data-view="all"]').waitFor();
    expect(await page.getByRole("button", { name: "Clear filters" }).count()).toBe(0);

    await page.locator(".views-nav a", { hasText: "Unpaid BrickLink" }).click();
    await page.waitForURL(/q=BL-&status=pending|status=pending.*q=BL-/);
    expect(await page.getByRole("searchbox", { name: "Search orders" }).inputValue()).toBe("BL-");

    await page.getByRole("button", { name: "Rename Unpaid BrickLink" }).click();
    await page.getByLabel("View name").fill("To invoice");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.locator(".views-nav a", { hasText: "To invoice" }).waitFor();
    page.once("dialog", (d) => void d.accept());
    await page.getByRole("button", { name: "Delete To invoice" }).click();
    await page.locator(".views-nav a", { hasText: "To invoice" }).waitFor({ state: "detached" });
    await page.getByRole("button", { name: "Clear filters" }).click();
    await page.waitForURL((u) => u.search === "");
  });

  it("dense rows show at least 25 orders on a 1440×900 screen; chosen columns are remembered", async () => {
    await rows().nth(30).waitFor();
    await page.getByLabel("Dense rows").check();
    await page.locator("table.orders.dense").waitFor();
    const visible = await page.evaluate(() => {
      const wrap = dom().querySelector(".table-wrap")!.getBoundingClientRect();
      return Array.from(dom().querySelectorAll("table.orders tbody tr[data-order]")).filter((tr) => {
        const r = tr.getBoundingClientRect();
        return r.top >= wrap.top && r.bottom <= Math.min(wrap.bottom, innerHeight);
      }).length;
    });
    expect(visible).toBeGreaterThanOrEqual(25);
    await shot(page, "views-04-dense");

    await page.getByText("Columns", { exact: true }).click();
    await page.getByLabel("Country").check();
    await page.getByLabel("Items / lots").check();
    await page.getByLabel("Shipping method").check();
    await page.locator("th.col-countryCode").waitFor();
    await page.getByText("Columns", { exact: true }).click();
    await page.reload();
    await rows().first().waitFor();
    expect(await page.locator("table.orders.dense").count()).toBe(1);
    for (const c of ["itemCount", "countryCode", "shippingMethod"])
      expect(await page.locator(`th.col-${c}`).count()).toBe(1);
    // A country shows by name, the code beside it on hover.
    const country = (await page.locator("td.col-countryCode").first().textContent()) ?? "";
    expect(country.length).toBeGreaterThan(2);
    await shot(page, "views-05-columns");
  });

  it("on a phone (390×844) the orders page has no horizontal scroll", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await rows().first().waitFor();
    const fits = await page.evaluate(() => dom().documentElement.scrollWidth <= innerWidth);
    expect(fits).toBe(true);
    await shot(page, "views-06-phone");
    expect(errors).toEqual([]);
  });
});
