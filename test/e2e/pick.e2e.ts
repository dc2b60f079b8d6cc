import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import bwipjs from "bwip-js/node";
import { and, eq } from "drizzle-orm";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../../src/auth/passwords.ts";
import { newToken, sha256 } from "../../src/auth/tokens.ts";
import { createAccount } from "../../src/db/repos/accounts.ts";
import { insertConnection } from "../../src/db/repos/connections.ts";
import { insertUser } from "../../src/db/repos/users.ts";
import { apiTokens, orderEvents, orderLines, orders, outbox, syncRuns } from "../../src/db/schema.ts";
import {
  type BrickLinkSimulator,
  startBrickLinkSimulator,
} from "../../src/marketplaces/bricklink/simulator/server.ts";
import { type RunningServer, startServer } from "../../src/server.ts";
import { testSettings } from "../helpers/db.ts";
import { CHROMIUM, hasChromium, launch, SHOTS, shot } from "./browser.ts";

let server: RunningServer;
let bl: BrickLinkSimulator;
let browser: Browser;
let token: string;
let accountId: number;
const PASSWORD = "correct horse battery";
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
const DESKTOP = { viewport: { width: 1440, height: 900 } };
const errors: string[] = [];

/** A 1×1 grey PNG standing in for the marketplaces' item pictures (nothing reaches the internet). */
const PICTURE = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGO4dwYAAuwBlHv/sHsAAAAASUVORK5CYII=",
  "base64",
);

type Doc = {
  querySelectorAll(
    s: string,
  ): ArrayLike<{ textContent: string | null; getAttribute(n: string): string | null }>;
};
declare function dom(): Doc;

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

