/**
 * Inventory benchmark against the simulators: a BrickLink store of 50,000 lots mirrored on BrickOwl.
 * Import time; 10,000 random adjustments → pushes sent, API calls per adjustment, time to drain;
 * reconcile time and calls. Prints its figures.
 *
 *   npm run bench -- bench/inventory.ts [--lots 50000] [--adjustments 10000] [--touched 1000] [--quick]
 *
 * BrickOwl's 600 calls/minute are lifted inside this process (as in bench/brickowl-sync.ts) so the
 * figures measure Orderhub; the time the same calls take at BrickOwl's limit is printed beside them.
 */
import { rmSync } from "node:fs";
import { eq, inArray } from "drizzle-orm";
import { createAccount } from "../src/db/repos/accounts.ts";
import { insertConnection } from "../src/db/repos/connections.ts";
import { outbox } from "../src/db/schema.ts";
import { adjustLot, findLot, importInventory } from "../src/inventory/lots.ts";
import { reconcile } from "../src/inventory/reconcile.ts";
import { JobQueue } from "../src/jobs/queue.ts";
import { startBrickLinkSimulator } from "../src/marketplaces/bricklink/simulator/server.ts";
import { brickowlManifest } from "../src/marketplaces/brickowl/manifest.ts";
import { startBrickOwlSimulator } from "../src/marketplaces/brickowl/simulator/server.ts";
import { lotFromBrickLink } from "../src/marketplaces/brickowl/simulator/store.ts";
import { startServer } from "../src/server.ts";
import { dispatchOutbox } from "../src/sync/outbox.ts";
import { testSettings } from "../test/helpers/db.ts";
import { exactly, options, writeSummary } from "./lib/report.ts";

const opts = options({
  lots: ["50000", "2000"],
  adjustments: ["10000", "500"],
  touched: ["1000", "100"],
});
const LOTS = Number(opts.lots);
const ADJUSTMENTS = Number(opts.adjustments);
const TOUCHED = Number(opts.touched);
(brickowlManifest.rateLimit as unknown as { limits: unknown[] }).limits = [];

