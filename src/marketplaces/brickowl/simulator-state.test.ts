import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startBrickOwlSimulator } from "./simulator/server.ts";

const post = (base: string, path: string, params: Record<string, string>) =>
  fetch(`${base}/${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(params).toString(),
  });

describe("the BrickOwl simulator with a state file", () => {
  it("keeps its store across restarts: statuses, tracking, lot quantities and new orders", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "owl-state-")), "brickowl.json");
    const one = await startBrickOwlSimulator({ seed: 9, orders: 12, stateFile: file });
    const key = one.apiKey;
    const [orderId] = [...one.control.state.orders.keys()];
    const [lotId] = [...one.control.state.inventory.keys()];
    const qty = Number(one.control.state.inventory.get(lotId!)!.qty);
    expect(
      (await post(one.baseUrl, "order/set_status", { key, order_id: orderId!, status_id: "5" })).status,
    ).toBe(200);
    await post(one.baseUrl, "order/tracking", { key, order_id: orderId!, tracking_id: "RM123GB" });
    await post(one.baseUrl, "inventory/update", { key, lot_id: lotId!, relative_quantity: "-2" });
    const fresh = one.control.createOrder({ lines: 2 });
    await one.close();

    // Started again with another seed: the kept store wins.
    const two = await startBrickOwlSimulator({ seed: 77, orders: 3, stateFile: file });
    try {
      expect(two.control.state.orders.size).toBe(13);
      expect(two.control.state.orders.get(orderId!)!.order).toMatchObject({
        status_id: "5",
        tracking_number: "RM123GB",
      });
      expect(Number(two.control.state.inventory.get(lotId!)!.qty)).toBe(qty - 2);
      expect(two.control.state.orders.has(fresh)).toBe(true);
      expect(String(two.control.createOrder())).not.toBe(fresh);
    } finally {
      await two.close();
    }
  });

  it("names the file it cannot read", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "owl-state-")), "brickowl.json");
    writeFileSync(file, "{not json");
    await expect(startBrickOwlSimulator({ stateFile: file })).rejects.toThrow(file);
    writeFileSync(file, JSON.stringify({ version: 1, marketplace: "bricklink", store: {} }));
    await expect(startBrickOwlSimulator({ stateFile: file })).rejects.toThrow(/simulated brickowl store/);
    expect(readFileSync(file, "utf8")).toContain("bricklink");
  });
});
