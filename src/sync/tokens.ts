import { eq } from "drizzle-orm";
import * as oauth from "oauth4webapi";
import type { AppContext } from "../context.ts";
import { MarketplaceError } from "../core/errors.ts";
import type { MarketplaceId } from "../core/marketplace-ids.ts";
import type { Tx } from "../db/connection.ts";
import { type ConnectionRow, connectionSecrets } from "../db/repos/connections.ts";
import {
  getCredentials,
  lockCredentials,
  markReconnectNeeded,
  openTokens,
  replaceCredentials,
  seedCredentials,
  storeRefreshedTokens,
  tokenHash,
} from "../db/repos/credentials.ts";
import { connections } from "../db/schema.ts";
import type { AuthSpec, MarketplaceManifest, TokenProvider } from "../marketplaces/types.ts";
import { staticTokens } from "./static-tokens.ts";

/** An access token is refreshed this long before the marketplace says it expires. */
export const REFRESH_MARGIN_MS = 60_000;
/** The token endpoint gets less time than a marketplace call: every worker of the connection waits on it. */
const TOKEN_TIMEOUT_MS = 15_000;
const OPERATION = "accessToken";

export type OAuthSpec = Extract<AuthSpec, { kind: "oauth2" }>;

/** What a token endpoint answered. */
export interface TokenAnswer {
  accessToken: string;
  /** A new refresh token (rotation), or null when the old one stays valid. */
  refreshToken: string | null;
  expiresAt: Date | null;
}

/** The token and authorization endpoints of one connection, with the client's authentication. */
export interface OAuthClient {
  spec: OAuthSpec;
  manifest: MarketplaceManifest;
  as: oauth.AuthorizationServer;
  client: oauth.Client;
  auth: oauth.ClientAuth;
  clientId: string;
  tokenUrl: string;
  authorizeUrl: string | null;
  request(): oauth.TokenEndpointRequestOptions;
  process: oauth.ProcessTokenResponseOptions;
}

/** Loopback addresses may be plain http (simulators, test servers); everything else must be https. */
function checkedUrl(manifest: MarketplaceManifest, key: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(manifest, `${key}: "${value.slice(0, 100)}" is not a URL`);
  }
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback))
    throw invalid(manifest, `${key}: must be an https URL (plain http only on this machine)`);
  return url;
}

function invalid(manifest: MarketplaceManifest, message: string): MarketplaceError {
  return new MarketplaceError("invalid_request", { marketplace: manifest.id, operation: OPERATION, message });
}

/**
 * The OAuth client of a connection from its settings and secrets: the token URL is the
 * connection's `tokenUrl` when set (simulators, tests), the manifest's default otherwise.
 */
export function oauthClient(
  ctx: AppContext,
  manifest: MarketplaceManifest,
  values: Readonly<Record<string, string>>,
): OAuthClient {
  const spec = manifest.auth;
  if (spec.kind !== "oauth2") throw invalid(manifest, `${manifest.displayName} connections use no OAuth`);
  const clientId = values[spec.clientIdKey];
  if (!clientId) throw invalid(manifest, `config.${spec.clientIdKey}: the client id is not set`);
  const secret = spec.clientSecretKey ? values[spec.clientSecretKey] : undefined;
  if (spec.clientSecretKey && !secret)
    throw invalid(manifest, `config.${spec.clientSecretKey}: the client secret is not set`);
  const tokenUrl = checkedUrl(manifest, "config.tokenUrl", values.tokenUrl || spec.defaultTokenUrl);
  const authorize = spec.consent
    ? checkedUrl(manifest, "config.authorizeUrl", values.authorizeUrl || spec.consent.defaultAuthorizeUrl)
    : null;
  const insecure = tokenUrl.protocol === "http:" || authorize?.protocol === "http:";
  const as: oauth.AuthorizationServer = {
    issuer: tokenUrl.origin,
    token_endpoint: tokenUrl.href,
    ...(authorize ? { authorization_endpoint: authorize.href } : {}),
  };
  const auth = !secret
    ? oauth.None()
    : spec.clientAuth === "basic"
      ? oauth.ClientSecretBasic(secret)
      : oauth.ClientSecretPost(secret);
  const tokenTypes = Object.fromEntries((spec.tokenTypes ?? []).map((t) => [t.toLowerCase(), () => {}]));
  const timeout = Math.min(ctx.settings.marketplaceTimeoutMs, TOKEN_TIMEOUT_MS);
  return {
    spec,
    manifest,
    as,
    client: { client_id: clientId },
    auth,
    clientId,
    tokenUrl: tokenUrl.href,
    authorizeUrl: authorize?.href ?? null,
    request: () => ({
      [oauth.customFetch]: (url, init) => ctx.http(url, init as RequestInit),
      ...(insecure ? { [oauth.allowInsecureRequests]: true } : {}),
      signal: AbortSignal.timeout(timeout),
      ...(spec.tokenScopes?.length ? { additionalParameters: { scope: spec.tokenScopes.join(" ") } } : {}),
    }),
    process: { recognizedTokenTypes: tokenTypes },
  };
}

