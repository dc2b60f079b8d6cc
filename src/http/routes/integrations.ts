import { and, eq, isNull } from "drizzle-orm";
import { z } from "zod";
import type { AppContext } from "../../context.ts";
import { notFound } from "../../core/errors.ts";
import { activeRun, listSyncRuns } from "../../db/repos/sync-runs.ts";
import { connections } from "../../db/schema.ts";
import { getAdapter, hasAdapter } from "../../marketplaces/registry.ts";
import { budgetStatus } from "../../sync/budget.ts";
import { requestSync } from "../../sync/engine.ts";
import type { HttpDeps } from "../deps.ts";
import { defineRoute, type RouteDef } from "../route.ts";
import { runView } from "../views.ts";

const marketplaceParam = z.object({
  marketplace: z.string().regex(/^[a-z]+$/, "must be a marketplace id such as bricklink"),
});

/** Per-marketplace endpoints (seed 002): sync and status of every store of one marketplace. */
export function integrationRoutes(ctx: AppContext, deps: HttpDeps): RouteDef[] {
  async function connectionsOf(accountId: number, marketplace: string) {
    if (!hasAdapter(marketplace)) throw notFound(`marketplace ${marketplace}`);
    return ctx.db
      .select()
      .from(connections)
      .where(
        and(
          eq(connections.accountId, accountId),
          eq(connections.marketplace, marketplace),
          isNull(connections.disabledAt),
        ),
      );
  }
  return [
    defineRoute({
      method: "POST",
      url: "/api/integrations/:marketplace/sync",
      auth: "sync.run",
      summary: "Sync every store of this marketplace now",
      tags: ["sync"],
      status: 202,
      params: marketplaceParam,
      body: z
        .object({ mode: z.enum(["incremental", "full"]).optional(), includeArchived: z.boolean().optional() })
        .optional()
        .default({}),
      async handler({ auth, params, body }) {
        const list = await connectionsOf(auth!.accountId!, params.marketplace);
        const runs = [];
        for (const c of list) {
          runs.push({
            connectionId: c.id,
            ...(await requestSync(ctx, deps.queue, {
              accountId: auth!.accountId!,
              connectionId: c.id,
              trigger: "manual",
              mode: body.mode ?? "incremental",
              includeArchived: body.includeArchived ?? false,
            })),
          });
        }
        return { runs };
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/integrations/:marketplace/status",
      auth: "sync.read",
      summary: "Sync status of every store of this marketplace: last and active run, next run, API budget",
      tags: ["sync"],
      params: marketplaceParam,
      async handler({ auth, params }) {
        const list = await connectionsOf(auth!.accountId!, params.marketplace);
        const manifest = getAdapter(params.marketplace).manifest;
        return {
          marketplace: params.marketplace,
          connections: await Promise.all(
            list.map(async (c) => {
              const [last] = await listSyncRuns(ctx.db, auth!.accountId!, { connectionId: c.id, limit: 1 });
              const active = await activeRun(ctx.db, c.id);
              return {
                connectionId: c.id,
                name: c.name,
                lastSyncAt: c.lastSyncAt,
                lastSyncState: c.lastSyncState,
                lastError: c.lastError,
                nextSyncAt: c.nextSyncAt,
                activeRun: active ? runView(active) : null,
                lastRun: last ? runView(last) : null,
                budget: await budgetStatus(ctx, c, manifest),
              };
            }),
          ),
        };
      },
    }),
  ];
}
