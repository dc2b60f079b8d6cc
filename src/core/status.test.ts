import { describe, expect, it } from "vitest";
import { isOpenStatus, statusMapper } from "./status.ts";

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