function answerOf(ctx: AppContext, r: oauth.TokenEndpointResponse): TokenAnswer {
  // Known to the log scrubber before anything else can print them.
  ctx.secrets.add(r.access_token);
  ctx.secrets.add(r.refresh_token);
  return {
    accessToken: r.access_token,
    refreshToken: r.refresh_token ?? null,
    expiresAt:
      typeof r.expires_in === "number" ? new Date(ctx.clock.now().getTime() + r.expires_in * 1000) : null,
  };
}

/** A token endpoint failure, classified: `final` ones need the seller; the rest are tried again later. */
export class TokenEndpointError extends Error {
  constructor(
    readonly final: boolean,
    readonly error: MarketplaceError,
  ) {
    super(error.message);
  }
}

/** Turns whatever the library or the network threw into a MarketplaceError with a message free of secrets. */
export function classifyTokenError(ctx: AppContext, c: OAuthClient, err: unknown): TokenEndpointError {
  const name = c.manifest.displayName;
  const mk = (kind: MarketplaceError["kind"], message: string, code: string | number | null = null) =>
    new MarketplaceError(kind, {
      marketplace: c.manifest.id as MarketplaceId,
      operation: OPERATION,
      message: ctx.secrets.scrub(message),
      code,
    });
  if (err instanceof oauth.ResponseBodyError || err instanceof oauth.WWWAuthenticateChallengeError) {
    const status = err.status;
    const code = err instanceof oauth.ResponseBodyError ? err.error : "invalid_client";
    const detail =
      err instanceof oauth.ResponseBodyError && err.error_description
        ? `: ${String(err.error_description).slice(0, 200)}`
        : "";
    if (status >= 500 || status === 429 || status === 408)
      return new TokenEndpointError(
        false,
        mk("transient", `${name}'s token endpoint answered ${status} (${code})`, status),
      );
    const what =
      code === "invalid_grant"
        ? "refused the stored authorisation (it was revoked, expired or replaced)"
        : code === "invalid_client" || code === "unauthorized_client"
          ? "refused the app's client id or secret"
          : "refused the token request";
    return new TokenEndpointError(
      true,
      mk("auth", `${name} ${what} (${code}${detail}). Reconnect the store to sign in again.`, code),
    );
  }
  if (err instanceof oauth.OperationProcessingError && err.cause instanceof Response) {
    const status = err.cause.status;
    if (status >= 500 || status === 429 || status === 408)
      return new TokenEndpointError(
        false,
        mk("transient", `${name}'s token endpoint answered ${status}`, status),
      );
    return new TokenEndpointError(
      true,
      mk(
        "auth",
        `${name}'s token endpoint refused the request (HTTP ${status}). Reconnect the store.`,
        status,
      ),
    );
  }
  if (err instanceof oauth.OperationProcessingError || err instanceof oauth.UnsupportedOperationError) {
    return new TokenEndpointError(
      false,
      mk("contract_changed", `${name}'s token endpoint answered something unexpected: ${err.message}`),
    );
  }
  const e = err as { name?: string; message?: string };
  const timedOut = e?.name === "TimeoutError" || e?.name === "AbortError";
  return new TokenEndpointError(
    false,
    mk(
      "transient",
      timedOut
        ? `${name}'s token endpoint did not answer in time`
        : `${name}'s token endpoint could not be reached: ${e?.message ?? String(err)}`,
    ),
  );
}

/** One call of the token endpoint: the refresh-token or the client-credentials grant. */
export async function requestTokens(
  ctx: AppContext,
  c: OAuthClient,
  refreshToken: string | null,
): Promise<TokenAnswer> {
  try {
    if (c.spec.grant === "client_credentials") {
      const res = await oauth.clientCredentialsGrantRequest(c.as, c.client, c.auth, {}, c.request());
      return answerOf(ctx, await oauth.processClientCredentialsResponse(c.as, c.client, res, c.process));
    }
    const res = await oauth.refreshTokenGrantRequest(c.as, c.client, c.auth, refreshToken ?? "", c.request());
    return answerOf(ctx, await oauth.processRefreshTokenResponse(c.as, c.client, res, c.process));
  } catch (err) {
    throw classifyTokenError(ctx, c, err);
  }
}

