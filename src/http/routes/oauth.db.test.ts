import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock, onPostgres } from "../../../test/helpers/db.ts";
import { login, seedAccount, type TestApi, testApi } from "../../../test/helpers/http.ts";
import {
  OAUTH_TEST_ID,
  oauthTestAdapter,
  oauthTestManifest,
  startTinyOAuthServer,
  type TinyOAuthServer,
} from "../../../test/helpers/oauth.ts";
import { connectionSecrets, getConnection } from "../../db/repos/connections.ts";
import { getCredentials, openTokens } from "../../db/repos/credentials.ts";
import { oauthStates } from "../../db/schema.ts";
import { registerAdapter } from "../../marketplaces/registry.ts";
import { createTokenProvider } from "../../sync/tokens.ts";
import { STATE_TTL_MS } from "./oauth.ts";

const PUBLIC_URL = "https://orders.shop.example";
const CALLBACK = `${PUBLIC_URL}/oauth/callback/${OAUTH_TEST_ID}`;
const clock = new ManualClock(new Date());
const manifest = oauthTestManifest({ internal: false });
let api: TestApi;
let server: TinyOAuthServer;
let shop: Awaited<ReturnType<typeof seedAccount>>;
let owner: Awaited<ReturnType<typeof login>>;
let staff: Awaited<ReturnType<typeof login>>;
let unregister: () => void;
/** Every answer this file got, for the no-secret check at the end. */
const bodies: string[] = [];

beforeAll(async () => {
  unregister = registerAdapter(oauthTestAdapter(manifest));
  server = await startTinyOAuthServer();
  api = await testApi({ clock, settings: { publicUrl: PUBLIC_URL } });
  shop = await seedAccount(api);
  owner = await login(api, shop.users.owner.email);
  staff = await login(api, shop.users.staff.email);
});
afterAll(async () => {
  await api.close();
  await server.close();
  unregister();
});

let seq = 0;
async function start(body: Record<string, unknown> = {}, who = owner) {
  const res = await api.app.inject({
    method: "POST",
    url: "/api/connections/oauth/start",
    headers: { cookie: who.cookie, "x-csrf-token": who.csrf },
    payload: {
      marketplace: OAUTH_TEST_ID,
      name: `Tiny ${++seq}`,
      baseUrl: server.baseUrl,
      config: {
        clientId: server.clientId,
        clientSecret: server.clientSecret,
        tokenUrl: server.tokenUrl,
        authorizeUrl: server.authorizeUrl,
      },
      ...body,
    },
  });
  bodies.push(res.body);
  return res;
}

/** The browser's round trip: our start, the marketplace's authorize page, back to our callback. */
async function signIn(body: Record<string, unknown> = {}) {
  const res = await start(body);
  expect(res.statusCode, res.body).toBe(200);
  const back = await server.authorize(res.json().authorizationUrl);
  expect(`${back.origin}${back.pathname}`).toBe(CALLBACK);
  return { started: res.json(), callbackPath: `${back.pathname}${back.search}`, back };
}

async function callback(path: string, who: { cookie: string } | null = owner, accept = "text/html") {
  const res = await api.app.inject({
    method: "GET",
    url: path,
    headers: { ...(who ? { cookie: who.cookie } : {}), accept },
  });
  bodies.push(res.body);
  return res;
}