beforeAll(async () => {
  if (!hasChromium) return;
  bl = await startBrickLinkSimulator({ seed: 77, orders: 30, start: new Date(Date.now() - 30 * 3_600_000) });
  server = await startServer({ ...testSettings(), port: 0 }, { role: "all" });
  const db = server.ctx.db;
  const account = await createAccount(db, { name: "Pick Corner", slug: "pick-corner" });
  accountId = account.id;
  const passwordHash = await hashPassword(PASSWORD);
  const owner = await insertUser(db, {
    accountId,
    email: "owner@pick.example",
    name: "Olive",
    passwordHash,
    role: "owner",
  });
  await insertUser(db, { accountId, email: "ann@pick.example", name: "Ann", passwordHash, role: "picker" });
  await insertUser(db, { accountId, email: "bob@pick.example", name: "Bob", passwordHash, role: "staff" });
  token = newToken("oh_");
  await db.insert(apiTokens).values({
    accountId,
    userId: owner.id,
    name: "e2e",
    tokenHash: sha256(token),
    prefix: token.slice(0, 8),
  });
  const c = await insertConnection(db, server.ctx.box, {
    accountId,
    marketplace: "bricklink",
    name: "BL store",
    baseUrl: bl.baseUrl,
    config: {},
    secrets: { ...bl.credentials },
  });
  const run = await api("POST", `/api/connections/${c.id}/sync`, {});
  const runId = Number(run.runId ?? run.id ?? run.run?.id);
  for (let i = 0; i < 600; i++) {
    const [r] = await db.select().from(syncRuns).where(eq(syncRuns.id, runId));
    if (r && !["queued", "running"].includes(r.state)) break;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await bl?.close();
});

async function signedIn(
  email: string,
  opts: object,
  name: string,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext(opts);
  await context.route(/^https:\/\/img\.(bricklink|brickowl)\.com\//, (r) =>
    r.fulfill({ status: 200, contentType: "image/png", body: PICTURE }),
  );
  const res = await context.request.post(`${server.url}/api/auth/login`, {
    data: { email, password: PASSWORD },
  });
  expect(res.status(), await res.text()).toBe(200);
  const page = await context.newPage();
  await page.addInitScript(() => {
    const g = globalThis as unknown as {
      dom: () => unknown;
      document: unknown;
      buzzes: unknown[];
      navigator: { vibrate?: (p: unknown) => boolean };
    };
    g.dom = () => g.document;
    g.buzzes = [];
    // Records every buzz (headless Chromium has no vibration motor).
    Object.defineProperty(g.navigator, "vibrate", {
      configurable: true,
      value: (p: unknown) => {
        g.buzzes.push(p);
        return true;
      },
    });
  });
  page.on("pageerror", (e) => errors.push(`${name}: ${String(e)}`));
  page.on("console", (m) => {
    // A 409 is how a picker learns someone else has the lot, a 404 how pack mode learns a scan is
    // no order: the page says so itself (toast, message); Chromium logs the status as well.
    if (m.type() === "error" && !/\b(409|404|401)\b/.test(m.text())) errors.push(`${name}: ${m.text()}`);
  });
  return { context, page };
}

const lots = (p: Page) => p.locator("li.pick-lot");
const progress = (p: Page) => p.getByTestId("pick-progress");
const buzzes = (p: Page) => p.evaluate(() => (globalThis as unknown as { buzzes: unknown[] }).buzzes.length);

async function batchOf(n: number): Promise<{ batchId: number; ids: number[] }> {
  const rows = await server.ctx.db
    .select({ id: orders.id, lotCount: orders.lotCount, status: orders.status })
    .from(orders)
    .where(eq(orders.accountId, accountId))
    .orderBy(orders.id);
  const ids = rows
    .filter((r) => r.lotCount >= 2 && r.status !== "shipped")
    .slice(0, n)
    .map((r) => r.id);
  const r = await api("POST", "/api/pick-batches", { name: `Morning ${n}`, orders: ids });
  return { batchId: r.batchId, ids };
}

describe.skipIf(!hasChromium)("pick mode and pack mode in Chromium", () => {
  it("two pickers on one batch: different lots held, a refusal, live progress, a shortage, resume after reload", async () => {
    const { batchId, ids } = await batchOf(6);
    const ann = await signedIn("ann@pick.example", PHONE, "ann");
    const bob = await signedIn("bob@pick.example", PHONE, "bob");
    await ann.page.goto(`${server.url}/pick?batch=${batchId}`);
    await ann.page.locator("li.pick-mine").waitFor();
    await bob.page.goto(`${server.url}/pick?batch=${batchId}`);
    await bob.page.locator("li.pick-mine").waitFor();
    const annLot = await ann.page.locator("li.pick-mine").getAttribute("data-lot");
    const bobLot = await bob.page.locator("li.pick-mine").getAttribute("data-lot");
    expect(annLot).not.toBe(bobLot);
    const total = await lots(ann.page).count();
    await expect.poll(() => progress(ann.page).textContent()).toBe(`0 / ${total} lots`);
    // Ann sees Bob holding his lot (live), and a tap on it is refused with a buzz and his name.
    await ann.page.locator(`li[data-lot="${bobLot}"].pick-theirs`).waitFor();
    await shot(ann.page, "pick-01-phone-two-pickers");
    const before = await buzzes(ann.page);
    await ann.page.locator(`li[data-lot="${bobLot}"] button`).click();
    await ann.page.getByText("Bob is picking this lot").waitFor();
    expect(await buzzes(ann.page)).toBeGreaterThan(before);
    expect(await ann.page.locator(`li[data-lot="${bobLot}"]`).getAttribute("data-state")).toBe("open");
    // Ann ticks hers; Bob's page shows the progress without a reload.
    await ann.page.locator(`li[data-lot="${annLot}"] button`).click();
    await ann.page.locator(`li[data-lot="${annLot}"][data-state="picked"]`).waitFor();
    await expect.poll(() => progress(bob.page).textContent()).toBe(`1 / ${total} lots`);
    await bob.page.locator(`li[data-lot="${annLot}"][data-state="picked"]`).waitFor();
    // Bob ticks his.
    await bob.page.locator(`li[data-lot="${bobLot}"] button`).click();
    await expect.poll(() => progress(ann.page).textContent()).toBe(`2 / ${total} lots`);

    // A long press on Ann's next lot reports a shortage.
    const next = ann.page.locator("li.pick-mine");
    await next.waitFor();
    const shortLot = (await next.getAttribute("data-lot"))!;
    const box = (await next.locator("button").boundingBox())!;
    await ann.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await ann.page.mouse.down();
    await ann.page.getByRole("dialog", { name: /^Short:/ }).waitFor();
    await ann.page.mouse.up();
    await ann.page.getByLabel("Found").fill("0");
    await ann.page.getByLabel("Note (optional)").fill("drawer empty");
    await shot(ann.page, "pick-02-phone-shortage");
    await ann.page.getByRole("button", { name: "Record shortage" }).click();
    await ann.page.locator(`li[data-lot="${shortLot}"][data-state="short"]`).waitFor();
    await expect.poll(() => progress(ann.page).textContent()).toBe(`3 / ${total} lots`);
    const events = await server.ctx.db
      .select()
      .from(orderEvents)
      .where(and(eq(orderEvents.accountId, accountId), eq(orderEvents.kind, "pick.shortage")));
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => ids.includes(e.orderId))).toBe(true);
    expect(events[0]!.detail).toMatchObject({ found: 0, note: "drawer empty" });

    // Resume: a reload shows the same state from the server.
    await ann.page.reload();
    await ann.page.locator(`li[data-lot="${shortLot}"][data-state="short"]`).waitFor();
    await expect.poll(() => progress(ann.page).textContent()).toBe(`3 / ${total} lots`);
    expect(await ann.page.locator(`li[data-lot="${annLot}"]`).getAttribute("data-state")).toBe("picked");
    expect(await ann.page.locator(`li[data-lot="${bobLot}"]`).getAttribute("data-state")).toBe("picked");
    await shot(ann.page, "pick-03-phone-resumed");
    // Nothing is wider than the phone.
    expect(
      await ann.page.evaluate(() => {
        const g = globalThis as unknown as {
          document: { documentElement: { scrollWidth: number } };
          innerWidth: number;
        };
        return g.document.documentElement.scrollWidth <= g.innerWidth;
      }),
    ).toBe(true);

    const desk = await signedIn("owner@pick.example", DESKTOP, "owner");
    await desk.page.goto(`${server.url}/pick?batch=${batchId}`);
    await desk.page.locator("li.pick-mine").waitFor();
    await shot(desk.page, "pick-04-desktop");
    for (const c of [ann, bob, desk]) await c.context.close();
    expect(errors).toEqual([]);
  });

  it("the Pick bulk action on selected orders opens pick mode", async () => {
    const owner = await signedIn("owner@pick.example", DESKTOP, "owner");
    await owner.page.goto(server.url!);
    const rows = owner.page.locator("table.orders tbody tr[data-order]");
    await rows.first().waitFor();
    await rows.nth(0).getByRole("checkbox").click();
    await rows.nth(1).getByRole("checkbox").click();
    await owner.page
      .getByRole("toolbar", { name: "Actions on the selected orders" })
      .getByRole("button", { name: "Pick", exact: true })
      .click();
    await owner.page.waitForURL(/\/pick\?batch=\d+/);
    await owner.page.locator("li.pick-lot").first().waitFor();
    expect(await owner.page.locator(".pick-sub").textContent()).toMatch(/2 orders · totes A–B/);
    await owner.context.close();
  });

  it("scan to verify with a scanner typing into the page: wrong item refused, every line confirmed, ship in one tap", async () => {
    const [o] = await server.ctx.db
      .select({ id: orders.id, number: orders.number })
      .from(orders)
      .where(and(eq(orders.accountId, accountId), eq(orders.status, "pending")))
      .orderBy(orders.id)
      .limit(1);
    const order =
      o ?? (await server.ctx.db.select({ id: orders.id, number: orders.number }).from(orders).limit(1))[0]!;
    const lines = await server.ctx.db.select().from(orderLines).where(eq(orderLines.orderId, order.id));
    const ann = await signedIn("ann@pick.example", PHONE, "ann");
    const { page } = ann;
    await page.goto(`${server.url}/pack`);
    await page.getByText("Scan the barcode on a pick sheet").waitFor();
    // The scanner types the order's barcode (its number) and Enter.
    await page.locator("body").click();
    await page.keyboard.type(order.number);
    await page.keyboard.press("Enter");
    await page.getByRole("region", { name: `Order ${order.number}` }).waitFor();
    // A wrong item: refused with a buzz and a message, nothing confirmed.
    const before = await buzzes(page);
    await page.keyboard.type("99999zz");
    await page.keyboard.press("Enter");
    await page
      .getByRole("alert")
      .filter({ hasText: `Wrong item: “99999zz” is not in ${order.number}` })
      .waitFor();
    expect(await buzzes(page)).toBeGreaterThan(before);
    expect(await page.locator('li[data-confirmed="1"]').count()).toBe(0);
    await shot(page, "pack-01-phone-wrong-item");
    // Each line by its item number where that is unambiguous, else a tap.
    const live = lines.filter((l) => !l.removedAt && !l.digital);
    const counts = new Map<string, number>();
    for (const l of live)
      if (l.itemNo) counts.set(l.itemNo.toLowerCase(), (counts.get(l.itemNo.toLowerCase()) ?? 0) + 1);
    let scannedOne = false;
    for (const l of live) {
      if (l.itemNo && counts.get(l.itemNo.toLowerCase()) === 1) {
        await page.keyboard.type(l.itemNo);
        await page.keyboard.press("Enter");
        scannedOne = true;
      } else await page.locator(`li[data-line="${l.id}"] button`).click();
      await page.locator(`li[data-line="${l.id}"][data-confirmed="1"]`).waitFor();
    }
    expect(scannedOne).toBe(true);
    await page.getByText("Every line is confirmed.").waitFor();
    await shot(page, "pack-02-phone-all-confirmed");
    expect(
      await page.evaluate(() => {
        const g = globalThis as unknown as {
          document: { documentElement: { scrollWidth: number } };
          innerWidth: number;
        };
        return g.document.documentElement.scrollWidth <= g.innerWidth;
      }),
    ).toBe(true);
    const desk = await signedIn("owner@pick.example", DESKTOP, "owner");
    await desk.page.goto(`${server.url}/pack?order=${encodeURIComponent(order.number)}`);
    await desk.page.getByRole("region", { name: `Order ${order.number}` }).waitFor();
    await shot(desk.page, "pack-04-desktop");
    await desk.context.close();
    await expect
      .poll(
        async () =>
          (
            await server.ctx.db
              .select()
              .from(orderEvents)
              .where(and(eq(orderEvents.orderId, order.id), eq(orderEvents.kind, "pack.verified")))
          ).length,
      )
      .toBe(1);
    // Print label answers the PDF; Mark shipped is one tap and queues the push.
    const dl = page.waitForEvent("download");
    await page.getByRole("button", { name: "Print label" }).click();
    expect((await dl).suggestedFilename()).toMatch(/\.pdf$/);
    await page.getByRole("button", { name: "Mark shipped" }).click();
    await page.getByText(`${order.number} marked shipped`).waitFor();
    const pushes = await server.ctx.db.select().from(outbox).where(eq(outbox.orderId, order.id));
    expect(pushes.length).toBeGreaterThan(0);
    await ann.context.close();
    expect(errors).toEqual([]);
  });
});

