import { and, eq } from "drizzle-orm";
import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { sha256 } from "../../auth/tokens.ts";
import type { AppContext } from "../../context.ts";
import { AppError, badRequest, conflict, isMarketplaceError, notFound } from "../../core/errors.ts";
import {
  type ConnectionRow,
  connectionSecrets,
  getConnection,
  insertConnection,
  updateConnection,
} from "../../db/repos/connections.ts";
import {
  consumeOAuthState,
  findOAuthState,
  insertOAuthState,
  purgeExpiredOAuthStates,
  replaceCredentials,
} from "../../db/repos/credentials.ts";
import { audit } from "../../db/repos/users.ts";
import { connections } from "../../db/schema.ts";
import { listManifests } from "../../marketplaces/registry.ts";
import type { MarketplaceManifest } from "../../marketplaces/types.ts";
import { requestSync } from "../../sync/engine.ts";
import { nextRunAt } from "../../sync/scheduler.ts";
import { authorizationRequest, exchangeCode, type OAuthSpec, oauthClient } from "../../sync/tokens.ts";
import type { HttpDeps } from "../deps.ts";
import { defineRoute, type RouteDef } from "../route.ts";
import { checkMarketplaceUrl } from "../url-guard.ts";
import { splitConfig } from "./connections.ts";

/** How long a started sign-in may take before its state is refused. */
export const STATE_TTL_MS = 10 * 60_000;

type ConsentManifest = MarketplaceManifest & {
  auth: OAuthSpec & { consent: NonNullable<OAuthSpec["consent"]> };
};

/** Looked up in the list, not by key: a path segment such as "constructor" names no marketplace. */
function consentManifest(id: string): ConsentManifest | null {
  const m = listManifests({ includeInternal: true }).find((x) => x.id === id);
  return m && m.auth.kind === "oauth2" && m.auth.consent ? (m as ConsentManifest) : null;
}

/** Where the marketplace sends the seller back: the public URL when set, else the address the browser used. */
export function redirectUriFor(ctx: AppContext, req: FastifyRequest, marketplace: string): string {
  const base = ctx.settings.publicUrl?.replace(/\/+$/, "") ?? `${req.protocol}://${req.host}`;
  return `${base}/oauth/callback/${marketplace}`;
}