describe(`"Connect with …" on ${onPostgres ? "PostgreSQL" : "PGlite"}`, () => {
  it("shows the redirect URI to register, in the marketplace list", async () => {
    const res = await api.app.inject({
      method: "GET",
      url: "/api/marketplaces",
      headers: { cookie: owner.cookie },
    });
    const m = res.json().marketplaces.find((x: { id: string }) => x.id === OAUTH_TEST_ID);
    expect(m.consent).toEqual({
      redirectUri: CALLBACK,
      scopes: ["orders_r", "orders_w"],
      refreshTokenKey: "refreshToken",
    });
    const bl = res.json().marketplaces.find((x: { id: string }) => x.id === "bricklink");
    expect(bl.consent).toBeUndefined();
  });

  it("signs in with PKCE (S256), stores the tokens sealed, and redirects to Integrations", async () => {
    const { started, callbackPath } = await signIn();
    const url = new URL(started.authorizationUrl);
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(url.searchParams.get("code_challenge")).toMatch(/^[\w-]{43}$/);
    expect(url.searchParams.get("redirect_uri")).toBe(CALLBACK);
    expect(url.searchParams.get("scope")).toBe("orders_r orders_w");
    expect(started.redirectUri).toBe(CALLBACK);
    const before = server.calls.authorization_code;
    const res = await callback(callbackPath);
    expect(res.statusCode, res.body).toBe(303);
    const id = Number(/connected=(\d+)/.exec(String(res.headers.location))?.[1]);
    expect(res.headers.location).toBe(`/integrations?connected=${id}`);
    expect(server.calls.authorization_code - before).toBe(1);

    const c = (await getConnection(api.ctx.db, shop.account.id, id))!;
    expect(c.marketplace).toBe(OAUTH_TEST_ID);
    expect(c.baseUrl).toBe(server.baseUrl);
    const secrets = connectionSecrets(api.ctx.box, c);
    expect(secrets.clientSecret).toBe(server.clientSecret);
    expect(secrets.refreshToken).toMatch(/^rt\./);
    expect(secrets.codeVerifier).toBeUndefined();
    const row = (await getCredentials(api.ctx.db, id))!;
    expect(row.state).toBe("ok");
    expect(row.refreshTokenEnc).not.toContain("rt.");
    const stored = openTokens(api.ctx.box, row);
    expect(server.accepts(stored.accessToken!)).toBe(true);
    // The provider hands out the token the sign-in brought, without another call.
    const refreshes = server.calls.refresh_token;
    expect(await createTokenProvider(api.ctx, c, manifest).getAccessToken()).toBe(stored.accessToken);
    expect(server.calls.refresh_token).toBe(refreshes);
    // The store's first import was asked for, as with "Connect and import".
    const runs = await api.ctx.database.sql.executeSql(
      "select mode from sync_runs where connection_id = $1",
      [id],
    );
    expect(runs.rows).toEqual([{ mode: "full" }]);
    const view = await api.app.inject({
      method: "GET",
      url: `/api/connections/${id}`,
      headers: { cookie: owner.cookie },
    });
    expect(view.json().connection.credentials.state).toBe("ok");
    bodies.push(view.body);
  });

  it("the server checks the PKCE verifier: a code redeemed with another verifier is refused", async () => {
    const { callbackPath, back } = await signIn();
    const id = (await import("../../auth/tokens.ts")).sha256(back.searchParams.get("state")!);
    const [row] = await api.ctx.db.select().from(oauthStates).where(eq(oauthStates.id, id));
    const { codeVerifier: _, ...rest } = api.ctx.box.openJson(row!.secretsEnc);
    await api.ctx.db
      .update(oauthStates)
      .set({ secretsEnc: api.ctx.box.sealJson({ ...rest, codeVerifier: "x".repeat(43) }) })
      .where(eq(oauthStates.id, id));
    const res = await callback(callbackPath);
    expect(res.statusCode).toBe(400);
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
    expect(res.body).toMatch(/PKCE verification failed/);
  });

  it("a state is single-use: the same callback twice is refused the second time, with a clear page", async () => {
    const { callbackPath } = await signIn();
    expect((await callback(callbackPath)).statusCode).toBe(303);
    const again = await callback(callbackPath);
    expect(again.statusCode).toBe(400);
    expect(again.headers["content-type"]).toMatch(/^text\/html/);
    expect(again.body).toMatch(/unknown or was completed already/);
    expect(again.body).toMatch(/Back to Integrations/);
  });

  it("refuses a wrong state, and answers API clients in JSON", async () => {
    const { back } = await signIn();
    back.searchParams.set("state", `${back.searchParams.get("state")}x`);
    const res = await callback(`${back.pathname}${back.search}`);
    expect(res.statusCode).toBe(400);
    expect(res.body).toMatch(/unknown or was completed already/);
    const json = await callback(`${back.pathname}${back.search}`, owner, "application/json");
    expect(json.statusCode).toBe(400);
    expect(json.json().error.message).toMatch(/^state: /);
    const none = await callback(`${back.pathname}?code=abc`);
    expect(none.statusCode).toBe(400);
    expect(none.body).toMatch(/carries no state/);
  });

  it("refuses an expired state", async () => {
    const { callbackPath } = await signIn();
    clock.advance(STATE_TTL_MS + 1000);
    const res = await callback(callbackPath);
    expect(res.statusCode).toBe(400);
    expect(res.body).toMatch(/expired/);
    // Gone for good, so it cannot be tried again later either.
    expect((await callback(callbackPath)).body).toMatch(/unknown or was completed already/);
  });

  it("is bound to the user who started it: another user or no session is refused, the owner still completes", async () => {
    const { callbackPath } = await signIn();
    const other = await callback(callbackPath, staff);
    expect(other.statusCode).toBe(403);
    expect(other.body).toMatch(/started by another user/);
    const anonymous = await callback(callbackPath, null);
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.body).toMatch(/sign in to Orderhub first/);
    expect((await callback(callbackPath)).statusCode).toBe(303);
  });

  it("says so when the seller declines on the marketplace", async () => {
    const { back } = await signIn();
    const path = `${back.pathname}?error=access_denied&error_description=${encodeURIComponent("The user said no")}&state=${back.searchParams.get("state")}`;
    const res = await callback(path);
    expect(res.statusCode).toBe(400);
    expect(res.body).toMatch(/did not grant access \(access_denied: The user said no\)/);
  });

  it("reconnects an existing connection: new tokens, state ok, last error gone", async () => {
    const first = await signIn();
    const created = await callback(first.callbackPath);
    const id = Number(/connected=(\d+)/.exec(String(created.headers.location))?.[1]);
    const before = (await getCredentials(api.ctx.db, id))!;
    await api.ctx.database.sql.executeSql(
      "update credentials set state = 'reconnect_needed', state_message = 'refused' where connection_id = $1",
      [id],
    );
    await api.ctx.database.sql.executeSql("update connections set last_error = 'refused' where id = $1", [
      id,
    ]);
    const { callbackPath } = await signIn({ connectionId: id, name: undefined, config: {} });
    const res = await callback(callbackPath);
    expect(res.headers.location).toBe(`/integrations?connected=${id}`);
    const after = (await getCredentials(api.ctx.db, id))!;
    expect(after.state).toBe("ok");
    expect(after.version).toBeGreaterThan(before.version);
    expect(openTokens(api.ctx.box, after).refreshToken).not.toBe(
      openTokens(api.ctx.box, before).refreshToken,
    );
    expect((await getConnection(api.ctx.db, shop.account.id, id))!.lastError).toBeNull();
    // Disconnecting forgets the tokens with the other secrets.
    const gone = await api.app.inject({
      method: "DELETE",
      url: `/api/connections/${id}`,
      headers: { cookie: owner.cookie, "x-csrf-token": owner.csrf },
    });
    expect(gone.statusCode).toBe(200);
    expect(await getCredentials(api.ctx.db, id)).toBeNull();
  });

  it("the refresh-token form stays the alternative: a pasted token is tested through the token provider", async () => {
    const pasted = server.grantRefreshToken();
    const res = await api.app.inject({
      method: "POST",
      url: "/api/connections",
      headers: { cookie: owner.cookie, "x-csrf-token": owner.csrf },
      payload: {
        marketplace: OAUTH_TEST_ID,
        name: "Pasted token",
        baseUrl: server.baseUrl,
        config: {
          clientId: server.clientId,
          clientSecret: server.clientSecret,
          refreshToken: pasted,
          tokenUrl: server.tokenUrl,
        },
        test: true,
      },
    });
    bodies.push(res.body);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().connection.storeName).toBe("Tiny shop");
    const id = res.json().connection.id as number;
    const row = (await getCredentials(api.ctx.db, id))!;
    // The test refreshed once and stored the rotated token; the pasted one is spent.
    expect(row.version).toBe(1);
    expect(openTokens(api.ctx.box, row).refreshToken).not.toBe(pasted);
    expect(server.refreshTokensSeen.filter((t) => t === pasted)).toHaveLength(1);
  });

  it("refuses a bad start clearly, naming the field", async () => {
    const missing = await start({ config: { clientId: server.clientId, tokenUrl: server.tokenUrl } });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.message).toMatch(/^config\.clientSecret: Client secret is required/);
    const noConsent = await start({ marketplace: "bricklink" });
    expect(noConsent.statusCode).toBe(400);
    expect(noConsent.json().error.message).toMatch(
      /^marketplace: BrickLink offers no "Connect with" sign-in/,
    );
    const plain = await start({
      config: { clientId: "x", clientSecret: "y", tokenUrl: "http://tokens.example.com/t" },
    });
    expect(plain.statusCode).toBe(400);
    expect(plain.json().error.message).toMatch(/^config\.tokenUrl: must be an https/);
    const staffStart = await start({}, staff);
    expect(staffStart.statusCode).toBe(403);
    await signIn({ name: "Taken name" }).then((s) => callback(s.callbackPath));
    const taken = await start({ name: "Taken name" });
    expect(taken.statusCode).toBe(409);
    // Another account's connection answers like a missing one.
    const mine = (
      await api.ctx.database.sql.executeSql("select id from connections where account_id = $1", [
        shop.account.id,
      ])
    ).rows[0] as { id: string };
    const other = await seedAccount(api);
    const otherOwner = await login(api, other.users.owner.email);
    const stolen = await start({ connectionId: Number(mine.id), name: undefined }, otherOwner);
    expect(stolen.statusCode).toBe(404);
    expect(stolen.json().error.code).toBe("not_found");
  });

  it("puts no secret in any answer or log line", () => {
    expect(bodies.length).toBeGreaterThan(20);
    for (const b of [...bodies, ...api.ctx.logLines]) {
      expect(b).not.toContain(server.clientSecret);
      expect(b).not.toMatch(/\brt\.[\w-]{20,}/);
      expect(b).not.toMatch(/\bat\.[\w-]{20,}/);
    }
  });
});
