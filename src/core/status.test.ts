import { describe, expect, it } from "vitest";
import { isBackwardMove, isOpenStatus, statusMapper } from "./status.ts";

describe("statusMapper", () => {
  const map = statusMapper({ PAID: "processing", SHIPPED: "shipped" });
  it("maps known raw statuses case-insensitively", () => {
    expect(map("PAID")).toBe("processing");
    expect(map(" shipped ")).toBe("shipped");
  });
  it("never throws: unknown, empty or missing statuses need review", () => {
    expect(map("PAID-PENDING-NEW")).toBe("needs_review");
    expect(map("")).toBe("needs_review");
    expect(map(null)).toBe("needs_review");
    expect(map(undefined)).toBe("needs_review");
  });
  it("knows which statuses still need the seller", () => {
    expect(isOpenStatus("pending")).toBe(true);
    expect(isOpenStatus("needs_review")).toBe(true);
    expect(isOpenStatus("shipped")).toBe(false);
    expect(isOpenStatus("cancelled")).toBe(false);
  });
});

describe("isBackwardMove", () => {
  it("an older status on the way from placed to done is backward", () => {
    expect(isBackwardMove("shipped", "processing")).toBe(true);
    expect(isBackwardMove("shipped", "pending")).toBe(true);
    expect(isBackwardMove("completed", "shipped")).toBe(true);
    expect(isBackwardMove("processing", "pending")).toBe(true);
  });
  it("forward moves, staying put and moves off that way are not", () => {
    expect(isBackwardMove("processing", "shipped")).toBe(false);
    expect(isBackwardMove("shipped", "shipped")).toBe(false);
    expect(isBackwardMove("shipped", "cancelled")).toBe(false);
    expect(isBackwardMove("shipped", "on_hold")).toBe(false);
    expect(isBackwardMove("problem", "processing")).toBe(false);
    expect(isBackwardMove("shipped", "needs_review")).toBe(false);
  });
});