const bl = await startBrickLinkSimulator({ seed: 77, orders: 0, dailyLimit: 10_000_000 });
const bo = await startBrickOwlSimulator({ seed: 77, orders: 0, perMinute: 1e9 });
// A big store: LOTS lots on BrickLink, the same lots on BrickOwl linked by external lot id.
const template = [...bl.control.state.inventory.values()];
bl.control.state.inventory.clear();
bo.control.state.inventory.clear();
for (let i = 0; i < LOTS; i++) {
  const t = template[i % template.length]!;
  const id = 600_000 + i;
  const lot = {
    ...t,
    inventory_id: id,
    quantity: 20 + (i % 300),
    remarks: `${"ABCDEFGH"[i % 8]}-${1 + (i % 97)}`,
  };
  bl.control.state.inventory.set(id, lot);
  const owl = lotFromBrickLink(lot, 3_000_000 + i);
  bo.control.state.inventory.set(String(owl.lot_id), owl);
}
const settings = { ...testSettings({ logLevel: "error" }), port: 0 };
const server = await startServer(settings, { role: "all" });
const ctx = server.ctx;
try {
  const account = await createAccount(ctx.db, { name: "Bench", slug: "bench" });
  const blConn = await insertConnection(ctx.db, ctx.box, {
    accountId: account.id,
    marketplace: "bricklink",
    name: "BL",
    baseUrl: bl.baseUrl,
    config: {},
    secrets: { ...bl.credentials },
    dailyBudget: 10_000_000,
  });
  const boConn = await insertConnection(ctx.db, ctx.box, {
    accountId: account.id,
    marketplace: "brickowl",
    name: "BO",
    baseUrl: bo.baseUrl,
    config: {},
    secrets: { apiKey: bo.apiKey },
  });
  let t = performance.now();
  const a = await importInventory(ctx, account.id, blConn.id);
  const importBl = performance.now() - t;
  t = performance.now();
  const b = await importInventory(ctx, account.id, boConn.id);
  const linkBo = performance.now() - t;
  console.log(
    `import: ${a.created.toLocaleString("en")} BrickLink lots in ${Math.round(importBl)} ms (${Math.round(a.created / (importBl / 1000))} lots/s), ${b.linked.toLocaleString("en")} BrickOwl lots linked in ${Math.round(linkBo)} ms, ${b.unlinked.length} unlinked`,
  );

  // 10,000 random adjustments to 1,000 lots, then drain the pushes.
  let seed = 7;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const lotIds: number[] = [];
  const inventoryIdOf = new Map<number, number>();
  for (let i = 0; i < TOUCHED; i++) {
    const inventoryId = 600_000 + Math.floor(rnd() * LOTS);
    const lotId = await findLot(ctx, account.id, `bricklink:${inventoryId}`);
    lotIds.push(lotId);
    inventoryIdOf.set(lotId, inventoryId);
  }
  const blQty = (inventoryId: number) => bl.control.state.inventory.get(inventoryId)!.quantity;
  const boQty = (inventoryId: number) =>
    Number(bo.control.state.inventory.get(String(3_000_000 + inventoryId - 600_000))!.qty);
  const before = new Map(
    [...inventoryIdOf.values()].map((inv) => [inv, { bl: blQty(inv), bo: boQty(inv) }] as const),
  );
  const net = new Map<number, number>();
  const callsBefore = bl.control.calls() + bo.control.calls();
  t = performance.now();
  for (let i = 0; i < ADJUSTMENTS; i++) {
    const lotId = lotIds[Math.floor(rnd() * lotIds.length)]!;
    const by = rnd() < 0.5 ? 1 : -1;
    if ((net.get(lotId) ?? 0) + by < -10) continue;
    await adjustLot(ctx, null, { accountId: account.id, userId: null, lotId, by, reason: "bench" });
    net.set(lotId, (net.get(lotId) ?? 0) + by);
  }
  const adjustMs = performance.now() - t;
  const queued = (await ctx.db.select().from(outbox).where(eq(outbox.status, "pending"))).length;
  t = performance.now();
  let sent = 0;
  // Drained when no push is waiting or being sent (the server's own worker may be sending one).
  for (;;) {
    const r = await dispatchOutbox(ctx);
    sent += r.sent;
    if (r.sent + r.retried + r.failed > 0) continue;
    const open = await ctx.db
      .select({ id: outbox.id })
      .from(outbox)
      .where(inArray(outbox.status, ["pending", "sending"]));
    if (open.length === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const drainMs = performance.now() - t;
  // Every lot now stands at its starting quantity plus what was adjusted, on both marketplaces.
  const wrongOnMarketplaces: string[] = [];
  for (const [lotId, inv] of inventoryIdOf) {
    const want = (q: number) => q + (net.get(lotId) ?? 0);
    const was = before.get(inv)!;
    if (blQty(inv) !== want(was.bl))
      wrongOnMarketplaces.push(`BrickLink ${inv}: ${blQty(inv)}, not ${want(was.bl)}`);
    if (boQty(inv) !== want(was.bo))
      wrongOnMarketplaces.push(`BrickOwl ${inv}: ${boQty(inv)}, not ${want(was.bo)}`);
  }
  const failedPushes = await ctx.db.select().from(outbox).where(eq(outbox.status, "failed"));
  if (wrongOnMarketplaces.length || failedPushes.length)
    throw new Error(
      `stock is wrong after the drain: ${wrongOnMarketplaces.slice(0, 10).join("; ")}${failedPushes.length ? `; ${failedPushes.length} pushes failed: ${failedPushes[0]!.lastError}` : ""}`,
    );
  console.log(`after the drain: all ${inventoryIdOf.size} lots right on both marketplaces, no push failed`);
  const calls = bl.control.calls() + bo.control.calls() - callsBefore;
  const wrong = [...net].filter(([, n]) => n !== 0).length;
  console.log(
    `adjustments: ${ADJUSTMENTS.toLocaleString("en")} to ${TOUCHED} lots in ${Math.round(adjustMs)} ms (${Math.round(ADJUSTMENTS / (adjustMs / 1000))}/s); ${queued} pushes after coalescing, ${sent} sent, ${calls} API calls (${(calls / ADJUSTMENTS).toFixed(3)} per adjustment; ${wrong} lots with a net change × 2 marketplaces is the minimum ${wrong * 2}); drained in ${Math.round(drainMs)} ms; at BrickOwl's 600/min its share takes ${(calls / 2 / 600).toFixed(1)} min`,
  );

  t = performance.now();
  const c0 = bl.control.calls();
  // The server's worker runs the order sync the reconcile asks for first.
  const queue = await JobQueue.start(ctx, { work: false });
  const rc = await reconcile(ctx, queue, { accountId: account.id, connectionId: blConn.id });
  await queue.stop();
  const reconcileMs = performance.now() - t;
  const reconcileCalls = bl.control.calls() - c0;
  console.log(
    `reconcile: ${rc.checked.toLocaleString("en")} lots compared in ${Math.round(reconcileMs)} ms with ${bl.control.calls() - c0} BrickLink calls; ${rc.adopted.length} adopted, ${rc.explained} explained by pending pushes`,
  );
  const minimum = wrong * 2;
  writeSummary(
    "inventory",
    {
      lots: LOTS,
      importMs: Math.round(importBl),
      linkMs: Math.round(linkBo),
      adjustments: ADJUSTMENTS,
      queued,
      sent,
      calls,
      minimumCalls: minimum,
      callsPerAdjustment: calls / ADJUSTMENTS,
      drainMs: Math.round(drainMs),
      reconcileMs: Math.round(reconcileMs),
      reconcileCalls,
    },
    {
      bench: "inventory",
      db: "pglite",
      sizes: `${LOTS.toLocaleString("en")} lots on PGlite, ${ADJUSTMENTS.toLocaleString("en")} adjustments to ${TOUCHED.toLocaleString("en")} lots`,
    },
    [
      {
        name: "import BrickLink lots",
        value: Math.round(importBl),
        unit: "ms",
        detail: `${a.created.toLocaleString("en")} lots, ${Math.round(a.created / (importBl / 1000))} lots/s`,
      },
      {
        name: "link BrickOwl lots",
        value: Math.round(linkBo),
        unit: "ms",
        detail: `${b.linked.toLocaleString("en")} linked, ${b.unlinked.length} unlinked`,
      },
      {
        name: "adjustments",
        value: Math.round(adjustMs),
        unit: "ms",
        detail: `${Math.round(ADJUSTMENTS / (adjustMs / 1000))} adjustments/s`,
      },
      {
        name: "adjustments → API calls ÷ minimum",
        value: minimum ? Number((calls / minimum).toFixed(2)) : calls === 0 ? 1 : Number.POSITIVE_INFINITY,
        unit: "",
        detail: `${calls.toLocaleString("en")} calls, minimum ${minimum.toLocaleString("en")} (2 per lot with a net change); ${queued} pushes after coalescing`,
        goal: exactly(1),
      },
      { name: "drain the pushes", value: Math.round(drainMs), unit: "ms" },
      {
        name: "reconcile",
        value: Math.round(reconcileMs),
        unit: "ms",
        detail: `${rc.checked.toLocaleString("en")} lots compared`,
      },
      { name: "reconcile: BrickLink calls", value: reconcileCalls, unit: "calls", goal: exactly(2) },
    ],
  );
} finally {
  await server.stop();
  await bl.close();
  await bo.close();
  rmSync(settings.dataDir, { recursive: true, force: true });
}
