import { and, count, eq } from "drizzle-orm";
import { z } from "zod";
import type { AppContext } from "../../context.ts";
import { AppError, badRequest, conflict, isMarketplaceError, notFound } from "../../core/errors.ts";
import {
  type ConnectionRow,
  connectionSecrets,
  getConnection,
  insertConnection,
  listConnections,
  publicConnection,
  updateConnection,
} from "../../db/repos/connections.ts";
import { credentialsStatus, deleteCredentials } from "../../db/repos/credentials.ts";
import { activeRun } from "../../db/repos/sync-runs.ts";
import { audit } from "../../db/repos/users.ts";
import { connections, orders } from "../../db/schema.ts";
import { getAdapter, hasAdapter, listManifests } from "../../marketplaces/registry.ts";
import type { MarketplaceManifest } from "../../marketplaces/types.ts";
import { budgetStatus } from "../../sync/budget.ts";
import { requestSync } from "../../sync/engine.ts";
import { nextRunAt, ScheduleError, scheduleSchema, validateSchedule } from "../../sync/scheduler.ts";
import { openAdapter } from "../../sync/session.ts";
import { detailsBacklog, syncEstimate } from "../../sync/summaries.ts";
import type { HttpDeps } from "../deps.ts";
import { roleMay } from "../permissions.ts";
import { type Auth, defineRoute, idParam, type RouteDef } from "../route.ts";
import { checkMarketplaceUrl } from "../url-guard.ts";
import { runView } from "../views.ts";
import { consentView } from "./oauth.ts";

const configValues = z.record(z.string(), z.string().max(2000));

