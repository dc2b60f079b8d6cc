import { and, eq } from "drizzle-orm";
import { z } from "zod";
import type { AppContext } from "../../context.ts";
import { AppError } from "../../core/errors.ts";
import { inventoryLots } from "../../db/schema.ts";
import {
  exportCsv,
  exportXml,
  importFile,
  MAX_LOT_QUANTITY,
  parseLotCsv,
  parseXml,
} from "../../inventory/files.ts";
import { adjustLot, findLot, getLot, importInventory, listLots } from "../../inventory/lots.ts";
import { reconcile } from "../../inventory/reconcile.ts";
import { unmatchedLines } from "../../inventory/stock.ts";
import type { HttpDeps } from "../deps.ts";
import { defineRoute, type RouteDef } from "../route.ts";

const lotRef = z.object({ ref: z.string().trim().min(1).max(100) });

/** Lots with BrickLink as the truth: import, look, adjust. Pushes show under /api/pushes. */
export function inventoryRoutes(ctx: AppContext, deps: HttpDeps): RouteDef[] {
  return [
    defineRoute({
      method: "POST",
      url: "/api/inventory/import",
      auth: ["owner"],
      summary:
        "Import the BrickLink store inventory as lots (stock rooms included), or link a BrickOwl store's lots to them",
      tags: ["inventory"],
      body: z.object({ connectionId: z.number().int().positive() }).strict(),
      async handler({ auth, body }) {
        return { import: await importInventory(ctx, auth!.accountId!, body.connectionId) };
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/inventory/lots",
      auth: "user",
      summary: "Lots by location and item; search by item number, name or location",
      tags: ["inventory"],
      query: z.object({
        search: z.string().max(100).optional(),
        limit: z.coerce.number().int().min(1).max(500).optional(),
        offset: z.coerce.number().int().min(0).max(10_000_000).optional(),
      }),
      async handler({ auth, query }) {
        return listLots(ctx, auth!.accountId!, query);
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/inventory/lots/:ref",
      auth: "user",
      summary: "One lot (id or bricklink:<inventory id>) with its listings, its ledger and its pushes",
      tags: ["inventory"],
      params: lotRef,
      async handler({ auth, params }) {
        return getLot(ctx, auth!.accountId!, await findLot(ctx, auth!.accountId!, params.ref));
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/inventory/lots/:ref/adjust",
      auth: ["owner", "staff"],
      summary:
        "Change a lot's quantity by a signed amount: a ledger row, and the change pushed to every marketplace",
      tags: ["inventory"],
      params: lotRef,
      body: z
        .object({
          by: z
            .number()
            .int()
            .min(-MAX_LOT_QUANTITY)
            .max(MAX_LOT_QUANTITY)
            .refine((n) => n !== 0, "must not be 0"),
          reason: z.string().trim().max(200).optional(),
        })
        .strict(),
      async handler({ auth, params, body }) {
        const lotId = await findLot(ctx, auth!.accountId!, params.ref);
        const [lot] = await ctx.db
          .select({ quantity: inventoryLots.quantity })
          .from(inventoryLots)
          .where(and(eq(inventoryLots.accountId, auth!.accountId!), eq(inventoryLots.id, lotId)));
        if (lot && lot.quantity + body.by > MAX_LOT_QUANTITY)
          throw new AppError(
            409,
            "conflict",
            `by: lot ${lotId} holds ${lot.quantity}: it cannot hold more than ${MAX_LOT_QUANTITY}`,
          );
        return adjustLot(ctx, deps.queue, {
          accountId: auth!.accountId!,
          userId: auth!.userId,
          lotId,
          by: body.by,
          reason: body.reason ?? "adjusted",
        });
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/inventory/reconcile",
      auth: ["owner"],
      summary:
        "Sync orders, then compare with BrickLink's inventory: BrickLink's quantities win where nothing explains a difference; lots on one side only are proposed, and created or deleted only with approve",
      tags: ["inventory"],
      body: z.object({ connectionId: z.number().int().positive(), approve: z.boolean().optional() }).strict(),
      async handler({ auth, body }) {
        return {
          reconcile: await reconcile(ctx, deps.queue, {
            accountId: auth!.accountId!,
            connectionId: body.connectionId,
            approve: Boolean(body.approve),
            userId: auth!.userId,
          }),
        };
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/inventory/export",
      auth: "user",
      summary: "All lots as BrickLink mass-upload XML or as CSV",
      tags: ["inventory"],
      query: z.object({ format: z.enum(["xml", "csv"]) }),
      raw: true,
      async handler({ auth, query }, reply) {
        const body =
          query.format === "xml"
            ? await exportXml(ctx, auth!.accountId!)
            : await exportCsv(ctx, auth!.accountId!);
        const name = `orderhub-inventory-${ctx.clock.now().toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-")}.${query.format}`;
        return reply
          .header(
            "content-type",
            query.format === "xml" ? "application/xml; charset=utf-8" : "text/csv; charset=utf-8",
          )
          .header("content-disposition", `attachment; filename="${name}"`)
          .send(body);
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/inventory/import-file",
      auth: ["owner"],
      bodyLimit: 25 * 1024 * 1024,
      summary:
        "Add lots from BrickLink mass-upload XML or CSV (same item, colour, condition and location adds to the lot); a bad line rejects the whole file",
      tags: ["inventory"],
      body: z
        .object({
          format: z.enum(["xml", "csv"]),
          content: z.string().min(1).max(20_000_000),
          name: z.string().max(200).optional(),
        })
        .strict(),
      async handler({ auth, body }) {
        const lots = body.format === "xml" ? parseXml(body.content) : parseLotCsv(body.content);
        return {
          import: await importFile(ctx, {
            accountId: auth!.accountId!,
            userId: auth!.userId,
            lots,
            name: body.name ?? `a ${body.format.toUpperCase()} file`,
          }),
        };
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/inventory/unmatched",
      auth: "user",
      summary: "Lines of open orders that match no lot (to link or fix by hand)",
      tags: ["inventory"],
      async handler({ auth }) {
        return { lines: await unmatchedLines(ctx.db, auth!.accountId!) };
      },
    }),
  ];
}
