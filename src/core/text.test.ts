import { describe, expect, it } from "vitest";
import { hasUnstorable, wellFormed, wellFormedDeep } from "./text.ts";

describe("storable text", () => {
  it("replaces lone surrogates and NULs, keeps pairs", () => {
    expect(wellFormed("a\ud800b")).toBe("a\ufffdb");
    expect(wellFormed("a\udc00")).toBe("a\ufffd");
    expect(wellFormed("x\u0000y")).toBe("x\ufffdy");
    expect(wellFormed("brick 🧱")).toBe("brick 🧱");
    expect(hasUnstorable("ok 🧱")).toBe(false);
    expect(hasUnstorable("bad \ud83d")).toBe(true);
  });

  it("copies only what changed, deep", () => {
    const clean = { a: "x", lines: [{ name: "y" }], at: new Date(0) };
    expect(wellFormedDeep(clean)).toBe(clean);
    const dirty = { a: "x", lines: [{ name: "y" }, { name: "z\ud800" }], at: new Date(0) };
    const out = wellFormedDeep(dirty);
    expect(out).not.toBe(dirty);
    expect(out.lines[0]).toBe(dirty.lines[0]);
    expect(out.lines[1]!.name).toBe("z\ufffd");
    expect(out.at).toBe(dirty.at);
    expect(dirty.lines[1]!.name).toBe("z\ud800");
  });
});
