import { z } from "zod";
import { parseDecimal } from "../core/money.ts";
import { ORDER_STATUSES } from "../core/status.ts";

/** When rules run: a new order arrives, or an order's unified status changes. */
export const TRIGGERS = ["order_created", "status_changed"] as const;
export type Trigger = (typeof TRIGGERS)[number];

const text = (what: string) => z.string().trim().min(1, `give ${what}`).max(200);
const list = <T extends z.ZodType>(item: T, what: string) =>
  z.array(item).min(1, `name at least one ${what}`).max(100);
const compare = z.enum(["gt", "gte", "lt", "lte", "eq"]);

/**
 * Conditions, all of which must hold. Marketplaces are ids from the registry (checked where rules
 * are saved), never names written into this module.
 */
export const conditionSchema = z.discriminatedUnion("field", [
  z
    .object({
      field: z.literal("marketplace"),
      op: z.enum(["is", "is_not"]),
      values: list(z.string().regex(/^[a-z][a-z0-9_]*$/, "must be a marketplace id"), "marketplace"),
    })
    .strict(),
  z
    .object({
      field: z.literal("status"),
      op: z.enum(["is", "is_not"]),
      values: list(z.enum(ORDER_STATUSES), "status"),
    })
    .strict(),
  z
    .object({
      field: z.literal("country"),
      op: z.enum(["is", "is_not"]),
      values: list(
        z
          .string()
          .trim()
          .regex(/^[A-Za-z]{2}$/, "must be a two-letter country code such as DE")
          .transform((s) => s.toUpperCase()),
        "country",
      ),
    })
    .strict(),
  z
    .object({
      field: z.literal("total"),
      op: compare,
      /** In the order's currency, as a decimal ("25.00"). */
      amount: z
        .string()
        .trim()
        .refine((s) => {
          try {
            parseDecimal(s);
            return true;
          } catch {
            return false;
          }
        }, "must be an amount such as 25.00"),
      /** Only orders in this currency match (totals in other currencies are not compared). */
      currency: z
        .string()
        .trim()
        .regex(/^[A-Za-z]{3}$/, "must be a currency code such as EUR")
        .transform((s) => s.toUpperCase())
        .optional(),
    })
    .strict(),
  z
    .object({ field: z.literal("itemCount"), op: compare, value: z.number().int().min(0).max(1_000_000) })
    .strict(),
  z
    .object({
      field: z.literal("item"),
      op: z.enum(["contains", "not_contains"]),
      /** Item numbers or SKUs, matched whole and without regard to case. */
      values: list(z.string().trim().min(1).max(100), "item number or SKU"),
    })
    .strict(),
  z.object({ field: z.literal("buyer"), op: z.enum(["is", "contains"]), value: text("a buyer") }).strict(),
  z
    .object({
      field: z.literal("shippingMethod"),
      op: z.enum(["is", "contains"]),
      value: text("a shipping method"),
    })
    .strict(),
]);
export type Condition = z.infer<typeof conditionSchema>;
export type ConditionField = Condition["field"];

export const actionSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("tag"), tag: z.string().trim().min(1, "give a tag").max(50) }).strict(),
  z
    .object({ type: z.literal("note"), text: z.string().trim().min(1, "give the note's text").max(1000) })
    .strict(),
  z
    .object({
      type: z.literal("set_status"),
      /** The marketplace's status name (BrickLink PACKED, BrickOwl Processing); checked per order. */
      status: z.string().trim().min(1, "give a marketplace status").max(50),
    })
    .strict(),
  z
    .object({
      type: z.literal("pick_batch"),
      batch: z.string().trim().min(1, "give the batch's name").max(100),
    })
    .strict(),
  z.object({ type: z.literal("hold"), reason: z.string().trim().max(200).optional() }).strict(),
]);
export type Action = z.infer<typeof actionSchema>;
export type ActionType = Action["type"];

export const ruleInputSchema = z
  .object({
    name: z.string().trim().min(1, "give the rule a name").max(100),
    enabled: z.boolean().optional(),
    triggers: z
      .array(z.enum(TRIGGERS))
      .min(1, "choose when the rule runs (order_created, status_changed)")
      .max(2)
      .transform((t) => [...new Set(t)]),
    conditions: z.array(conditionSchema).max(20),
    actions: z.array(actionSchema).min(1, "give the rule at least one action").max(10),
  })
  .strict();
export type RuleInput = z.infer<typeof ruleInputSchema>;

export interface Rule {
  id: number;
  name: string;
  position: number;
  enabled: boolean;
  triggers: Trigger[];
  conditions: Condition[];
  actions: Action[];
}

const OPS: Record<string, string> = {
  is: "is",
  is_not: "is not",
  gt: ">",
  gte: "≥",
  lt: "<",
  lte: "≤",
  eq: "=",
  contains: "contains",
  not_contains: "does not contain",
};

/** A condition in a seller's words ("country is DE, AT"). */
export function describeCondition(
  c: Condition,
  marketplaceName: (id: string) => string = (id) => id,
): string {
  const op = OPS[c.op] ?? c.op;
  switch (c.field) {
    case "marketplace":
      return `marketplace ${op} ${c.values.map(marketplaceName).join(", ")}`;
    case "status":
      return `status ${op} ${c.values.join(", ")}`;
    case "country":
      return `country ${op} ${c.values.join(", ")}`;
    case "total":
      return `total ${op} ${c.amount}${c.currency ? ` ${c.currency}` : ""}`;
    case "itemCount":
      return `item count ${op} ${c.value}`;
    case "item":
      return `items ${op} ${c.values.join(", ")}`;
    case "buyer":
      return `buyer ${op} "${c.value}"`;
    case "shippingMethod":
      return `shipping method ${op} "${c.value}"`;
  }
}

/** An action in a seller's words ("tag EU"). */
export function describeAction(a: Action): string {
  switch (a.type) {
    case "tag":
      return `tag "${a.tag}"`;
    case "note":
      return `internal note "${a.text}"`;
    case "set_status":
      return `set marketplace status ${a.status}`;
    case "pick_batch":
      return `add to pick batch "${a.batch}"`;
    case "hold":
      return `hold${a.reason ? ` (${a.reason})` : ""}`;
  }
}
