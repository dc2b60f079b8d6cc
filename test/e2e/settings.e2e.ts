import { appendFileSync, writeFileSync } from "node:fs";
import type { APIRequestContext, Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SecretRegistry } from "../../src/core/secrets.ts";
import { insertConnection } from "../../src/db/repos/connections.ts";
import { PDFTOTEXT, pdfText } from "../../src/documents/testing.ts";
import { createLogger } from "../../src/logger.ts";
import {
  type BrickLinkSimulator,
  startBrickLinkSimulator,
} from "../../src/marketplaces/bricklink/simulator/server.ts";
import { type RunningServer, startServer } from "../../src/server.ts";
import { testSettings } from "../helpers/db.ts";
import { goTo as go, hasChromium, launch, SHOTS, shot } from "./browser.ts";

const LOG = `${SHOTS}/settings-server.log`;
const OWNER = { email: "owner@settings.example", password: "correct horse battery" };
const PICKER = { email: "picker@settings.example", password: "picker horse battery" };

let server: RunningServer;
let bl: BrickLinkSimulator;
let browser: Browser;
let owner: BrowserContext;
let page: Page;
let csrf = "";
let connectionId = 0;
const errors: string[] = [];

/** The page's globals inside browser-side functions (this file is type-checked without DOM types). */
type Win = {
  innerWidth: number;
  innerHeight: number;
  document: {
    documentElement: { scrollWidth: number };
    elementFromPoint(x: number, y: number): { closest(s: string): unknown } | null;
  };
};

function watch(p: Page) {
  p.on("pageerror", (e) => errors.push(String(e)));
  p.on("console", (m) => {
    // A 401 before signing in is how the UI learns it must show the sign-in page; the 400s are the
    // invalid values these tests type on purpose (each is asserted on screen).
    if (m.type() === "error" && !/status of 40[01]/.test(m.text())) errors.push(m.text());
  });
}

async function signIn(ctx: BrowserContext, who: { email: string; password: string }) {
  const res = await ctx.request.post(`${server.url}/api/auth/login`, { data: who });
  expect(res.status(), await res.text()).toBe(200);
  return ((await res.json()) as { csrfToken: string }).csrfToken;
}

const write = (req: APIRequestContext, method: "post" | "patch", path: string, data: object) =>
  req[method](`${server.url}${path}`, { data, headers: { "x-csrf-token": csrf } });

const noSideScroll = (p: Page) =>
  p.evaluate(() => {
    const w = globalThis as unknown as Win;
    return { scrollWidth: w.document.documentElement.scrollWidth, innerWidth: w.innerWidth };
  });

