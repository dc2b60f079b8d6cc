import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SecretRegistry } from "../../src/core/secrets.ts";
import { insertConnection } from "../../src/db/repos/connections.ts";
import { createLogger } from "../../src/logger.ts";
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
import { goTo, hasChromium, launch, SHOTS, shot } from "./browser.ts";

let server: RunningServer;
let bl: BrickLinkSimulator;
let bo: BrickOwlSimulator;
let browser: Browser;
let page: Page;
const errors: string[] = [];

beforeAll(async () => {
  if (!hasChromium) return;
  bl = await startBrickLinkSimulator({ seed: 41, orders: 40, start: new Date(Date.now() - 40 * 3_600_000) });
  bo = await startBrickOwlSimulator({ seed: 41, orders: 25, start: new Date(Date.now() - 30 * 3_600_000) });
  browser = await launch();
  // The server's whole log goes to a file; a failing test prints its end (see `explainFailure`).
  writeFileSync(LOG, "");
  const secrets = new SecretRegistry();
  const logger = createLogger({
    level: "debug",
    pretty: false,
    registry: secrets,
    destination: { write: (line) => appendFileSync(LOG, line) },
  });
  server = await startServer({ ...testSettings(), port: 0 }, { role: "all", context: { logger, secrets } });
  page = await browser.newPage({ viewport: { width: 1366, height: 860 } });
  // `dom()` for the predicates below (see its declaration).
  await page.addInitScript(() => {
    (globalThis as unknown as { dom: () => unknown }).dom = () =>
      (globalThis as unknown as { document: unknown }).document;
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    // A 401 before signing in is how the UI learns it must show the sign-in page.
    if (m.type() === "error" && !/401/.test(m.text())) errors.push(m.text());
  });
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await bl?.close();
  await bo?.close();
});

const LOG = `${SHOTS}/server.log`;

/** On a failure: the pushes and runs the server holds, and the end of its log. */
async function explainFailure() {
  const db = server.ctx.database.sql;
  const pushes = await db.executeSql(
    "select id, kind, status, attempts, next_attempt_at, last_error, payload from outbox order by id",
  );
  const jobs = await db.executeSql(
    "select name, state, retry_count, start_after, created_on, completed_on from pgboss.job order by created_on desc limit 15",
  );
  const tail = readFileSync(LOG, "utf8").trimEnd().split("\n").slice(-60);
  console.log(
    `pushes:\n${JSON.stringify(pushes.rows, null, 1)}\njobs:\n${JSON.stringify(jobs.rows, null, 1)}\nserver log (last 60 lines of ${LOG}):\n${tail.join("\n")}`,
  );
}

beforeEach(({ onTestFailed }) => onTestFailed(explainFailure));

const rows = () => page.locator("table.orders tbody tr[data-order]");

/**
 * The page's document inside browser-side predicates: this file is type-checked for Node (no DOM
 * types) and the page's Content-Security-Policy forbids string predicates, so the page gets a tiny
 * `dom()` from an init script and the predicates call it.
 */
type Doc = {
  querySelectorAll(
    s: string,
  ): ArrayLike<{ textContent: string | null; getAttribute(n: string): string | null }>;
};
declare function dom(): Doc;
async function waitForDialog(title: RegExp) {
  await page.getByRole("dialog", { name: title }).waitFor({ timeout: 60_000 });
}

