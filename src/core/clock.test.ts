import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { systemClock } from "./clock.ts";

describe("systemClock.sleep", () => {
  it("leaves no listener on the signal once a wait is over", async () => {
    const stop = new AbortController();
    for (let i = 0; i < 25; i++) await systemClock.sleep(1, stop.signal);
    expect(getEventListeners(stop.signal, "abort")).toHaveLength(0);
  });

  it("ends a wait early when the signal aborts, with the signal's reason", async () => {
    const stop = new AbortController();
    const waiting = systemClock.sleep(60_000, stop.signal);
    stop.abort(new Error("stopping"));
    await expect(waiting).rejects.toThrow("stopping");
    await expect(systemClock.sleep(1, stop.signal)).rejects.toThrow("stopping");
  });
});
