import type { BrickLinkInventory, BrickLinkOrder, BrickLinkOrderItem } from "../types.ts";

/** What the simulated BrickLink store holds. Text is kept HTML-encoded, as BrickLink sends it. */
export interface SimOrder {
  order: BrickLinkOrder;
  batches: BrickLinkOrderItem[][];
  direction: "in" | "out";
}

export const STATUS_FLOW = [
  "PENDING",
  "UPDATED",
  "PROCESSING",
  "READY",
  "PAID",
  "PACKED",
  "SHIPPED",
  "RECEIVED",
  "COMPLETED",
];
const SELLER_SETTABLE = new Set(["PROCESSING", "READY", "PAID", "PACKED", "SHIPPED", "COMPLETED"]);
const FINAL = new Set(["CANCELLED", "PURGED", "NPX", "COMPLETED"]);

/** May the seller move an order from one status to another? Forward moves to settable statuses only. */
export function transitionAllowed(from: string, to: string): boolean {
  if (!SELLER_SETTABLE.has(to) || FINAL.has(from)) return false;
  const a = STATUS_FLOW.indexOf(from === "PAID-PENDING" ? "READY" : from);
  const b = STATUS_FLOW.indexOf(to);
  return a >= 0 && b > a;
}

export function htmlEncode(s: string): string {
  return s.replace(/[&<>"'(),]/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function money4(units: number): string {
  return (units / 10_000).toFixed(4);
}

export function stamp(d: Date): string {
  return d.toISOString();
}

/** Deterministic pseudo-random numbers, so a seed always builds the same store. */
export function prng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BUYERS: [string, string, string][] = [
  ["brickfan42", "Seán O'Brien", "GB"],
  ["jörg_k", "Jörg Köhler", "DE"],
  ["zoe.m", "Zoë Martin", "FR"],
  ["lukasz", "Łukasz Nowak", "PL"],
  ["maria_g", "María García", "ES"],
  ["d'arcy", "D'Arcy Smith", "GB"],
  ["sorenbricks", "Søren Jensen", "DK"],
  ["ivan", "Иван Петров", "BG"],
  ["chen", "Chen Wei", "US"],
  ["kelly", "Kelly O'Neil", "IE"],
];
/** The city line of a free-text address in each buyer's country, as a buyer there writes it. */
const CITY_LINE: Record<string, string> = {
  GB: "London SW1A 1AA",
  DE: "10115 Berlin",
  FR: "69002 Lyon",
  PL: "00-001 Warszawa",
  ES: "28013 Madrid",
  DK: "1050 København K",
  BG: "1000 Sofia",
  US: "Portland, OR 97201",
  IE: "Dublin D02 X285",
};
const PARTS: [string, string, string][] = [
  ["3001", "Brick 2 x 4", "PART"],
  ["3003", "Brick 2 x 2", "PART"],
  ["3020", "Plate 2 x 4", "PART"],
  ["973pb0123c01", "Torso Town (Shirt) Pattern", "MINIFIG"],
  ["3626cpb1234", "Minifigure, Head (Smile)", "PART"],
  ["60592", "Window 1 x 2 x 2", "PART"],
  ["4073", "Plate, Round 1 x 1 Straight Side", "PART"],
  ["6932-1", "Belville Perfume Bottles (Complete Set)", "SET"],
];
const COLORS: [number, string][] = [
  [5, "Red"],
  [11, "Black"],
  [1, "White"],
  [86, "Light Bluish Gray"],
  [88, "Reddish Brown"],
];

export interface SeedOptions {
  seed?: number;
  orders?: number;
  /** Lots per order on average. */
  lines?: number;
  start?: Date;
}

/** A realistic store: orders in every status, filed ones, purchases, multi-batch orders, bins in remarks. */
export function seedStore(opts: SeedOptions = {}) {
  const rnd = prng(opts.seed ?? 1);
  const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)]!;
  const orders = new Map<number, SimOrder>();
  const inventory = new Map<number, BrickLinkInventory>();
  let lotId = 500_000;
  for (const [no, name, type] of PARTS) {
    for (const [colorId, colorName] of COLORS) {
      const id = lotId++;
      inventory.set(id, {
        inventory_id: id,
        item: { no, name: htmlEncode(name), type, category_id: 5 },
        color_id: colorId,
        color_name: colorName,
        quantity: 50 + Math.floor(rnd() * 500),
        new_or_used: rnd() < 0.7 ? "N" : "U",
        unit_price: money4(100 + Math.floor(rnd() * 5_000)),
        description: "",
        remarks: `${String.fromCharCode(65 + Math.floor(rnd() * 5))}-${1 + Math.floor(rnd() * 30)}`,
        is_stock_room: rnd() < 0.05,
        date_created: "2025-03-01T05:00:00.000Z",
      });
    }
  }
  const lots = [...inventory.values()];
  const statuses = [...STATUS_FLOW, "PAID-PENDING", "OCR", "NPB", "NPX", "NRS", "NSS", "CANCELLED", "PURGED"];
  const n = opts.orders ?? 300;
  const start = (opts.start ?? new Date("2026-01-01T00:00:00Z")).getTime();
  let nextId = 20_000_000;
  const builder = makeOrderBuilder(rnd, lots);
  for (let i = 0; i < n; i++) {
    const id = nextId++;
    const placed = new Date(start + i * 3_600_000);
    const status = i < statuses.length * 4 ? statuses[i % statuses.length]! : pick(statuses);
    const o = builder(id, placed, status, Math.max(1, Math.round((opts.lines ?? 4) * (0.5 + rnd()))));
    if (i % 17 === 5) o.order.is_filed = true;
    if (i % 23 === 7) o.direction = "out";
    orders.set(id, o);
  }
  return { orders, inventory, nextId, builder };
}

