/**
 * Batch shipping and automation rules in Chromium, at 1440×900 and 390×844: tracking per order in one
 * dialog with a pasted column, a tracking CSV refused for a bad line and then taken, Set status, and a
 * rule dry-run, saved, then acting on a new order (its tag and the rule's name on the timeline).
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertConnection } from "../../src/db/repos/connections.ts";
import {
  type BrickLinkSimulator,
  startBrickLinkSimulator,
} from "../../src/marketplaces/bricklink/simulator/server.ts";
import { type RunningServer, startServer } from "../../src/server.ts";
import { testSettings } from "../helpers/db.ts";
import { goTo, hasChromium, launch, shot } from "./browser.ts";

let server: RunningServer;
let bl: BrickLinkSimulator;
let browser: Browser;
let page: Page;
const errors: string[] = [];

beforeAll(async () => {
  if (!hasChromium) return;
  bl = await startBrickLinkSimulator({ seed: 23, orders: 12, start: new Date(Date.now() - 20 * 3_600_000) });
  browser = await launch();
  server = await startServer({ ...testSettings({ logLevel: "silent" }), port: 0 }, { role: "all" });
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error" && !/401|40[09]/.test(m.text())) errors.push(m.text());
  });
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await bl?.close();
});

/** Paid orders made on the marketplace for a test (the sync brings them in as Processing). */
function paidOrders(n: number): string[] {
  return Array.from({ length: n }, () => `BL-${bl.control.createOrder({ lines: 2, status: "PAID" })}`);
}
const simOrder = (number: string) => bl.control.state.orders.get(Number(number.slice(3)))!.order;
const noSideScroll = () =>
  page.evaluate(
    () =>
      (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document
        .documentElement.scrollWidth <= (globalThis as unknown as { innerWidth: number }).innerWidth,
  );
async function until(check: () => boolean, what: string) {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
/** Sync now from Integrations, as a seller would, and back. */
async function syncNow() {
  await goTo(page, "Integrations");
  await page.getByRole("article", { name: "BL store" }).getByRole("button", { name: "Sync now" }).click();
  await page.getByRole("dialog", { name: /Sync complete/ }).waitFor({ timeout: 60_000 });
  await page.getByRole("button", { name: "Done" }).click();
}
async function selectOrders(numbers: string[]) {
  await goTo(page, "Orders");
  for (const n of numbers) {
    const row = page.locator(`tr[data-order="${n}"]`);
    await row.waitFor();
    await row.getByRole("checkbox").click();
  }
}

describe.skipIf(!hasChromium)("batch shipping and automation rules in Chromium", () => {
  let batch: string[] = [];
  let csvOrders: string[] = [];

  it("sets up an owner and a synced BrickLink store", async () => {
    await page.goto(server.url!);
    await page.getByRole("heading", { name: "Welcome to Orderhub" }).waitFor();
    await page.getByLabel("Store name").fill("Brick Corner");
    await page.getByLabel("E-mail").fill("owner@brickcorner.example");
    await page.getByLabel(/^Password/).fill("correct horse battery");
    await page.getByRole("button", { name: "Create owner and sign in" }).click();
    await page.getByText("No orders match").waitFor();
    batch = paidOrders(3);
    csvOrders = paidOrders(2);
    const account = (await server.ctx.db.query.accounts.findFirst())!;
    const c = await insertConnection(server.ctx.db, server.ctx.box, {
      accountId: account.id,
      marketplace: "bricklink",
      name: "BL store",
      baseUrl: bl.baseUrl,
      config: {},
      secrets: { ...bl.credentials },
    });
    expect(c.id).toBeGreaterThan(0);
    await syncNow();
  });

  it("ships three orders with their own tracking from one pasted column", async () => {
    await selectOrders(batch);
    await page.getByRole("toolbar").getByRole("button", { name: "Mark shipped…" }).click();
    const dialog = page.getByRole("dialog", { name: "Mark 3 orders shipped" });
    const first = dialog.getByLabel(`Tracking of ${batch[0]}`);
    await first.waitFor();
    await dialog.getByLabel("Carrier (all)").fill("DHL");
    // A column copied from a spreadsheet: one number a line.
    await first.evaluate((el) => {
      // (The test's own types know no DOM: the browser's classes are named through globalThis.)
      const w = globalThis as unknown as {
        DataTransfer: new () => { setData(type: string, value: string): void };
        ClipboardEvent: new (type: string, init: object) => unknown;
      };
      const dt = new w.DataTransfer();
      dt.setData("text/plain", "JJD0001\r\nJJD0002\r\nJJD0003\r\n");
      (el as unknown as { dispatchEvent(e: unknown): boolean }).dispatchEvent(
        new w.ClipboardEvent("paste", { clipboardData: dt, bubbles: true, cancelable: true }),
      );
    });
    await shot(page, "batch-00-pasted");
    for (const [i, n] of batch.entries())
      expect(await dialog.getByLabel(`Tracking of ${n}`).inputValue()).toBe(`JJD000${i + 1}`);
    await shot(page, "batch-01-tracking-desktop");
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await noSideScroll()).toBe(true);
    await shot(page, "batch-02-tracking-phone");
    await page.setViewportSize({ width: 1440, height: 900 });
    await dialog.getByRole("button", { name: "Review…" }).click();
    await dialog.getByText("This will be sent:").waitFor();
    const plan = await dialog.locator(".plan").innerText();
    for (const [i, n] of batch.entries())
      expect(plan).toMatch(new RegExp(`${n}[\\s\\S]*tracking JJD000${i + 1} \\(DHL\\)`));
    await shot(page, "batch-03-review");
    await dialog.getByRole("button", { name: "Send to marketplaces" }).click();
    await dialog.waitFor({ state: "detached" });
    await until(
      () => batch.every((n, i) => simOrder(n).shipping?.tracking_no === `JJD000${i + 1}`),
      "the tracking on BrickLink",
    );
    await until(() => batch.every((n) => simOrder(n).status === "SHIPPED"), "SHIPPED on BrickLink");
  });

  it("a shipped order offers no Mark shipped, and replacing its tracking asks first", async () => {
    await goTo(page, "Orders");
    await page.reload();
    const row = page.locator(`tr[data-order="${batch[0]}"]`);
    await row.locator(".badge", { hasText: "Shipped" }).waitFor();
    await row.getByRole("checkbox").click();
    expect(await page.getByRole("toolbar").getByRole("button", { name: "Mark shipped…" }).count()).toBe(0);
    await row.getByRole("checkbox").click();
    await row.click();
    const drawer = page.locator(".drawer");
    expect(await drawer.getByRole("button", { name: "Mark shipped…" }).count()).toBe(0);
    await drawer.getByRole("button", { name: "Replace tracking…" }).click();
    const dialog = page.getByRole("dialog", { name: /Replace the tracking of/ });
    await dialog.getByLabel("Tracking number").fill("JJD0009");
    await dialog.getByRole("button", { name: "Review…" }).click();
    const warning = dialog.getByRole("alert");
    await warning.waitFor();
    expect(await warning.innerText()).toContain(`${batch[0]} is already shipped with tracking JJD0001`);
    const send = dialog.getByRole("button", { name: "Send to marketplaces" });
    expect(await send.isDisabled()).toBe(true);
    await shot(page, "batch-04-replace-warning");
    await warning.getByLabel("Replace the tracking").check();
    await send.click();
    await dialog.waitFor({ state: "detached" });
    await until(() => simOrder(batch[0]!).shipping?.tracking_no === "JJD0009", "the replaced tracking");
    await page.getByRole("button", { name: "Close order" }).click();
  });

  it("a tracking CSV with a bad line is refused naming it; the fixed file ships both orders", async () => {
    await goTo(page, "Orders");
    await page.getByRole("button", { name: "Import tracking…" }).click();
    const dialog = page.getByRole("dialog", { name: "Import tracking numbers" });
    const file = dialog.getByLabel("CSV file");
    const bad = `order number,carrier,tracking\n${csvOrders[0]},Royal Mail,RM001\nBL-999999999,Royal Mail,RM002\n${csvOrders[1]},Royal Mail,\n`;
    await file.setInputFiles({ name: "tracking.csv", mimeType: "text/csv", buffer: Buffer.from(bad) });
    await dialog.getByRole("button", { name: "Check the file…" }).click();
    const error = dialog.locator(".error");
    await error.waitFor();
    expect(await error.innerText()).toMatch(/line 4: no tracking for/);
    await shot(page, "batch-05-csv-bad-line");
    expect(simOrder(csvOrders[0]!).shipping?.tracking_no ?? null).toBe(null);
    const bad2 = `order number,carrier,tracking\n${csvOrders[0]},Royal Mail,RM001\nBL-999999999,Royal Mail,RM002\n`;
    await file.setInputFiles({ name: "tracking.csv", mimeType: "text/csv", buffer: Buffer.from(bad2) });
    await dialog.getByRole("button", { name: "Check the file…" }).click();
    await dialog.getByText('line 3: no order "BL-999999999"').waitFor();
    const good = `order number,carrier,tracking\n${csvOrders[0]},Royal Mail,RM001\n${csvOrders[1]},Royal Mail,RM002\n`;
    await file.setInputFiles({ name: "tracking.csv", mimeType: "text/csv", buffer: Buffer.from(good) });
    await dialog.getByRole("button", { name: "Check the file…" }).click();
    await dialog.getByText("This will be sent:").waitFor();
    await shot(page, "batch-06-csv-review");
    await dialog.getByRole("button", { name: "Send to marketplaces" }).click();
    await dialog.waitFor({ state: "detached" });
    await until(() => simOrder(csvOrders[1]!).shipping?.tracking_no === "RM002", "the imported tracking");
  });

  it("sets a marketplace status on selected orders", async () => {
    const [n] = paidOrders(1);
    await syncNow();
    await selectOrders([n!]);
    await page.getByRole("toolbar").getByRole("button", { name: "Set status…" }).click();
    const dialog = page.getByRole("dialog", { name: "Set status of 1 order" });
    await dialog.getByLabel(/BrickLink \(1 order\)/).selectOption("PACKED");
    await dialog.getByRole("button", { name: "Review…" }).click();
    await dialog.getByText("BrickLink: status → PACKED").waitFor();
    await dialog.getByRole("button", { name: "Send to marketplaces" }).click();
    await until(() => simOrder(n!).status === "PACKED", "PACKED on BrickLink");
  });

  it("a rule: refused with a clear message, dry-run, saved, then tags a new order with its name on the timeline", async () => {
    await goTo(page, "Rules");
    await page.getByRole("button", { name: "New rule" }).click();
    const dialog = page.getByRole("dialog", { name: "New rule" });
    await dialog.getByLabel("Name").fill("Rush BrickLink orders");
    await dialog.getByLabel("Condition 1 values").getByLabel("BrickLink").check();
    await dialog.getByLabel("Action 1 value").fill("");
    await dialog.getByRole("button", { name: "Save rule" }).click();
    await dialog.locator("[data-action='0'] .error").waitFor();
    expect(await dialog.locator("[data-action='0'] .error").innerText()).toMatch(/tag: give a tag/);
    await shot(page, "rules-01-validation");
    await dialog.getByLabel("Action 1 value").fill("rush");
    await dialog.getByRole("button", { name: "Dry run" }).click();
    const dry = dialog.getByRole("region", { name: "Dry run" });
    await dry.waitFor();
    expect(await dry.locator("h3").innerText()).toMatch(/Dry run: \d+ of \d+ orders would match/);
    expect(await dry.innerText()).toContain('tag "rush"');
    await shot(page, "rules-02-dry-run-desktop");
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, "rules-03-dry-run-phone");
    await page.setViewportSize({ width: 1440, height: 900 });
    // The dry run changed nothing.
    const tagged = await server.ctx.db.query.orders.findMany({ columns: { tags: true } });
    expect(tagged.every((o) => o.tags.length === 0)).toBe(true);
    await dialog.getByRole("button", { name: "Save rule" }).click();
    await dialog.waitFor({ state: "detached" });
    await page.locator('[data-rule="Rush BrickLink orders"]').waitFor();
    await shot(page, "rules-04-list-desktop");
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await noSideScroll()).toBe(true);
    await shot(page, "rules-05-list-phone");
    await page.setViewportSize({ width: 1440, height: 900 });

    const id = bl.control.createOrder({ lines: 2 });
    await syncNow();
    await goTo(page, "Orders");
    const row = page.locator(`tr[data-order="BL-${id}"]`);
    await row.waitFor({ timeout: 30_000 });
    await row.click();
    const drawer = page.locator(".drawer");
    const event = drawer.locator(".timeline li.event-automation");
    await event.waitFor();
    expect(await event.innerText()).toMatch(/Rule "Rush BrickLink orders": tag "rush"[\s\S]*automation rule/);
    await event.scrollIntoViewIfNeeded();
    await shot(page, "rules-06-timeline-desktop");
    await page.setViewportSize({ width: 390, height: 844 });
    await event.scrollIntoViewIfNeeded();
    await shot(page, "rules-07-timeline-phone");
    await page.setViewportSize({ width: 1440, height: 900 });
    const stored = await server.ctx.db.query.orders.findFirst({
      where: (o, { eq }) => eq(o.externalId, String(id)),
    });
    expect(stored!.tags).toEqual(["rush"]);
    expect(errors).toEqual([]);
  });
});
