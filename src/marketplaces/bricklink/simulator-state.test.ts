import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startBrickLinkSimulator } from "./simulator/server.ts";

describe("the BrickLink simulator with a state file", () => {
  it("keeps its store across restarts: statuses, lots, new orders and unread notifications", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "bl-state-")), "bricklink.json");
    const one = await startBrickLinkSimulator({ seed: 9, orders: 20, stateFile: file });
    const id = [...one.control.state.orders.keys()][0]!;
    one.control.setStatus(id, "SHIPPED");
    const lotId = [...one.control.state.inventory.keys()][0]!;
    one.control.state.inventory.get(lotId)!.quantity = 7;
    const fresh = one.control.createOrder({ lines: 2 });
    const unread = one.control.state.notifications.length;
    const before = one.control.state.orders.get(id)!.order.date_ordered;
    await one.close();

    // Started again at another time with another seed: the kept store wins.
    const two = await startBrickLinkSimulator({ seed: 1, orders: 3, start: new Date(), stateFile: file });
    try {
      expect(two.control.state.orders.size).toBe(21);
      expect(two.control.state.orders.get(id)!.order).toMatchObject({
        status: "SHIPPED",
        date_ordered: before,
      });
      expect(two.control.state.inventory.get(lotId)!.quantity).toBe(7);
      expect(two.control.state.orders.has(fresh)).toBe(true);
      expect(two.control.state.notifications).toHaveLength(unread);
      expect(two.control.createOrder()).toBe(fresh + 1);
    } finally {
      await two.close();
    }
  });
});
