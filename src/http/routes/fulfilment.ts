import { and, desc, eq, inArray } from "drizzle-orm";
import { z } from "zod";
import type { AppContext } from "../../context.ts";
import { notFound } from "../../core/errors.ts";
import { orderIdsOrThrow } from "../../db/repos/orders.ts";
import { orders, outbox } from "../../db/schema.ts";
import {
  annotateOrder,
  setMarketplaceStatus,
  shipBatch,
  shipOrders,
  trackingFileEntries,
} from "../../fulfillment/shipments.ts";
import { parseTrackingCsv, trackingUrlProblem } from "../../fulfillment/tracking.ts";
import { type OutboxRow, requestDispatch, retryPushes } from "../../sync/outbox.ts";
import type { HttpDeps } from "../deps.ts";
import { defineRoute, idParam, type RouteDef } from "../route.ts";

const refs = z
  .array(z.union([z.number().int().positive(), z.string().trim().min(1).max(100)]))
  .min(1, "name at least one order")
  .max(1000);

/** Years 1 to 9999: what the database and ISO text both hold. */
const FIRST_DAY = Date.parse("0001-01-01T00:00:00.000Z");
const LAST_DAY = Date.parse("9999-12-31T23:59:59.999Z");
const isoDate = z
  .string()
  .refine((s) => !Number.isNaN(Date.parse(s)), "must be an ISO date such as 2026-11-22")
  .refine((s) => {
    const t = Date.parse(s);
    return Number.isNaN(t) || (t >= FIRST_DAY && t <= LAST_DAY);
  }, "must be a date between the years 1 and 9999")
  .transform((s) => new Date(s));

/** A push as the seller sees it on the order: what, where, and how it went. */
export function pushView(r: OutboxRow, number?: string) {
  const p = r.payload as {
    action?: string;
    marketplace?: string;
    steps?: unknown[];
    done?: number;
    delta?: number;
  };
  const action =
    p.action ?? (r.kind === "stock" ? `stock ${(p.delta ?? 0) > 0 ? "+" : ""}${p.delta ?? 0}` : null);
  return {
    id: r.id,
    orderId: r.orderId,
    ...(number ? { number } : {}),
    kind: r.kind,
    action,
    marketplace: p.marketplace ?? null,
    state: r.status === "sending" ? "pending" : r.status,
    steps: p.steps ?? [],
    stepsDone: p.done ?? 0,
    attempts: r.attempts,
    nextAttemptAt: r.status === "pending" || r.status === "sending" ? r.nextAttemptAt : null,
    lastError: r.lastError,
    createdAt: r.createdAt,
    sentAt: r.sentAt,
  };
}

const trackingUrlField = z
  .string()
  .trim()
  .max(500)
  .superRefine((v, c) => {
    const problem = trackingUrlProblem(v);
    if (problem) c.addIssue({ code: "custom", message: problem });
  });

/** What a batch of shipments shares: date, status, Drive Thru, and the go-ahead to replace tracking. */
const batchOptions = {
  shippedAt: isoDate.optional(),
  setStatus: z.boolean().optional(),
  driveThru: z.boolean().optional(),
  replaceTracking: z.boolean().optional(),
  dryRun: z.boolean().optional(),
};

function batchInput(
  auth: { accountId: number | null; userId: number | null },
  body: {
    shippedAt?: Date;
    setStatus?: boolean;
    driveThru?: boolean;
    replaceTracking?: boolean;
    dryRun?: boolean;
  },
) {
  return {
    accountId: auth.accountId!,
    userId: auth.userId,
    ...(body.shippedAt ? { shippedAt: body.shippedAt } : {}),
    ...(body.setStatus !== undefined ? { setStatus: body.setStatus } : {}),
    // The API's name for the shipments port's "drive_thru" extra.
    ...(body.driveThru !== undefined ? { extras: { drive_thru: body.driveThru } } : {}),
    replaceTracking: Boolean(body.replaceTracking),
    dryRun: Boolean(body.dryRun),
  };
}