export function makeOrderBuilder(rnd: () => number, lots: BrickLinkInventory[]) {
  return (id: number, placed: Date, status: string, lineCount: number): SimOrder => {
    const [username, fullName, country] = BUYERS[Math.floor(rnd() * BUYERS.length)]!;
    const batches: BrickLinkOrderItem[][] = [[]];
    let subtotal = 0;
    let count = 0;
    for (let j = 0; j < lineCount; j++) {
      const lot = lots[Math.floor(rnd() * lots.length)]!;
      const qty = 1 + Math.floor(rnd() * 12);
      const price = Math.round(Number(lot.unit_price) * 10_000);
      subtotal += price * qty;
      count += qty;
      // Some orders grew later: the buyer added a second batch.
      if (j > 0 && j === lineCount - 1 && rnd() < 0.25) batches.push([]);
      batches.at(-1)!.push({
        inventory_id: lot.inventory_id,
        item: { no: lot.item.no, name: lot.item.name ?? "", type: lot.item.type, category_id: 5 },
        color_id: lot.color_id,
        color_name: lot.color_name,
        quantity: qty,
        new_or_used: lot.new_or_used,
        unit_price: lot.unit_price,
        unit_price_final: lot.unit_price,
        disp_unit_price: lot.unit_price,
        disp_unit_price_final: lot.unit_price,
        currency_code: "EUR",
        disp_currency_code: "EUR",
        remarks: lot.remarks ?? "",
        description: lot.description ?? "",
        weight: "2.32",
        order_cost: "0.0000",
      });
    }
    const shipping = 45_000;
    const changed = new Date(placed.getTime() + Math.floor(rnd() * 86_400_000));
    const order: BrickLinkOrder = {
      order_id: id,
      date_ordered: stamp(placed),
      date_status_changed: stamp(changed),
      seller_name: "simseller",
      store_name: "Sim Bricks",
      buyer_name: htmlEncode(username),
      buyer_email: `${username.replace(/[^a-z0-9]/gi, "")}@example.com`,
      status,
      is_filed: false,
      remarks: rnd() < 0.2 ? htmlEncode("Please don't bend the box (thanks!)") : undefined,
      total_count: count,
      unique_count: batches.flat().length,
      total_weight: "12.50",
      payment: {
        method: "PayPal.com",
        currency_code: "EUR",
        status: status === "PENDING" ? "None" : "Received",
      },
      shipping: {
        method: "Letter",
        method_id: 17862,
        address: {
          name: { full: htmlEncode(fullName) },
          full: htmlEncode(`${fullName}\n12 Orchard Road\n${CITY_LINE[country] ?? "10115 Berlin"}`),
          country_code: country === "GB" ? "UK" : country,
        },
      },
      cost: {
        currency_code: "EUR",
        subtotal: money4(subtotal),
        grand_total: money4(subtotal + shipping),
        final_total: money4(subtotal + shipping),
        shipping: money4(shipping),
        insurance: "0.0000",
        etc1: "0.0000",
        etc2: "0.0000",
        credit: "0.0000",
        coupon: "0.0000",
      },
      disp_cost: {
        currency_code: "EUR",
        subtotal: money4(subtotal),
        grand_total: money4(subtotal + shipping),
      },
    };
    if (order.remarks === undefined) delete order.remarks;
    return { order, batches, direction: "in" };
  };
}
