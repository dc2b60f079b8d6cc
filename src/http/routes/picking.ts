import { z } from "zod";
import type { AppContext } from "../../context.ts";
import { badRequest, notFound } from "../../core/errors.ts";
import { findOrderId, orderIdsOrThrow } from "../../db/repos/orders.ts";
import { idsForFilter } from "../../documents/load.ts";
import {
  actOnPickItem,
  addOrdersToPickBatch,
  claimNextPickItem,
  getPickBatch,
  listPickBatches,
  lotShortages,
  MAX_BATCH_ORDERS,
  packView,
  recordPackVerified,
} from "../../fulfillment/pick-batches.ts";
import type { HttpDeps } from "../deps.ts";
import { defineRoute, idParam, type RouteDef } from "../route.ts";
import { orderQuerySchema } from "./orders.ts";

// Strict: a misspelt filter field must not quietly widen the batch to every order.
const filterSchema = orderQuerySchema.omit({ page: true, pageSize: true, sort: true, dir: true }).strict();

const itemParams = z.object({
  id: z.coerce.number().int().positive(),
  itemId: z.coerce.number().int().positive(),
});

/** The orders list's query string (`?status=pending&marketplace=bricklink`) as a filter. */
function filterFromQueryString(qs: string) {
  const params = new URLSearchParams(qs.startsWith("?") ? qs.slice(1) : qs);
  const raw: Record<string, string> = {};
  for (const [k, v] of params) {
    // Paging and sorting say nothing about which orders: a saved view's URL may carry them.
    if (k === "page" || k === "pageSize" || k === "sort" || k === "dir" || k === "order") continue;
    raw[k] = v;
  }
  const r = filterSchema.safeParse(raw);
  if (!r.success)
    throw badRequest(
      `query: ${r.error.issues.map((i) => `${i.path.join(".") || "query"}: ${i.message}`).join("; ")}`,
    );
  return r.data;
}

function defaultName(now: Date): string {
  return `Pick ${now.toISOString().slice(0, 16).replace("T", " ")}`;
}