/** The authorization-code exchange of a consent callback, with the PKCE verifier the server kept. */
export async function exchangeCode(
  ctx: AppContext,
  c: OAuthClient,
  v: { callback: URLSearchParams; expectedState: string; redirectUri: string; codeVerifier: string | null },
): Promise<TokenAnswer> {
  const params = new URLSearchParams(v.callback);
  // Our callback path names the marketplace already; its issuer identifier is not known to us.
  params.delete("iss");
  let checked: URLSearchParams;
  try {
    checked = oauth.validateAuthResponse(c.as, c.client, params, v.expectedState);
  } catch (err) {
    const reason =
      err instanceof oauth.AuthorizationResponseError
        ? `${c.manifest.displayName} did not grant access (${err.error}${err.error_description ? `: ${err.error_description.slice(0, 200)}` : ""})`
        : `the answer from ${c.manifest.displayName} is not a sign-in result: ${(err as Error).message}`;
    throw new MarketplaceError("auth", {
      marketplace: c.manifest.id,
      operation: "authorizationCode",
      message: ctx.secrets.scrub(reason),
    });
  }
  try {
    const res = await oauth.authorizationCodeGrantRequest(
      c.as,
      c.client,
      c.auth,
      checked,
      v.redirectUri,
      v.codeVerifier ?? oauth.nopkce,
      { ...c.request(), additionalParameters: {} },
    );
    return answerOf(ctx, await oauth.processAuthorizationCodeResponse(c.as, c.client, res, c.process));
  } catch (err) {
    throw classifyTokenError(ctx, c, err).error;
  }
}

/** The authorization URL a seller's browser is sent to, with state and (S256) PKCE challenge. */
export async function authorizationRequest(
  c: OAuthClient,
  v: { redirectUri: string },
): Promise<{ url: string; state: string; codeVerifier: string | null }> {
  const consent = c.spec.consent;
  if (!consent || !c.authorizeUrl) throw invalid(c.manifest, `${c.manifest.displayName} offers no sign-in`);
  const state = oauth.generateRandomState();
  const url = new URL(c.authorizeUrl);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", c.clientId);
  url.searchParams.set("redirect_uri", v.redirectUri);
  if (consent.scopes.length) url.searchParams.set("scope", consent.scopes.join(" "));
  url.searchParams.set("state", state);
  let codeVerifier: string | null = null;
  if (consent.pkce) {
    codeVerifier = oauth.generateRandomCodeVerifier();
    url.searchParams.set("code_challenge", await oauth.calculatePKCECodeChallenge(codeVerifier));
    url.searchParams.set("code_challenge_method", "S256");
  }
  for (const [k, val] of Object.entries(consent.extraParams ?? {})) url.searchParams.set(k, val);
  return { url: url.href, state, codeVerifier };
}

// ------------------------------------------------------------------ the provider

type Outcome =
  | { kind: "token"; token: string; expiresAt: Date | null }
  | { kind: "refused"; error: MarketplaceError }
  | { kind: "failed"; error: MarketplaceError };

/**
 * Access tokens of one connection. The newest tokens live in the credentials table; a refresh
 * happens under that row's lock, so of N processes asking at once one calls the token endpoint
 * and the rest read what it committed. Tokens are committed (a rotated refresh token with them)
 * before they are handed out.
 */
