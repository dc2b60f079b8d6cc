import { z } from "zod";
import { actionSchema, conditionSchema, ruleInputSchema, TRIGGERS } from "../../automation/model.ts";
import {
  createRule,
  deleteRule,
  getRule,
  listRules,
  reorderRules,
  ruleProblems,
  updateRule,
} from "../../automation/rules.ts";
import { DRY_RUN_SCAN, dryRunRule } from "../../automation/run.ts";
import type { AppContext } from "../../context.ts";
import { badRequest } from "../../core/errors.ts";
import { defineRoute, idParam, type RouteDef } from "../route.ts";

const dryRunBody = z
  .object({
    /** A saved rule, or the rule being edited (its conditions and actions) before it is saved. */
    id: z.number().int().positive().optional(),
    name: z.string().trim().max(100).optional(),
    conditions: z.array(conditionSchema).max(20).optional(),
    actions: z.array(actionSchema).min(1, "give the rule at least one action").max(10).optional(),
    limit: z.number().int().min(1).max(1000).optional(),
  })
  .strict()
  .refine(
    (b) => b.id !== undefined || b.actions !== undefined,
    "give a rule id, or the rule's conditions and actions",
  );

export function ruleRoutes(ctx: AppContext): RouteDef[] {
  return [
    defineRoute({
      method: "GET",
      url: "/api/rules",
      auth: "rules.read",
      summary: "Automation rules in the order they run, with the triggers they can use",
      tags: ["rules"],
      async handler({ auth }) {
        return { rules: await listRules(ctx.db, auth!.accountId!), triggers: TRIGGERS };
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/rules",
      auth: "rules.manage",
      summary:
        "Create a rule: triggers (order_created, status_changed), conditions (all must hold) and actions (tag, note, set_status, pick_batch, hold); it runs after the existing ones",
      tags: ["rules"],
      status: 201,
      body: ruleInputSchema,
      async handler({ auth, body }) {
        return { rule: await createRule(ctx.db, auth!.accountId!, body) };
      },
    }),
    defineRoute({
      method: "PATCH",
      url: "/api/rules/:id",
      auth: "rules.manage",
      summary: "Change a rule: name, enabled, triggers, conditions, actions",
      tags: ["rules"],
      params: idParam,
      body: ruleInputSchema
        .partial()
        .refine(
          (b) => Object.keys(b).length > 0,
          "give what to change (name, enabled, triggers, conditions, actions)",
        ),
      async handler({ auth, params, body }) {
        return { rule: await updateRule(ctx.db, auth!.accountId!, params.id, body) };
      },
    }),
    defineRoute({
      method: "DELETE",
      url: "/api/rules/:id",
      auth: "rules.manage",
      summary: "Delete a rule (what it did stays on the orders' timelines)",
      tags: ["rules"],
      params: idParam,
      async handler({ auth, params }) {
        await deleteRule(ctx.db, auth!.accountId!, params.id);
        return { deleted: true };
      },
    }),
    defineRoute({
      method: "PUT",
      url: "/api/rules/order",
      auth: "rules.manage",
      summary: "The order rules run in: every rule id of the account, once",
      tags: ["rules"],
      body: z.object({ ids: z.array(z.number().int().positive()).max(1000) }).strict(),
      async handler({ auth, body }) {
        return { rules: await ctx.db.transaction((tx) => reorderRules(tx, auth!.accountId!, body.ids)) };
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/rules/dry-run",
      auth: "rules.read",
      summary: `Which existing orders (the newest ${DRY_RUN_SCAN.toLocaleString("en")}) a rule would match and what each action would do; writes nothing`,
      tags: ["rules"],
      body: dryRunBody,
      async handler({ auth, body }) {
        const accountId = auth!.accountId!;
        const saved = body.id !== undefined ? await getRule(ctx.db, accountId, body.id) : null;
        const rule = {
          ...(saved ? { id: saved.id } : {}),
          name: body.name || saved?.name || "(new rule)",
          conditions: body.conditions ?? saved?.conditions ?? [],
          actions: body.actions ?? saved?.actions ?? [],
        };
        const problems = ruleProblems(rule);
        if (problems.length) throw badRequest(problems.join("; "), { problems });
        return dryRunRule(ctx.db, accountId, rule, { limit: body.limit ?? 200 });
      },
    }),
  ];
}
