import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ManualClock, onPostgres, type TestContext, testContext } from "../../test/helpers/db.ts";
import { bearer, seedAccount, type TestApi, testApi } from "../../test/helpers/http.ts";
import {
  oauthTestAdapter,
  oauthTestManifest,
  startTinyOAuthServer,
  type TinyOAuthServer,
} from "../../test/helpers/oauth.ts";
import { isMarketplaceError, type MarketplaceError } from "../core/errors.ts";
import { openDatabase } from "../db/connection.ts";
import { type ConnectionRow, insertConnection, updateConnection } from "../db/repos/connections.ts";
import { getCredentials, openTokens } from "../db/repos/credentials.ts";
import { connections } from "../db/schema.ts";
import { bricklinkManifest } from "../marketplaces/bricklink/manifest.ts";
import { registerAdapter } from "../marketplaces/registry.ts";
import type { MarketplaceManifest } from "../marketplaces/types.ts";
import { createTokenProvider, REFRESH_MARGIN_MS } from "./tokens.ts";

const clock = new ManualClock(new Date("2026-06-01T08:00:00Z"));
const secretKey = randomBytes(32).toString("hex");
const manifest = oauthTestManifest();
let api: TestApi;
/** A second worker process: its own context (pool, secrets, caches) on the same database. */
let worker2: TestContext;
let server: TinyOAuthServer;
let shop: Awaited<ReturnType<typeof seedAccount>>;
let unregister: () => void;

beforeAll(async () => {
  unregister = registerAdapter(oauthTestAdapter(manifest));
  server = await startTinyOAuthServer();
  api = await testApi({ clock, settings: { secretKey } });
  const database = onPostgres
    ? await openDatabase({ databaseUrl: api.ctx.database.url, poolSize: 4 })
    : api.ctx.database;
  worker2 = await testContext({ clock, database, settings: { secretKey } });
  shop = await seedAccount(api);
});

afterAll(async () => {
  if (onPostgres) await worker2.close();
  else await worker2.events.stop();
  await api.close();
  await server.close();
  unregister();
});

let pasted: string;
let conn: ConnectionRow;
beforeEach(async () => {
  server.delayMs = 0;
  server.failNext = [];
  pasted = server.grantRefreshToken();
  conn = await insertConnection(api.ctx.db, api.ctx.box, {
    accountId: shop.account.id,
    marketplace: manifest.id,
    name: `Tiny ${randomBytes(3).toString("hex")}`,
    baseUrl: server.baseUrl,
    config: { clientId: server.clientId, tokenUrl: server.tokenUrl },
    secrets: { clientSecret: server.clientSecret, refreshToken: pasted },
  });
});

const provider = (ctx: TestContext, m: MarketplaceManifest = manifest, c = conn) =>
  createTokenProvider(ctx, c, m);
const storedTokens = async (ctx: TestContext) => {
  const row = await getCredentials(ctx.db, conn.id);
  return row ? { row, ...openTokens(ctx.box, row) } : null;
};
/** Moves time to just inside the refresh margin of the stored access token. */
const nearExpiry = async () => {
  const s = await storedTokens(api.ctx);
  clock.set(new Date(s!.accessExpiresAt!.getTime() - REFRESH_MARGIN_MS + 1));
};
async function rejection(p: Promise<unknown>): Promise<MarketplaceError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isMarketplaceError(err), String(err)).toBe(true);
  return err as MarketplaceError;
}