/** What the UI needs to offer "Connect with …" for a manifest, or nothing when it has no sign-in. */
export function consentView(ctx: AppContext, req: FastifyRequest, m: MarketplaceManifest) {
  if (m.auth.kind !== "oauth2" || !m.auth.consent) return {};
  return {
    consent: {
      redirectUri: redirectUriFor(ctx, req, m.id),
      scopes: m.auth.consent.scopes,
      /** The setting the "paste a refresh token" form needs and the sign-in does not. */
      refreshTokenKey: m.auth.refreshTokenKey,
    },
  };
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** The page a browser gets when a sign-in cannot be completed. */
function errorPage(title: string, message: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)} · Orderhub</title></head><body style="font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem"><h1 style="font-size:1.3rem">${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p><p><a href="/integrations">Back to Integrations</a></p></body></html>`;
}

const wantsHtml = (req: FastifyRequest) => /text\/html/.test(String(req.headers.accept ?? ""));

const configValues = z.record(z.string(), z.string().max(2000));

/** "Connect with …": the authorization-code flow with PKCE, state kept server-side and single-use. */
export function oauthRoutes(ctx: AppContext, deps: HttpDeps): RouteDef[] {
  async function liveConnection(accountId: number, id: number): Promise<ConnectionRow> {
    const c = await getConnection(ctx.db, accountId, id);
    if (!c || c.disabledAt) throw notFound("connection");
    return c;
  }

  const asAppError = (err: unknown, field: string) => {
    if (!isMarketplaceError(err)) return err;
    if (err.kind === "invalid_request")
      return badRequest(err.message.startsWith("config.") ? err.message : `${field}: ${err.message}`);
    if (err.kind === "auth") return new AppError(400, "auth", `${field}: ${err.message}`);
    return new AppError(502, err.kind, `${field}: ${err.message}`);
  };

  /** Checks the callback, exchanges the code and stores the connection; answers its id. */
  async function complete(
    input: {
      marketplace: string;
      query: CallbackQuery;
      auth: { accountId: number | null; userId: number | null } | null;
    },
    req: FastifyRequest,
  ): Promise<{ connectionId: number; created: boolean }> {
    const manifest = consentManifest(input.marketplace);
    if (!manifest) throw notFound(`sign-in for marketplace ${input.marketplace}`);
    const spec = manifest.auth;
    const again = `Start "Connect with ${manifest.displayName}" again from Integrations.`;
    const state = input.query.state;
    if (!state) throw badRequest(`state: the answer from ${manifest.displayName} carries no state. ${again}`);
    const id = sha256(state);
    const pending = await findOAuthState(ctx.db, id);
    if (!pending) throw badRequest(`state: this sign-in is unknown or was completed already. ${again}`);
    if (pending.marketplace !== manifest.id)
      throw badRequest(`state: this sign-in was started for another marketplace. ${again}`);
    // Bound to who started it, so nobody can attach their marketplace account to someone else's shop.
    if (!input.auth?.userId)
      throw new AppError(401, "unauthenticated", `state: sign in to Orderhub first. ${again}`);
    if (input.auth.userId !== pending.userId || input.auth.accountId !== pending.accountId)
      throw new AppError(403, "forbidden", `state: this sign-in was started by another user. ${again}`);
    const row = await consumeOAuthState(ctx.db, id);
    if (!row) throw badRequest(`state: this sign-in was completed already. ${again}`);
    if (row.expiresAt.getTime() <= ctx.clock.now().getTime())
      throw badRequest(
        `state: this sign-in expired (it is valid for ${STATE_TTL_MS / 60_000} minutes). ${again}`,
      );

    const accountId = row.accountId;
    const existing = row.connectionId ? await liveConnection(accountId, row.connectionId) : null;
    const { codeVerifier, ...typed } = ctx.box.openJson(row.secretsEnc);
    const config = { ...(existing?.config ?? {}), ...row.config };
    const secrets = { ...(existing ? connectionSecrets(ctx.box, existing) : {}), ...typed };
    for (const v of Object.values(secrets)) ctx.secrets.add(v);
    const callback = new URLSearchParams();
    for (const [k, v] of Object.entries(input.query)) if (typeof v === "string") callback.set(k, v);
    let answer: Awaited<ReturnType<typeof exchangeCode>>;
    try {
      const client = oauthClient(ctx, manifest, { ...config, ...secrets });
      answer = await exchangeCode(ctx, client, {
        callback,
        expectedState: state,
        redirectUri: row.redirectUri,
        codeVerifier: codeVerifier ?? null,
      });
    } catch (err) {
      throw asAppError(err, "code");
    }
    if (spec.grant === "refresh_token" && !answer.refreshToken)
      throw new AppError(
        502,
        "contract_changed",
        `code: ${manifest.displayName} signed in but gave no refresh token. ${again}`,
      );
    if (spec.refreshTokenKey && answer.refreshToken) secrets[spec.refreshTokenKey] = answer.refreshToken;

    const now = ctx.clock.now();
    const tokens = (connectionId: number) => ({
      connectionId,
      accountId,
      refreshToken: answer.refreshToken,
      accessToken: answer.accessToken,
      accessExpiresAt: answer.expiresAt,
      now,
    });
    const result = await ctx.db.transaction(async (tx) => {
      if (existing) {
        // Credentials first, then the connection: the order a refresh takes its locks in.
        await replaceCredentials(tx, ctx.box, tokens(existing.id));
        await updateConnection(tx, accountId, existing.id, {
          config,
          secretsEnc: ctx.box.sealJson(secrets),
          lastError: null,
        });
        return { connectionId: existing.id, created: false };
      }
      const [taken] = await tx
        .select({ id: connections.id })
        .from(connections)
        .where(and(eq(connections.accountId, accountId), eq(connections.name, row.name)));
      if (taken) throw conflict(`name: a connection named "${row.name}" exists already. ${again}`);
      const schedule = { kind: "interval" as const, minutes: 15 };
      const c = await insertConnection(tx, ctx.box, {
        accountId,
        marketplace: manifest.id,
        name: row.name,
        baseUrl: row.baseUrl ?? manifest.defaultBaseUrl,
        config,
        secrets,
        schedule,
        nextSyncAt: nextRunAt(schedule, now),
      });
      await replaceCredentials(tx, ctx.box, tokens(c.id));
      return { connectionId: c.id, created: true };
    });
    await audit(ctx.db, {
      accountId,
      userId: row.userId,
      action: result.created ? "connection.create" : "connection.reconnect",
      target: `connection:${result.connectionId}`,
      detail: { marketplace: manifest.id, via: "oauth" },
      ip: req.ip,
    });
    return result;
  }

  const callbackQuery = z.object({
    state: z.string().max(1000).optional(),
    code: z.string().max(4000).optional(),
    error: z.string().max(200).optional(),
    error_description: z.string().max(1000).optional(),
    error_uri: z.string().max(1000).optional(),
    iss: z.string().max(1000).optional(),
  });
  type CallbackQuery = z.infer<typeof callbackQuery>;

  return [
    defineRoute({
      method: "POST",
      url: "/api/connections/oauth/start",
      auth: "connections.manage",
      summary:
        'Start "Connect with …": answers the marketplace\'s authorization URL to send the browser to (state and PKCE kept here)',
      tags: ["connections"],
      body: z.object({
        marketplace: z.string().min(1),
        name: z.string().trim().min(1).max(100).optional(),
        baseUrl: z.url().optional(),
        config: configValues.optional(),
        /** Signs an existing connection in again instead of creating one. */
        connectionId: z.number().int().positive().optional(),
      }),
      async handler({ auth, body, req, ip }) {
        const accountId = auth!.accountId!;
        if (!auth!.userId)
          throw new AppError(403, "forbidden", "a sign-in ends in a browser: start it as a signed-in user");
        const existing = body.connectionId ? await liveConnection(accountId, body.connectionId) : null;
        if (existing && existing.marketplace !== body.marketplace)
          throw badRequest(
            `connectionId: connection ${existing.id} is a ${existing.marketplace} connection`,
            {
              field: "connectionId",
            },
          );
        const listed = listManifests({ includeInternal: true }).find((x) => x.id === body.marketplace);
        if (!listed)
          throw badRequest(`marketplace: unknown marketplace "${body.marketplace}"`, {
            field: "marketplace",
          });
        const manifest = consentManifest(body.marketplace);
        if (!manifest)
          throw badRequest(`marketplace: ${listed.displayName} offers no "Connect with" sign-in`, {
            field: "marketplace",
          });
        const spec = manifest.auth;
        if (!existing) {
          if (!body.name)
            throw badRequest("name: a name for the new connection is required", { field: "name" });
          const [taken] = await ctx.db
            .select({ id: connections.id })
            .from(connections)
            .where(and(eq(connections.accountId, accountId), eq(connections.name, body.name)));
          if (taken) throw conflict(`name: a connection named "${body.name}" exists already`);
        }
        const { config, secrets } = splitConfig(manifest, body.config ?? {}, true);
        for (const v of Object.values(secrets)) ctx.secrets.add(v);
        // The same rule as for any connection: credentials go to https and public hosts only.
        const policy = { allowPrivate: ctx.settings.allowPrivateMarketplaceUrls };
        if (body.baseUrl !== undefined && body.baseUrl !== manifest.defaultBaseUrl)
          await checkMarketplaceUrl("baseUrl", body.baseUrl, policy);
        for (const f of manifest.config) {
          const v = config[f.key];
          if (f.kind === "url" && v !== undefined && v !== f.default)
            await checkMarketplaceUrl(`config.${f.key}`, v, policy);
        }
        const known = existing ? { ...existing.config, ...connectionSecrets(ctx.box, existing) } : {};
        const retargeted = manifest.config.some(
          (f) => f.kind === "url" && config[f.key] !== undefined && config[f.key] !== known[f.key],
        );
        // A stored client secret never follows a changed token URL unless it is typed in again.
        if (existing && retargeted && spec.clientSecretKey && !(spec.clientSecretKey in secrets))
          throw badRequest(
            `config.${spec.clientSecretKey}: changing where this connection signs in needs the client secret again`,
            {
              field: `config.${spec.clientSecretKey}`,
            },
          );
        for (const f of manifest.config) {
          if (!existing && !f.secret && f.default !== undefined && !(f.key in config))
            config[f.key] = f.default;
          // The refresh token is what the sign-in brings.
          if (
            f.required &&
            f.key !== spec.refreshTokenKey &&
            !(f.key in config || f.key in secrets || f.key in known)
          )
            throw badRequest(`config.${f.key}: ${f.label} is required`, { field: `config.${f.key}` });
        }
        const values = { ...known, ...config, ...secrets };
        const ours = redirectUriFor(ctx, req, manifest.id);
        const redirectUri = (spec.consent.redirectUriKey && values[spec.consent.redirectUriKey]) || ours;
        let request: Awaited<ReturnType<typeof authorizationRequest>>;
        try {
          request = await authorizationRequest(oauthClient(ctx, manifest, values), { redirectUri });
        } catch (err) {
          throw asAppError(err, "config");
        }
        const now = ctx.clock.now();
        const expiresAt = new Date(now.getTime() + STATE_TTL_MS);
        await purgeExpiredOAuthStates(ctx.db, now);
        await insertOAuthState(ctx.db, {
          id: sha256(request.state),
          accountId,
          userId: auth!.userId,
          marketplace: manifest.id,
          connectionId: existing?.id ?? null,
          name: existing?.name ?? body.name!,
          baseUrl: body.baseUrl ?? null,
          config,
          secretsEnc: ctx.box.sealJson({
            ...secrets,
            ...(request.codeVerifier ? { codeVerifier: request.codeVerifier } : {}),
          }),
          redirectUri,
          expiresAt,
        });
        await audit(ctx.db, {
          accountId,
          userId: auth!.userId,
          action: "connection.oauth_start",
          target: existing ? `connection:${existing.id}` : null,
          detail: { marketplace: manifest.id },
          ip,
        });
        return { authorizationUrl: request.url, redirectUri: ours, expiresAt };
      },
    }),
    defineRoute({
      method: "GET",
      url: "/oauth/callback/:marketplace",
      auth: "public",
      summary:
        'Where a marketplace sends the browser back after "Connect with …" (the single-use state is checked against the signed-in user)',
      tags: ["connections"],
      raw: true,
      params: z.object({ marketplace: z.string().regex(/^[a-z]+$/, "must be a marketplace id") }),
      query: callbackQuery,
      async handler({ auth, params, query, req }, reply: FastifyReply) {
        try {
          const done = await complete({ marketplace: params.marketplace, query, auth }, req);
          if (done.created) {
            await requestSync(ctx, deps.queue, {
              accountId: auth!.accountId!,
              connectionId: done.connectionId,
              trigger: "first_import",
              mode: "full",
              includeArchived: false,
            });
          }
          return reply.redirect(`/integrations?connected=${done.connectionId}`, 303);
        } catch (err) {
          // A browser gets a page it can act on; API clients get the usual JSON error.
          if (!(err instanceof AppError) || !wantsHtml(req)) throw err;
          const title = `Connecting ${consentManifest(params.marketplace)?.displayName ?? "the marketplace"} did not work`;
          return reply
            .status(err.status)
            .type("text/html; charset=utf-8")
            .send(errorPage(title, err.message.replace(/^[a-z_]+: /, "")));
        }
      },
    }),
  ];
}
