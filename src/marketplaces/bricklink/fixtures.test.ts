import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../core/clock.ts";
import { isMarketplaceError } from "../../core/errors.ts";
import { toDecimalString } from "../../core/money.ts";
import { orderInputSchema } from "../../core/order.ts";
import { openBudget } from "../testing/context.ts";
import { BrickLinkClient } from "./client.ts";
import { mapItems, mapOrder, mapSummary } from "./mapping.ts";
import {
  brickLinkEnvelopeSchema,
  brickLinkInventorySchema,
  brickLinkNotificationSchema,
  brickLinkOrderItemSchema,
  brickLinkOrderItemsSchema,
  brickLinkOrderSchema,
  brickLinkOrderSummarySchema,
} from "./types.ts";
import { noticeFromNotifications } from "./webhooks.ts";

const DIR = resolve(process.cwd(), "../shared/fixtures/real/bricklink");
const present = existsSync(DIR);
const files = present ? readdirSync(DIR).filter((f) => f.endsWith(".json")) : [];
const load = (f: string) => JSON.parse(readFileSync(join(DIR, f), "utf8"));

/** A client whose transport answers with the fixture as BrickLink does: HTTP 200, error in meta. */
function clientAnswering(body: unknown) {
  return new BrickLinkClient(
    {
      baseUrl: "https://api.example.test/api/store/v1",
      http: async () =>
        new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } }),
      budget: openBudget(),
      clock: new ManualClock(),
    },
    { consumerKey: "ck", consumerSecret: "cs", tokenValue: "tv", tokenSecret: "ts" },
  );
}

describe.skipIf(!present)("every real BrickLink fixture maps or classifies", () => {
  it("knows every file in the folder", () => {
    expect(files.length).toBeGreaterThan(10);
    for (const f of files)
      expect(f).toMatch(
        /^(order-list-entry|order-detail|order-item-docs|order-items-envelope|notification|inventory|error)-/,
      );
  });

  for (const f of files) {
    it(f, async () => {
      const raw = load(f);
      if (f.startsWith("order-list-entry")) {
        const s = brickLinkOrderSummarySchema.parse(raw);
        const m = mapSummary(s);
        expect(m).toMatchObject({
          externalId: String(raw.order_id),
          changeMarker: raw.date_status_changed,
          rawStatus: raw.status,
        });
      } else if (f.startsWith("order-detail")) {
        const o = mapOrder(brickLinkOrderSchema.parse(raw), []);
        const u = orderInputSchema.parse(o);
        expect(u.number).toBe(`BL-${raw.order_id}`);
        expect(toDecimalString(u.totals.grandTotal)).toBe(raw.cost.grand_total);
        expect(toDecimalString(u.totals.subtotal)).toBe(raw.cost.subtotal);
        expect(u.totals.currency).toBe(raw.cost.currency_code);
        expect(u.buyerEmail).toBe(raw.buyer_email);
        expect(u.shippingAddress?.full).toBe(raw.shipping.address.full);
        expect(u.rawStatus).toBe(raw.status);
        expect((u.raw as { order: unknown }).order).toEqual(raw);
      } else if (f.startsWith("order-item-docs")) {
        const [line] = mapItems([[brickLinkOrderItemSchema.parse(raw)]]);
        expect(line).toMatchObject({
          itemNo: raw.item.no,
          quantity: raw.quantity,
          completeness: raw.completeness,
          batch: 1,
        });
        expect(toDecimalString(line!.unitPrice)).toBe(raw.unit_price_final);
      } else if (f.startsWith("order-items-envelope")) {
        const env = brickLinkEnvelopeSchema.parse(raw);
        const lines = mapItems(brickLinkOrderItemsSchema.parse(env.data));
        const flat = (raw.data as unknown[][]).flat() as { remarks?: string; description?: string }[];
        expect(lines).toHaveLength(flat.length);
        expect(lines[0]!.location).toBe(flat[0]!.remarks);
        expect(JSON.stringify(lines)).not.toMatch(/&#\d+;/);
      } else if (f.startsWith("notification")) {
        const n = brickLinkNotificationSchema.parse(raw);
        expect(noticeFromNotifications([n]).externalOrderIds).toEqual([String(raw.resource_id)]);
      } else if (f.startsWith("inventory")) {
        expect(brickLinkInventorySchema.parse(raw).inventory_id).toBe(raw.inventory_id);
      } else if (f.startsWith("error")) {
        const err = await clientAnswering(raw)
          .getOrders()
          .catch((e) => e);
        expect(isMarketplaceError(err)).toBe(true);
        expect(err.kind).toBe(raw.meta.code === 401 ? "auth" : "invalid_request");
        expect(err.code).toBe(raw.meta.code);
      }
    });
  }
});

describe("BrickLink mapping", () => {
  const order = {
    order_id: 123,
    date_ordered: "2026-01-02T10:00:00.000Z",
    date_status_changed: "2026-01-03T10:00:00.000Z",
    buyer_name: "o&#39;brien",
    status: "PAID-PENDING",
    cost: { currency_code: "EUR", subtotal: "1.2345", grand_total: "4.2345", shipping: "3.0000" },
    shipping: {
      address: { name: { full: "Se&#225;n O&#39;Brien" }, full: "1 High St&#44; London", country_code: "UK" },
    },
  };

  it("decodes entities, turns UK into GB and keeps four decimals exactly", () => {
    const o = orderInputSchema.parse(mapOrder(brickLinkOrderSchema.parse(order), []));
    expect(o.buyerName).toBe("Seán O'Brien");
    expect(o.buyerUsername).toBe("o'brien");
    expect(o.shippingAddress).toMatchObject({ countryCode: "GB", full: "1 High St, London" });
    expect(o.totals).toMatchObject({ subtotal: 12_345, shipping: 30_000, grandTotal: 42_345 });
    expect(o.status).toBe("pending");
  });

  it("maps unknown statuses to needs_review, keeping the raw value", () => {
    const o = mapOrder(brickLinkOrderSchema.parse({ ...order, status: "SOMETHING-NEW" }), []);
    expect(o).toMatchObject({ status: "needs_review", rawStatus: "SOMETHING-NEW" });
    expect(mapOrder(brickLinkOrderSchema.parse({ ...order, status: "PURGED" }), []).status).toBe("completed");
    expect(mapOrder(brickLinkOrderSchema.parse({ ...order, status: "NSS" }), []).status).toBe("problem");
  });

  it("flattens batches, keeping the batch and the lot, and the same lot in two batches stays two lines", () => {
    const item = (inventory_id: number, quantity: number) => ({
      inventory_id,
      item: { no: "3001", name: "Brick 2 x 4", type: "PART" },
      color_id: 5,
      color_name: "Red",
      quantity,
      new_or_used: "N",
      unit_price: "0.1000",
      remarks: "A-12",
    });
    const lines = mapItems(brickLinkOrderItemsSchema.parse([[item(1, 2), item(2, 1)], [item(1, 3)]]));
    expect(lines.map((l) => [l.batch, l.marketplaceLotId, l.quantity, l.location])).toEqual([
      [1, "1", 2, "A-12"],
      [1, "2", 1, "A-12"],
      [2, "1", 3, "A-12"],
    ]);
    expect(new Set(lines.map((l) => l.externalLineId)).size).toBe(3);
    expect(lines[2]!.lineTotal).toBe(3_000);
  });

  it("a money field that is not money is a contract change naming the field", () => {
    const bad = { ...order, cost: { ...order.cost, grand_total: "lots" } };
    expect(() => mapOrder(brickLinkOrderSchema.parse(bad), [])).toThrow(/cost\.grand_total/);
  });
});
