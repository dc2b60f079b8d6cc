import { and, desc, eq, inArray, isNull, sql } from "drizzle-orm";
import { AppError } from "../core/errors.ts";
import type { DbOrTx, Tx } from "../db/connection.ts";
import { automationRuns, orderEvents, orderLines, orders } from "../db/schema.ts";
import { addOrdersToPickBatch } from "../fulfillment/pick-batches.ts";
import { queueRuleStatus } from "../fulfillment/shipments.ts";
import type { IngestSubscriber } from "../sync/ingest.ts";
import type { OutboxHandler } from "../sync/outbox.ts";
import { matches, type OrderFacts } from "./evaluate.ts";
import { type Action, describeAction, type Rule, type Trigger } from "./model.ts";
import { listRules } from "./rules.ts";

/** What one action did (or, in a dry run, would do) to one order. */
export interface ActionOutcome {
  action: string;
  type: Action["type"];
  result: "done" | "skipped";
  /** What was sent or changed, or why nothing was. */
  detail?: string;
}

/** One event a rule may act on: its key makes the rule act once per event. */
export interface RuleEvent {
  orderId: number;
  /** `created`, or `status:<order_events.id>`. */
  eventKey: string;
}

type FactsRow = OrderFacts & {
  id: number;
  number: string;
  tags: string[];
  internalNote: string | null;
  onHold: boolean;
};

async function loadFacts(db: DbOrTx, accountId: number, ids: number[]): Promise<Map<number, FactsRow>> {
  const out = new Map<number, FactsRow>();
  if (ids.length === 0) return out;
  const rows = await db
    .select({
      id: orders.id,
      number: orders.number,
      marketplace: orders.marketplace,
      status: orders.status,
      countryCode: orders.countryCode,
      grandTotal: orders.grandTotal,
      currency: orders.currency,
      itemCount: orders.itemCount,
      buyerName: orders.buyerName,
      buyerUsername: orders.buyerUsername,
      buyerEmail: orders.buyerEmail,
      shippingMethod: orders.shippingMethod,
      tags: orders.tags,
      internalNote: orders.internalNote,
      onHold: orders.onHold,
    })
    .from(orders)
    .where(and(eq(orders.accountId, accountId), inArray(orders.id, ids)));
  for (const r of rows) out.set(r.id, { ...r, items: [] });
  const lines = await db
    .select({ orderId: orderLines.orderId, itemNo: orderLines.itemNo, sku: orderLines.sku })
    .from(orderLines)
    .where(
      and(
        eq(orderLines.accountId, accountId),
        inArray(orderLines.orderId, ids),
        isNull(orderLines.removedAt),
      ),
    );
  for (const l of lines) {
    const f = out.get(l.orderId);
    if (!f) continue;
    for (const v of [l.itemNo, l.sku]) if (v && !f.items.includes(v)) f.items.push(v);
  }
  return out;
}

/**
 * Plans one action on one order and, unless `dryRun`, carries it out in `db` (the caller's
 * transaction). Each action is idempotent on the order: a tag it has, a note it holds, a hold it is
 * under, a status the rule already set are skipped, not repeated.
 */
async function applyAction(
  db: DbOrTx,
  input: {
    accountId: number;
    rule: Pick<Rule, "id" | "name">;
    order: FactsRow;
    action: Action;
    at: Date;
    dryRun: boolean;
  },
): Promise<ActionOutcome & { pushId?: number }> {
  const { action: a, order: o, rule } = input;
  const base = { action: describeAction(a), type: a.type };
  switch (a.type) {
    case "tag": {
      if (o.tags.some((t) => t.toLowerCase() === a.tag.toLowerCase()))
        return { ...base, result: "skipped", detail: "already tagged" };
      if (!input.dryRun) {
        await db
          .update(orders)
          .set({ tags: sql`array_append(${orders.tags}, ${a.tag})` })
          .where(eq(orders.id, o.id));
        o.tags = [...o.tags, a.tag];
      }
      return { ...base, result: "done" };
    }
    case "note": {
      const lines = (o.internalNote ?? "").split("\n");
      if (lines.includes(a.text)) return { ...base, result: "skipped", detail: "the note already says it" };
      if (!input.dryRun) {
        const next = o.internalNote ? `${o.internalNote}\n${a.text}` : a.text;
        await db.update(orders).set({ internalNote: next }).where(eq(orders.id, o.id));
        o.internalNote = next;
      }
      return { ...base, result: "done" };
    }
    case "hold": {
      if (o.onHold) return { ...base, result: "skipped", detail: "already on hold" };
      if (!input.dryRun) {
        await db
          .update(orders)
          .set({ onHold: true, holdReason: a.reason ? a.reason : `rule "${rule.name}"` })
          .where(eq(orders.id, o.id));
        o.onHold = true;
      }
      return { ...base, result: "done" };
    }
    case "set_status": {
      const r = await queueRuleStatus(db, {
        accountId: input.accountId,
        orderId: o.id,
        status: a.status,
        rule: { id: rule.id, name: rule.name },
        at: input.at,
        dryRun: input.dryRun,
      });
      return r.done
        ? { ...base, result: "done", detail: r.description, ...(r.pushId ? { pushId: r.pushId } : {}) }
        : { ...base, result: "skipped", detail: r.reason };
    }
    case "pick_batch": {
      if (input.dryRun) return { ...base, result: "done" };
      try {
        const r = await addOrdersToPickBatch(db, input.accountId, a.batch, [o.id], { now: input.at });
        return r.added
          ? { ...base, result: "done" }
          : { ...base, result: "skipped", detail: "already in the batch" };
      } catch (err) {
        // A batch finished meanwhile, a full batch: said on the timeline, the other actions go on.
        if (err instanceof AppError && err.status < 500)
          return { ...base, result: "skipped", detail: err.message };
        throw err;
      }
    }
  }
}

