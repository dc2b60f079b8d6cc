import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../core/clock.ts";
import { isMarketplaceError } from "../../core/errors.ts";
import { silentLogger } from "../../core/logger.ts";
import { toDecimalString } from "../../core/money.ts";
import { orderInputSchema } from "../../core/order.ts";
import { noTokens, openBudget } from "../testing/context.ts";
import { brickowlAdapter } from "./adapter.ts";
import { BrickOwlClient } from "./client.ts";
import { changeMarker, mapItems, mapOrder, mapSummary } from "./mapping.ts";
import {
  boInventoryLotSchema,
  boOrderItemSchema,
  boOrderListEntrySchema,
  boOrderSchema,
  boTokenDetailsSchema,
} from "./types.ts";

const DIR = resolve(process.cwd(), "../shared/fixtures/real/brickowl");
const present = existsSync(DIR);
const files = present ? readdirSync(DIR).filter((f) => f.endsWith(".json")) : [];
const load = (f: string) => JSON.parse(readFileSync(join(DIR, f), "utf8"));

/** A client whose transport answers every call with this body and status. */
function answering(body: unknown, status = 200) {
  return {
    connectionId: 1,
    baseUrl: "https://api.example.test/v1",
    config: {},
    secrets: { apiKey: "k" },
    http: async () =>
      new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } }),
    budget: openBudget(),
    tokens: noTokens,
    clock: new ManualClock(new Date("2026-06-01T00:00:00Z")),
    logger: silentLogger,
  };
}

if (!present) {
  describe("BrickOwl real fixtures", () => {
    it.skip("skipped: ../shared/fixtures/real/brickowl is not beside this checkout", () => {});
  });
}