export function createTokenProvider(
  ctx: AppContext,
  connection: ConnectionRow,
  manifest: MarketplaceManifest,
): TokenProvider {
  if (manifest.auth.kind !== "oauth2") return staticTokens(manifest);
  const spec = manifest.auth;
  let cached: { token: string; expiresAt: Date | null } | null = null;
  /** Tokens the marketplace refused; a stored token equal to one of them is not used again. */
  const refused: string[] = [];
  let inflight: Promise<string> | null = null;

  const usable = (token: string | null, expiresAt: Date | null): token is string =>
    token !== null &&
    !refused.includes(token) &&
    (expiresAt === null || expiresAt.getTime() - REFRESH_MARGIN_MS > ctx.clock.now().getTime());

  async function refreshUnderLock(tx: Tx): Promise<Outcome> {
    const [conn] = await tx.select().from(connections).where(eq(connections.id, connection.id));
    if (!conn || conn.disabledAt)
      return { kind: "refused", error: invalid(manifest, `connection ${connection.id} is disconnected`) };
    const secrets = ctx.box.openJson(conn.secretsEnc);
    for (const v of Object.values(secrets)) ctx.secrets.add(v);
    const values = { ...conn.config, ...secrets };
    const pasted = spec.refreshTokenKey ? (values[spec.refreshTokenKey] ?? null) : null;
    await seedCredentials(tx, ctx.box, {
      connectionId: conn.id,
      accountId: conn.accountId,
      refreshToken: pasted,
    });
    let row = (await lockCredentials(tx, conn.id))!;
    const now = ctx.clock.now();
    // The seller pasted a new refresh token since the row was seeded: it replaces whatever is stored.
    if (pasted && row.seedHash !== tokenHash(pasted)) {
      await replaceCredentials(tx, ctx.box, {
        connectionId: conn.id,
        accountId: conn.accountId,
        refreshToken: pasted,
        accessToken: null,
        accessExpiresAt: null,
        now,
      });
      row = (await lockCredentials(tx, conn.id))!;
    }
    if (row.state === "reconnect_needed") {
      return { kind: "refused", error: reconnectError(row.stateMessage) };
    }
    const held = openTokens(ctx.box, row);
    ctx.secrets.add(held.refreshToken);
    ctx.secrets.add(held.accessToken);
    // Another process refreshed while this one waited for the lock: its token is the one to use.
    if (usable(held.accessToken, held.accessExpiresAt))
      return { kind: "token", token: held.accessToken, expiresAt: held.accessExpiresAt };
    if (spec.grant === "refresh_token" && !held.refreshToken) {
      const message = `${manifest.displayName} has no refresh token stored for this connection. Reconnect the store to sign in again.`;
      await markRefused(tx, conn.id, message, now);
      return { kind: "refused", error: reconnectError(message) };
    }
    let answer: TokenAnswer;
    try {
      answer = await requestTokens(ctx, oauthClient(ctx, manifest, values), held.refreshToken);
    } catch (err) {
      if (err instanceof TokenEndpointError) {
        if (!err.final) return { kind: "failed", error: err.error };
        await markRefused(tx, conn.id, err.error.message, now);
        return { kind: "refused", error: err.error };
      }
      if (err instanceof MarketplaceError) return { kind: "failed", error: err };
      throw err;
    }
    await storeRefreshedTokens(tx, ctx.box, conn.id, {
      refreshToken: answer.refreshToken,
      accessToken: answer.accessToken,
      accessExpiresAt: answer.expiresAt,
      now: ctx.clock.now(),
    });
    return { kind: "token", token: answer.accessToken, expiresAt: answer.expiresAt };
  }

  async function markRefused(tx: Tx, connectionId: number, message: string, now: Date) {
    await markReconnectNeeded(tx, connectionId, message, now);
    await tx
      .update(connections)
      .set({ lastError: message, updatedAt: now })
      .where(eq(connections.id, connectionId));
    ctx.logger.warn({ connectionId, marketplace: manifest.id }, message);
  }

  function reconnectError(message: string | null): MarketplaceError {
    return new MarketplaceError("auth", {
      marketplace: manifest.id,
      operation: OPERATION,
      message: message ?? `${manifest.displayName} needs the store to be reconnected.`,
    });
  }

  /** The stored token when it is good and nothing changed since it was stored; no lock taken. */
  async function stored(): Promise<string | null> {
    const row = await getCredentials(ctx.db, connection.id);
    if (!row) return null;
    const pasted = spec.refreshTokenKey
      ? connectionSecrets(ctx.box, connection)[spec.refreshTokenKey]
      : undefined;
    if (pasted && row.seedHash !== tokenHash(pasted)) return null;
    if (row.state === "reconnect_needed") throw reconnectError(row.stateMessage);
    const t = openTokens(ctx.box, row);
    if (!usable(t.accessToken, t.accessExpiresAt)) return null;
    ctx.secrets.add(t.accessToken);
    cached = { token: t.accessToken, expiresAt: t.accessExpiresAt };
    return t.accessToken;
  }

  async function obtain(): Promise<string> {
    const ready = await stored();
    if (ready) return ready;
    // Committed before it is returned: a crash after this point cannot lose a rotated refresh token.
    const outcome = await ctx.db.transaction((tx) => refreshUnderLock(tx));
    if (outcome.kind !== "token") throw outcome.error;
    cached = { token: outcome.token, expiresAt: outcome.expiresAt };
    return outcome.token;
  }

  return {
    async getAccessToken() {
      if (cached && usable(cached.token, cached.expiresAt)) return cached.token;
      cached = null;
      // One refresh per process at a time; the row lock makes it one across processes.
      inflight ??= obtain().finally(() => {
        inflight = null;
      });
      return inflight;
    },
    async invalidate(token: string) {
      if (!refused.includes(token)) refused.push(token);
      if (refused.length > 8) refused.shift();
      if (cached?.token === token) cached = null;
    },
  };
}