/**
 * Runs the account's enabled rules for `trigger` on these events, in the rules' order, inside the
 * caller's transaction. A rule acts on an event once (a unique run row per rule, order and event):
 * the same batch stored again, or a retried transaction, does nothing twice. Every action is an
 * event on the order's timeline naming the rule.
 */
export async function runRules(
  tx: Tx,
  input: { accountId: number; trigger: Trigger; events: RuleEvent[]; at: Date; rules?: Rule[] },
): Promise<{ dispatch: boolean; runs: number }> {
  if (input.events.length === 0) return { dispatch: false, runs: 0 };
  const rules = (input.rules ?? (await listRules(tx, input.accountId))).filter(
    (r) => r.enabled && r.triggers.includes(input.trigger),
  );
  if (rules.length === 0) return { dispatch: false, runs: 0 };
  const facts = await loadFacts(
    tx,
    input.accountId,
    input.events.map((e) => e.orderId),
  );
  let dispatch = false;
  let runs = 0;
  for (const e of input.events) {
    const order = facts.get(e.orderId);
    if (!order) continue;
    for (const rule of rules) {
      if (!matches(rule.conditions, order)) continue;
      const [run] = await tx
        .insert(automationRuns)
        .values({
          accountId: input.accountId,
          ruleId: rule.id,
          orderId: order.id,
          eventKey: e.eventKey,
          at: input.at,
        })
        .onConflictDoNothing()
        .returning({ id: automationRuns.id });
      if (!run) continue;
      runs++;
      const outcomes: ActionOutcome[] = [];
      for (const action of rule.actions) {
        const { pushId, ...outcome } = await applyAction(tx, {
          accountId: input.accountId,
          rule,
          order,
          action,
          at: input.at,
          dryRun: false,
        });
        if (pushId) dispatch = true;
        outcomes.push(outcome);
        await tx.insert(orderEvents).values({
          accountId: input.accountId,
          orderId: order.id,
          kind: "automation",
          source: `rule:${rule.id}`,
          at: input.at,
          detail: {
            rule: { id: rule.id, name: rule.name },
            trigger: input.trigger,
            ...outcome,
            ...(pushId ? { pushId } : {}),
          },
        });
      }
      await tx.update(automationRuns).set({ actions: outcomes }).where(eq(automationRuns.id, run.id));
    }
  }
  return { dispatch, runs };
}

/** The newest status-change event of each order: the key a status rule acts on once. */
async function statusEvents(tx: DbOrTx, accountId: number, ids: number[]): Promise<RuleEvent[]> {
  if (ids.length === 0) return [];
  const rows = await tx
    .selectDistinctOn([orderEvents.orderId], { orderId: orderEvents.orderId, id: orderEvents.id })
    .from(orderEvents)
    .where(
      and(
        eq(orderEvents.accountId, accountId),
        inArray(orderEvents.orderId, ids),
        eq(orderEvents.kind, "status_changed"),
      ),
    )
    .orderBy(orderEvents.orderId, desc(orderEvents.id));
  return rows.map((r) => ({ orderId: r.orderId, eventKey: `status:${r.id}` }));
}

