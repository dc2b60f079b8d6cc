import { z } from "zod";
import type { AppContext } from "../../context.ts";
import { badRequest } from "../../core/errors.ts";
import { countMatching, type OrderQuery, withTimeZone } from "../../db/repos/orders.ts";
import {
  createSavedView,
  deleteSavedView,
  listSavedViews,
  updateSavedView,
} from "../../db/repos/saved-views.ts";
import { defineRoute, idParam, type RouteDef } from "../route.ts";
import { orderQuerySchema } from "./orders.ts";

/** What a view may hold: the table's filters and its sort, never a page or a list of ids. */
const VIEW_KEYS = [
  "q",
  "status",
  "marketplace",
  "from",
  "to",
  "buyer",
  "needsReview",
  "onHold",
  "sort",
  "dir",
] as const;
const viewQuerySchema = orderQuerySchema.pick({
  q: true,
  status: true,
  marketplace: true,
  from: true,
  to: true,
  buyer: true,
  needsReview: true,
  onHold: true,
  sort: true,
  dir: true,
});

/**
 * The views every account has. "Needs review" holds the orders a marketplace moved backwards
 * (Orderhub kept its status); the others are the statuses a seller works through.
 */
export const BUILT_IN_VIEWS: readonly { id: string; name: string; query: string }[] = [
  { id: "all", name: "All", query: "" },
  { id: "awaiting-payment", name: "Awaiting payment", query: "status=pending" },
  { id: "awaiting-shipment", name: "Awaiting shipment", query: "status=processing" },
  { id: "needs-review", name: "Needs review", query: "needsReview=true" },
  { id: "on-hold", name: "On hold", query: "onHold=true" },
  { id: "problems", name: "Problems", query: "status=problem,needs_review" },
  { id: "shipped", name: "Shipped", query: "status=shipped" },
];

/**
 * A view's query string, checked like the orders table checks it and written in one order, so
 * the same filter always reads the same. A key the table does not know is refused by name.
 */
export function normalizeViewQuery(text: string): { query: string; filter: OrderQuery } {
  const params = new URLSearchParams(text.startsWith("?") ? text.slice(1) : text);
  const raw: Record<string, string> = {};
  const unknown: string[] = [];
  for (const [k, v] of params) {
    if (v === "") continue; // an empty field is no filter
    if (!(VIEW_KEYS as readonly string[]).includes(k)) unknown.push(k);
    else raw[k] = v;
  }
  if (unknown.length)
    throw badRequest(`query: a view cannot hold ${unknown.join(", ")} (it holds ${VIEW_KEYS.join(", ")})`);
  const parsed = viewQuerySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw badRequest(`query: ${issue.path.join(".")} ${issue.message}`, { issues: parsed.error.issues });
  }
  const out = new URLSearchParams();
  for (const k of VIEW_KEYS) if (raw[k] !== undefined) out.set(k, raw[k]);
  return { query: out.toString(), filter: parsed.data };
}

const name = z.string().trim().min(1, "must not be empty").max(60, "must be at most 60 characters");
const createBody = z.object({ name, query: z.string().max(2000) }).strict();
const updateBody = z
  .object({ name: name.optional(), query: z.string().max(2000).optional() })
  .strict()
  .refine((b) => b.name !== undefined || b.query !== undefined, "give a name or a query to change");

export function savedViewRoutes(ctx: AppContext): RouteDef[] {
  async function withCounts(accountId: number) {
    const own = await listSavedViews(ctx.db, accountId);
    const all = [
      ...BUILT_IN_VIEWS.map((v) => ({ ...v, builtIn: true })),
      ...own.map((v) => ({ id: String(v.id), name: v.name, query: v.query, builtIn: false })),
    ];
    const views = [];
    // One after another: most are answered from the per-status counts, and a small pool stays free.
    for (const v of all) {
      let count: number | null = null;
      try {
        const { filter } = normalizeViewQuery(v.query);
        count = await countMatching(ctx.db, accountId, await withTimeZone(ctx.db, accountId, filter));
      } catch {
        count = null; // a view saved before a filter changed its rules still shows, without a count
      }
      views.push({ ...v, count });
    }
    return views;
  }

  return [
    defineRoute({
      method: "GET",
      url: "/api/views",
      auth: "orders.read",
      summary: "Built-in and saved views of the orders table, each with how many orders it holds now",
      tags: ["orders"],
      async handler({ auth }) {
        return { views: await withCounts(auth!.accountId!) };
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/views",
      auth: "views.manage",
      summary: "Save the table's filters as a view (name, query string such as status=processing)",
      tags: ["orders"],
      status: 201,
      body: createBody,
      async handler({ auth, body }) {
        const { query } = normalizeViewQuery(body.query);
        const v = await createSavedView(ctx.db, auth!.accountId!, {
          name: body.name,
          query,
          createdBy: auth!.userId,
        });
        return { view: { id: String(v.id), name: v.name, query: v.query, builtIn: false } };
      },
    }),
    defineRoute({
      method: "PATCH",
      url: "/api/views/:id",
      auth: "views.manage",
      summary: "Rename a saved view or change its filters",
      tags: ["orders"],
      params: idParam,
      body: updateBody,
      async handler({ auth, params, body }) {
        const change: { name?: string; query?: string } = {};
        if (body.name !== undefined) change.name = body.name;
        if (body.query !== undefined) change.query = normalizeViewQuery(body.query).query;
        const v = await updateSavedView(ctx.db, auth!.accountId!, params.id, change, ctx.clock.now());
        return { view: { id: String(v.id), name: v.name, query: v.query, builtIn: false } };
      },
    }),
    defineRoute({
      method: "DELETE",
      url: "/api/views/:id",
      auth: "views.manage",
      summary: "Delete a saved view (the orders stay as they are)",
      tags: ["orders"],
      params: idParam,
      async handler({ auth, params }) {
        await deleteSavedView(ctx.db, auth!.accountId!, params.id);
        return { deleted: true };
      },
    }),
  ];
}
