import { describe, expect, it } from "vitest";
import { nextRunAt, ScheduleError, validateSchedule } from "./scheduler.ts";

describe("nextRunAt", () => {
  it("aligns intervals to the clock", () => {
    expect(nextRunAt({ kind: "interval", minutes: 15 }, new Date("2026-01-01T10:07:30Z")).toISOString()).toBe(
      "2026-01-01T10:15:00.000Z",
    );
    expect(nextRunAt({ kind: "interval", minutes: 15 }, new Date("2026-01-01T10:15:00Z")).toISOString()).toBe(
      "2026-01-01T10:30:00.000Z",
    );
  });
  it("follows cron expressions in UTC", () => {
    expect(
      nextRunAt({ kind: "cron", expression: "0 6 * * 1-5" }, new Date("2026-01-02T07:00:00Z")).toISOString(),
    ).toBe("2026-01-05T06:00:00.000Z");
  });
  it("refuses bad schedules with a clear message", () => {
    expect(() => validateSchedule({ kind: "cron", expression: "every tuesday" })).toThrow(ScheduleError);
    expect(() => validateSchedule({ kind: "interval", minutes: 0 })).toThrow(/minutes/);
    expect(() => validateSchedule({ kind: "weekly" })).toThrow(/invalid schedule/);
  });
});