/** Rules run on every order a sync, webhook or direct push brings in, in the same transaction. */
export const automationSubscriber: IngestSubscriber = {
  name: "automation",
  async onOrders(tx, batch) {
    const { accountId, at } = batch.source;
    // Most accounts have no rules: one small query per stored batch, nothing more.
    const rules = (await listRules(tx, accountId)).filter((r) => r.enabled);
    if (rules.length === 0) return { dispatch: false };
    // New to Orderhub: created now, or a summary row (listed only, no lines yet) whose details came
    // in now — rules look at lines and addresses, so they wait for the whole order.
    const touched = batch.results.filter((r) => r.outcome !== "unchanged");
    const summaries = new Set(
      (
        await tx
          .select({ id: orders.id })
          .from(orders)
          .where(
            and(
              inArray(
                orders.id,
                touched.map((r) => r.orderId),
              ),
              eq(orders.details, "pending"),
            ),
          )
      ).map((r) => r.id),
    );
    const created = touched
      .filter((r) => r.outcome === "created" || summaries.has(r.orderId))
      .map((r) => ({ orderId: r.orderId, eventKey: "created" }));
    const moved = batch.results
      .filter((r) => r.outcome === "updated" && r.previousStatus !== null && r.previousStatus !== r.status)
      .map((r) => r.orderId);
    const a = await runRules(tx, { accountId, trigger: "order_created", events: created, at, rules });
    const b = rules.some((r) => r.triggers.includes("status_changed"))
      ? await runRules(tx, {
          accountId,
          trigger: "status_changed",
          events: await statusEvents(tx, accountId, moved),
          at,
          rules,
        })
      : { dispatch: false };
    return { dispatch: a.dispatch || b.dispatch };
  },
};

/**
 * Status rules for a status our own push changed (a seller's Set status or Mark shipped, once the
 * marketplace confirmed it). A push a rule asked for does not run rules again: no rule re-enters
 * through the status it set.
 */
export function withStatusRules(handler: OutboxHandler): OutboxHandler {
  return {
    ...handler,
    async onSent(tx, row, at) {
      const ruleId = (row.payload as { ruleId?: number } | null)?.ruleId;
      const statusOf = async () =>
        row.orderId
          ? ((await tx.select({ status: orders.status }).from(orders).where(eq(orders.id, row.orderId)))[0]
              ?.status ?? null)
          : null;
      const before = await statusOf();
      await handler.onSent?.(tx, row, at);
      if (!row.orderId || ruleId !== undefined) return;
      const after = await statusOf();
      if (!before || !after || before === after) return;
      await runRules(tx, {
        accountId: row.accountId,
        trigger: "status_changed",
        events: await statusEvents(tx, row.accountId, [row.orderId]),
        at,
      });
    },
  };
}

export interface DryRunResult {
  /** Orders looked at (the newest first) and how many the account has. */
  scanned: number;
  total: number;
  matched: number;
  /** The matching orders (the first `limit`) with what each action would do. */
  orders: { orderId: number; number: string; status: string; actions: ActionOutcome[] }[];
}

/** How many of the newest orders a dry run looks at. */
export const DRY_RUN_SCAN = 10_000;

/**
 * Which existing orders a rule would match and what each action would do to them, reading only:
 * nothing is written (status pushes are planned with the same checks, not queued).
 */
export async function dryRunRule(
  db: DbOrTx,
  accountId: number,
  rule: Pick<Rule, "name" | "conditions" | "actions"> & { id?: number },
  opts: { limit?: number; scan?: number } = {},
): Promise<DryRunResult> {
  const limit = opts.limit ?? 200;
  const scanMax = opts.scan ?? DRY_RUN_SCAN;
  const [{ total } = { total: 0 }] = await db
    .select({ total: sql<number>`count(*)::int` })
    .from(orders)
    .where(eq(orders.accountId, accountId));
  const out: DryRunResult = { scanned: 0, total, matched: 0, orders: [] };
  let after: { orderedAt: Date; id: number } | null = null;
  const now = new Date();
  while (out.scanned < scanMax) {
    const page: { id: number; orderedAt: Date }[] = await db
      .select({ id: orders.id, orderedAt: orders.orderedAt })
      .from(orders)
      .where(
        and(
          eq(orders.accountId, accountId),
          after
            ? sql`(${orders.orderedAt}, ${orders.id}) < (${after.orderedAt.toISOString()}::timestamptz, ${after.id})`
            : undefined,
        ),
      )
      .orderBy(desc(orders.orderedAt), desc(orders.id))
      .limit(Math.min(500, scanMax - out.scanned));
    if (page.length === 0) break;
    after = page[page.length - 1]!;
    out.scanned += page.length;
    const facts = await loadFacts(
      db,
      accountId,
      page.map((p) => p.id),
    );
    for (const p of page) {
      const o = facts.get(p.id);
      if (!o || !matches(rule.conditions, o)) continue;
      out.matched++;
      if (out.orders.length >= limit) continue;
      const actions: ActionOutcome[] = [];
      for (const action of rule.actions) {
        const { pushId: _, ...outcome } = await applyAction(db, {
          accountId,
          rule: { id: rule.id ?? 0, name: rule.name },
          order: { ...o, tags: [...o.tags] },
          action,
          at: now,
          dryRun: true,
        });
        actions.push(outcome);
      }
      out.orders.push({ orderId: o.id, number: o.number, status: o.status, actions });
    }
  }
  return out;
}
