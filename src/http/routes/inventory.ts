import { and, eq } from "drizzle-orm";
import { z } from "zod";
import type { AppContext } from "../../context.ts";
import { AppError } from "../../core/errors.ts";
import { inventoryLots } from "../../db/schema.ts";
import { MAX_IMPORT_FILE_CHARS } from "../../inventory/file-check.ts";
import { exportCsv, exportXml, MAX_LOT_QUANTITY } from "../../inventory/files.ts";
import {
  cancelImportJob,
  getImportJob,
  IMPORT_JOB,
  importJobView,
  listImportJobs,
  startFileImport,
} from "../../inventory/import-job.ts";
import { adjustLot, findLot, getLot, importInventory, listLots } from "../../inventory/lots.ts";
import { reconcile } from "../../inventory/reconcile.ts";
import { unmatchedLines } from "../../inventory/stock.ts";
import type { HttpDeps } from "../deps.ts";
import { defineRoute, idParam, type RouteDef } from "../route.ts";

const lotRef = z.object({ ref: z.string().trim().min(1).max(100) });

/** Lots with BrickLink as the truth: import, look, adjust. Pushes show under /api/pushes. */
export function inventoryRoutes(ctx: AppContext, deps: HttpDeps): RouteDef[] {
  return [
    defineRoute({
      method: "POST",
      url: "/api/inventory/import",
      auth: "inventory.manage",
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
      auth: "inventory.read",
      summary: "Lots by location and item; search by item number, name or location",
      tags: ["inventory"],
      query: z.object({
        search: z.string().max(100).optional(),
        /** Only lots the last reconcile could not explain (each with its reason). */
        flagged: z.enum(["true", "false"]).optional(),
        limit: z.coerce.number().int().min(1).max(500).optional(),
        offset: z.coerce.number().int().min(0).max(10_000_000).optional(),
      }),
      async handler({ auth, query }) {
        return listLots(ctx, auth!.accountId!, { ...query, flagged: query.flagged === "true" });
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/inventory/lots/:ref",
      auth: "inventory.read",
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
      auth: "inventory.adjust",
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
      auth: "inventory.manage",
      summary:
        "Sync the orders of every linked store, then compare with BrickLink's inventory: BrickLink's quantities win where nothing on its way explains a difference, every linked marketplace is brought to them, lots nothing explains are flagged (nothing sent); lots on one side only are proposed, and created, deleted or flagged lots set only with approve",
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
      auth: "inventory.read",
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
      auth: "inventory.manage",
      // The JSON form of a 25 MB file: escaped quotes and line breaks take room of their own.
      bodyLimit: 2 * MAX_IMPORT_FILE_CHARS,
      status: 202,
      summary:
        "Add lots from BrickLink mass-upload XML or CSV (same item, colour, condition and location adds to the lot): the whole file is checked first (a bad line is refused, named, and nothing is written), then written by a background job to follow at /api/inventory/import-jobs/:id",
      tags: ["inventory"],
      body: z
        .object({
          format: z.enum(["xml", "csv"]),
          content: z
            .string()
            .min(1)
            .max(MAX_IMPORT_FILE_CHARS, `the file is larger than ${MAX_IMPORT_FILE_CHARS / 1024 / 1024} MB`),
          name: z.string().max(200).optional(),
        })
        .strict(),
      async handler({ auth, body }) {
        const job = await startFileImport(ctx, deps.queue, {
          accountId: auth!.accountId!,
          userId: auth!.userId,
          format: body.format,
          content: body.content,
          name: body.name ?? `a ${body.format.toUpperCase()} file`,
        });
        return { job: importJobView(job) };
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/inventory/import-jobs",
      auth: "inventory.manage",
      summary: "The latest file imports with their progress",
      tags: ["inventory"],
      async handler({ auth }) {
        return { jobs: (await listImportJobs(ctx.db, auth!.accountId!)).map(importJobView) };
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/inventory/import-jobs/:id",
      auth: "inventory.manage",
      summary:
        "One file import: state (queued, running, undoing, completed, failed, cancelled), lines done of total",
      tags: ["inventory"],
      params: idParam,
      async handler({ auth, params }) {
        return { job: importJobView(await getImportJob(ctx.db, auth!.accountId!, params.id)) };
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/inventory/import-jobs/:id/cancel",
      auth: "inventory.manage",
      summary: "Stop a file import: what it already wrote is taken back",
      tags: ["inventory"],
      params: idParam,
      async handler({ auth, params }) {
        const job = await cancelImportJob(ctx, auth!.accountId!, params.id);
        deps.queue.nudge(IMPORT_JOB);
        return { job: importJobView(job) };
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/inventory/unmatched",
      auth: "inventory.read",
      summary: "Lines of open orders that match no lot (to link or fix by hand)",
      tags: ["inventory"],
      async handler({ auth }) {
        return { lines: await unmatchedLines(ctx.db, auth!.accountId!) };
      },
    }),
  ];
}
