import { describe, expect, it } from "vitest";
import { pastedColumn } from "./batch-ship-dialog.tsx";

describe("a pasted column of tracking numbers", () => {
  it("is one value a line, whatever the line ends, the first cell of a spreadsheet row, blanks dropped", () => {
    expect(pastedColumn("JJD1\r\nJJD2\nJJD3\r\n")).toEqual(["JJD1", "JJD2", "JJD3"]);
    expect(pastedColumn("JJD1\tDHL\n  JJD2  \n\nJJD3")).toEqual(["JJD1", "JJD2", "JJD3"]);
    expect(pastedColumn("only one")).toEqual(["only one"]);
  });
});
