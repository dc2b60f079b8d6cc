import { describe, expect, it } from "vitest";
import { bricklinkManifest } from "../marketplaces/bricklink/manifest.ts";
import { brickowlManifest } from "../marketplaces/brickowl/manifest.ts";
import type { MarketplaceManifest, RateLimit } from "../marketplaces/types.ts";
import { limitSpecs, windowBounds } from "./budget.ts";

const at = (iso: string) => Date.parse(iso);
const iso = (b: { start: number; end: number }) => [
  new Date(b.start).toISOString(),
  new Date(b.end).toISOString(),
];
const withLimits = (limits: RateLimit[]): MarketplaceManifest => ({
  ...bricklinkManifest,
  rateLimit: { limits, orderIntakeReserve: 0.2, defaultDailyBudget: null },
});

describe("fixed windows", () => {
  it("start at local midnight where the marketplace says so, 23 and 25 hours long when the clocks change", () => {
    const la = "America/Los_Angeles";
    expect(iso(windowBounds("day", la, at("2026-06-01T06:59:59Z")))).toEqual([
      "2026-05-31T07:00:00.000Z",
      "2026-06-01T07:00:00.000Z",
    ]);
    expect(iso(windowBounds("day", la, at("2026-06-01T07:00:00Z")))).toEqual([
      "2026-06-01T07:00:00.000Z",
      "2026-06-02T07:00:00.000Z",
    ]);
    // 8 March 2026: clocks go forward, the day has 23 hours.
    expect(iso(windowBounds("day", la, at("2026-03-08T12:00:00Z")))).toEqual([
      "2026-03-08T08:00:00.000Z",
      "2026-03-09T07:00:00.000Z",
    ]);
    // 1 November 2026: clocks go back, the day has 25 hours.
    expect(iso(windowBounds("day", la, at("2026-11-01T12:00:00Z")))).toEqual([
      "2026-11-01T07:00:00.000Z",
      "2026-11-02T08:00:00.000Z",
    ]);
    // The repeated 01:00–02:00 hour is two windows of an hour each.
    expect(iso(windowBounds("hour", la, at("2026-11-01T08:30:00Z")))).toEqual([
      "2026-11-01T08:00:00.000Z",
      "2026-11-01T09:00:00.000Z",
    ]);
    expect(iso(windowBounds("hour", la, at("2026-11-01T09:30:00Z")))).toEqual([
      "2026-11-01T09:00:00.000Z",
      "2026-11-01T10:00:00.000Z",
    ]);
    // Half-hour zones keep their hours on the half hour.
    expect(iso(windowBounds("hour", "Asia/Kolkata", at("2026-06-01T10:10:00Z")))).toEqual([
      "2026-06-01T09:30:00.000Z",
      "2026-06-01T10:30:00.000Z",
    ]);
    expect(iso(windowBounds("day", undefined, at("2026-06-01T23:59:00Z")))).toEqual([
      "2026-06-01T00:00:00.000Z",
      "2026-06-02T00:00:00.000Z",
    ]);
    expect(iso(windowBounds("minute", la, at("2026-06-01T10:00:59.999Z")))).toEqual([
      "2026-06-01T10:00:00.000Z",
      "2026-06-01T10:01:00.000Z",
    ]);
  });
});

describe("limit specs", () => {
  it("leave the connection's UTC day budget to api_usage and give each listed operation its own bucket", () => {
    expect(limitSpecs(bricklinkManifest)).toEqual([]);
    expect(limitSpecs(brickowlManifest).map((s) => s.key)).toEqual([
      "window:minute:UTC:600:*",
      "window:minute:UTC:200:batch",
    ]);
    const amazon = limitSpecs(
      withLimits([
        { type: "token_bucket", ratePerSecond: 0.5, burst: 30, operations: ["getOrder", "getOrderItems"] },
      ]),
    );
    expect(amazon.map((s) => [s.key, s.operations])).toEqual([
      ["bucket:0.5:30:getOrder", ["getOrder"]],
      ["bucket:0.5:30:getOrderItems", ["getOrderItems"]],
    ]);
    const ebay = limitSpecs(
      withLimits([{ type: "fixed_window", window: "day", limit: 5000, timeZone: "America/Los_Angeles" }]),
    );
    expect(ebay.map((s) => s.key)).toEqual(["window:day:America/Los_Angeles:5000:*"]);
  });

  it("refuse limits that cannot be counted, naming what is wrong", () => {
    expect(() => limitSpecs(withLimits([{ type: "token_bucket", ratePerSecond: 0, burst: 5 }]))).toThrow(
      /rate limit 1 needs a positive ratePerSecond, got 0/,
    );
    expect(() =>
      limitSpecs(withLimits([{ type: "fixed_window", window: "day", limit: 5, timeZone: "Mars/Olympus" }])),
    ).toThrow(/unknown time zone "Mars\/Olympus"/);
    expect(() => limitSpecs(withLimits([{ type: "rolling_window", windowMs: 1000, limit: -1 }]))).toThrow(
      /positive limit/,
    );
    expect(() =>
      limitSpecs(withLimits([{ type: "fixed_window", window: "minute", limit: 5, operations: [] }])),
    ).toThrow(/lists no operations/);
  });
});
