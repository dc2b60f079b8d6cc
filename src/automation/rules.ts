import { and, asc, eq, sql } from "drizzle-orm";
import { AppError, badRequest, notFound } from "../core/errors.ts";
import type { DbOrTx } from "../db/connection.ts";
import { automationRules } from "../db/schema.ts";
import { settableStatus } from "../fulfillment/shipments.ts";
import { hasAdapter, listManifests } from "../marketplaces/registry.ts";
import type { Action, Condition, Rule, RuleInput, Trigger } from "./model.ts";

type Row = typeof automationRules.$inferSelect;

const toRule = (r: Row): Rule => ({
  id: r.id,
  name: r.name,
  position: r.position,
  enabled: r.enabled,
  triggers: r.triggers as Trigger[],
  conditions: r.conditions as Condition[],
  actions: r.actions as Action[],
});

/** What the schema cannot know: marketplace ids and statuses as the registry has them. */
export function ruleProblems(input: Pick<RuleInput, "conditions" | "actions">): string[] {
  const problems: string[] = [];
  const manifests = listManifests();
  input.conditions.forEach((c, i) => {
    if (c.field !== "marketplace") return;
    for (const id of c.values)
      if (!hasAdapter(id))
        problems.push(
          `conditions.${i}.values: "${id}" is not a marketplace (known: ${manifests.map((m) => m.id).join(", ")})`,
        );
  });
  // A status is checked against the marketplaces the rule can reach: those it names, or all.
  const named = input.conditions.find((c) => c.field === "marketplace" && c.op === "is");
  const reach = manifests.filter(
    (m) =>
      m.capabilities.statusPush && (!named || (named.field === "marketplace" && named.values.includes(m.id))),
  );
  input.actions.forEach((a, i) => {
    if (a.type !== "set_status") return;
    if (!reach.some((m) => settableStatus(m, a.status)))
      problems.push(
        `actions.${i}.status: no marketplace of this rule takes "${a.status}" (${reach.map((m) => `${m.displayName}: ${m.settableStatuses?.join(", ")}`).join("; ") || "none takes status updates"})`,
      );
  });
  return problems;
}

export async function listRules(db: DbOrTx, accountId: number): Promise<Rule[]> {
  const rows = await db
    .select()
    .from(automationRules)
    .where(eq(automationRules.accountId, accountId))
    .orderBy(asc(automationRules.position), asc(automationRules.id));
  return rows.map(toRule);
}

export async function getRule(db: DbOrTx, accountId: number, id: number): Promise<Rule> {
  const [row] = await db
    .select()
    .from(automationRules)
    .where(and(eq(automationRules.accountId, accountId), eq(automationRules.id, id)));
  if (!row) throw notFound(`rule ${id}`);
  return toRule(row);
}

const isUniqueViolation = (err: unknown) => {
  const e = err as { code?: string; cause?: { code?: string } };
  return e?.code === "23505" || e?.cause?.code === "23505";
};

function check(input: Pick<RuleInput, "conditions" | "actions">) {
  const problems = ruleProblems(input);
  if (problems.length) throw badRequest(problems.join("; "), { problems });
}

export async function createRule(db: DbOrTx, accountId: number, input: RuleInput): Promise<Rule> {
  check(input);
  try {
    const [row] = await db
      .insert(automationRules)
      .values({
        accountId,
        name: input.name,
        enabled: input.enabled ?? true,
        triggers: input.triggers,
        conditions: input.conditions,
        actions: input.actions,
        // Last in the list: rules run in the order the seller sees them.
        position: sql`coalesce((select max(${automationRules.position}) from ${automationRules} where ${automationRules.accountId} = ${accountId}), 0) + 1`,
      })
      .returning();
    return toRule(row!);
  } catch (err) {
    if (isUniqueViolation(err))
      throw new AppError(409, "conflict", `name: a rule named "${input.name}" exists`);
    throw err;
  }
}

export async function updateRule(
  db: DbOrTx,
  accountId: number,
  id: number,
  patch: Partial<RuleInput>,
): Promise<Rule> {
  const current = await getRule(db, accountId, id);
  check({ conditions: patch.conditions ?? current.conditions, actions: patch.actions ?? current.actions });
  try {
    const [row] = await db
      .update(automationRules)
      .set({
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
        ...(patch.triggers !== undefined ? { triggers: patch.triggers } : {}),
        ...(patch.conditions !== undefined ? { conditions: patch.conditions } : {}),
        ...(patch.actions !== undefined ? { actions: patch.actions } : {}),
        updatedAt: sql`now()`,
      })
      .where(and(eq(automationRules.accountId, accountId), eq(automationRules.id, id)))
      .returning();
    return toRule(row!);
  } catch (err) {
    if (isUniqueViolation(err))
      throw new AppError(409, "conflict", `name: a rule named "${patch.name}" exists`);
    throw err;
  }
}

export async function deleteRule(db: DbOrTx, accountId: number, id: number): Promise<void> {
  const gone = await db
    .delete(automationRules)
    .where(and(eq(automationRules.accountId, accountId), eq(automationRules.id, id)))
    .returning({ id: automationRules.id });
  if (gone.length === 0) throw notFound(`rule ${id}`);
}

/** The rules in a new order: every rule of the account named once. */
export async function reorderRules(db: DbOrTx, accountId: number, ids: number[]): Promise<Rule[]> {
  const rules = await listRules(db, accountId);
  const known = new Set(rules.map((r) => r.id));
  const given = new Set(ids);
  if (given.size !== ids.length) throw badRequest("ids: a rule is named twice");
  const missing = rules.filter((r) => !given.has(r.id)).map((r) => r.id);
  const stray = ids.filter((id) => !known.has(id));
  if (missing.length || stray.length)
    throw badRequest(
      `ids: name every rule once${missing.length ? ` (missing ${missing.join(", ")})` : ""}${stray.length ? ` (not rules of this account: ${stray.join(", ")})` : ""}`,
    );
  for (const [i, id] of ids.entries())
    await db
      .update(automationRules)
      .set({ position: i + 1 })
      .where(and(eq(automationRules.accountId, accountId), eq(automationRules.id, id)));
  return listRules(db, accountId);
}