export function fulfilmentRoutes(ctx: AppContext, deps: HttpDeps): RouteDef[] {
  return [
    defineRoute({
      method: "POST",
      url: "/api/fulfilment/ship",
      auth: "orders.ship",
      summary:
        "Mark orders shipped: tracking (number or http(s) URL), ship date, the marketplace's shipped status, optional Drive Thru; one parcel with combine; lines [{lineId, quantity}] for a partial shipment where the marketplace ships by line. dryRun shows what would be sent where",
      tags: ["fulfilment"],
      status: 202,
      body: z
        .object({
          orders: refs,
          carrier: z.string().trim().max(100).optional(),
          trackingNumber: z.string().trim().min(1).max(200).optional(),
          trackingUrl: z
            .string()
            .trim()
            .max(500)
            .superRefine((v, c) => {
              const problem = trackingUrlProblem(v);
              if (problem) c.addIssue({ code: "custom", message: problem });
            })
            .optional(),
          shippedAt: isoDate.optional(),
          setStatus: z.boolean().optional(),
          driveThru: z.boolean().optional(),
          combine: z.boolean().optional(),
          lines: z
            .array(
              z
                .object({
                  lineId: z.number().int().positive(),
                  quantity: z.number().int().min(1, "ship at least 1").max(1_000_000),
                })
                .strict(),
            )
            .min(1, "name at least one line, or leave lines out to ship the whole order")
            .max(1000)
            .optional(),
          replaceTracking: z.boolean().optional(),
          dryRun: z.boolean().optional(),
        })
        .strict(),
      async handler({ auth, body }) {
        const ids = await orderIdsOrThrow(ctx.db, auth!.accountId!, body.orders);
        const pushes = await shipOrders(ctx, deps.queue, {
          accountId: auth!.accountId!,
          userId: auth!.userId,
          orderIds: ids,
          carrier: body.carrier ?? null,
          trackingNumber: body.trackingNumber ?? null,
          trackingUrl: body.trackingUrl ?? null,
          ...(body.shippedAt ? { shippedAt: body.shippedAt } : {}),
          ...(body.setStatus !== undefined ? { setStatus: body.setStatus } : {}),
          // The API's name for the shipments port's "drive_thru" extra.
          ...(body.driveThru !== undefined ? { extras: { drive_thru: body.driveThru } } : {}),
          combine: Boolean(body.combine),
          lines: body.lines ?? null,
          replaceTracking: Boolean(body.replaceTracking),
          dryRun: Boolean(body.dryRun),
        });
        return { dryRun: Boolean(body.dryRun), pushes };
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/fulfilment/ship-batch",
      auth: "orders.ship",
      summary:
        "Mark orders shipped, each with its own tracking ({order, carrier?, trackingNumber?, trackingUrl?}), all or nothing; an order already shipped with other tracking needs replaceTracking. dryRun shows the plan",
      tags: ["fulfilment"],
      status: 202,
      body: z
        .object({
          shipments: z
            .array(
              z
                .object({
                  order: z.union([z.number().int().positive(), z.string().trim().min(1).max(100)]),
                  carrier: z.string().trim().max(100).optional(),
                  trackingNumber: z.string().trim().min(1).max(200).optional(),
                  trackingUrl: trackingUrlField.optional(),
                })
                .strict(),
            )
            .min(1, "name at least one order")
            .max(1000),
          ...batchOptions,
        })
        .strict(),
      async handler({ auth, body }) {
        const ids = await orderIdsOrThrow(
          ctx.db,
          auth!.accountId!,
          body.shipments.map((s) => s.order),
        );
        const pushes = await shipBatch(ctx, deps.queue, {
          ...batchInput(auth!, body),
          entries: body.shipments.map((s, i) => ({
            orderId: ids[i]!,
            carrier: s.carrier ?? null,
            trackingNumber: s.trackingNumber ?? null,
            trackingUrl: s.trackingUrl ?? null,
          })),
        });
        return { dryRun: Boolean(body.dryRun), pushes };
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/fulfilment/tracking-import",
      auth: "orders.ship",
      summary:
        "Tracking numbers from a CSV (order number, carrier, tracking; a header is optional): all or nothing, each bad line named. dryRun shows the plan",
      tags: ["fulfilment"],
      status: 202,
      body: z
        .object({ csv: z.string().min(1, "the file is empty").max(2_000_000), ...batchOptions })
        .strict(),
      async handler({ auth, body }) {
        const rows = parseTrackingCsv(body.csv);
        const entries = await trackingFileEntries(ctx.db, auth!.accountId!, rows);
        const pushes = await shipBatch(ctx, deps.queue, { ...batchInput(auth!, body), entries });
        return { dryRun: Boolean(body.dryRun), lines: rows.length, pushes };
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/fulfilment/status",
      auth: "orders.status",
      summary:
        "Set a marketplace status on orders (PACKED on BrickLink, Processing on BrickOwl); dryRun shows the plan",
      tags: ["fulfilment"],
      status: 202,
      body: z
        .object({ orders: refs, status: z.string().trim().min(1).max(50), dryRun: z.boolean().optional() })
        .strict(),
      async handler({ auth, body }) {
        const ids = await orderIdsOrThrow(ctx.db, auth!.accountId!, body.orders);
        const pushes = await setMarketplaceStatus(ctx, deps.queue, {
          accountId: auth!.accountId!,
          userId: auth!.userId,
          orderIds: ids,
          status: body.status,
          dryRun: Boolean(body.dryRun),
        });
        return { dryRun: Boolean(body.dryRun), pushes };
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/pushes",
      auth: "orders.read",
      summary: "Pushes to marketplaces (state pending, sent or failed), newest first",
      tags: ["fulfilment"],
      query: z.object({
        state: z.enum(["pending", "sent", "failed"]).optional(),
        limit: z.coerce.number().int().min(1).max(500).optional(),
      }),
      async handler({ auth, query }) {
        const states =
          query.state === "pending" ? (["pending", "sending"] as const) : query.state ? [query.state] : null;
        const rows = await ctx.db
          .select({ push: outbox, number: orders.number })
          .from(outbox)
          .leftJoin(orders, eq(orders.id, outbox.orderId))
          .where(
            and(
              eq(outbox.accountId, auth!.accountId!),
              states ? inArray(outbox.status, [...states]) : undefined,
            ),
          )
          .orderBy(desc(outbox.id))
          .limit(query.limit ?? 100);
        return { pushes: rows.map((r) => pushView(r.push, r.number ?? undefined)) };
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/pushes/:id/retry",
      auth: "pushes.retry",
      summary: "Send a failed push again",
      tags: ["fulfilment"],
      status: 202,
      params: idParam,
      async handler({ auth, params }) {
        const [row] = await retryPushes(ctx, auth!.accountId!, [params.id]);
        if (!row) throw notFound("failed push");
        await requestDispatch(deps.queue);
        return { push: pushView(row) };
      },
    }),
    defineRoute({
      method: "PATCH",
      url: "/api/orders/:ref",
      auth: "orders.annotate",
      summary: "The seller's internal note and tags on an order (never sent to the marketplace)",
      tags: ["orders"],
      params: z.object({ ref: z.string().min(1).max(100) }),
      body: z
        .object({
          internalNote: z.string().max(5000).nullable().optional(),
          tags: z.array(z.string().trim().min(1).max(50)).max(50).optional(),
          hold: z.boolean().optional(),
        })
        .strict()
        .refine(
          (b) => b.internalNote !== undefined || b.tags !== undefined || b.hold !== undefined,
          "give internalNote, tags or hold",
        ),
      async handler({ auth, params, body }) {
        const [id] = await orderIdsOrThrow(ctx.db, auth!.accountId!, [params.ref]);
        await annotateOrder(ctx, {
          accountId: auth!.accountId!,
          userId: auth!.userId,
          orderId: id!,
          ...(body.internalNote !== undefined ? { internalNote: body.internalNote } : {}),
          ...(body.tags !== undefined ? { tags: body.tags } : {}),
          ...(body.hold !== undefined ? { hold: body.hold } : {}),
        });
        const [o] = await ctx.db
          .select({
            internalNote: orders.internalNote,
            tags: orders.tags,
            onHold: orders.onHold,
            holdReason: orders.holdReason,
          })
          .from(orders)
          .where(eq(orders.id, id!));
        return { order: { id, ...o } };
      },
    }),
  ];
}
