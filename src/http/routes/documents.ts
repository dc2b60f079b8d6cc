import { eq } from "drizzle-orm";
import { z } from "zod";
import type { AppContext } from "../../context.ts";
import { badRequest, conflict, notFound } from "../../core/errors.ts";
import { getAccount } from "../../db/repos/accounts.ts";
import { orderIdsOrThrow, withTimeZone } from "../../db/repos/orders.ts";
import { accounts } from "../../db/schema.ts";
import {
  DOCUMENT_KINDS,
  documentLanguageSchema,
  documentOptionsSchema,
  documentSettingsOf,
  documentSettingsSchema,
  optionsProblem,
  renderDocument,
} from "../../documents/index.ts";
import { idsForFilter, loadDocumentOrders, MAX_DOCUMENT_ORDERS } from "../../documents/load.ts";
import type { Sender } from "../../documents/model.ts";
import { ordersWithoutDetails, withoutDetailsMessage } from "../../sync/summaries.ts";
import type { HttpDeps } from "../deps.ts";
import { defineRoute, type RouteDef } from "../route.ts";
import { orderQuerySchema } from "./orders.ts";

// Strict: a misspelt filter field must not quietly widen the selection to every order.
const filterSchema = orderQuerySchema
  .omit({ page: true, pageSize: true, sort: true, dir: true, ids: true })
  .strict();

const documentBody = z
  .object({
    kind: z.enum(DOCUMENT_KINDS),
    /** Order ids or order numbers (BL-…, BO-…), in the order wanted. */
    orders: z
      .array(z.union([z.number().int().positive(), z.string().trim().min(1).max(100)]))
      .max(MAX_DOCUMENT_ORDERS)
      .optional(),
    filter: filterSchema.optional(),
    options: documentOptionsSchema.optional(),
    /** This print's language (en, de, fr), over the account's document language. */
    language: documentLanguageSchema.optional(),
  })
  .strict();

/** Shipping labels, pick sheets, packing slips and CSV for selected orders or a filter. */
export function documentRoutes(ctx: AppContext, _deps: HttpDeps): RouteDef[] {
  async function resolveRefs(accountId: number, refs: (number | string)[]): Promise<number[]> {
    return orderIdsOrThrow(ctx.db, accountId, refs);
  }

  return [
    defineRoute({
      method: "POST",
      url: "/api/documents",
      auth: "documents.print",
      summary:
        "A document for selected orders or a filter: labels, pick-sheet, packing-slips (PDF), csv-orders, csv-lines (CSV); answers the file",
      tags: ["documents"],
      body: documentBody,
      raw: true,
      async handler({ auth, body }, reply) {
        const accountId = auth!.accountId!;
        if (body.orders && body.filter) throw badRequest("give either orders or filter, not both");
        let ids: number[];
        if (body.orders?.length === 0) throw badRequest("no orders selected: orders is an empty list");
        if (body.orders) ids = await resolveRefs(accountId, body.orders);
        else if (body.filter)
          ids = await idsForFilter(ctx.db, accountId, await withTimeZone(ctx.db, accountId, body.filter));
        else throw badRequest("no orders selected: send orders (ids or numbers) or a filter");
        if (ids.length === 0)
          throw badRequest("no orders selected: the selection or filter matches no orders");
        if (ids.length > MAX_DOCUMENT_ORDERS)
          throw badRequest(
            `too many orders: documents take at most ${MAX_DOCUMENT_ORDERS} at once; narrow the filter`,
          );
        // A summary row (listed, details not fetched yet) would print as an empty order.
        if (body.kind !== "csv-orders") {
          const waiting = await ordersWithoutDetails(ctx.db, accountId, ids);
          const why = withoutDetailsMessage(waiting);
          if (why) throw conflict(`cannot make ${body.kind} yet: ${why}`, { orders: waiting });
        }
        const account = await getAccount(ctx.db, accountId);
        if (!account) throw notFound("account");
        const settings = documentSettingsOf(account.settings);
        const problem = optionsProblem(body.options ?? {}, settings);
        if (problem) throw badRequest(problem);
        const sender: Sender = {
          storeName: settings.storeName ?? account.name,
          returnAddress: settings.returnAddress ?? null,
          email: settings.email ?? null,
        };
        const list = await loadDocumentOrders(ctx.db, accountId, ids);
        const doc = await renderDocument(
          body.kind,
          list,
          { sender, settings, timeZone: account.timezone, now: ctx.clock.now(), language: body.language },
          body.options ?? {},
        );
        return reply
          .status(200)
          .header("content-type", doc.contentType)
          .header("content-disposition", `attachment; filename="${doc.fileName}"`)
          .header("x-order-count", String(list.length))
          .send(doc.body);
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/settings/documents",
      auth: "settings.read",
      summary:
        "What documents print as the sender: store name, return address, e-mail, language, default paper and label layout",
      tags: ["documents"],
      async handler({ auth }) {
        const account = await getAccount(ctx.db, auth!.accountId!);
        if (!account) throw notFound("account");
        return { documents: documentSettingsOf(account.settings), timezone: account.timezone };
      },
    }),
    defineRoute({
      method: "PUT",
      url: "/api/settings/documents",
      auth: "settings.manage",
      summary: "Set what documents print as the sender",
      tags: ["documents"],
      body: documentSettingsSchema,
      async handler({ auth, body }) {
        const account = await getAccount(ctx.db, auth!.accountId!);
        if (!account) throw notFound("account");
        const settings = { ...((account.settings as Record<string, unknown>) ?? {}), documents: body };
        await ctx.db.update(accounts).set({ settings }).where(eq(accounts.id, account.id));
        return { documents: body };
      },
    }),
  ];
}