/** Splits submitted settings into plain config and secrets per the manifest, naming any bad key. */
export function splitConfig(manifest: MarketplaceManifest, input: Record<string, string>, partial: boolean) {
  const config: Record<string, string> = {};
  const secrets: Record<string, string> = {};
  const known = new Map(manifest.config.map((f) => [f.key, f]));
  for (const [k, v] of Object.entries(input)) {
    const f = known.get(k);
    if (!f)
      throw badRequest(`config.${k}: ${manifest.displayName} has no setting "${k}"`, {
        field: `config.${k}`,
      });
    if (f.kind === "integer" && !/^\d+$/.test(v))
      throw badRequest(`config.${k}: must be a whole number`, { field: `config.${k}` });
    if (f.kind === "url" && !/^https?:\/\//.test(v))
      throw badRequest(`config.${k}: must be an http(s) URL`, { field: `config.${k}` });
    (f.secret ? secrets : config)[k] = v;
  }
  if (!partial) {
    for (const f of manifest.config) {
      if (f.required && !(f.key in input)) {
        throw badRequest(`config.${f.key}: ${f.label} is required`, { field: `config.${f.key}` });
      }
      if (!(f.key in input) && f.default !== undefined && !f.secret) config[f.key] = f.default;
    }
  }
  return { config, secrets };
}

/** Settings that say where calls go (a token URL): declared as URLs, or named like one. */
const isUrlField = (f: MarketplaceManifest["config"][number]) => f.kind === "url" || /url$/i.test(f.key);

/** Messages a marketplace offers when an order ships (Drive Thru), by id and label. */
function shipmentExtrasOf(id: string): { id: string; label: string; settingKey: string }[] {
  const port = getAdapter(id).shipments;
  return port.granularity === "none"
    ? []
    : port.extras.map((e) => ({ id: e.id, label: e.label, settingKey: e.settingKey }));
}

function parseSchedule(input: unknown) {
  try {
    return validateSchedule(input);
  } catch (err) {
    if (err instanceof ScheduleError) throw badRequest(`schedule: ${err.message}`, { field: "schedule" });
    throw err;
  }
}

export function connectionRoutes(ctx: AppContext, deps: HttpDeps): RouteDef[] {
  const webhookUrl = (c: ConnectionRow) =>
    `${ctx.settings.publicUrl ?? `http://${ctx.settings.host}:${ctx.settings.port}`}/webhooks/${c.marketplace}/${c.webhookToken}`;

  /** Webhook URLs carry the webhook token: only owners see them. */
  async function view(c: ConnectionRow, viewer: Auth | null) {
    const manifest = getAdapter(c.marketplace).manifest;
    const secretKeys = Object.keys(connectionSecrets(ctx.box, c));
    const [n] = await ctx.db
      .select({ n: count() })
      .from(orders)
      .where(and(eq(orders.accountId, c.accountId), eq(orders.connectionId, c.id)));
    const run = await activeRun(ctx.db, c.id);
    return {
      ...publicConnection(c, secretKeys),
      displayName: manifest.displayName,
      orderCount: n?.n ?? 0,
      activeRun: run ? runView(run) : null,
      // Marketplaces that call a URL of ours; one with a listener of its own (a fixed port) has none.
      ...(manifest.capabilities.webhooks !== "none" &&
      !manifest.noticeListener &&
      viewer &&
      roleMay("connections.manage", viewer.role)
        ? { webhookUrl: webhookUrl(c) }
        : {}),
      budget: await budgetStatus(ctx, c, manifest),
      // Orders listed whose details (lines, address) still wait, and when they will be in.
      details: await detailsBacklog(ctx, c, getAdapter(c.marketplace)),
      ...(manifest.auth.kind === "oauth2" ? { credentials: await credentialsStatus(ctx.db, c.id) } : {}),
    };
  }

  /**
   * Where credentials will be sent (base URL, URL settings such as a token URL) must be HTTPS and
   * public; private and loopback targets only with ORDERHUB_ALLOW_PRIVATE_MARKETPLACE_URLS or from
   * the local operator (the CLI on this machine, e.g. against a simulator).
   */
  async function checkTargets(
    auth: Auth,
    manifest: MarketplaceManifest,
    v: { baseUrl: string | undefined; config: Record<string, string> },
  ) {
    const policy = { allowPrivate: ctx.settings.allowPrivateMarketplaceUrls || auth.via === "operator" };
    if (v.baseUrl !== undefined && v.baseUrl !== manifest.defaultBaseUrl)
      await checkMarketplaceUrl("baseUrl", v.baseUrl, policy);
    for (const f of manifest.config) {
      const value = v.config[f.key];
      if (isUrlField(f) && value !== undefined && value !== f.default)
        await checkMarketplaceUrl(`config.${f.key}`, value, policy);
    }
  }

  /** A new destination for the credentials needs them entered again, or a Test would hand them over. */
  function requireSecretsOnRetarget(
    manifest: MarketplaceManifest,
    c: ConnectionRow,
    baseUrl: string | undefined,
    submitted: { config: Record<string, string>; secrets: Record<string, string> } | null,
  ) {
    const moved =
      (baseUrl !== undefined && baseUrl !== c.baseUrl) ||
      manifest.config.some(
        (f) =>
          isUrlField(f) &&
          submitted?.config[f.key] !== undefined &&
          submitted.config[f.key] !== c.config[f.key],
      );
    if (!moved) return;
    const stored = Object.keys(connectionSecrets(ctx.box, c));
    const missing = manifest.config.filter(
      (f) => f.secret && stored.includes(f.key) && submitted?.secrets[f.key] === undefined,
    );
    if (missing.length) {
      throw badRequest(
        `config.${missing[0]!.key}: changing where this connection calls needs its credentials again (${missing.map((f) => f.label).join(", ")})`,
        { field: `config.${missing[0]!.key}`, missing: missing.map((f) => f.key) },
      );
    }
  }

  async function load(accountId: number, id: number) {
    const c = await getConnection(ctx.db, accountId, id);
    if (!c || c.disabledAt) throw notFound("connection");
    return c;
  }

  /** Asks the marketplace whether the credentials work, through the connection's budget. */
  async function test(c: ConnectionRow) {
    const adapter = getAdapter(c.marketplace);
    const session = await openAdapter(ctx, c, "other");
    try {
      const info = await adapter.testConnection(session.actx);
      await updateConnection(ctx.db, c.accountId, c.id, {
        storeName: info.storeName ?? c.storeName,
        currency: info.currency ?? c.currency,
        ...(info.storeId && info.storeId !== c.config.storeId
          ? { config: { ...c.config, storeId: info.storeId } }
          : {}),
        lastError: null,
      });
      return info;
    } catch (err) {
      if (isMarketplaceError(err)) {
        const status = err.kind === "auth" ? 422 : err.kind === "rate_limited" ? 429 : 502;
        throw new AppError(status, err.kind, `${adapter.manifest.displayName}: ${err.message}`, {
          operation: err.operation,
        });
      }
      throw err;
    } finally {
      await session.close();
    }
  }

  return [
    defineRoute({
      method: "GET",
      url: "/api/marketplaces",
      auth: "sync.read",
      summary: "Marketplaces Orderhub can connect, with their settings and capabilities",
      tags: ["connections"],
      async handler({ req }) {
        return {
          marketplaces: listManifests().map((m) => ({
            id: m.id,
            displayName: m.displayName,
            defaultBaseUrl: m.defaultBaseUrl,
            config: m.config,
            capabilities: m.capabilities,
            rateLimit: m.rateLimit,
            noticeListener: m.noticeListener ?? null,
            // What a seller can send from the UI: Set status choices and messages on shipping.
            settableStatuses: m.settableStatuses ?? [],
            shipmentExtras: shipmentExtrasOf(m.id),
            // "Connect with …": the redirect URI to register with the marketplace app.
            ...consentView(ctx, req, m),
          })),
        };
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/connections",
      auth: "sync.read",
      summary: "Connected stores",
      tags: ["connections"],
      async handler({ auth }) {
        const rows = await listConnections(ctx.db, auth!.accountId!);
        return { connections: await Promise.all(rows.map((c) => view(c, auth))) };
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/connections",
      auth: "connections.manage",
      summary: "Connect a store (credentials are stored encrypted and never returned)",
      tags: ["connections"],
      status: 201,
      body: z.object({
        marketplace: z.string().min(1),
        name: z.string().trim().min(1).max(100),
        baseUrl: z.url().optional(),
        config: configValues,
        schedule: scheduleSchema.optional(),
        dailyBudget: z.number().int().min(1).max(10_000_000).nullable().optional(),
        test: z.boolean().optional(),
      }),
      async handler({ auth, body, ip }) {
        if (!hasAdapter(body.marketplace)) {
          throw badRequest(`marketplace: unknown marketplace "${body.marketplace}"`, {
            field: "marketplace",
          });
        }
        const manifest = getAdapter(body.marketplace).manifest;
        const { config, secrets } = splitConfig(manifest, body.config, false);
        await checkTargets(auth!, manifest, { baseUrl: body.baseUrl, config });
        const schedule = parseSchedule(body.schedule ?? { kind: "interval", minutes: 15 });
        const existing = await listConnections(ctx.db, auth!.accountId!);
        if (existing.some((c) => c.name === body.name))
          throw conflict(`a connection named "${body.name}" exists already`);
        for (const v of Object.values(secrets)) ctx.secrets.add(v);
        const c = await insertConnection(ctx.db, ctx.box, {
          accountId: auth!.accountId!,
          marketplace: body.marketplace,
          name: body.name,
          baseUrl: body.baseUrl ?? manifest.defaultBaseUrl,
          config,
          secrets,
          schedule,
          dailyBudget: body.dailyBudget ?? null,
          nextSyncAt: nextRunAt(schedule, ctx.clock.now()),
        });
        if (body.test) {
          try {
            await test(c);
          } catch (err) {
            // Nothing is kept when the credentials do not work.
            await ctx.db.delete(connections).where(eq(connections.id, c.id));
            throw err;
          }
        }
        await audit(ctx.db, {
          accountId: auth!.accountId,
          userId: auth!.userId,
          action: "connection.create",
          target: `connection:${c.id}`,
          detail: { marketplace: c.marketplace, name: c.name },
          ip,
        });
        const fresh = await load(auth!.accountId!, c.id);
        return { connection: await view(fresh, auth) };
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/connections/:id",
      auth: "sync.read",
      summary: "One connection with its budget, push URL and active run",
      tags: ["connections"],
      params: idParam,
      async handler({ auth, params }) {
        return { connection: await view(await load(auth!.accountId!, params.id), auth) };
      },
    }),
    defineRoute({
      method: "PATCH",
      url: "/api/connections/:id",
      auth: "connections.manage",
      summary: "Change a connection (secrets are write-only)",
      tags: ["connections"],
      params: idParam,
      body: z.object({
        name: z.string().trim().min(1).max(100).optional(),
        baseUrl: z.url().optional(),
        config: configValues.optional(),
        schedule: scheduleSchema.optional(),
        scheduleEnabled: z.boolean().optional(),
        dailyBudget: z.number().int().min(1).max(10_000_000).nullable().optional(),
      }),
      async handler({ auth, params, body, ip }) {
        const c = await load(auth!.accountId!, params.id);
        const manifest = getAdapter(c.marketplace).manifest;
        const patch: Parameters<typeof updateConnection>[3] = {};
        if (body.name !== undefined) patch.name = body.name;
        if (body.baseUrl !== undefined) patch.baseUrl = body.baseUrl;
        if (body.scheduleEnabled !== undefined) patch.scheduleEnabled = body.scheduleEnabled;
        if (body.dailyBudget !== undefined) patch.dailyBudget = body.dailyBudget;
        if (body.schedule !== undefined) {
          const s = parseSchedule(body.schedule);
          patch.schedule = s;
          patch.nextSyncAt = nextRunAt(s, ctx.clock.now());
        }
        const submitted = body.config ? splitConfig(manifest, body.config, true) : null;
        // Only what changes is checked: an unchanged (e.g. demo simulator) address stays as it is.
        await checkTargets(auth!, manifest, {
          baseUrl: body.baseUrl === c.baseUrl ? undefined : body.baseUrl,
          config: Object.fromEntries(
            Object.entries(submitted?.config ?? {}).filter(([k, v]) => c.config[k] !== v),
          ),
        });
        requireSecretsOnRetarget(manifest, c, body.baseUrl, submitted);
        if (body.config) {
          const { config, secrets } = submitted!;
          for (const v of Object.values(secrets)) ctx.secrets.add(v);
          patch.config = { ...c.config, ...config };
          if (Object.keys(secrets).length)
            patch.secretsEnc = ctx.box.sealJson({ ...connectionSecrets(ctx.box, c), ...secrets });
        }
        const row = await updateConnection(ctx.db, auth!.accountId!, c.id, patch);
        await audit(ctx.db, {
          accountId: auth!.accountId,
          userId: auth!.userId,
          action: "connection.update",
          target: `connection:${c.id}`,
          detail: { fields: Object.keys(body) },
          ip,
        });
        return { connection: await view(row!, auth) };
      },
    }),
    defineRoute({
      method: "DELETE",
      url: "/api/connections/:id",
      auth: "connections.manage",
      summary: "Disconnect a store (its orders stay)",
      tags: ["connections"],
      params: idParam,
      async handler({ auth, params, ip }) {
        const c = await load(auth!.accountId!, params.id);
        await updateConnection(ctx.db, auth!.accountId!, c.id, {
          disabledAt: ctx.clock.now(),
          scheduleEnabled: false,
          secretsEnc: null,
        });
        await deleteCredentials(ctx.db, c.id);
        await audit(ctx.db, {
          accountId: auth!.accountId,
          userId: auth!.userId,
          action: "connection.disconnect",
          target: `connection:${c.id}`,
          ip,
        });
        return { disconnected: true };
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/connections/:id/test",
      auth: "sync.run",
      summary: "Check the stored credentials with the marketplace",
      tags: ["connections"],
      params: idParam,
      async handler({ auth, params }) {
        const info = await test(await load(auth!.accountId!, params.id));
        return { ok: true, storeName: info.storeName, currency: info.currency };
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/connections/:id/sync-estimate",
      auth: "sync.read",
      summary:
        "What a sync will cost in API calls (asked before a full sync), and whether today's budget holds it",
      tags: ["sync"],
      params: idParam,
      query: z.object({
        mode: z.enum(["incremental", "full"]).optional(),
        includeArchived: z.enum(["true", "false"]).optional(),
      }),
      async handler({ auth, params, query }) {
        const c = await load(auth!.accountId!, params.id);
        return {
          estimate: await syncEstimate(ctx, c, getAdapter(c.marketplace), {
            mode: query.mode ?? "full",
            includeArchived: query.includeArchived === "true",
          }),
        };
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/connections/:id/sync",
      auth: "sync.run",
      summary: "Sync now (joins a run that is already going)",
      tags: ["sync"],
      status: 202,
      params: idParam,
      body: z
        .object({ mode: z.enum(["incremental", "full"]).optional(), includeArchived: z.boolean().optional() })
        .optional()
        .default({}),
      async handler({ auth, params, body }) {
        const c = await load(auth!.accountId!, params.id);
        return requestSync(ctx, deps.queue, {
          accountId: auth!.accountId!,
          connectionId: c.id,
          trigger: "manual",
          mode: body.mode ?? "incremental",
          includeArchived: body.includeArchived ?? false,
        });
      },
    }),
  ];
}
