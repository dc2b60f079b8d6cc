import { z } from "zod";
import type { AppContext } from "../../context.ts";
import { notFound } from "../../core/errors.ts";
import { ORDER_STATUSES } from "../../core/status.ts";
import { getAccount } from "../../db/repos/accounts.ts";
import { lotsByIds } from "../../db/repos/order-lots.ts";
import { clearOrderReview } from "../../db/repos/order-review.ts";
import { findOrderId, getOrderDetail, listOrders, ORDER_SORTS, withTimeZone } from "../../db/repos/orders.ts";
import { documentSettingsOf } from "../../documents/index.ts";
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
/** A calendar day (`2026-12-01`) is a day in the account's time zone; anything else is an instant. */
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const realDay = z.string().refine((s) => {
  const [y, m, d] = s.split("-").map(Number) as [number, number, number];
  const t = new Date(Date.UTC(y, m - 1, d));
  return y >= 1000 && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}, "must be a real day between the years 1000 and 9999, such as 2026-12-01");
const dayOrInstant = z.string().pipe(
  z.custom<string>().transform((s, c): string | Date => {
    const r = (DAY.test(s) ? realDay : isoDate).safeParse(s);
    if (r.success) return r.data;
    for (const issue of r.error.issues) c.addIssue({ code: "custom", message: issue.message });
    return z.NEVER;
  }),
);

export const orderQuerySchema = z.object({
  marketplace: csv(z.string().regex(/^[a-z]+$/, "must be marketplace ids such as bricklink")).optional(),
  status: csv(z.enum(ORDER_STATUSES)).optional(),
  connectionId: z.coerce.number().int().positive().optional(),
  from: dayOrInstant.optional(),
  to: dayOrInstant.optional(),
  buyer: z.string().max(100).optional(),
  q: z.string().max(100).optional(),
  ids: csv(z.coerce.number().int().positive()).optional(),
  needsReview: z
    .enum(["true", "false"], { message: "must be true or false" })
    .transform((v) => v === "true")
    .optional(),
  onHold: z
    .enum(["true", "false"], { message: "must be true or false" })
    .transform((v) => v === "true")
    .optional(),
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
      auth: "orders.read",
      summary: "The orders table: filter, search, sort and page on the server",
      tags: ["orders"],
      query: orderQuerySchema,
      async handler({ auth, query }) {
        const res = await listOrders(
          ctx.db,
          auth!.accountId!,
          await withTimeZone(ctx.db, auth!.accountId!, query),
        );
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
      auth: "orders.read",
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
        const lots = await lotsByIds(
          ctx.db,
          auth!.accountId!,
          d.lines.map((l) => l.lotId),
        );
        const account = await getAccount(ctx.db, auth!.accountId!);
        const fromCountry = documentSettingsOf(account?.settings).returnAddress?.countryCode ?? null;
        return {
          order: {
            ...orderDetailView(d.order, d.lines, d.events, query.raw === "1", { lots, fromCountry }),
            pushes: pushes.map((p) => pushView(p)),
            shipments,
          },
        };
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/orders/:ref/refresh",
      auth: "orders.refresh",
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
    defineRoute({
      method: "POST",
      url: "/api/orders/:ref/review/clear",
      auth: "orders.status",
      summary:
        "Clear an order's review flag: Orderhub's status stays, the marketplace's claim stays on the timeline",
      tags: ["orders"],
      params: refParam,
      async handler({ auth, params }) {
        const id = await resolve(auth!.accountId!, params.ref);
        const res = await clearOrderReview(ctx.db, {
          accountId: auth!.accountId!,
          orderId: id,
          userId: auth!.userId,
          at: ctx.clock.now(),
        });
        if (!res) throw notFound(`order ${params.ref}`);
        if (res.cleared)
          await ctx.events.publish(auth!.accountId!, {
            type: "order.updated",
            orderId: res.orderId,
            number: res.number,
            marketplace: res.marketplace,
            status: res.status,
          });
        return { orderId: res.orderId, cleared: res.cleared, needsReview: false };
      },
    }),
  ];
}
