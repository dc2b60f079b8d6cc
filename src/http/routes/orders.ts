import { z } from "zod";
import type { AppContext } from "../../context.ts";
import { notFound } from "../../core/errors.ts";
import { ORDER_STATUSES } from "../../core/status.ts";
import { findOrderId, getOrderDetail, listOrders, ORDER_SORTS } from "../../db/repos/orders.ts";
import { shipmentsForOrders } from "../../fulfillment/lines.ts";
import { requestSync } from "../../sync/engine.ts";
import { pushesForOrders } from "../../sync/outbox.ts";
import type { HttpDeps } from "../deps.ts";
import { defineRoute, type RouteDef } from "../route.ts";
import { orderDetailView, orderRowView } from "../views.ts";
import { pushView } from "./fulfilment.ts";

// biome-ignore lint/suspicious/noExplicitAny: any element schema that reads a string
const csv = <T extends z.ZodType<any, any>>(item: T) =>
  z
    .string()
    .transform((s) =>
      s
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item));

/** Years 1 to 9999: what the database and ISO text both hold. */
const FIRST_DAY = Date.parse("0001-01-01T00:00:00.000Z");
const LAST_DAY = Date.parse("9999-12-31T23:59:59.999Z");
const isoDate = z
  .string()
  .refine((s) => !Number.isNaN(Date.parse(s)), "must be an ISO date such as 2026-01-31")
  .refine((s) => {
    const t = Date.parse(s);
    return Number.isNaN(t) || (t >= FIRST_DAY && t <= LAST_DAY);
  }, "must be a date between the years 1 and 9999")
  .transform((s) => new Date(s));

export const orderQuerySchema = z.object({
  marketplace: csv(z.string().regex(/^[a-z]+$/, "must be marketplace ids such as bricklink")).optional(),
  status: csv(z.enum(ORDER_STATUSES)).optional(),
  connectionId: z.coerce.number().int().positive().optional(),
  from: isoDate.optional(),
  to: isoDate.optional(),
  buyer: z.string().max(100).optional(),
  q: z.string().max(100).optional(),
  ids: csv(z.coerce.number().int().positive()).optional(),
  sort: z.enum(ORDER_SORTS).optional(),
  dir: z.enum(["asc", "desc"]).optional(),
  page: z.coerce.number().int().min(1).max(1_000_000).optional(),
  pageSize: z.coerce.number().int().min(1).max(500).optional(),
});

const refParam = z.object({ ref: z.string().min(1).max(100) });

export function orderRoutes(ctx: AppContext, deps: HttpDeps): RouteDef[] {
  async function resolve(accountId: number, ref: string) {
    const id = await findOrderId(ctx.db, accountId, ref);
    if (id === null) throw notFound(`order ${ref}`);
    return id;
  }
  return [
    defineRoute({
      method: "GET",
      url: "/api/orders",
      auth: "user",
      summary: "The orders table: filter, search, sort and page on the server",
      tags: ["orders"],
      query: orderQuerySchema,
      async handler({ auth, query }) {
        const res = await listOrders(ctx.db, auth!.accountId!, query);
        return {
          orders: res.rows.map(orderRowView),
          total: res.total,
          page: res.page,
          pageSize: res.pageSize,
        };
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/orders/:ref",
      auth: "user",
      summary: "One order by id or number (BL-12345678): lines, totals, address, timeline",
      tags: ["orders"],
      params: refParam,
      query: z.object({ raw: z.enum(["0", "1"]).optional() }),
      async handler({ auth, params, query }) {
        const id = await resolve(auth!.accountId!, params.ref);
        const d = await getOrderDetail(ctx.db, auth!.accountId!, id);
        if (!d) throw notFound(`order ${params.ref}`);
        const pushes = await pushesForOrders(ctx, auth!.accountId!, [id]);
        const shipments = await shipmentsForOrders(ctx.db, auth!.accountId!, [id]);
        return {
          order: {
            ...orderDetailView(d.order, d.lines, d.events, query.raw === "1"),
            pushes: pushes.map((p) => pushView(p)),
            shipments,
          },
        };
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/orders/:ref/refresh",
      auth: ["owner", "staff"],
      summary: "Fetch one order again from its marketplace",
      tags: ["orders"],
      status: 202,
      params: refParam,
      async handler({ auth, params }) {
        const id = await resolve(auth!.accountId!, params.ref);
        const d = await getOrderDetail(ctx.db, auth!.accountId!, id);
        return requestSync(ctx, deps.queue, {
          accountId: auth!.accountId!,
          connectionId: d!.order.connectionId,
          trigger: "refresh",
          targetIds: [d!.order.externalId],
        });
      },
    }),
  ];
}