/**
 * A Code 128 of `text` as one frame of Y4M video (what Chromium's fake camera plays), drawn from
 * bwip-js's bar widths: dark bars on white, a quiet zone round them.
 */
function code128Y4m(text: string, file: string): void {
  const [enc] = bwipjs.raw("code128", text, {}) as unknown as { sbs: number[] }[];
  const modules = enc!.sbs.reduce((n, w) => n + w, 0);
  const W = 640;
  const H = 480;
  const scale = Math.floor((W - 80) / modules);
  const x0 = Math.floor((W - modules * scale) / 2);
  const y = new Uint8Array(W * H).fill(255);
  let x = x0;
  enc!.sbs.forEach((w, i) => {
    if (i % 2 === 0) for (let row = 140; row < 340; row++) y.fill(0, row * W + x, row * W + x + w * scale);
    x += w * scale;
  });
  const chroma = new Uint8Array((W / 2) * (H / 2)).fill(128);
  const header = Buffer.from(`YUV4MPEG2 W${W} H${H} F10:1 Ip A1:1 C420jpeg\n`);
  const frame = Buffer.concat([Buffer.from("FRAME\n"), y, chroma, chroma]);
  writeFileSync(file, Buffer.concat([header, frame, frame]));
}

describe.skipIf(!hasChromium)("scan to verify with the camera", () => {
  let camera: Browser;
  let number: string;
  beforeAll(async () => {
    if (!hasChromium) return;
    const [o] = await server.ctx.db
      .select({ number: orders.number })
      .from(orders)
      .where(eq(orders.accountId, accountId))
      .orderBy(orders.id)
      .limit(1);
    number = o!.number;
    const file = resolve(join(SHOTS, "code128.y4m"));
    code128Y4m(number, file);
    camera = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        `--use-file-for-fake-video-capture=${file}`,
      ],
    });
  });
  afterAll(async () => {
    await camera?.close();
  });

  it("a fake camera showing an order's Code 128 opens the order in pack mode (wasm reader from our own server)", async () => {
    const context = await camera.newContext(PHONE);
    await context.route(/^https:\/\/img\.(bricklink|brickowl)\.com\//, (r) =>
      r.fulfill({ status: 200, contentType: "image/png", body: PICTURE }),
    );
    const requests: string[] = [];
    context.on("request", (r) => requests.push(r.url()));
    const res = await context.request.post(`${server.url}/api/auth/login`, {
      data: { email: "ann@pick.example", password: PASSWORD },
    });
    expect(res.status()).toBe(200);
    await context.grantPermissions(["camera"], { origin: server.url! });
    const page = await context.newPage();
    await page.goto(`${server.url}/pack`);
    await page.getByRole("button", { name: "Camera" }).click();
    await page.getByRole("region", { name: `Order ${number}` }).waitFor({ timeout: 60_000 });
    await shot(page, "pack-03-phone-camera");
    // The reader's .wasm came from Orderhub, nothing from a CDN (the marketplaces' item pictures
    // are the only other addresses, as the UI's content policy allows).
    expect(requests.some((u) => u.startsWith(server.url!) && u.endsWith(".wasm"))).toBe(true);
    const others = requests.filter(
      (u) =>
        !u.startsWith(server.url!) &&
        !u.startsWith("data:") &&
        !u.startsWith("blob:") &&
        !/^https:\/\/img\.(bricklink|brickowl)\.com\//.test(u),
    );
    expect(others).toEqual([]);
    await context.close();
  });
});
