import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { demoStateFile } from "../src/demo.ts";
import { type RunningServer, startServer } from "../src/server.ts";
import { testSettings } from "./helpers/db.ts";

type Json = Record<string, unknown>;

/** Waits for a condition the running demo reaches by itself (a sync, a push); fails naming what it waited for. */
async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>): Promise<T> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

function client(server: RunningServer, dataDir: string) {
  const token = readFileSync(join(dataDir, "cli-token"), "utf8").trim();
  return async (method: string, path: string, body?: unknown): Promise<Json> => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const json = (await res.json()) as Json;
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
}

const keptStore = (dataDir: string, marketplace: string) =>
  (JSON.parse(readFileSync(demoStateFile(dataDir, marketplace), "utf8")) as { store: Json }).store;
const keptOrder = (dataDir: string, id: string) =>
  ((keptStore(dataDir, "bricklink").orders as [number, { order: Json }][]).find(([k]) => String(k) === id) ??
    [])[1]?.order;
const keptLot = (dataDir: string, id: string) =>
  ((keptStore(dataDir, "bricklink").inventory as [number, Json][]).find(([k]) => String(k) === id) ?? [])[1];

async function settled(call: ReturnType<typeof client>) {
  return until("every demo sync to finish", async () => {
    const { runs } = (await call("GET", "/api/sync-runs?limit=50")) as { runs: Json[] };
    return runs.length > 0 && runs.every((r) => !["queued", "running"].includes(String(r.state))) && runs;
  });
}

describe("demo mode across a restart", () => {
  it("keeps its simulated stores in the data directory: a shipped order and an adjusted lot stay as the seller left them", async () => {
    const settings = { ...testSettings({ demo: true, logLevel: "silent" }), port: 0 };
    let server = await startServer(settings, { role: "all" });
    let number = "";
    let lotExternal = "";
    let lotQuantity = 0;
    let orderedAt = "";
    try {
      let call = client(server, settings.dataDir);
      const runs = await settled(call);
      // The demo's first import is named as such in the Sync log, not as a seller's "Sync now".
      expect(runs.filter((r) => r.mode === "full").map((r) => r.trigger)).toEqual([
        "first_import",
        "first_import",
      ]);

      const { orders } = (await call("GET", "/api/orders?marketplace=bricklink&status=processing")) as {
        orders: Json[];
      };
      const paid = orders.find((o) => o.rawStatus === "PAID" || o.rawStatus === "PACKED")!;
      number = String(paid.number);
      orderedAt = String(paid.orderedAt);
      await call("POST", "/api/fulfilment/ship", {
        orders: [number],
        carrier: "DHL",
        trackingNumber: "JJD0042",
      });
      await until(`${number} to be shipped on the simulated BrickLink`, async () => {
        const { order } = (await call("GET", `/api/orders/${number}`)) as { order: Json };
        return order.status === "shipped" && (order.pushes as Json[]).every((p) => p.state === "sent");
      });
      expect(keptOrder(settings.dataDir, number.slice(3))?.status).toBe("SHIPPED");

      const bl = (await call("GET", "/api/connections")) as { connections: Json[] };
      const blConn = bl.connections.find((c) => c.marketplace === "bricklink")!;
      await call("POST", "/api/inventory/import", { connectionId: blConn.id });
      const { lots } = (await call("GET", "/api/inventory/lots?limit=1")) as { lots: Json[] };
      const lot = lots[0]!;
      const shown = (await call("GET", `/api/inventory/lots/${lot.id}`)) as { listings: Json[] };
      lotExternal = String(shown.listings.find((l) => l.marketplace === "bricklink")!.externalId);
      const before = Number(keptLot(settings.dataDir, lotExternal)!.quantity);
      await call("POST", `/api/inventory/lots/${lot.id}/adjust`, { by: -3, reason: "damaged" });
      await until("the adjustment to reach the simulated BrickLink", async () =>
        Number(keptLot(settings.dataDir, lotExternal)!.quantity) === before - 3 ? true : null,
      );
      lotQuantity = before - 3;
      const ours = ((await call("GET", `/api/inventory/lots/${lot.id}`)) as { lot: Json }).lot.quantity;
      await settled(call);
      await server.stop();

      // Restarted on the same data directory: the stores are the ones the seller left.
      server = await startServer(settings, { role: "all" });
      call = client(server, settings.dataDir);
      for (const c of bl.connections) await call("POST", `/api/connections/${c.id}/sync`, {});
      await settled(call);
      const { order } = (await call("GET", `/api/orders/${number}`)) as { order: Json };
      expect(order).toMatchObject({ status: "shipped", rawStatus: "SHIPPED", needsReview: false, orderedAt });
      expect(keptOrder(settings.dataDir, number.slice(3))).toMatchObject({ status: "SHIPPED" });
      expect(Number(keptLot(settings.dataDir, lotExternal)!.quantity)).toBe(lotQuantity);
      // A reconcile finds BrickLink as the seller left it: the lot keeps the adjusted quantity.
      await call("POST", "/api/inventory/reconcile", { connectionId: blConn.id });
      const again = (await call("GET", `/api/inventory/lots/${lot.id}`)) as { lot: Json };
      expect(again.lot.quantity).toBe(ours);
      expect(Number(keptLot(settings.dataDir, lotExternal)!.quantity)).toBe(lotQuantity);
    } finally {
      await server.stop();
    }
  }, 240_000);
});
