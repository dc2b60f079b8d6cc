import { prng, seedStore as seedBrickLinkStore } from "../../bricklink/simulator/store.ts";
import type { BrickLinkInventory } from "../../bricklink/types.ts";
import { BRICKOWL_STATUSES } from "../mapping.ts";

/** BrickOwl JSON as it travels: strings nearly everywhere, explicit nulls. */
export type Json = Record<string, unknown>;

export interface SimOrder {
  order: Json;
  items: Json[];
}

/** BrickLink colour id → BrickOwl colour id and name, for the colours the seeded stores use. */
export const COLOR_MAP: Record<number, [string, string]> = {
  1: ["92", "White"],
  5: ["81", "Red"],
  11: ["38", "Black"],
  86: ["49", "Light Bluish Gray"],
  88: ["68", "Reddish Brown"],
};

const BUYERS: [string, string, string, string, string, string][] = [
  // username, first, last, country code, country, city
  ["brickfan42", "Seán", "O'Brien", "GB", "United Kingdom", "London"],
  ["jörg_k", "Jörg", "Köhler", "DE", "Germany", "Berlin"],
  ["zoe.m", "Zoë", "Martin", "FR", "France", "Lyon"],
  ["lukasz", "Łukasz", "Żółć", "PL", "Poland", "Kraków"],
  ["soren", "Søren", "Jensen", "DK", "Denmark", "Ærøskøbing"],
  ["dmitry", "Дмитрий", "Иванов", "BG", "Bulgaria", "София"],
  ["chen", "Chen", "Wei", "US", "United States", "Portland"],
  ["maplebricks", "Amélie", "Tremblay", "CA", "Canada", "Montréal"],
];

/** A postcode (and region, where the country's addresses have one) in each buyer's city. */
const POSTCODES: Record<string, string> = {
  GB: "SW1A 1AA",
  DE: "10115",
  FR: "69002",
  PL: "31-147",
  DK: "5970",
  BG: "1000",
  US: "97201",
  CA: "H2X 1Y4",
};
const REGIONS: Record<string, string> = { US: "OR", CA: "QC" };

/** UK local time as BrickOwl writes it: "+01:00" in British Summer Time, "+00:00" otherwise. */
export function ukIso(d: Date): string {
  const y = d.getUTCFullYear();
  const lastSunday = (month: number) => {
    const end = new Date(Date.UTC(y, month + 1, 0, 1));
    end.setUTCDate(end.getUTCDate() - end.getUTCDay());
    return end.getTime();
  };
  const bst = d.getTime() >= lastSunday(2) && d.getTime() < lastSunday(9);
  const local = new Date(d.getTime() + (bst ? 3_600_000 : 0));
  return `${local.toISOString().slice(0, 19)}${bst ? "+01:00" : "+00:00"}`;
}

export const unix = (d: Date) => String(Math.floor(d.getTime() / 1000));
const money2 = (units: number) => (units / 10_000).toFixed(2);
const money3 = (units: number) => (units / 10_000).toFixed(3);

