import { describeMutatedOrderSync, type MutationCase } from "../testing/mutated-order-sync.ts";
import { startBrickLinkSimulator } from "./simulator/server.ts";
import type { BrickLinkOrder, BrickLinkOrderItem } from "./types.ts";

type Sim = { order: BrickLinkOrder; batches: BrickLinkOrderItem[][] };
type Loose = Record<string, unknown>;
/** Changes to one order's detail or items (the order list stays readable), and the field each must name. */
const CASES: MutationCase<Sim>[] = [
  {
    name: "negative quantity",
    field: "quantity",
    apply: (o) => {
      o.batches[0]![0]!.quantity = -2;
    },
  },
  {
    name: "quantity as text",
    field: "quantity",
    apply: (o) => {
      (o.batches[0]![0] as unknown as Loose).quantity = "7";
    },
  },
  {
    name: "unit price null",
    field: "unit_price",
    apply: (o) => {
      const it = o.batches[0]![0] as unknown as Loose;
      it.unit_price = null;
      delete it.unit_price_final;
    },
  },
  {
    name: "item without its item",
    field: "item",
    apply: (o) => {
      delete (o.batches[0]![0] as unknown as Loose).item;
    },
  },
  {
    name: "unknown currency",
    field: "currency_code",
    apply: (o) => {
      o.order.cost.currency_code = "€€";
    },
  },
  {
    name: "grand total not money",
    field: "grand_total",
    apply: (o) => {
      o.order.cost.grand_total = "lots";
    },
  },
  {
    name: "garbage order date",
    field: "date_ordered",
    apply: (o) => {
      o.order.date_ordered = "yesterday";
    },
  },
  {
    name: "shipping as a string",
    field: "shipping",
    apply: (o) => {
      (o.order as unknown as Loose).shipping = "by post";
    },
  },
  {
    name: "items not batches",
    field: "0",
    apply: (o) => {
      o.batches = [o.batches[0]![0] as never];
    },
  },
];

describeMutatedOrderSync({
  marketplace: "bricklink",
  displayName: "BrickLink",
  prefix: "BL",
  startSimulator: () => startBrickLinkSimulator({ seed: 31, orders: 12 }),
  secrets: (sim) => ({ ...sim.credentials }),
  candidates: (sim) =>
    [...sim.control.state.orders.values()].filter(
      (o) => o.direction === "in" && !o.order.is_filed && o.batches.length > 0 && o.order.status !== "PURGED",
    ),
  externalId: (o) => String(o.order.order_id),
  keep(o) {
    const saved = structuredClone({ order: o.order, batches: o.batches });
    return () => {
      o.order = saved.order;
      o.batches = saved.batches;
    };
  },
  cases: CASES,
});
