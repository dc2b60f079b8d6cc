import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";
import { MarketplaceError } from "../../src/core/errors.ts";
import type { MarketplaceId } from "../../src/core/marketplace-ids.ts";
import type { MarketplaceAdapter, MarketplaceManifest } from "../../src/marketplaces/types.ts";

/**
 * A tiny OAuth 2 authorization server for tests: authorize (code + S256 PKCE), token
 * (authorization_code, refresh_token with rotation: a used refresh token is refused afterwards),
 * and a protected `/api/me` that accepts only the newest access tokens.
 */
export interface TinyOAuthServer {
  baseUrl: string;
  authorizeUrl: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** Calls of the token endpoint, by grant. */
  calls: { refresh_token: number; authorization_code: number; other: number };
  /** Every refresh token a refresh request carried, in order. */
  refreshTokensSeen: string[];
  /** Lifetime of the access tokens it issues, in seconds. */
  expiresIn: number;
  /** Answers the token endpoint holds back, to make concurrent callers overlap. */
  delayMs: number;
  /** The next token requests fail with these HTTP statuses (no OAuth body), one each. */
  failNext: number[];
  /** A refresh token as if the seller had authorised the app elsewhere and pasted it. */
  grantRefreshToken(): string;
  /** Revokes every refresh token (the seller removed the app). */
  revokeAll(): void;
  /** Whether an access token is currently accepted. */
  accepts(accessToken: string): boolean;
  /** What the browser does at the authorize URL: the redirect it is sent back with. */
  authorize(url: string): Promise<URL>;
  close(): Promise<void>;
}

const b64url = (buf: Buffer) => buf.toString("base64url");