describe.skipIf(!hasChromium)("the web UI in Chromium", () => {
  it("first run: creates the owner and lands on the empty orders table", async () => {
    await page.goto(server.url!);
    await page.getByRole("heading", { name: "Welcome to Orderhub" }).waitFor();
    await shot(page, "01-setup");
    await page.getByLabel("Store name").fill("Brick Corner");
    await page.getByLabel("E-mail").fill("owner@brickcorner.example");
    await page.getByLabel(/^Password/).fill("correct horse battery");
    await page.getByRole("button", { name: "Create owner and sign in" }).click();
    await page.getByText("No orders match").waitFor();
    expect(await page.getByRole("link", { name: "Integrations" }).isVisible()).toBe(true);
  });

  it("connects BrickOwl from the form, shows the progress and the result", async () => {
    await page.getByRole("link", { name: "Integrations" }).click();
    await page.getByLabel("Connect a marketplace").selectOption("brickowl");
    await waitForDialog(/Connect BrickOwl/);
    // Rendered from the manifest: the key is a password field.
    expect(await page.getByLabel(/API key/).getAttribute("type")).toBe("password");
    await page.getByLabel("Name").fill("Owl store");
    await page.getByLabel(/API key/).fill(bo.apiKey);
    await page.getByText("Advanced").click();
    await page.getByLabel("API address").fill(bo.baseUrl);
    await shot(page, "02-connect");
    await page.getByRole("button", { name: "Connect and import" }).click();
    await waitForDialog(/Sync complete/);
    expect(await page.getByText("Created 25").isVisible()).toBe(true);
    await shot(page, "03-sync-result");
    await page.getByRole("button", { name: "Done" }).click();
    await page.getByRole("article", { name: "Owl store" }).getByText("Synced", { exact: true }).waitFor();
  });

  it("Sync now on BrickLink: progress dialog, then the result", async () => {
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
    bl.control.fault("slow", 10, { delayMs: 150, path: "/items" });
    await page.reload();
    await page.getByRole("article", { name: "BL store" }).getByRole("button", { name: "Sync now" }).click();
    await waitForDialog(/Syncing orders|Sync complete/);
    await page
      .getByRole("progressbar")
      .or(page.getByText(/Created \d+/))
      .first()
      .waitFor();
    await shot(page, "04-sync-progress");
    await waitForDialog(/Sync complete/);
    await shot(page, "05-integrations-result");
    await page.getByRole("button", { name: "Done" }).click();
    await shot(page, "06-integrations");
  });

  it("orders from both marketplaces: sort, filter, search, select, open the detail with its timeline", async () => {
    await page.getByRole("link", { name: "Orders" }).click();
    await rows().first().waitFor();
    expect(await page.locator("table.orders .mp-bricklink").count()).toBeGreaterThan(0);
    expect(await page.locator("table.orders .mp-brickowl").count()).toBeGreaterThan(0);
    await shot(page, "07-orders");

    // Sort by total, descending on the second click.
    await page.getByRole("button", { name: /^Total/ }).click();
    await page.waitForURL(/sort=total&dir=desc/);
    await page.waitForFunction(() => {
      const cells = Array.from(dom().querySelectorAll("table.orders td.col-grandTotal")).map((td) =>
        Number.parseFloat(td.textContent ?? "0"),
      );
      return cells.length > 2 && cells.every((v, i) => i === 0 || cells[i - 1]! >= v);
    });

    // Filter: BrickOwl only; the URL keeps it.
    await page.getByLabel("Marketplace").selectOption("brickowl");
    await page.waitForURL(/marketplace=brickowl/);
    await page.waitForFunction(() => dom().querySelectorAll("table.orders .mp-bricklink").length === 0);
    expect(await rows().count()).toBe(25);

    // Search an order number.
    const number = (await rows().nth(3).getAttribute("data-order"))!;
    await page.getByRole("searchbox", { name: "Search orders" }).fill(number);
    await page.waitForFunction((n) => {
      const r = dom().querySelectorAll("table.orders tbody tr[data-order]");
      return r.length === 1 && r[0]!.getAttribute("data-order") === n;
    }, number);
    await page.getByRole("searchbox", { name: "Search orders" }).fill("");
    await page.waitForFunction(
      () => dom().querySelectorAll("table.orders tbody tr[data-order]").length === 25,
    );

    // Select one, then a range with shift-click.
    await rows().nth(1).getByRole("checkbox").click();
    await rows()
      .nth(4)
      .getByRole("checkbox")
      .click({ modifiers: ["Shift"] });
    await page.getByText("4 selected").waitFor();
    await page.getByRole("button", { name: "Clear", exact: true }).click();

    // Keyboard: j moves, Enter opens.
    await page.locator("body").press("j");
    await page.locator("body").press("Enter");
    await page.locator(".drawer .timeline li").first().waitFor();
    expect(await page.locator(".drawer .timeline").textContent()).toContain("Order imported");
    expect(await page.locator(".drawer").getByRole("link", { name: "View on BrickOwl" }).isVisible()).toBe(
      true,
    );
    await shot(page, "08-order-detail");
    await page.getByRole("button", { name: "Close order" }).click();
    await page.getByLabel("Marketplace").selectOption("");
  });

  it("a new order on BrickLink appears in the open table without a reload", async () => {
    await page.waitForURL((u) => !u.search.includes("marketplace"));
    await rows().first().waitFor();
    const id = bl.control.createOrder({ lines: 2 });
    await page.locator(`tr[data-order="BL-${id}"]`).waitFor({ timeout: 20_000 });
    await shot(page, "09-live-order");
  });

  it("a failing order shows the partial-failure dialog; Retry failed repairs it", async () => {
    const id = bl.control.createOrder({ lines: 1 });
    bl.control.state.callbackUrl = null;
    // Garbled on each of the run's five tries (one garbled answer is simply read again).
    bl.control.fault("malformed", 5, { path: `/orders/${id}/items` });
    await page.getByRole("link", { name: "Integrations" }).click();
    await page.getByRole("article", { name: "BL store" }).getByRole("button", { name: "Sync now" }).click();
    await waitForDialog(/Sync finished with errors/);
    await page.getByRole("button", { name: /View errors/ }).click();
    expect(await page.locator(".failures").textContent()).toContain(String(id));
    await shot(page, "10-partial-failure");
    await page.getByRole("button", { name: "Retry failed" }).click();
    await waitForDialog(/Sync complete/);
    await page.getByRole("button", { name: "Done" }).click();
  });

  it("bulk Mark shipped: review what goes where, send, and the simulator holds the tracking", async () => {
    await page.getByRole("link", { name: "Orders" }).click();
    await page.getByLabel("Marketplace").selectOption("brickowl");
    await page.getByLabel("Status").selectOption("processing");
    await page.waitForURL(/status=processing/);
    // The rows of the filtered answer, not the ones still shown while it loads.
    await page.waitForFunction(() => {
      if (dom().querySelectorAll(".table-wrap[aria-busy='true']").length > 0) return false;
      const cells = Array.from(dom().querySelectorAll("table.orders tbody tr[data-order] td.col-status"));
      return cells.length >= 2 && cells.every((c) => c.textContent?.startsWith("Processing"));
    });
    await rows().nth(0).getByRole("checkbox").click();
    await rows().nth(1).getByRole("checkbox").click();
    const numbers = await page
      .locator("table.orders tbody tr.selected")
      .evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-order")!));
    expect(numbers).toHaveLength(2);
    await page.getByRole("button", { name: "Mark shipped…" }).click();
    await waitForDialog(/Mark 2 orders shipped/);
    // Several orders: one tracking field each (the batch dialog).
    for (const n of numbers) await page.getByLabel(`Tracking of ${n}`).fill("RR123456789GB");
    await page.getByRole("button", { name: "Review…" }).click();
    await page.getByText("This will be sent:").waitFor();
    const plan = (await page.locator(".plan").textContent())!;
    expect(plan).toContain("tracking RR123456789GB");
    // What the review names is what was selected.
    expect(plan.match(/BO-\d+/g)?.sort()).toEqual([...numbers].sort());
    await shot(page, "11-ship-review");
    await page.getByRole("button", { name: "Send to marketplaces" }).click();
    await page.getByText(/Marked 2 orders shipped/).waitFor();
    for (const n of numbers) {
      const ext = n.replace("BO-", "");
      await expect
        .poll(() => bo.control.state.orders.get(ext)?.order.tracking_number, { timeout: 60_000 })
        .toBe("RR123456789GB");
    }
  });

  it("inventory: import the BrickLink lots, link BrickOwl's, adjust a lot and see it reach both, reconcile", async () => {
    await page.getByRole("link", { name: "Inventory" }).click();
    await page.getByRole("button", { name: "Import BL store" }).click();
    await page.getByText(/BL store: \d+ new lots/).waitFor();
    await page.getByRole("button", { name: "Import Owl store" }).click();
    await page.getByText(/Owl store: 0 new lots, \d+ linked, 0 not linked/).waitFor();
    const first = page.locator("table.lots tbody tr").first();
    await first.waitFor();
    await first.click();
    await page.locator(".drawer .timeline li").first().waitFor();
    const title = (await page.locator(".drawer-head h2").textContent()) ?? "";
    const lotId = Number(/Lot (\d+)/.exec(title)?.[1]);
    const { findLot: _f, getLot } = await import("../../src/inventory/lots.ts");
    const account = (await server.ctx.db.query.accounts.findFirst())!;
    const lot = await getLot(server.ctx, account.id, lotId);
    const blId = Number(lot.listings.find((l) => l.marketplace === "bricklink")!.externalId);
    const before = bl.control.state.inventory.get(blId)!.quantity;
    await page.getByLabel("Change by").fill("2");
    await page.getByLabel("Reason").fill("found a bag");
    await page.getByRole("button", { name: "Adjust" }).click();
    await expect
      .poll(() => bl.control.state.inventory.get(blId)!.quantity, { timeout: 20_000 })
      .toBe(before + 2);
    await shot(page, "13-inventory");
    await page.getByRole("button", { name: "Close lot" }).click();
    await page.getByRole("button", { name: "Reconcile with BL store" }).click();
    await waitForDialog(/Reconcile with BrickLink/);
    await shot(page, "14-reconcile");
    await page.keyboard.press("Escape");
  });

  it("the sync log lists every run with its counters; the phone layout keeps the table usable", async () => {
    await page.getByRole("link", { name: "Sync log" }).click();
    await page.locator("table.runs tbody tr").first().waitFor();
    expect(await page.locator("table.runs tbody tr").count()).toBeGreaterThanOrEqual(4);
    await shot(page, "12-sync-log");
    await page.setViewportSize({ width: 390, height: 844 });
    // On a phone the top bar's links sit behind the menu button.
    await goTo(page, "Orders");
    await rows().first().waitFor();
    await shot(page, "15-phone-orders");
    expect(errors).toEqual([]);
  });
});
