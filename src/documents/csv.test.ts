import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { csvMoney, linesCsv, ordersCsv } from "./csv.ts";
import { makeOrders } from "./testing.ts";

const read = (b: Buffer) =>
  parse(b.toString("utf8"), { columns: true, bom: true }) as Record<string, string>[];

describe("CSV", () => {
  it("writes amounts as exact decimals", () => {
    expect([12_3400, 1040, 7_0000, 1, -2_5000, 0].map(csvMoney)).toEqual([
      "12.34",
      "0.104",
      "7.00",
      "0.0001",
      "-2.50",
      "0.00",
    ]);
  });

  it("orders parse back to the same values: quoting, line breaks, every script, formulas defused", () => {
    const orders = makeOrders(5, 3);
    orders[1]!.buyerName = 'Kelly "KO" O\'Neil, Jr.';
    orders[2]!.buyerRemarks = 'line one\r\nline two; "quoted"';
    orders[3]!.buyerName = '=HYPERLINK("http://x")';
    orders[4]!.shippingAddress = null;
    orders[0]!.tags = ["gift", "rush"];
    orders[0]!.extra = { paymentMethod: "PayPal.com", totalWeight: "120.5" };
    orders[0]!.url = "https://www.bricklink.com/orderDetail.asp?ID=300000";
    const csv = ordersCsv(orders);
    expect(csv.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf])); // BOM: spreadsheets read UTF-8
    const back = read(csv);
    expect(back).toHaveLength(5);
    expect(back.map((r) => r.order_number)).toEqual(orders.map((o) => o.number));
    expect(back[0]).toMatchObject({
      marketplace: "bricklink",
      marketplace_order_id: "300000",
      ordered_at: "2026-11-01T08:00:00.000Z",
      status: "processing",
      marketplace_status: "PAID",
      payment_status: "paid",
      payment_method: "PayPal.com",
      buyer_name: "Łukasz Żółć",
      currency: "EUR",
      subtotal: "123.45",
      shipping: "4.50",
      total: "127.95",
      lots: "3",
      items: String(orders[0]!.lines.reduce((n, l) => n + l.quantity, 0)),
      weight_g: "120.5",
      ship_line1: "ul. Długa 5",
      ship_city: "Kraków",
      ship_country: "PL",
      buyer_remarks: "Please pack the minifigures separately — danke!",
      tags: "gift, rush",
      order_url: "https://www.bricklink.com/orderDetail.asp?ID=300000",
    });
    expect(back[1]!.buyer_name).toBe('Kelly "KO" O\'Neil, Jr.');
    expect(back[2]!.buyer_remarks).toBe('line one\r\nline two; "quoted"');
    expect(back[3]!.buyer_name).toBe('\'=HYPERLINK("http://x")');
    expect(back[3]!.ship_name).toBe("Дмитрий Иванов");
    expect(back[4]).toMatchObject({ ship_name: "", ship_city: "", ship_country: "" });
  });

  it("lines: one row per line with its order number, in order, values intact", () => {
    const orders = makeOrders(4, 3);
    orders[0]!.lines[1]!.location = null;
    orders[1]!.lines[0]!.name = "Plate, Modified 1 x 2 with Bar Handle on Side - Closed Ends";
    const back = read(linesCsv(orders));
    expect(back).toHaveLength(12);
    const expected = orders.flatMap((o) =>
      o.lines.map((l) => ({
        order_number: o.number,
        line: String(l.position + 1),
        item_no: l.itemNo,
        name: l.name,
        color: l.colorName,
        condition: l.condition,
        quantity: String(l.quantity),
        unit_price: csvMoney(l.unitPrice),
        line_total: csvMoney(l.lineTotal),
        currency: "EUR",
        location: l.location ?? "",
      })),
    );
    back.forEach((row, i) => {
      expect(row).toMatchObject(expected[i]!);
    });
    expect(back[0]!.unit_price).toBe("0.104");
  });

  it("an empty selection is a header only", () => {
    expect(read(ordersCsv([]))).toEqual([]);
    expect(linesCsv([]).toString("utf8").trim()).toMatch(/^\ufeff?order_number,marketplace,line,/);
  });
});