/** A BrickOwl lot mirroring a BrickLink lot: same stock, bin and price, linked by external lot id. */
export function lotFromBrickLink(bl: BrickLinkInventory, lotId: number): Json {
  const [colorId, colorName] = COLOR_MAP[bl.color_id] ?? [String(bl.color_id), bl.color_name ?? ""];
  const boid = `${100_000 + (Number.parseInt(bl.item.no, 10) || 999)}-${colorId}`;
  const cond = bl.new_or_used === "N" ? "new" : "usedg";
  return {
    lot_id: String(lotId),
    boid,
    type: bl.item.type === "SET" ? "Set" : bl.item.type === "MINIFIG" ? "Minifigure" : "Part",
    con: cond.startsWith("new") ? "new" : "used",
    full_con: cond,
    qty: String(bl.quantity),
    price: Number(bl.unit_price).toFixed(3),
    for_sale: "1",
    sale_percent: "0",
    bulk_qty: "1",
    public_note: "",
    personal_note: bl.remarks ?? "",
    external_lot_ids: { other: String(bl.inventory_id) },
    url: `https://simstore.brickowl.com/store/${boid}`,
    owl_id: String(70_000 + (lotId % 10_000)),
    name: bl.item.name?.replace(/&#(\d+);/g, (_m, n: string) => String.fromCharCode(Number(n))) ?? bl.item.no,
    color_id: colorId,
    color_name: colorName,
    ids: [
      { id: boid, type: "boid" },
      { id: bl.item.no, type: "design_id" },
      { id: bl.item.no, type: "bl_item_no" },
    ],
  };
}

export interface SeedOptions {
  seed?: number;
  orders?: number;
  lines?: number;
  start?: Date;
  /** The BrickLink lots to mirror; by default those of a BrickLink simulator seeded with the same seed. */
  linkedLots?: BrickLinkInventory[];
}

export function makeOrderBuilder(rnd: () => number, lots: Json[], storeId: string) {
  return (id: number, placed: Date, statusId: number, lineCount: number): SimOrder => {
    const [username, first, last, cc, country, city] = BUYERS[Math.floor(rnd() * BUYERS.length)]!;
    const items: Json[] = [];
    let sub = 0;
    let qtyTotal = 0;
    const used = new Set<string>();
    for (let j = 0; j < lineCount; j++) {
      const lot = lots[Math.floor(rnd() * lots.length)]!;
      if (used.has(String(lot.lot_id))) continue;
      used.add(String(lot.lot_id));
      const qty = 1 + Math.floor(rnd() * 10);
      const price = Math.round(Number(lot.price) * 10_000);
      sub += price * qty;
      qtyTotal += qty;
      const linked = (lot.external_lot_ids as Record<string, string>).other ?? null;
      items.push({
        order_item_id: String(id * 100 + j),
        lot_id: lot.lot_id,
        boid: lot.boid,
        name: `LEGO ${lot.color_name} ${lot.name}`,
        type: lot.type,
        color_id: lot.color_id,
        color_name: lot.color_name,
        condition: lot.con === "new" ? "New" : "Used",
        full_con: lot.full_con,
        ordered_quantity: String(qty),
        refunded_quantity: "0",
        remaining_quantity: String(Math.max(0, Number(lot.qty) - qty)),
        base_price: money3(price),
        weight: "1.170",
        public_note: null,
        personal_note: lot.personal_note,
        bl_lot_id: linked,
        // PHP writes an empty map as [].
        external_lot_ids: linked ? { other: linked } : [],
        image_small: `//img.brickowl.com/files/image_cache/small/${lot.boid}.png`,
        ids: lot.ids,
      });
    }
    const ship = 35_000 + Math.floor(rnd() * 4) * 5_000;
    const total = sub + ship;
    const processed = statusId >= 3 && statusId !== 7 && statusId !== 8;
    const processedAt = new Date(placed.getTime() + 86_400_000);
    const order: Json = {
      order_id: String(id),
      order_time: unix(placed),
      processed_time: processed ? unix(processedAt) : null,
      iso_order_time: ukIso(placed),
      iso_processed_time: processed ? ukIso(processedAt) : "1970-01-01T01:00:00+01:00",
      store_id: storeId,
      ship_method_name: "Royal Mail, Large Letter",
      ship_method_id: "12",
      status: BRICKOWL_STATUSES[statusId],
      status_id: String(statusId),
      weight: (items.length * 1.17).toFixed(3),
      ship_total: money2(ship),
      buyer_note: rnd() < 0.2 ? "Please pack the small parts in bags, thank you!" : "",
      total_quantity: String(qtyTotal),
      total_lots: String(items.length),
      base_currency: "GBP",
      payment_method_type: "paypal_standard",
      payment_currency: "GBP",
      payment_total: money2(total),
      base_order_total: money2(total),
      sub_total: money2(sub),
      coupon_discount: "0.00",
      payment_method_note: "",
      payment_transaction_id: `SIMTXN${id}`,
      // The same key changes type between answers on BrickOwl.
      tax_rate: rnd() < 0.5 ? "0.00" : 0,
      tax_amount: "0.00",
      tracking_number: null,
      tracking_advice: "",
      buyer_name: `${first} ${last}`,
      combine_with: null,
      refund_shipping: "0.00",
      refund_adjustment: "0.00",
      refund_subtotal: "0.00",
      refund_total: "0.00",
      refund_note: null,
      affiliate_fee: 0,
      brickowl_fee: Math.round(total * 0.025) / 10_000,
      seller_note: null,
      customer_email: `${username.replace(/[^a-z0-9]/gi, "")}-${id}@message.brickowl.com`,
      customer_user_id: String(5_000 + Math.floor(rnd() * 1000)),
      customer_username: username,
      ship_first_name: first,
      ship_last_name: last,
      ship_country_code: cc,
      ship_country: country,
      ship_post_code: POSTCODES[cc] ?? "10115",
      ship_street_1: "12 Orchard Road",
      ship_street_2: rnd() < 0.3 ? "Flat 3" : "",
      ship_city: city,
      ship_region: REGIONS[cc] ?? "",
      ship_phone: "",
    };
    return { order, items };
  };
}

/** Recomputes the list-visible totals after items change. */
export function retotal(o: SimOrder): void {
  let sub = 0;
  let qty = 0;
  for (const it of o.items) {
    sub += Math.round(Number(it.base_price) * 10_000) * Number(it.ordered_quantity);
    qty += Number(it.ordered_quantity);
  }
  const total = sub + Math.round(Number(o.order.ship_total) * 10_000);
  Object.assign(o.order, {
    sub_total: money2(sub),
    base_order_total: money2(total),
    payment_total: money2(total),
    total_quantity: String(qty),
    total_lots: String(o.items.length),
  });
}

/** A realistic BrickOwl store: orders in every status, lots linked to the BrickLink store's lots. */
export function seedStore(opts: SeedOptions = {}) {
  const seed = opts.seed ?? 1;
  const rnd = prng(seed + 101);
  const blLots = opts.linkedLots ?? [...seedBrickLinkStore({ seed, orders: 0 }).inventory.values()];
  const inventory = new Map<string, Json>();
  let nextLot = 2_726_000;
  for (const bl of blLots) {
    const lot = lotFromBrickLink(bl, nextLot++);
    inventory.set(String(lot.lot_id), lot);
  }
  const storeId = "907";
  const build = makeOrderBuilder(rnd, [...inventory.values()], storeId);
  const orders = new Map<string, SimOrder>();
  const n = opts.orders ?? 200;
  const start = (opts.start ?? new Date("2026-01-01T00:00:00Z")).getTime();
  let nextId = 3_500_000;
  const ids = Object.keys(BRICKOWL_STATUSES).map(Number);
  for (let i = 0; i < n; i++) {
    const id = nextId++;
    const placed = new Date(start + i * 3_600_000);
    const status = i < ids.length * 3 ? ids[i % ids.length]! : ids[Math.floor(rnd() * ids.length)]!;
    orders.set(
      String(id),
      build(id, placed, status, Math.max(1, Math.round((opts.lines ?? 4) * (0.5 + rnd())))),
    );
  }
  return { orders, inventory, nextId, nextLot, storeId, build, rnd };
}
