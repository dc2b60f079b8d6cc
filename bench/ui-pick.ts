/**
 * Pick mode and pack mode in Chromium on a phone-sized page (PGlite, as `npm start` runs): time from
 * navigation to a 100-order pick batch being ready (lots listed and the picker's next lot held), and
 * from a scan (a scanner typing the code and Enter) to the line shown confirmed. Prints its figures.
 *
 *   npm run bench -- bench/ui-pick.ts [--orders 100] [--lines 8] [--runs 15] [--quick]
 */
import { orderInputSchema, type UnifiedOrder } from "../src/core/order.ts";
import { bulkInsert } from "../src/db/bulk.ts";
import { lineRows, orderRow } from "../src/db/repos/orders.ts";
import { orderLines, orders } from "../src/db/schema.ts";
import { addOrdersToPickBatch } from "../src/fulfillment/pick-batches.ts";
import { below, options, writeSummary } from "./lib/report.ts";
import { pct, startUiWorld } from "./lib/ui-world.ts";

const opts = options({ orders: ["100", "20"], lines: ["8", "4"], runs: ["15", "3"] });
const ORDERS = Number(opts.orders);
const LINES = Number(opts.lines);
const RUNS = Number(opts.runs);
const COLOURS = [
  ["11", "Black"],
  ["5", "Red"],
  ["1", "White"],
  ["86", "Light Bluish Gray"],
  ["7", "Blue"],
] as const;
const PARTS = [
  "3001",
  "3003",
  "3020",
  "3022",
  "3023",
  "3024",
  "3068b",
  "3069b",
  "3622",
  "3710",
  "4070",
  "60592",
];

