import { describe, expect, it } from "vitest";
import { listConnections } from "../src/db/repos/connections.ts";
import { listOrders } from "../src/db/repos/orders.ts";
import { startServer } from "../src/server.ts";
import { testSettings } from "./helpers/db.ts";

describe("demo mode", () => {
  it("on a fresh install connects labelled demo BrickLink and BrickOwl stores whose orders flow in", async () => {
    const settings = { ...testSettings({ demo: true, logLevel: "silent" }), port: 0 };
    const server = await startServer(settings, { role: "all" });
    try {
      const ctx = server.ctx;
      const deadline = Date.now() + 80_000;
      let total = 0;
      let accountId = 0;
      while (Date.now() < deadline) {
        const account = await ctx.db.query.accounts.findFirst();
        if (account) {
          accountId = account.id;
          total = (await listOrders(ctx.db, account.id, {})).total;
          const owl = (await listOrders(ctx.db, account.id, { marketplace: ["brickowl"] })).total;
          if (total > 20 && owl > 10) break;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      const conns = await listConnections(ctx.db, accountId);
      expect(conns.map((c) => [c.name, c.marketplace, c.demo]).sort()).toEqual([
        ["Demo BrickLink store", "bricklink", true],
        ["Demo BrickOwl store", "brickowl", true],
      ]);
      expect(total).toBeGreaterThan(20);
      expect((await listOrders(ctx.db, accountId, { marketplace: ["brickowl"] })).total).toBeGreaterThan(10);
    } finally {
      await server.stop();
    }
  }, 120_000);
});
