import { describe, expect, it } from "vitest";
import type { Connection } from "../api.ts";
import { relative } from "../format.ts";
import { health } from "./integrations.tsx";

const base = {
  activeRun: null,
  lastSyncState: "completed",
  lastError: null,
  lastSyncAt: null,
} as unknown as Connection;
const now = Date.parse("2026-11-22T12:00:00Z");
const ago = (ms: number) => new Date(now - ms).toISOString();

describe("integration card status light", () => {
  it("syncing, error, stale after a day, synced within the hour", () => {
    expect(health({ ...base, activeRun: {} } as Connection, now).kind).toBe("syncing");
    expect(health({ ...base, lastSyncState: "failed", lastError: "x" } as Connection, now).kind).toBe(
      "error",
    );
    expect(health({ ...base, lastSyncAt: ago(25 * 3_600_000) } as Connection, now).kind).toBe("stale");
    expect(health({ ...base, lastSyncAt: ago(10 * 60_000) } as Connection, now).kind).toBe("synced");
    expect(health({ ...base, lastSyncAt: ago(3 * 3_600_000) } as Connection, now).kind).toBe("ok");
    expect(health(base, now).kind).toBe("never");
  });
  it("says times the way people do", () => {
    expect(relative(ago(30_000), now)).toBe("30 s ago");
    expect(relative(ago(5 * 60_000), now)).toBe("5 min ago");
    expect(relative(new Date(now + 15 * 60_000).toISOString(), now)).toBe("in 15 min");
    expect(relative(ago(2 * 86_400_000), now)).toBe("2 days ago");
  });
});
