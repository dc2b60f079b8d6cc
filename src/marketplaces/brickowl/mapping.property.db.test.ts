import { describeMutatedOrderSync, type MutationCase } from "../testing/mutated-order-sync.ts";
import { startBrickOwlSimulator } from "./simulator/server.ts";

type Loose = Record<string, unknown>;
type Sim = { order: Loose; items: Loose[] };
/** Changes to one order's view or items (the order list stays readable), and the field each must name. */
const CASES: MutationCase<Sim>[] = [
  {
    name: "negative quantity",
    field: "ordered_quantity",
    apply: (o) => {
      o.items[0]!.ordered_quantity = "-3";
    },
  },
  {
    name: "quantity not a number",
    field: "ordered_quantity",
    apply: (o) => {
      o.items[0]!.ordered_quantity = "lots";
    },
  },
  {
    name: "price not money",
    field: "base_price",
    apply: (o) => {
      o.items[0]!.base_price = "about 3";
    },
  },
  {
    name: "item id missing",
    field: "order_item_id",
    apply: (o) => {
      o.items[0]!.order_item_id = null;
    },
  },
  {
    name: "unknown currency",
    field: "base_currency",
    apply: (o) => {
      o.order.base_currency = "€";
    },
  },
  {
    name: "garbage processed time",
    field: "processed_time",
    apply: (o) => {
      o.order.processed_time = "soon";
    },
  },
  {
    name: "ids not a list",
    field: "ids",
    apply: (o) => {
      o.items[0]!.ids = "3001";
    },
  },
  {
    name: "items not a list",
    field: "(root)",
    apply: (o) => {
      o.items = { 0: o.items[0] } as never;
    },
  },
];

describeMutatedOrderSync({
  marketplace: "brickowl",
  displayName: "BrickOwl",
  prefix: "BO",
  startSimulator: () => startBrickOwlSimulator({ seed: 31, orders: 12 }),
  secrets: (sim) => ({ apiKey: sim.apiKey }),
  candidates: (sim, stored) =>
    [...sim.control.state.orders.values()].filter(
      (o) => o.items.length > 0 && stored.includes(`BO-${o.order.order_id}`),
    ) as unknown as Sim[],
  externalId: (o) => String(o.order.order_id),
  keep(o) {
    const saved = structuredClone({ order: o.order, items: o.items });
    return () => {
      o.order = saved.order;
      o.items = saved.items;
    };
  },
  cases: CASES,
});
