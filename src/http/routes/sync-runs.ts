import { z } from "zod";
import type { AppContext } from "../../context.ts";
import { notFound } from "../../core/errors.ts";
import { getSyncRun, listSyncRuns } from "../../db/repos/sync-runs.ts";
import { cancelSync, retryFailed } from "../../sync/engine.ts";
import type { HttpDeps } from "../deps.ts";
import { defineRoute, idParam, type RouteDef } from "../route.ts";
import { runView } from "../views.ts";

export function syncRunRoutes(ctx: AppContext, deps: HttpDeps): RouteDef[] {
  return [
    defineRoute({
      method: "GET",
      url: "/api/sync-runs",
      auth: "sync.read",
      summary: "The sync log: every run with its trigger, counters, API calls and errors",
      tags: ["sync"],
      query: z.object({
        connectionId: z.coerce.number().int().positive().optional(),
        limit: z.coerce.number().int().min(1).max(500).optional(),
      }),
      async handler({ auth, query }) {
        const runs = await listSyncRuns(ctx.db, auth!.accountId!, query);
        return { runs: runs.map(runView) };
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/sync-runs/:id",
      auth: "sync.read",
      summary: "One sync run",
      tags: ["sync"],
      params: idParam,
      async handler({ auth, params }) {
        const run = await getSyncRun(ctx.db, auth!.accountId!, params.id);
        if (!run) throw notFound("sync run");
        return { run: runView(run) };
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/sync-runs/:id/cancel",
      auth: "sync.run",
      summary: "Cancel a queued or running sync",
      tags: ["sync"],
      params: idParam,
      async handler({ auth, params }) {
        const run = await cancelSync(ctx, auth!.accountId!, params.id);
        if (!run) throw notFound("sync run");
        return { run: runView(run) };
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/sync-runs/:id/retry-failed",
      auth: "sync.run",
      summary: "Fetch again just the orders that failed in this run",
      tags: ["sync"],
      status: 202,
      params: idParam,
      async handler({ auth, params }) {
        const res = await retryFailed(ctx, deps.queue, auth!.accountId!, params.id);
        if (!res) throw notFound("sync run");
        return res;
      },
    }),
  ];
}