describe(`token provider on ${onPostgres ? "PostgreSQL" : "PGlite"}`, () => {
  it("two workers asking at once refresh once, and both get the committed token", async () => {
    server.delayMs = 150;
    const before = server.calls.refresh_token;
    const p1 = provider(api.ctx);
    const p2 = provider(worker2);
    const tokens = await Promise.all([
      p1.getAccessToken(),
      p2.getAccessToken(),
      p1.getAccessToken(),
      p2.getAccessToken(),
    ]);
    expect(server.calls.refresh_token - before).toBe(1);
    expect(new Set(tokens).size).toBe(1);
    expect(server.accepts(tokens[0]!)).toBe(true);
    // Tokens and secrets are blanked in logs; plain settings (client id, token URL) stay readable.
    expect(api.ctx.secrets.scrub(`${tokens[0]} ${pasted}`)).toBe("[redacted] [redacted]");
    expect(api.ctx.secrets.scrub(`${server.clientId} ${server.tokenUrl}`)).toBe(
      `${server.clientId} ${server.tokenUrl}`,
    );
    // What the second worker reads on its own connection is what was handed out: it was committed.
    const seen = await storedTokens(worker2);
    expect(seen!.accessToken).toBe(tokens[0]);
    expect(seen!.row.version).toBe(1);
    // Within the token's life nobody refreshes again, in either worker.
    clock.advance(30 * 60_000);
    expect(await provider(worker2).getAccessToken()).toBe(tokens[0]);
    expect(await p1.getAccessToken()).toBe(tokens[0]);
    expect(server.calls.refresh_token - before).toBe(1);
    // Near expiry, with the row in place (the lock is the row's own now): again one refresh.
    await nearExpiry();
    const later = await Promise.all([
      p1.getAccessToken(),
      p2.getAccessToken(),
      provider(worker2).getAccessToken(),
      provider(api.ctx).getAccessToken(),
    ]);
    expect(server.calls.refresh_token - before).toBe(2);
    expect(new Set(later).size).toBe(1);
    expect(later[0]).not.toBe(tokens[0]);
    expect((await storedTokens(worker2))!.row.version).toBe(2);
  });

  it("stores a rotated refresh token before the access token is used; the old one is never sent again", async () => {
    const p = provider(api.ctx);
    const first = await p.getAccessToken();
    const s1 = await storedTokens(worker2);
    expect(s1!.refreshToken).not.toBe(pasted);
    expect(s1!.row.seedHash).not.toBeNull();
    for (let i = 0; i < 3; i++) {
      await nearExpiry();
      // A fresh worker each time, so nothing in memory helps: only the stored row.
      const next = await provider(i % 2 ? api.ctx : worker2).getAccessToken();
      expect(next).not.toBe(first);
      expect(server.accepts(next)).toBe(true);
    }
    const mine = server.refreshTokensSeen.filter((t) => t === pasted);
    expect(mine).toHaveLength(1);
    const sent = server.refreshTokensSeen.slice(server.refreshTokensSeen.indexOf(pasted));
    expect(new Set(sent).size).toBe(sent.length);
    expect((await storedTokens(api.ctx))!.row.version).toBe(4);
  });

  it("invalid_grant marks the credentials and the connection reconnect-needed, with no secret anywhere", async () => {
    const p = provider(api.ctx);
    const token = await p.getAccessToken();
    const rotated = (await storedTokens(api.ctx))!.refreshToken!;
    await nearExpiry();
    server.revokeAll();
    const err = await rejection(p.getAccessToken());
    expect(err.kind).toBe("auth");
    expect(err.message).toMatch(/invalid_grant/);
    expect(err.message).toMatch(/Reconnect/);
    const s = await storedTokens(worker2);
    expect(s!.row.state).toBe("reconnect_needed");
    expect(s!.accessToken).toBeNull();
    const [c] = await api.ctx.db.select().from(connections).where(eq(connections.id, conn.id));
    expect(c!.lastError).toMatch(/Reconnect/);
    // Final: the next call (any worker) is refused without asking the token endpoint again.
    const calls = server.calls.refresh_token;
    expect((await rejection(provider(worker2).getAccessToken())).kind).toBe("auth");
    expect(server.calls.refresh_token).toBe(calls);
    const res = await api.app.inject({
      method: "GET",
      url: `/api/connections/${conn.id}`,
      headers: bearer(shop.tokens.owner),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().connection.lastError).toMatch(/Reconnect/);
    // The server echoed the refused token in its error text: it reached no message, log line or answer.
    for (const secret of [pasted, rotated, token, server.clientSecret]) {
      expect(err.message).not.toContain(secret);
      expect(c!.lastError).not.toContain(secret);
      expect(s!.row.stateMessage).not.toContain(secret);
      expect(res.body).not.toContain(secret);
      for (const line of [...api.ctx.logLines, ...worker2.logLines]) expect(line).not.toContain(secret);
    }
    expect(err.message).toContain("[redacted]");

    // The seller pastes a new refresh token: the connection works again.
    const fresh = server.grantRefreshToken();
    await updateConnection(api.ctx.db, shop.account.id, conn.id, {
      secretsEnc: api.ctx.box.sealJson({ clientSecret: server.clientSecret, refreshToken: fresh }),
    });
    const [updated] = await api.ctx.db.select().from(connections).where(eq(connections.id, conn.id));
    const again = await provider(api.ctx, manifest, updated!).getAccessToken();
    expect(server.accepts(again)).toBe(true);
    expect((await storedTokens(api.ctx))!.row.state).toBe("ok");
  });

  it("a transient failure is thrown as transient, changes nothing, and the next call tries again", async () => {
    const p = provider(api.ctx);
    server.failNext = [503];
    const err = await rejection(p.getAccessToken());
    expect(err.kind).toBe("transient");
    expect(err.message).toMatch(/503/);
    const s = await storedTokens(api.ctx);
    expect(s!.row.state).toBe("ok");
    expect(s!.refreshToken).toBe(pasted);
    expect(s!.row.version).toBe(0);
    const token = await p.getAccessToken();
    expect(server.accepts(token)).toBe(true);
    expect(server.refreshTokensSeen.filter((t) => t === pasted)).toHaveLength(2);
  });

  it("an unreachable or slow token endpoint is transient too", async () => {
    const c = await insertConnection(api.ctx.db, api.ctx.box, {
      accountId: shop.account.id,
      marketplace: manifest.id,
      name: `Unreachable ${randomBytes(3).toString("hex")}`,
      baseUrl: server.baseUrl,
      config: { clientId: server.clientId, tokenUrl: "http://127.0.0.1:9/token" },
      secrets: { clientSecret: server.clientSecret, refreshToken: server.grantRefreshToken() },
    });
    const err = await rejection(provider(api.ctx, manifest, c).getAccessToken());
    expect(err.kind).toBe("transient");
    expect(err.message).toMatch(/could not be reached/);
    expect((await getCredentials(api.ctx.db, c.id))!.state).toBe("ok");
    const impatient = await testContext({
      clock,
      database: onPostgres
        ? await openDatabase({ databaseUrl: api.ctx.database.url, poolSize: 2 })
        : api.ctx.database,
      settings: { secretKey, marketplaceTimeoutMs: 100 },
    });
    server.delayMs = 400;
    try {
      const slow = await rejection(provider(impatient).getAccessToken());
      expect(slow.kind).toBe("transient");
      expect(slow.message).toMatch(/did not answer in time/);
    } finally {
      if (onPostgres) await impatient.close();
      else await impatient.events.stop();
    }
  });

  it("invalidate(token) makes the next call refresh, once, even when another worker holds the same token", async () => {
    const p1 = provider(api.ctx);
    const p2 = provider(worker2);
    const t1 = await p1.getAccessToken();
    expect(await p2.getAccessToken()).toBe(t1);
    const calls = server.calls.refresh_token;
    await p1.invalidate(t1);
    await p2.invalidate(t1);
    const [a, b] = await Promise.all([p1.getAccessToken(), p2.getAccessToken()]);
    expect(a).not.toBe(t1);
    expect(b).toBe(a);
    expect(server.calls.refresh_token - calls).toBe(1);
  });

  it("a lost answer after the server rotated (as a crash before the commit) ends in reconnect-needed, said clearly", async () => {
    const lossy = await testContext({
      clock,
      database: onPostgres
        ? await openDatabase({ databaseUrl: api.ctx.database.url, poolSize: 2 })
        : api.ctx.database,
      settings: { secretKey },
      http: async (url, init) => {
        await fetch(url, init);
        throw new TypeError("fetch failed: socket hang up");
      },
    });
    try {
      expect((await rejection(provider(lossy).getAccessToken())).kind).toBe("transient");
    } finally {
      if (onPostgres) await lossy.close();
      else await lossy.events.stop();
    }
    // The stored refresh token is the one the server already replaced.
    expect((await storedTokens(api.ctx))!.refreshToken).toBe(pasted);
    const err = await rejection(provider(api.ctx).getAccessToken());
    expect(err.kind).toBe("auth");
    expect(err.message).toMatch(/Tiny OAuth refused the stored authorisation .*Reconnect the store/);
    expect((await storedTokens(api.ctx))!.row.state).toBe("reconnect_needed");
  });

  it("client-credentials grant, client auth in the body", async () => {
    const m = oauthTestManifest({ clientAuth: "body", consent: false });
    const cc: MarketplaceManifest = {
      ...m,
      auth: {
        ...(m.auth as Extract<MarketplaceManifest["auth"], { kind: "oauth2" }>),
        grant: "client_credentials",
        refreshTokenKey: null,
      },
    };
    const c = await insertConnection(api.ctx.db, api.ctx.box, {
      accountId: shop.account.id,
      marketplace: manifest.id,
      name: `Keys ${randomBytes(3).toString("hex")}`,
      baseUrl: server.baseUrl,
      config: { clientId: server.clientId, tokenUrl: server.tokenUrl },
      secrets: { clientSecret: server.clientSecret },
    });
    const before = server.calls.other;
    const token = await provider(api.ctx, cc, c).getAccessToken();
    expect(server.accepts(token)).toBe(true);
    expect(server.calls.other - before).toBe(1);
    expect(await provider(worker2, cc, c).getAccessToken()).toBe(token);
  });

  it("refuses plain http to anything but this machine, and static connections have no tokens", async () => {
    const c = await insertConnection(api.ctx.db, api.ctx.box, {
      accountId: shop.account.id,
      marketplace: manifest.id,
      name: `Plain ${randomBytes(3).toString("hex")}`,
      baseUrl: server.baseUrl,
      config: { clientId: server.clientId, tokenUrl: "http://tokens.example.com/token" },
      secrets: { clientSecret: server.clientSecret, refreshToken: server.grantRefreshToken() },
    });
    const err = await rejection(provider(api.ctx, manifest, c).getAccessToken());
    expect(err.kind).toBe("invalid_request");
    expect(err.message).toMatch(/config\.tokenUrl: must be an https URL/);
    const none = await rejection(createTokenProvider(api.ctx, conn, bricklinkManifest).getAccessToken());
    expect(none.kind).toBe("invalid_request");
    expect(none.message).toMatch(/use no access tokens/);
  });
});
