import { describe, expect, it } from "vitest";
import { parseTrackingCsv } from "./tracking.ts";

describe("tracking CSV", () => {
  it("reads order, carrier and tracking, with or without a header, any common separator", () => {
    expect(
      parseTrackingCsv(
        "Order number;Carrier;Tracking number\r\nBL-1;DHL;JJD1\r\n\r\nBO-2;;https://t.example/2\r\n",
      ),
    ).toEqual([
      { line: 2, order: "BL-1", carrier: "DHL", trackingNumber: "JJD1", trackingUrl: null },
      { line: 4, order: "BO-2", carrier: null, trackingNumber: null, trackingUrl: "https://t.example/2" },
    ]);
    expect(parseTrackingCsv("BL-1,Royal Mail,RM1\n")).toEqual([
      { line: 1, order: "BL-1", carrier: "Royal Mail", trackingNumber: "RM1", trackingUrl: null },
    ]);
  });

  it("refuses the whole file and names every bad line", () => {
    const bad =
      "order,carrier,tracking\nBL-1,DHL,A1\nBL-2,DHL,\n,DHL,A3\nBL-1,DHL,A4\nBL-5,DHL,javascript:alert(1)x,extra\n";
    expect(() => parseTrackingCsv(bad)).toThrow(
      /line 3: no tracking for BL-2; line 4: no order number; line 5: BL-1 is already on line 2 \(one tracking per order\); line 6: 4 columns, expected 3/,
    );
    expect(() => parseTrackingCsv("order,tracking url\nBL-1,ftp://x\n")).toThrow(/line 1: a header needs/);
    expect(() => parseTrackingCsv("order,carrier,tracking\n")).toThrow(/no order with tracking/);
  });
});
