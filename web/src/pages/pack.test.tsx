import { describe, expect, it } from "vitest";
import { matchScan, type PackLine } from "./pack.tsx";

const line = (id: number, itemNo: string | null, lotId: number | null): PackLine => ({
  id,
  lotId,
  itemNo,
  name: `Part ${itemNo}`,
  colorName: "Red",
  condition: "new",
  quantity: 2,
  location: null,
  image: null,
  codes: [...(lotId !== null ? [`LOT-${lotId}`] : []), ...(itemNo ? [itemNo] : [])],
});

describe("which line a scan confirms", () => {
  const lines = [line(1, "3001", 10), line(2, "3001", 11), line(3, "3020b", null)];

  it("a lot code names its line, whatever the case; twice is already confirmed", () => {
    expect(matchScan(lines, new Set(), "lot-11")).toEqual({ kind: "confirmed", line: lines[1] });
    expect(matchScan(lines, new Set([2]), "LOT-11")).toEqual({ kind: "already", line: lines[1] });
  });

  it("an item number confirms the one open line that has it, and is ambiguous with two", () => {
    expect(matchScan(lines, new Set(), "3020B ")).toEqual({ kind: "confirmed", line: lines[2] });
    expect(matchScan(lines, new Set(), "3001")).toEqual({ kind: "ambiguous", code: "3001" });
    expect(matchScan(lines, new Set([1]), "3001")).toEqual({ kind: "confirmed", line: lines[1] });
    expect(matchScan(lines, new Set([1, 2]), "3001").kind).toBe("already");
  });

  it("anything else matches no line (a wrong item, or another order's barcode)", () => {
    expect(matchScan(lines, new Set(), "3002")).toEqual({ kind: "none" });
    expect(matchScan(lines, new Set(), "LOT-99")).toEqual({ kind: "none" });
    expect(matchScan(lines, new Set(), "BL-12345")).toEqual({ kind: "none" });
  });
});