beforeAll(async () => {
  if (!hasChromium) return;
  bl = await startBrickLinkSimulator({ seed: 7, orders: 12, start: new Date(Date.now() - 12 * 3_600_000) });
  writeFileSync(LOG, "");
  const secrets = new SecretRegistry();
  const logger = createLogger({
    level: "debug",
    pretty: false,
    registry: secrets,
    destination: { write: (line) => appendFileSync(LOG, line) },
  });
  server = await startServer({ ...testSettings(), port: 0 }, { role: "all", context: { logger, secrets } });
  const setup = await fetch(`${server.url}/api/setup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ accountName: "Settings Corner", ...OWNER }),
  });
  expect(setup.status).toBe(201);
  const account = (await server.ctx.db.query.accounts.findFirst())!;
  const c = await insertConnection(server.ctx.db, server.ctx.box, {
    accountId: account.id,
    marketplace: "bricklink",
    name: "BL store",
    baseUrl: bl.baseUrl,
    config: {},
    secrets: { ...bl.credentials },
  });
  connectionId = c.id;
  browser = await launch();
  owner = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  csrf = await signIn(owner, OWNER);
  // The orders arrive before the screens are looked at.
  const run = await write(owner.request, "post", `/api/connections/${c.id}/sync`, { mode: "incremental" });
  const { runId } = (await run.json()) as { runId: number };
  for (let i = 0; i < 600; i++) {
    const r = (await (await owner.request.get(`${server.url}/api/sync-runs/${runId}`)).json()) as {
      run: { state: string };
    };
    if (["completed", "completed_with_errors", "failed", "cancelled"].includes(r.run.state)) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  page = await owner.newPage();
  watch(page);
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await bl?.close();
});

describe.skipIf(!hasChromium)("Settings in Chromium", () => {
  it("the return address is validated per field, saved, and printed on the packing slip", async () => {
    await page.goto(server.url!);
    await go(page, "Settings");
    await page.getByRole("heading", { name: "Return address" }).waitFor();
    await page.getByLabel("Store name").fill("Settings Corner Bricks");
    await page.getByLabel("Name", { exact: true }).fill("Settings Corner");
    await page.getByLabel("Street and number").fill("Rue de la Gare 4");
    await page.getByLabel("Postcode").fill("L-1611");
    await page.getByLabel("City").fill("Luxembourg");
    await page.getByLabel("Country (ISO code)").fill("Luxembourg");
    await page.getByLabel("Time zone").fill("Europe/Nowhere");
    await page.getByRole("button", { name: "Save" }).click();
    // Each field says what is wrong with it.
    await page.getByText("must be a two-letter ISO country code such as LU").waitFor();
    await page.getByText("must be a time zone name such as Europe/Luxembourg or UTC").waitFor();
    await shot(page, "settings-01-errors");
    await page.getByLabel("Country (ISO code)").fill("LU");
    await page.getByLabel("Time zone").fill("Europe/Luxembourg");
    await page.getByLabel("Label layout").selectOption("a4-2x7");
    await page.getByLabel("Start at position").fill("5");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText("Settings saved").waitFor();
    await shot(page, "settings-02-store");

    const saved = (await (await owner.request.get(`${server.url}/api/settings/documents`)).json()) as {
      documents: { returnAddress: { line1: string; countryCode: string }; labelStartAt: number };
      timezone: string;
    };
    expect(saved.documents.returnAddress).toMatchObject({ line1: "Rue de la Gare 4", countryCode: "LU" });
    expect(saved.documents.labelStartAt).toBe(5);
    expect(saved.timezone).toBe("Europe/Luxembourg");

    const list = (await (await owner.request.get(`${server.url}/api/orders`)).json()) as {
      orders: { id: number }[];
    };
    expect(list.orders.length).toBeGreaterThan(0);
    const slip = await write(owner.request, "post", "/api/documents", {
      kind: "packing-slips",
      orders: [list.orders[0]!.id],
    });
    expect(slip.status()).toBe(200);
    if (!PDFTOTEXT) return;
    const text = pdfText(Buffer.from(await slip.body()), "settings-slip");
    expect(text).toContain("Settings Corner Bricks");
    expect(text).toContain("Rue de la Gare 4");
    expect(text).toContain("Luxembourg");
  });

  it("an API token is created, shown once, works, and stops when revoked", async () => {
    await page
      .getByRole("navigation", { name: "Settings" })
      .getByRole("link", { name: "API tokens" })
      .click();
    await page.getByLabel("Name").fill("label printer script");
    await page.getByLabel("Expires after (days)").fill("0");
    await page.getByRole("button", { name: "Create token" }).click();
    await page.getByText("give whole days from 1 to 3650").waitFor();
    await page.getByLabel("Expires after (days)").fill("30");
    await page.getByRole("button", { name: "Create token" }).click();
    const value = page.locator(".token-value code");
    await value.waitFor();
    const token = (await value.textContent())!.trim();
    expect(token).toMatch(/^oh_/);
    await shot(page, "settings-03-token");
    const withToken = () =>
      fetch(`${server.url}/api/orders`, { headers: { authorization: `Bearer ${token}` } });
    expect((await withToken()).status).toBe(200);

    page.once("dialog", (d) => void d.accept());
    await page
      .locator('tr[data-token="label printer script"]')
      .getByRole("button", { name: "Revoke" })
      .click();
    await page.getByText("Revoked label printer script").waitFor();
    await page.locator('tr[data-token="label printer script"]').waitFor({ state: "detached" });
    expect((await withToken()).status).toBe(401);
  });

  it("per connection: schedule, daily budget and Drive Thru as a switch; the public URL hint", async () => {
    await page
      .getByRole("navigation", { name: "Settings" })
      .getByRole("link", { name: "Connections" })
      .click();
    const form = page.getByRole("form", { name: "Settings of BL store" });
    await form.waitFor();
    // Without ORDERHUB_PUBLIC_URL the marketplace cannot call in: the card says so and what to do.
    await form.getByText("ORDERHUB_PUBLIC_URL", { exact: true }).first().waitFor();
    await form.getByLabel("Minutes between syncs").fill("0");
    await form.getByLabel("Daily budget (API calls)").fill("lots");
    await form.getByRole("button", { name: "Save BL store" }).click();
    await form.getByText("give a whole number of minutes").waitFor();
    await form.getByText("give a whole number of calls").waitFor();
    await form.getByLabel("Minutes between syncs").fill("30");
    await form.getByLabel("Daily budget (API calls)").fill("1200");
    await form.getByRole("switch", { name: /Drive Thru/ }).check();
    await form.getByRole("button", { name: "Save BL store" }).click();
    await page.getByText("BL store saved").waitFor();
    await shot(page, "settings-04-connections");
    const c = (
      (await (await owner.request.get(`${server.url}/api/connections/${connectionId}`)).json()) as {
        connection: { schedule: unknown; dailyBudget: number; config: Record<string, string> };
      }
    ).connection;
    expect(c.schedule).toEqual({ kind: "interval", minutes: 30 });
    expect(c.dailyBudget).toBe(1200);
    expect(c.config.driveThru).toBe("true");
  });

  it("roles: the owner switches off shipping for pickers; a picker sees neither Mark shipped nor Sync now", async () => {
    const add = await write(owner.request, "post", "/api/users", { ...PICKER, role: "picker" });
    expect(add.status(), await add.text()).toBe(201);
    await page
      .getByRole("navigation", { name: "Settings" })
      .getByRole("link", { name: "Roles & access" })
      .click();
    const sw = page.getByRole("switch", { name: /Pickers may mark orders shipped/ });
    expect(await sw.isChecked()).toBe(true);
    await sw.click();
    await page.getByText("Pickers may mark orders shipped: off").waitFor();
    await page.locator('tr[data-action="orders.ship"]').getByText("no*", { exact: true }).waitFor();
    await shot(page, "settings-05-roles");

    const pickerCtx = await browser.newContext({ viewport: { width: 390, height: 844 } });
    try {
      await signIn(pickerCtx, PICKER);
      const p = await pickerCtx.newPage();
      watch(p);
      await p.goto(server.url!);
      const first = p.locator("table.orders tbody tr[data-order]").first();
      await first.waitFor();
      await first.locator("input[type=checkbox]").check();
      await p.getByRole("toolbar", { name: "Actions on the selected orders" }).waitFor();
      expect(await p.getByRole("button", { name: "Mark shipped…" }).count()).toBe(0);
      await shot(p, "settings-06-picker-orders-phone");
      await go(p, "Integrations");
      await p.getByRole("article", { name: "BL store" }).waitFor();
      expect(await p.getByRole("button", { name: "Sync now" }).count()).toBe(0);
      expect(await p.getByRole("button", { name: "Full sync" }).count()).toBe(0);
      await go(p, "Settings");
      await p.getByText("Only an owner can change these.").waitFor();
      expect(await p.getByRole("button", { name: "Save" }).count()).toBe(0);
      expect(await p.getByRole("link", { name: "Users" }).count()).toBe(0);
      await shot(p, "settings-07-picker-settings-phone");
      // The API refuses it too, naming the role and the action.
      const pcsrf = await signIn(pickerCtx, PICKER);
      const refused = await pickerCtx.request.post(`${server.url}/api/fulfilment/ship`, {
        data: { orders: [1] },
        headers: { "x-csrf-token": pcsrf },
      });
      expect(refused.status()).toBe(403);
      expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(
        /picker.*orders\.ship/,
      );
    } finally {
      await pickerCtx.close();
    }
    await sw.click();
    await page.getByText("Pickers may mark orders shipped: on").waitFor();
  });

  it("phone (390×844): every page fits the screen, the menu opens, the panel is full screen under the bulk actions", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(server.url!);
    await page.locator("table.orders tbody tr[data-order]").first().waitFor();
    // The menu folds behind its button and opens over the page.
    const menu = page.getByRole("button", { name: "Menu" });
    expect(await menu.isVisible()).toBe(true);
    await menu.click();
    const nav = page.getByRole("navigation", { name: "Main" });
    await nav.getByRole("link", { name: "Orders" }).waitFor();
    await shot(page, "phone-00-menu");
    const links = await nav
      .getByRole("link")
      .evaluateAll((as) =>
        as.map((a) => ({ name: (a.textContent ?? "").trim(), href: a.getAttribute("href") ?? "" })),
      );
    await menu.click();
    expect(links.map((l) => l.name)).toEqual(expect.arrayContaining(["Orders", "Settings"]));
    const pages = [
      ...links.map((l) => l.href),
      "/settings/connections",
      "/settings/users",
      "/settings/tokens",
      "/settings/access",
    ];
    const wide: string[] = [];
    for (const [i, href] of pages.entries()) {
      await page.goto(`${server.url}${href}`);
      await page.locator("main").waitFor();
      await page.waitForLoadState("networkidle");
      await shot(
        page,
        `phone-${String(i + 1).padStart(2, "0")}${href === "/" ? "-orders" : href.replace(/\//g, "-")}`,
      );
      const m = await noSideScroll(page);
      if (m.scrollWidth > m.innerWidth) wide.push(`${href}: ${m.scrollWidth} > ${m.innerWidth}`);
    }
    expect(wide).toEqual([]);
    // What the phone used to cut off: the orders' total, the Reconcile button.
    await page.goto(server.url!);
    const total = (await page
      .locator("table.orders tbody tr[data-order] td.col-grandTotal")
      .first()
      .boundingBox())!;
    expect(total.x + total.width).toBeLessThanOrEqual(390);
    await page.goto(`${server.url}/inventory`);
    const reconcile = (await page.getByRole("button", { name: "Reconcile with BL store" }).boundingBox())!;
    expect(reconcile.x + reconcile.width).toBeLessThanOrEqual(390);

    // Select an order, open another: the panel covers the screen, the bulk actions stay above it.
    await page.goto(server.url!);
    const rows = page.locator("table.orders tbody tr[data-order]");
    await rows.nth(0).waitFor();
    await rows.nth(0).locator("input[type=checkbox]").check();
    await rows.nth(1).locator("td").nth(1).click();
    const drawer = page.locator("aside.drawer");
    await drawer.waitFor();
    await page.getByText("Loading…").waitFor({ state: "detached" });
    const box = (await drawer.boundingBox())!;
    expect(box.x).toBe(0);
    expect(box.y).toBe(0);
    expect(Math.round(box.width)).toBe(390);
    expect(Math.round(box.height)).toBe(844);
    const bar = page.getByRole("toolbar", { name: "Actions on the selected orders" });
    const barBox = (await bar.boundingBox())!;
    const onTop = await page.evaluate(
      ([x, y]) => {
        const w = globalThis as unknown as Win;
        return Boolean(w.document.elementFromPoint(x!, y!)?.closest(".bulkbar"));
      },
      [barBox.x + barBox.width / 2, barBox.y + barBox.height / 2],
    );
    expect(onTop).toBe(true);
    expect(barBox.y + barBox.height).toBeLessThanOrEqual(844);
    // Only the panel scrolls: the page behind it does not.
    const scroll = await page.evaluate(() => {
      const w = globalThis as unknown as Win & {
        getComputedStyle(e: unknown): { overflow: string; overflowY: string };
        document: { documentElement: unknown };
      };
      return w.getComputedStyle(w.document.documentElement).overflowY;
    });
    expect(scroll).toBe("hidden");
    await shot(page, "phone-20-order-panel-with-bulk-actions");
    const m = await noSideScroll(page);
    expect(m.scrollWidth).toBeLessThanOrEqual(m.innerWidth);
    await page.getByRole("button", { name: "Close order" }).click();

    // The desktop keeps its top bar: no menu button there.
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.goto(`${server.url}/settings/access`);
    await page.getByRole("heading", { name: "What each role may do" }).waitFor();
    expect(await page.getByRole("button", { name: "Menu" }).isVisible()).toBe(false);
    await shot(page, "settings-08-access-desktop");
    expect(errors).toEqual([]);
  });
});