describe.skipIf(!present)("every real BrickOwl fixture maps or classifies", () => {
  it("knows what to do with every file in the folder", () => {
    const handled = /^(order-list|order-view|order-items|inventory-list|token-details|error)-/;
    for (const f of files) expect(f, `fixture ${f} has no test`).toMatch(handled);
    expect(files.length).toBeGreaterThanOrEqual(10);
  });

  for (const f of files.filter((f) => f.startsWith("order-items-"))) {
    it(`${f}: lines keep lot, BOID, colour, condition, price and the linked BrickLink lot`, () => {
      const raw = load(f);
      const items = boOrderItemSchema.array().parse(raw);
      const lines = mapItems(items);
      expect(lines).toHaveLength(raw.length);
      raw.forEach((r: Record<string, unknown>, i: number) => {
        const l = lines[i]!;
        expect(l.externalLineId).toBe(r.order_item_id);
        expect(l.marketplaceLotId).toBe(r.lot_id);
        expect(l.quantity).toBe(Number(r.ordered_quantity));
        expect(toDecimalString(l.unitPrice, 3)).toBe(r.base_price);
        expect(l.colorName).toBe(r.color_name);
        expect(l.sku).toBe(
          r.boid ?? (r.ids as { id: string; type: string }[]).find((x) => x.type === "boid")?.id ?? null,
        );
        if (r.bl_lot_id) expect(l.extra?.brickLinkLotId).toBe(r.bl_lot_id);
        if (r.personal_note) expect(l.location).toBe(r.personal_note);
        if (r.full_con === "new" || r.condition === "New") expect(l.condition).toBe("new");
      });
    });
  }

  it("order-items-2014: external_lot_ids as an object links BrickLink lot 55984791; [] links nothing", () => {
    const [item] = boOrderItemSchema.array().parse(load("order-items-2014-bricksync.json"));
    expect(mapItems([item!])[0]!.extra?.brickLinkLotId).toBe("55984791");
    const bare = boOrderItemSchema.parse({ ...item, bl_lot_id: null, external_lot_ids: [] });
    expect(mapItems([bare])[0]!.extra?.brickLinkLotId).toBeNull();
  });

  for (const f of files.filter((f) => f.startsWith("order-view-"))) {
    it(`${f}: maps to the unified model with money, times and address right`, () => {
      const raw = load(f);
      const items = boOrderItemSchema.array().parse(load("order-items-2014-bricksync.json"));
      const o = orderInputSchema.parse(mapOrder(boOrderSchema.parse(raw), items));
      expect(o.number).toBe(`BO-${raw.order_id}`);
      expect(o.orderedAt.toISOString()).toBe(new Date(Number(raw.order_time) * 1000).toISOString());
      // The ISO time with its UK offset names the same moment as the Unix seconds.
      expect(o.orderedAt.getTime()).toBe(new Date(raw.iso_order_time).getTime());
      expect(toDecimalString(o.totals.grandTotal, 2)).toBe(raw.base_order_total);
      expect(toDecimalString(o.totals.subtotal, 2)).toBe(raw.sub_total);
      expect(toDecimalString(o.totals.shipping, 2)).toBe(raw.ship_total);
      expect(o.totals.currency).toBe(raw.base_currency);
      expect(o.shippingAddress).toMatchObject({
        countryCode: raw.ship_country_code,
        postalCode: raw.ship_post_code,
        city: raw.ship_city,
        line1: raw.ship_street_1,
        line2: null,
      });
      expect(o.changeMarker).toBe(changeMarker({ ...raw, status_id: Number(raw.status_id) }));
    });
  }

  it("an unprocessed order's 1970 processed time means none; a processed one keeps its time", () => {
    const items = boOrderItemSchema.array().parse(load("order-items-2023-single-lot.json"));
    const open = mapOrder(boOrderSchema.parse(load("order-view-processing-2014-bricksync.json")), items);
    expect(open).toMatchObject({ status: "processing", rawStatus: "Processing" });
    expect(open.extra?.processedAt).toBeNull();
    const shipped = mapOrder(boOrderSchema.parse(load("order-view-shipped-2014-bricksync.json")), items);
    expect(shipped).toMatchObject({ status: "shipped", rawStatus: "Shipped" });
    expect(shipped.extra?.processedAt).toBe("2014-05-30T14:06:51.000Z");
    expect(shipped.buyerEmail).toMatch(/@message\.brickowl\.com$/);
    // tax_rate is "0.00" in one answer and 0 in the other: both read.
    expect([open.extra?.taxRate, shipped.extra?.taxRate]).toEqual(["0.00", "0"]);
  });

  it("order-list files: entries map to summaries whose marker matches the full order's", () => {
    const list = boOrderListEntrySchema.array().parse(load("order-list-store-2014-bricksync.json"));
    const one = boOrderListEntrySchema.parse(load("order-list-entry-2014-bricksync.json"));
    const s = [...list, one].map(mapSummary);
    expect(s.map((x) => x.externalId)).toEqual(["9277759", "3957411", "3506238", "8252449"]);
    expect(s.map((x) => x.rawStatus)).toEqual(["Processing", "Processing", "Shipped", "Payment Received"]);
    const view = boOrderSchema.parse(load("order-view-shipped-2014-bricksync.json"));
    // Same order (8252449): the list entry and the full view agree, so an unchanged order is skipped.
    expect(mapSummary(one).changeMarker).not.toBe(changeMarker(view)); // status moved on: 2 → 5
    expect(changeMarker({ ...one, status_id: 5 })).toBe(changeMarker(view));
  });

  it("inventory-list: stringly lots with linked BrickLink lots parse", () => {
    const lots = boInventoryLotSchema.array().parse(load("inventory-list-2-lots-bricksync.json"));
    expect(lots.map((l) => [l.lot_id, l.qty, l.for_sale, l.external_lot_ids?.other])).toEqual([
      ["2726773", 12, true, "55984821"],
      ["2726775", 41, true, "55984501"],
    ]);
  });

  it("token-details: the connection test reads the store name, currency and store id", async () => {
    const raw = load("token-details-2016-bricksync.json");
    expect(boTokenDetailsSchema.parse(raw).store_details?.store_id).toBe("907");
    const info = await brickowlAdapter.testConnection(answering(raw));
    expect(info).toMatchObject({ storeName: "Example Store", currency: "USD", storeId: "907" });
  });

  it("error-store-not-found: an error body is an auth problem with BrickOwl's words in it", async () => {
    const body = load("error-store-not-found.json");
    for (const status of [400, 200]) {
      const err = await new BrickOwlClient(answering(body, status), "k").listOrders().catch((e) => e);
      expect(isMarketplaceError(err)).toBe(true);
      expect(err.kind).toBe("auth");
      expect(err.message).toContain("Store not found");
    }
  });
});

describe("lenient reading of BrickOwl's types", () => {
  it("numbers as strings or numbers, booleans as '1'/'0', explicit nulls", () => {
    const lot = boInventoryLotSchema.parse({
      lot_id: 5,
      qty: "3",
      for_sale: "0",
      price: 1.5,
      public_note: null,
    });
    expect(lot).toMatchObject({ lot_id: "5", qty: 3, for_sale: false, price: "1.5", public_note: null });
  });
  it("a mutated answer fails with contract_changed naming the field, never a crash", async () => {
    const bad = [{ order_id: "x1", status_id: "three" }];
    const err = await new BrickOwlClient(answering(bad), "k").listOrders().catch((e) => e);
    expect(err.kind).toBe("contract_changed");
    expect(err.field).toMatch(/^0\.(order_id|status_id)$/);
  });
  it("an unknown status id becomes needs_review", () => {
    const o = mapOrder(
      boOrderSchema.parse({ order_id: "1", order_time: "1700000000", status_id: "42", base_currency: "EUR" }),
      [],
    );
    expect(o.status).toBe("needs_review");
    expect(o.rawStatus).toBe("Status 42");
  });
});