const { server, ctx, browser, accountId, connectionId, close } = await startUiWorld("picker");
try {
  // Orders of LINES distinct lots each, from a shared shelf: lots repeat across orders.
  const batch: UnifiedOrder[] = [];
  for (let i = 0; i < ORDERS; i++) {
    const lines = Array.from({ length: LINES }, (_, k) => {
      const part = PARTS[(i + k * 5) % PARTS.length]!;
      const [colorId, colorName] = COLOURS[(i * 3 + k) % COLOURS.length]!;
      return {
        externalLineId: String(k + 1),
        itemNo: part,
        itemType: "part" as const,
        colorId,
        colorName,
        condition: k % 3 ? ("new" as const) : ("used" as const),
        name: `Part ${part}`,
        quantity: 1 + ((i + k) % 9),
        unitPrice: 100,
        lineTotal: 100 * (1 + ((i + k) % 9)),
        location: `${"ABCDEF"[(i + k) % 6]}-${1 + ((i * 7 + k) % 40)}`,
      };
    });
    // One order line per item number: pack mode confirms them by item number.
    const seen = new Set<string>();
    batch.push(
      orderInputSchema.parse({
        marketplace: "bricklink",
        externalId: String(2_000_000 + i),
        number: `BL-${2_000_000 + i}`,
        status: "pending",
        rawStatus: "PENDING",
        buyerName: `Buyer ${i}`,
        orderedAt: new Date(Date.UTC(2026, 10, 1) + i * 60_000),
        totals: { currency: "EUR", subtotal: 1000, grandTotal: 1500 },
        lines: lines.filter((l) => !seen.has(l.itemNo) && seen.add(l.itemNo)),
        raw: {},
      }),
    );
  }
  const ids = await ctx.db.transaction(async (tx) => {
    const c = { accountId, connectionId, source: "bench", at: new Date() };
    const rows = await bulkInsert(
      tx,
      orders,
      batch.map((o) => ({ ...orderRow(o, c, "x"), createdAt: c.at })),
      { returning: ["id"] },
    );
    await bulkInsert(
      tx,
      orderLines,
      batch.flatMap((o, k) => lineRows(o, Number(rows[k]!.id), accountId)),
    );
    return rows.map((r) => Number(r.id));
  });
  const { batchId } = await addOrdersToPickBatch(ctx.db, accountId, "Bench batch", ids);
  const lots = await ctx.database.sql.executeSql(
    "select count(*)::int as n from pick_batch_items where batch_id = $1",
    [batchId],
  );
  const lotCount = (lots.rows[0] as { n: number }).n;
  console.log(`${ORDERS} orders × ${LINES} lines in one pick batch: ${lotCount} lots`);

  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
  });
  // The marketplaces' item pictures answered here: nothing reaches the internet, and a picture costs
  // what a cached one would.
  const picture = Buffer.from(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGO4dwYAAuwBlHv/sHsAAAAASUVORK5CYII=",
    "base64",
  );
  await context.route(/^https:\/\/img\.(bricklink|brickowl)\.com\//, (r) =>
    r.fulfill({ status: 200, contentType: "image/png", body: picture }),
  );
  const login = await context.request.post(`${server.url}/api/auth/login`, {
    data: { email: "bench@example.com", password: "benchmark password" },
  });
  if (login.status() !== 200) throw new Error(`sign-in failed: ${login.status()}`);
  const page = await context.newPage();

  // Navigation → the batch ready: the picker's next lot held for them and on screen, tappable; and
  // → every lot listed (the end of a long list is drawn just after).
  const ready: number[] = [];
  const listed: number[] = [];
  for (let r = 0; r < RUNS + 1; r++) {
    await ctx.database.sql.executeSql(
      "update pick_batch_items set claimed_by = null, claimed_at = null where batch_id = $1",
      [batchId],
    );
    const t = performance.now();
    await page.goto(`${server.url}/pick?batch=${batchId}`);
    await page.locator("li.pick-mine button").waitFor({ timeout: 30_000 });
    const t1 = performance.now();
    await page.locator(`li.pick-lot >> nth=${lotCount - 1}`).waitFor({ state: "attached", timeout: 30_000 });
    const t2 = performance.now();
    const n = await page.locator("li.pick-lot").count();
    if (n !== lotCount) throw new Error(`pick mode listed ${n} lots, the batch has ${lotCount}`);
    // The first load warms the server and the browser's cache of the bundle, as a picker's second visit.
    if (r > 0) {
      ready.push(t1 - t);
      listed.push(t2 - t);
    }
  }

  // Scan → line confirmed, measured inside the page: the keys a scanner types, then the line's state.
  const scans: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const order = batch[r % batch.length]!;
    await page.goto(`${server.url}/pack?order=${order.number}`);
    await page.getByRole("region", { name: `Order ${order.number}` }).waitFor();
    const codes = order.lines.map((l) => l.itemNo!);
    const ms = await page.evaluate(async (list: string[]) => {
      const g = globalThis as unknown as {
        document: {
          body: { dispatchEvent(e: unknown): boolean };
          querySelectorAll(s: string): ArrayLike<unknown>;
        };
        KeyboardEvent: new (type: string, init: object) => unknown;
        MutationObserver: new (
          cb: () => void,
        ) => { observe(n: unknown, o: object): void; disconnect(): void };
      };
      const out: number[] = [];
      for (let k = 0; k < list.length; k++) {
        // No named inner functions: the page gets this code as it is, without the bundler's helpers.
        const sel = 'li[data-confirmed="1"]';
        const before = g.document.querySelectorAll(sel).length;
        const done = new Promise<void>((resolve) => {
          const mo = new g.MutationObserver(() => {
            if (g.document.querySelectorAll(sel).length > before) {
              mo.disconnect();
              resolve();
            }
          });
          mo.observe(g.document.body, {
            subtree: true,
            attributes: true,
            attributeFilter: ["data-confirmed"],
          });
        });
        const t0 = performance.now();
        for (const ch of list[k]!)
          g.document.body.dispatchEvent(new g.KeyboardEvent("keydown", { key: ch, bubbles: true }));
        g.document.body.dispatchEvent(new g.KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
        await done;
        out.push(performance.now() - t0);
      }
      return out;
    }, codes);
    scans.push(...ms);
  }
  const summary = {
    orders: ORDERS,
    lots: lotCount,
    ready: { p50: Math.round(pct(ready, 50)), p95: Math.round(pct(ready, 95)) },
    listed: { p50: Math.round(pct(listed, 50)), p95: Math.round(pct(listed, 95)) },
    scan: { p50: Number(pct(scans, 50).toFixed(1)), p95: Number(pct(scans, 95).toFixed(1)), n: scans.length },
  };
  console.log(
    `pick mode ready (${ORDERS}-order batch, ${lotCount} lots): p50 ${summary.ready.p50} ms, p95 ${summary.ready.p95} ms (goal < 1000 ms)`,
  );
  console.log(`pick mode, every lot listed: p50 ${summary.listed.p50} ms, p95 ${summary.listed.p95} ms`);
  console.log(
    `scan → line confirmed (${scans.length} scans): p50 ${summary.scan.p50} ms, p95 ${summary.scan.p95} ms (goal < 100 ms)`,
  );
  writeSummary(
    "ui-pick",
    summary,
    {
      bench: "ui-pick",
      db: "pglite",
      sizes: `${ORDERS} orders × ${LINES} lines (${lotCount} lots) on PGlite, ${RUNS} runs per figure, 390×844`,
    },
    [
      { name: `pick mode ready (${ORDERS}-order batch): p50`, value: summary.ready.p50, unit: "ms" },
      {
        name: `pick mode ready (${ORDERS}-order batch): p95`,
        value: summary.ready.p95,
        unit: "ms",
        goal: below(1000),
      },
      { name: `pick mode, all ${lotCount} lots listed: p50`, value: summary.listed.p50, unit: "ms" },
      { name: `pick mode, all ${lotCount} lots listed: p95`, value: summary.listed.p95, unit: "ms" },
      { name: "scan → line confirmed: p50", value: summary.scan.p50, unit: "ms" },
      { name: "scan → line confirmed: p95", value: summary.scan.p95, unit: "ms", goal: below(100) },
    ],
  );
} finally {
  await close();
}