/** Pick batches (pick mode on a phone) and pack mode (scan to verify). */
export function pickingRoutes(ctx: AppContext, _deps: HttpDeps): RouteDef[] {
  const publish = (
    accountId: number,
    batchId: number,
    item: { id: number; version: number; state: string } | null,
  ) =>
    ctx.events.publish(accountId, {
      type: "pick.updated",
      batchId,
      itemId: item?.id ?? null,
      version: item?.version ?? null,
      state: item?.state ?? null,
    });
  return [
    defineRoute({
      method: "GET",
      url: "/api/pick-batches",
      auth: "pick.work",
      summary: "Pick batches: open ones first, then the latest finished, with their progress",
      tags: ["picking"],
      async handler({ auth }) {
        return { batches: await listPickBatches(ctx.db, auth!.accountId!) };
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/pick-batches",
      auth: "pick.work",
      summary:
        "Add orders to the open pick batch of that name (made when none is open): order ids or numbers, a filter, or the orders list's query string (a saved view)",
      tags: ["picking"],
      status: 201,
      body: z
        .object({
          name: z.string().trim().min(1, "must not be empty").max(100).optional(),
          orders: z
            .array(z.union([z.number().int().positive(), z.string().trim().min(1).max(100)]))
            .min(1, "name at least one order")
            .max(MAX_BATCH_ORDERS)
            .optional(),
          filter: filterSchema.optional(),
          query: z.string().max(2000).optional(),
        })
        .strict()
        .refine((b) => [b.orders, b.filter, b.query].filter((x) => x !== undefined).length === 1, {
          message: "give exactly one of orders, filter or query",
        }),
      async handler({ auth, body }) {
        const accountId = auth!.accountId!;
        const now = ctx.clock.now();
        let ids: number[];
        if (body.orders) ids = await orderIdsOrThrow(ctx.db, accountId, body.orders);
        else {
          const filter = body.filter ?? filterFromQueryString(body.query ?? "");
          ids = await idsForFilter(ctx.db, accountId, filter);
          if (ids.length > MAX_BATCH_ORDERS)
            throw badRequest(
              `filter: matches more than ${MAX_BATCH_ORDERS} orders; narrow it (a pick batch holds at most ${MAX_BATCH_ORDERS})`,
            );
          if (ids.length === 0) throw badRequest("filter: matches no orders");
        }
        const r = await addOrdersToPickBatch(ctx.db, accountId, body.name ?? defaultName(now), ids, {
          userId: auth!.userId,
          now,
        });
        await publish(accountId, r.batchId, null);
        return r;
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/pick-batches/:id",
      auth: "pick.work",
      summary:
        "A pick batch: orders with tote letters, lots in walking order with each order's share, progress",
      tags: ["picking"],
      params: idParam,
      async handler({ auth, params }) {
        return getPickBatch(ctx.db, auth!.accountId!, params.id, auth!.userId, ctx.clock.now());
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/pick-batches/:id/next",
      auth: "pick.work",
      summary: "Claim the next open lot in walking order that nobody else holds (null when none is left)",
      tags: ["picking"],
      params: idParam,
      async handler({ auth, params }) {
        if (auth!.userId === null)
          throw badRequest("claiming a lot needs a signed-in user or a user's token");
        const r = await claimNextPickItem(ctx.db, {
          accountId: auth!.accountId!,
          batchId: params.id,
          userId: auth!.userId,
          now: ctx.clock.now(),
        });
        if (r.item) await publish(auth!.accountId!, params.id, r.item);
        return { item: r.item };
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/pick-batches/:id/items/:itemId",
      auth: "pick.work",
      summary:
        "Claim, release, tick (pick), untick or report short one lot, naming the version seen; 409 with the lot as it is when someone else got there first",
      tags: ["picking"],
      params: itemParams,
      body: z
        .object({
          action: z.enum(["claim", "release", "pick", "unpick", "short"]),
          version: z.number().int().min(0),
          found: z.number().int().min(0).max(1_000_000).optional(),
          note: z.string().trim().max(500).optional(),
        })
        .strict()
        .refine((b) => b.action !== "short" || b.found !== undefined, {
          message: "found: say how many were found for a shortage",
          path: ["found"],
        }),
      async handler({ auth, params, body }) {
        const r = await actOnPickItem(ctx.db, {
          accountId: auth!.accountId!,
          batchId: params.id,
          itemId: params.itemId,
          userId: auth!.userId,
          action: body.action,
          version: body.version,
          ...(body.found !== undefined ? { found: body.found } : {}),
          note: body.note ?? null,
          now: ctx.clock.now(),
        });
        await publish(auth!.accountId!, params.id, r.item);
        return r;
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/inventory/lots/:id/shortages",
      auth: "inventory.read",
      summary: "Shortages pickers reported on a lot: order, quantity, who and when",
      tags: ["picking", "inventory"],
      params: idParam,
      async handler({ auth, params }) {
        return { shortages: await lotShortages(ctx.db, auth!.accountId!, params.id) };
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/pack/:ref",
      auth: "pick.work",
      summary:
        "Pack mode: an order by id, number or scanned barcode (its Code 128 carries the number), with the codes each line's scan may carry",
      tags: ["picking"],
      params: z.object({ ref: z.string().trim().min(1).max(100) }),
      async handler({ auth, params }) {
        const id = await findOrderId(ctx.db, auth!.accountId!, params.ref);
        if (id === null) throw notFound(`order ${params.ref}`);
        return packView(ctx.db, auth!.accountId!, id);
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/pack/:id/verified",
      auth: "pick.work",
      summary: "Every line of the order was confirmed in pack mode: recorded on its timeline",
      tags: ["picking"],
      status: 201,
      params: idParam,
      body: z
        .object({
          lines: z.number().int().min(1).max(100_000),
          scanned: z.number().int().min(0).max(100_000),
        })
        .strict()
        .refine((b) => b.scanned <= b.lines, {
          message: "scanned: at most as many as lines",
          path: ["scanned"],
        }),
      async handler({ auth, params, body }) {
        const view = await packView(ctx.db, auth!.accountId!, params.id);
        if (body.lines !== view.lines.length)
          throw badRequest(
            `lines: the order has ${view.lines.length} line${view.lines.length === 1 ? "" : "s"} to confirm, not ${body.lines}`,
          );
        await recordPackVerified(ctx.db, {
          accountId: auth!.accountId!,
          orderId: params.id,
          userId: auth!.userId,
          lines: body.lines,
          scanned: body.scanned,
          now: ctx.clock.now(),
        });
        return { recorded: true };
      },
    }),
  ];
}