export async function startTinyOAuthServer(opts: { rotate?: boolean } = {}): Promise<TinyOAuthServer> {
  const rotate = opts.rotate ?? true;
  const clientId = `client-${randomBytes(4).toString("hex")}`;
  const clientSecret = `csecret${randomBytes(12).toString("hex")}`;
  const refreshTokens = new Set<string>();
  const accessTokens = new Set<string>();
  const codes = new Map<string, { challenge: string | null; redirectUri: string; used: boolean }>();
  const newRefresh = () => {
    const t = `rt.${b64url(randomBytes(18))}`;
    refreshTokens.add(t);
    return t;
  };
  const newAccess = () => {
    const t = `at.${b64url(randomBytes(18))}`;
    accessTokens.add(t);
    return t;
  };

  const json = (res: ServerResponse, status: number, body: object) => {
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(JSON.stringify(body));
  };
  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let s = "";
      req.on("data", (c) => {
        s += c;
      });
      req.on("end", () => resolve(s));
    });

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (req.method === "GET" && url.pathname === "/authorize") {
      const q = url.searchParams;
      if (q.get("client_id") !== clientId) return json(res, 400, { error: "invalid_client" });
      if (q.get("response_type") !== "code") return json(res, 400, { error: "unsupported_response_type" });
      if (q.get("code_challenge_method") !== "S256" || !q.get("code_challenge"))
        return json(res, 400, { error: "invalid_request", error_description: "PKCE S256 required" });
      const redirectUri = q.get("redirect_uri") ?? "";
      const code = b64url(randomBytes(12));
      codes.set(code, { challenge: q.get("code_challenge"), redirectUri, used: false });
      const back = new URL(redirectUri);
      back.searchParams.set("code", code);
      back.searchParams.set("state", q.get("state") ?? "");
      res.writeHead(302, { location: back.href });
      return res.end();
    }
    if (req.method === "GET" && url.pathname === "/api/me") {
      const token = (req.headers.authorization ?? "").replace(/^Bearer /, "");
      if (!accessTokens.has(token)) return json(res, 401, { error: "invalid_token" });
      return json(res, 200, { shop: "Tiny shop", currency: "EUR" });
    }
    if (req.method !== "POST" || url.pathname !== "/token") return json(res, 404, { error: "not_found" });
    const form = new URLSearchParams(await readBody(req));
    const grant = form.get("grant_type") ?? "";
    const key = grant === "refresh_token" || grant === "authorization_code" ? grant : "other";
    srv.calls[key]++;
    if (grant === "refresh_token") srv.refreshTokensSeen.push(form.get("refresh_token") ?? "");
    if (srv.delayMs) await new Promise((r) => setTimeout(r, srv.delayMs));
    const failure = srv.failNext.shift();
    if (failure) {
      res.writeHead(failure, { "content-type": "text/html" });
      return res.end("<html><body>Service unavailable</body></html>");
    }
    // Client authentication: HTTP Basic or the body, as the client chose.
    const basic = req.headers.authorization?.startsWith("Basic ")
      ? Buffer.from(req.headers.authorization.slice(6), "base64")
          .toString()
          .split(":")
          .map(decodeURIComponent)
      : null;
    const [id, secret] = basic ?? [form.get("client_id"), form.get("client_secret")];
    if (id !== clientId || secret !== clientSecret) return json(res, 401, { error: "invalid_client" });
    if (grant === "authorization_code") {
      const entry = codes.get(form.get("code") ?? "");
      if (!entry || entry.used)
        return json(res, 400, { error: "invalid_grant", error_description: "code used or unknown" });
      entry.used = true;
      if (entry.redirectUri !== form.get("redirect_uri"))
        return json(res, 400, { error: "invalid_grant", error_description: "redirect_uri differs" });
      const verifier = form.get("code_verifier") ?? "";
      if (b64url(createHash("sha256").update(verifier).digest()) !== entry.challenge)
        return json(res, 400, { error: "invalid_grant", error_description: "PKCE verification failed" });
      return json(res, 200, {
        access_token: newAccess(),
        token_type: "Bearer",
        expires_in: srv.expiresIn,
        refresh_token: newRefresh(),
      });
    }
    if (grant === "refresh_token") {
      const old = form.get("refresh_token") ?? "";
      if (!refreshTokens.has(old))
        // Echoes the token back, as careless servers do: it must never reach a log or an answer.
        return json(res, 400, {
          error: "invalid_grant",
          error_description: `refresh token ${old} is not valid`,
        });
      if (rotate) refreshTokens.delete(old);
      return json(res, 200, {
        access_token: newAccess(),
        token_type: "Bearer",
        expires_in: srv.expiresIn,
        ...(rotate ? { refresh_token: newRefresh() } : {}),
      });
    }
    if (grant === "client_credentials")
      return json(res, 200, { access_token: newAccess(), token_type: "bearer", expires_in: srv.expiresIn });
    return json(res, 400, { error: "unsupported_grant_type" });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const srv: TinyOAuthServer = {
    baseUrl,
    authorizeUrl: `${baseUrl}/authorize`,
    tokenUrl: `${baseUrl}/token`,
    clientId,
    clientSecret,
    calls: { refresh_token: 0, authorization_code: 0, other: 0 },
    refreshTokensSeen: [],
    expiresIn: 3600,
    delayMs: 0,
    failNext: [],
    grantRefreshToken: newRefresh,
    revokeAll() {
      refreshTokens.clear();
      accessTokens.clear();
    },
    accepts: (t) => accessTokens.has(t),
    async authorize(url) {
      const res = await fetch(url, { redirect: "manual" });
      const location = res.headers.get("location");
      if (res.status !== 302 || !location)
        throw new Error(`authorize refused: ${res.status} ${await res.text()}`);
      return new URL(location);
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  return srv;
}

/** A marketplace id only tests use (the product's ids are a closed list). */
export const OAUTH_TEST_ID = "oauthtest" as MarketplaceId;

/** The manifest of a test-only marketplace that signs in with OAuth 2 (refresh token, optional consent). */
export function oauthTestManifest(
  over: { clientAuth?: "basic" | "body"; consent?: boolean; internal?: boolean } = {},
): MarketplaceManifest {
  return {
    id: OAUTH_TEST_ID,
    displayName: "Tiny OAuth",
    orderNumberPrefix: "TO-",
    defaultBaseUrl: "https://tiny-oauth.invalid",
    config: [
      { key: "clientId", label: "Client id", secret: false, required: true },
      { key: "clientSecret", label: "Client secret", secret: true, required: true },
      { key: "refreshToken", label: "Refresh token", secret: true, required: true },
      { key: "tokenUrl", label: "Token URL", secret: false, required: false, kind: "url" },
      { key: "authorizeUrl", label: "Authorize URL", secret: false, required: false, kind: "url" },
    ],
    capabilities: {
      orderCursor: "page_token",
      orderPages: "orders",
      archivedOrders: false,
      webhooks: "none",
      stockPush: "none",
      stockSource: "none",
      shipmentPush: "none",
      statusPush: false,
      acceptance: "none",
      digitalDelivery: false,
    },
    auth: {
      kind: "oauth2",
      grant: "refresh_token",
      defaultTokenUrl: "https://tiny-oauth.invalid/token",
      clientAuth: over.clientAuth ?? "basic",
      clientIdKey: "clientId",
      clientSecretKey: "clientSecret",
      refreshTokenKey: "refreshToken",
      rotatesRefreshToken: true,
      consent:
        over.consent === false
          ? null
          : {
              defaultAuthorizeUrl: "https://tiny-oauth.invalid/authorize",
              scopes: ["orders_r", "orders_w"],
              pkce: true,
            },
    },
    rateLimit: { limits: [], orderIntakeReserve: 0, defaultDailyBudget: null },
    internal: over.internal ?? true,
  };
}

/** An adapter whose only real call is "who am I", made with the token provider's access token. */
export function oauthTestAdapter(manifest = oauthTestManifest()): MarketplaceAdapter<unknown> {
  return {
    manifest,
    async testConnection(ctx) {
      const token = await ctx.tokens.getAccessToken();
      const res = await ctx.http(`${ctx.baseUrl}/api/me`, { headers: { authorization: `Bearer ${token}` } });
      if (res.status === 401) {
        await ctx.tokens.invalidate(token);
        throw new MarketplaceError("auth", {
          marketplace: manifest.id,
          operation: "me",
          message: "token refused",
        });
      }
      const me = (await res.json()) as { shop: string; currency: string };
      return { storeName: me.shop, currency: me.currency };
    },
    orders: {
      checkpointSchema: z.object({ page: z.string() }) as z.ZodType<unknown>,
      async page() {
        return { shape: "orders", summaries: [], orders: [], checkpoint: { page: "end" }, done: true };
      },
      async fetchOrder(_ctx, id) {
        throw new MarketplaceError("not_found", {
          marketplace: manifest.id,
          operation: "order",
          message: `no order ${id}`,
        });
      },
      mapStatus: () => "pending",
    },
    notices: { style: "none" },
    shipments: { granularity: "none" },
    status: { kind: "none" },
    stock: { mode: "none" },
    acceptance: { kind: "none" },
  };
}
