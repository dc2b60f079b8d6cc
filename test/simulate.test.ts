import { spawn, spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const BIN = resolve("bin/orderhub.js");

/** Starts `orderhub simulate <id> --json` and reads what it prints. */
async function simulate(id: string) {
  const child = spawn(process.execPath, [BIN, "simulate", id, "--port", "0", "--orders", "3", "--json"], {
    env: { ...process.env, LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const info = await new Promise<Record<string, unknown>>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`simulate ${id} printed nothing whole: ${out}`)), 60_000);
    child.stdout.on("data", (d) => {
      out += String(d);
      try {
        const v = JSON.parse(out);
        clearTimeout(t);
        res(v);
      } catch {
        // not all of it yet
      }
    });
    child.on("exit", (code) => rej(new Error(`simulate ${id} exited ${code}`)));
  });
  return {
    info: info as { baseUrl: string; control: string; credentials: object },
    stop: () => child.kill("SIGTERM"),
  };
}

describe("orderhub simulate", () => {
  it("starts every registered simulator the same way and prints how to connect it", async () => {
    for (const id of ["bricklink", "brickowl"]) {
      const { info, stop } = await simulate(id);
      try {
        expect(info.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
        expect(Object.keys(info.credentials).length).toBeGreaterThan(0);
        const state = (await fetch(`${info.control}/state`).then((r) => r.json())) as { orders: number };
        expect(state.orders).toBe(3);
      } finally {
        stop();
      }
    }
  });

  it("an unknown marketplace names the ones that have a simulator", () => {
    const r = spawnSync(process.execPath, [BIN, "simulate", "nowhere"], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/no simulator for "nowhere" \(available: bricklink, brickowl\)/);
  });
});
