import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../test/helpers/db.ts";
import { bearer, login, seedAccount, type TestApi, testApi } from "../../test/helpers/http.ts";
import { ensureOperatorToken } from "../auth/tokens.ts";
import { insertConnection } from "../db/repos/connections.ts";
import { auditLog, syncRuns, users } from "../db/schema.ts";
import { type BrickOwlSimulator, startBrickOwlSimulator } from "../marketplaces/brickowl/simulator/server.ts";
import { runSync } from "../sync/engine.ts";
import { buildNoticeApp, startNoticeListener } from "./notice-listener.ts";
import { type Action, allows, defaultSwitches, isAction, permissionsMarkdown, ROLES } from "./permissions.ts";

const clock = new ManualClock(new Date("2026-06-01T10:00:00Z"));
let api: TestApi;
type Seeded = Awaited<ReturnType<typeof seedAccount>>;
let A: Seeded;
let B: Seeded;
let ipSeq = 0;
/** A fresh documentation address per call, so the per-address sign-in limit stays out of the way. */
const nextIp = () => `198.51.100.${++ipSeq % 250}`;

async function signIn(email: string, password: string, extra: object = {}) {
  return api.app.inject({
    method: "POST",
    url: "/api/auth/login",
    remoteAddress: nextIp(),
    payload: { email, password, ...extra },
  });
}

beforeAll(async () => {
  // Off, as in production: the refusal of private targets is what these tests check.
  api = await testApi({ clock, settings: { allowPrivateMarketplaceUrls: false } });
  A = await seedAccount(api, "access-alpha");
  B = await seedAccount(api, "access-beta");
});
afterAll(async () => {
  await api?.close();
});

describe("sign-in lockout under parallel attempts", () => {
  it("20 wrong passwords at once lock the user; the right one is then refused", async () => {
    const email = A.users.staff.email;
    const wrong = await Promise.all(Array.from({ length: 20 }, () => signIn(email, "wrong password!!")));
    const codes = wrong.map((r) => r.statusCode);
    expect(codes.filter((c) => c === 401)).toHaveLength(5);
    expect(codes.filter((c) => c === 423)).toHaveLength(15);
    const right = await signIn(email, "correct horse battery");
    expect(right.statusCode, right.body).toBe(423);
    expect(right.json().error.code).toBe("locked");
    const [row] = await api.ctx.db.select().from(users).where(eq(users.id, A.users.staff.id));
    expect(row!.failedLogins).toBe(5);
    // After the lock runs out the right password works and the counter starts again.
    clock.advance(16 * 60_000);
    expect((await signIn(email, "correct horse battery")).statusCode).toBe(200);
    const [after] = await api.ctx.db.select().from(users).where(eq(users.id, A.users.staff.id));
    expect(after!.failedLogins).toBe(0);
  });

  it("an e-mail nobody has locks the same way under parallel attempts", async () => {
    const wrong = await Promise.all(
      Array.from({ length: 12 }, () => signIn("nobody-here@example.com", "wrong password!!")),
    );
    expect(wrong.filter((r) => r.statusCode === 423)).toHaveLength(7);
  });
});

describe("cutting a user off", () => {
  it("disabling stops the user's session and API token at once; enabling brings the token back", async () => {
    const s = await login(api, A.users.picker.email);
    const me = () => api.app.inject({ method: "GET", url: "/api/auth/me", headers: { cookie: s.cookie } });
    const byToken = () =>
      api.app.inject({ method: "GET", url: "/api/orders", headers: bearer(A.tokens.picker) });
    expect((await me()).statusCode).toBe(200);
    expect((await byToken()).statusCode).toBe(200);
    const off = await api.app.inject({
      method: "PATCH",
      url: `/api/users/${A.users.picker.id}`,
      headers: bearer(A.tokens.owner),
      payload: { disabled: true },
    });
    expect(off.statusCode, off.body).toBe(200);
    expect(off.json().user).toMatchObject({ disabled: true });
    expect((await me()).statusCode).toBe(401);
    expect((await byToken()).statusCode).toBe(401);
    expect((await signIn(A.users.picker.email, "correct horse battery")).statusCode).toBe(401);
    const on = await api.app.inject({
      method: "PATCH",
      url: `/api/users/${A.users.picker.id}`,
      headers: bearer(A.tokens.owner),
      payload: { disabled: false },
    });
    expect(on.json().user).toMatchObject({ disabled: false });
    expect((await byToken()).statusCode).toBe(200);
    // The old session was ended when the user was disabled: it does not come back.
    expect((await me()).statusCode).toBe(401);
  });

  it("an open live-event stream ends when its user is disabled", async () => {
    const seeded = await seedAccount(api, "access-stream");
    const s = await login(api, seeded.users.staff.email);
    const url = await api.app.listen({ port: 0, host: "127.0.0.1" });
    try {
      const res = await fetch(`${url}/api/events`, { headers: { cookie: s.cookie } });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toContain("connected");
      const off = await api.app.inject({
        method: "PATCH",
        url: `/api/users/${seeded.users.staff.id}`,
        headers: bearer(seeded.tokens.owner),
        payload: { disabled: true },
      });
      expect(off.statusCode).toBe(200);
      const ended = await Promise.race([
        reader.read().then((r) => r.done),
        new Promise((r) => setTimeout(() => r("still open"), 3_000)),
      ]);
      expect(ended).toBe(true);
    } finally {
      await api.app.server.close();
    }
  });

  it("a role change applies to the next request", async () => {
    const seeded = await seedAccount(api, "access-role");
    const route = () =>
      api.app.inject({ method: "GET", url: "/api/users", headers: bearer(seeded.tokens.staff) });
    expect((await route()).statusCode).toBe(200);
    const res = await api.app.inject({
      method: "PATCH",
      url: `/api/users/${seeded.users.staff.id}`,
      headers: bearer(seeded.tokens.owner),
      payload: { role: "picker" },
    });
    expect(res.json().user.role).toBe("picker");
    expect((await route()).statusCode).toBe(403);
  });

  it("a password reset ends the user's sessions and the old password", async () => {
    const seeded = await seedAccount(api, "access-reset");
    const s = await login(api, seeded.users.staff.email);
    const res = await api.app.inject({
      method: "POST",
      url: `/api/users/${seeded.users.staff.id}/password`,
      headers: bearer(seeded.tokens.owner),
      payload: { password: "a brand new password" },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().sessionsEnded).toBe(1);
    const me = await api.app.inject({ method: "GET", url: "/api/auth/me", headers: { cookie: s.cookie } });
    expect(me.statusCode).toBe(401);
    expect((await signIn(seeded.users.staff.email, "correct horse battery")).statusCode).toBe(401);
    expect((await signIn(seeded.users.staff.email, "a brand new password")).statusCode).toBe(200);
  });

  it("logout ends every session, and with tokens: true revokes the API tokens too", async () => {
    const seeded = await seedAccount(api, "access-logout");
    const s1 = await login(api, seeded.users.staff.email);
    await login(api, seeded.users.staff.email);
    const res = await api.app.inject({
      method: "POST",
      url: `/api/users/${seeded.users.staff.id}/logout`,
      headers: bearer(seeded.tokens.owner),
      payload: { tokens: true },
    });
    expect(res.json()).toEqual({ sessionsEnded: 2, tokensRevoked: 1 });
    const me = await api.app.inject({ method: "GET", url: "/api/auth/me", headers: { cookie: s1.cookie } });
    expect(me.statusCode).toBe(401);
    const t = await api.app.inject({
      method: "GET",
      url: "/api/orders",
      headers: bearer(seeded.tokens.staff),
    });
    expect(t.statusCode).toBe(401);
  });

  it("deleting a user keeps the audit log; the last active owner cannot be removed or demoted", async () => {
    const seeded = await seedAccount(api, "access-delete");
    await login(api, seeded.users.staff.email);
    const del = await api.app.inject({
      method: "DELETE",
      url: `/api/users/${seeded.users.staff.id}`,
      headers: bearer(seeded.tokens.owner),
    });
    expect(del.statusCode, del.body).toBe(200);
    const list = await api.app.inject({
      method: "GET",
      url: "/api/users",
      headers: bearer(seeded.tokens.owner),
    });
    expect(list.json().users.map((u: { email: string }) => u.email)).not.toContain(seeded.users.staff.email);
    const logs = await api.ctx.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.accountId, seeded.account.id), eq(auditLog.action, "login")));
    expect(logs).toHaveLength(1);
    expect(logs[0]!.userId).toBeNull();
    for (const [method, url, payload] of [
      ["DELETE", `/api/users/${seeded.users.owner.id}`, undefined],
      ["PATCH", `/api/users/${seeded.users.owner.id}`, { role: "staff" }],
      ["PATCH", `/api/users/${seeded.users.owner.id}`, { disabled: true }],
    ] as const) {
      const res = await api.app.inject({
        method,
        url,
        headers: bearer(seeded.tokens.owner),
        ...(payload ? { payload } : {}),
      });
      expect(res.statusCode, `${method} ${url}`).toBe(409);
      expect(res.json().error.message).toMatch(/only active owner/);
    }
  });

  it("only owners may do it, and only to users of their own account", async () => {
    const target = `/api/users/${A.users.picker.id}`;
    for (const t of [A.tokens.staff, A.tokens.picker]) {
      const res = await api.app.inject({
        method: "PATCH",
        url: target,
        headers: bearer(t),
        payload: { disabled: true },
      });
      expect(res.statusCode).toBe(403);
    }
    for (const [method, url] of [
      ["PATCH", target],
      ["DELETE", target],
      ["POST", `${target}/logout`],
      ["POST", `${target}/password`],
    ] as const) {
      const res = await api.app.inject({
        method,
        url,
        headers: bearer(B.tokens.owner),
        payload:
          method === "PATCH"
            ? { disabled: true }
            : method === "DELETE"
              ? undefined
              : { password: "x".repeat(12) },
      });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
    }
  });
});

describe("roles around tokens and webhook URLs", () => {
  const tokenList = async (t: string) =>
    (await api.app.inject({ method: "GET", url: "/api/tokens", headers: bearer(t) })).json().tokens as {
      id: number;
      userId: number;
    }[];

  it("staff cannot revoke the owner's token; pickers and staff list only their own tokens", async () => {
    const all = await tokenList(A.tokens.owner);
    const ownerToken = all.find((t) => t.userId === A.users.owner.id)!;
    expect(new Set(all.map((t) => t.userId)).size).toBeGreaterThan(1);
    for (const role of ["staff", "picker"] as const) {
      const mine = await tokenList(A.tokens[role]);
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.every((t) => t.userId === A.users[role].id)).toBe(true);
    }
    const revoke = await api.app.inject({
      method: "DELETE",
      url: `/api/tokens/${ownerToken.id}`,
      headers: bearer(A.tokens.staff),
    });
    expect(revoke.statusCode).toBe(404);
    const still = await api.app.inject({
      method: "GET",
      url: "/api/orders",
      headers: bearer(A.tokens.owner),
    });
    expect(still.statusCode).toBe(200);
  });

  it("webhook URLs (they hold the webhook token) are shown to owners only", async () => {
    const c = await insertConnection(api.ctx.db, api.ctx.box, {
      accountId: A.account.id,
      marketplace: "bricklink",
      name: "Webhook shop",
      baseUrl: "https://api.bricklink.com/api/store/v1",
      config: {},
      secrets: { consumerKey: "ck", consumerSecret: "cs", tokenValue: "tv", tokenSecret: "ts" },
    });
    const get = (t: string) =>
      api.app.inject({ method: "GET", url: `/api/connections/${c.id}`, headers: bearer(t) });
    expect((await get(A.tokens.owner)).json().connection.webhookUrl).toContain(c.webhookToken);
    for (const t of [A.tokens.staff, A.tokens.picker]) {
      const res = await get(t);
      expect(res.statusCode).toBe(200);
      expect(res.body).not.toContain(c.webhookToken);
      const list = await api.app.inject({ method: "GET", url: "/api/connections", headers: bearer(t) });
      expect(list.body).not.toContain(c.webhookToken);
    }
  });
});

describe("adding the same user twice at once", () => {
  it("one add wins, the others are told the address is taken (409), never a 500", async () => {
    const email = `twice-${randomBytes(3).toString("hex")}@shop.test`;
    const answers = await Promise.all(
      Array.from({ length: 6 }, () =>
        api.app.inject({
          method: "POST",
          url: "/api/users",
          headers: bearer(A.tokens.owner),
          payload: { email, password: "correct horse battery", role: "staff" },
        }),
      ),
    );
    const codes = answers.map((r) => r.statusCode).sort();
    expect(codes.filter((c) => c === 201)).toHaveLength(1);
    expect(codes.filter((c) => c !== 201).every((c) => c === 409)).toBe(true);
    const rows = await api.ctx.db.select().from(users).where(eq(users.email, email));
    expect(rows).toHaveLength(1);
  });
});

describe("adding a user does not reveal other accounts' e-mails", () => {
  it("an address another account uses is added like any fresh one, and both sign in to their own", async () => {
    const add = (email: string) =>
      api.app.inject({
        method: "POST",
        url: "/api/users",
        headers: bearer(B.tokens.owner),
        payload: { email, password: "beta's own password", role: "staff" },
      });
    const taken = await add(A.users.owner.email);
    const fresh = await add(`fresh-${randomBytes(3).toString("hex")}@example.com`);
    expect(taken.statusCode).toBe(fresh.statusCode);
    expect(taken.statusCode).toBe(201);
    expect(Object.keys(taken.json().user).sort()).toEqual(Object.keys(fresh.json().user).sort());
    // The same address twice in one account is the caller's own business: that is a conflict.
    expect((await add(A.users.owner.email.toUpperCase())).statusCode).toBe(409);
    const a = await signIn(A.users.owner.email, "correct horse battery");
    expect(a.statusCode, a.body).toBe(200);
    expect(a.json().account.slug).toBe(A.account.slug);
    const b = await signIn(A.users.owner.email, "beta's own password");
    expect(b.statusCode, b.body).toBe(200);
    expect(b.json().account.slug).toBe(B.account.slug);
  });

  it("one e-mail with the same password in two accounts asks which account", async () => {
    const res = await api.app.inject({
      method: "POST",
      url: "/api/users",
      headers: bearer(B.tokens.owner),
      payload: { email: A.users.picker.email, password: "correct horse battery", role: "picker" },
    });
    expect(res.statusCode).toBe(201);
    const both = await signIn(A.users.picker.email, "correct horse battery");
    expect(both.statusCode).toBe(409);
    expect(both.json().error.code).toBe("choose_account");
    const named = await signIn(A.users.picker.email, "correct horse battery", { account: B.account.slug });
    expect(named.statusCode).toBe(200);
    expect(named.json().account.slug).toBe(B.account.slug);
  });
});

/** Answers 401 and echoes the request line and body as they arrived (still form-encoded). */
async function rawEchoServer(): Promise<{ url: string; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      hits.push(`${req.url} ${body}`);
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { status: `Invalid API key in ${req.url} ${body}` } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe("a planted form-encoded secret", () => {
  it("never comes back, however the marketplace encoded it", async () => {
    const key = `LeakT~ilde!(x) S+pace${randomBytes(6).toString("hex")}`;
    const echo = await rawEchoServer();
    const operator = {
      ...bearer(ensureOperatorToken(api.ctx.settings.dataDir)),
      "x-orderhub-account": A.account.slug,
    };
    try {
      const res = await api.app.inject({
        method: "POST",
        url: "/api/connections",
        headers: operator,
        payload: {
          marketplace: "brickowl",
          name: "Echo",
          baseUrl: echo.url,
          config: { apiKey: key },
          test: true,
        },
      });
      expect(res.statusCode, res.body).toBe(422);
      // The echo really carried an encoded form of the key.
      expect(echo.hits.join(" ")).toMatch(/LeakT(%7E|~)ilde/);
      const forms = [
        key,
        encodeURIComponent(key),
        new URLSearchParams({ k: key }).toString().slice(2),
        "LeakT%7Eilde",
        "S%2Bpace",
      ];
      for (const f of forms) expect(res.body).not.toContain(f);
      expect(res.body).toContain("[redacted]");
      for (const f of forms) expect(api.ctx.logLines.join("\n")).not.toContain(f);
    } finally {
      await echo.close();
    }
  });
});

describe("where a connection may send its credentials", () => {
  const create = (
    headers: Record<string, string>,
    baseUrl: string,
    name = `c-${randomBytes(3).toString("hex")}`,
  ) =>
    api.app.inject({
      method: "POST",
      url: "/api/connections",
      headers,
      payload: { marketplace: "brickowl", name, baseUrl, config: { apiKey: "a-key-of-some-length" } },
    });

  it("refuses plain http, and private or loopback targets for an owner", async () => {
    for (const url of [
      "http://api.brickowl.com/v1",
      "http://127.0.0.1:9/v1",
      "https://127.0.0.1/v1",
      "https://10.1.2.3/v1",
      "https://192.168.0.10/v1",
      "https://169.254.169.254/latest",
      "https://[::1]/v1",
      "https://[::ffff:10.0.0.1]/v1",
      "https://localhost/v1",
      "https://user:pw@api.brickowl.com/v1",
    ]) {
      const res = await create(bearer(A.tokens.owner), url);
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error.details.field, url).toBe("baseUrl");
    }
    expect((await create(bearer(A.tokens.owner), "https://api.brickowl.com/v1")).statusCode).toBe(201);
  });

  it("the local operator (the CLI on this machine) may use a loopback simulator", async () => {
    const operator = {
      ...bearer(ensureOperatorToken(api.ctx.settings.dataDir)),
      "x-orderhub-account": A.account.slug,
    };
    expect((await create(operator, "http://127.0.0.1:9/v1")).statusCode).toBe(201);
    expect((await create(operator, "http://192.168.1.5/v1")).statusCode).toBe(400);
  });

  it("a demo connection on a loopback simulator can still be renamed with its address sent back unchanged", async () => {
    const c = await insertConnection(api.ctx.db, api.ctx.box, {
      accountId: A.account.id,
      marketplace: "brickowl",
      name: "Demo owl",
      baseUrl: "http://127.0.0.1:9/api/v1",
      config: {},
      secrets: { apiKey: "demo-key-123456" },
      demo: true,
    });
    const res = await api.app.inject({
      method: "PATCH",
      url: `/api/connections/${c.id}`,
      headers: bearer(A.tokens.owner),
      payload: { name: "Demo owl (renamed)", baseUrl: c.baseUrl },
    });
    expect(res.statusCode, res.body).toBe(200);
    const moved = await api.app.inject({
      method: "PATCH",
      url: `/api/connections/${c.id}`,
      headers: bearer(A.tokens.owner),
      payload: { baseUrl: "http://127.0.0.1:10/api/v1", config: { apiKey: "demo-key-123456" } },
    });
    expect(moved.statusCode).toBe(400);
    expect(moved.json().error.details.field).toBe("baseUrl");
  });

  it("changing the base URL needs the credentials again, so Test cannot send them elsewhere", async () => {
    const echo = await rawEchoServer();
    api.ctx.settings.allowPrivateMarketplaceUrls = true;
    try {
      const made = await create(bearer(A.tokens.owner), "https://api.brickowl.com/v1");
      const id = made.json().connection.id as number;
      const moved = await api.app.inject({
        method: "PATCH",
        url: `/api/connections/${id}`,
        headers: bearer(A.tokens.owner),
        payload: { baseUrl: echo.url },
      });
      expect(moved.statusCode, moved.body).toBe(400);
      expect(moved.json().error.details.field).toBe("config.apiKey");
      const test = await api.app.inject({
        method: "POST",
        url: `/api/connections/${id}/test`,
        headers: bearer(A.tokens.owner),
      });
      expect(test.statusCode).not.toBe(200);
      expect(echo.hits).toEqual([]);
      const withKey = await api.app.inject({
        method: "PATCH",
        url: `/api/connections/${id}`,
        headers: bearer(A.tokens.owner),
        payload: { baseUrl: echo.url, config: { apiKey: "a-new-key-entered-again" } },
      });
      expect(withKey.statusCode, withKey.body).toBe(200);
      expect(withKey.json().connection.baseUrl).toBe(echo.url);
    } finally {
      api.ctx.settings.allowPrivateMarketplaceUrls = false;
      await echo.close();
    }
  });
});

describe("the notice listener (BrickOwl order/notify)", () => {
  let sim: BrickOwlSimulator;
  let connectionId: number;
  let storeId: string;
  beforeAll(async () => {
    sim = await startBrickOwlSimulator({ seed: 3, orders: 4 });
    storeId = String(sim.control.state.storeId);
    const c = await insertConnection(api.ctx.db, api.ctx.box, {
      accountId: A.account.id,
      marketplace: "brickowl",
      name: "Owl notices",
      baseUrl: sim.baseUrl,
      config: { storeId },
      secrets: { apiKey: sim.apiKey },
    });
    connectionId = c.id;
  });
  afterAll(async () => {
    await sim?.close();
  });
  const runs = () => api.ctx.db.select().from(syncRuns).where(eq(syncRuns.connectionId, connectionId));

  it("binds the configured HOST, not every interface", async () => {
    const listener = await startNoticeListener(api.ctx, api.queue, { marketplace: "brickowl", port: 0 });
    try {
      expect(new URL(listener.url).hostname).toBe(api.ctx.settings.host);
      const res = await fetch(`${listener.url}?order_id=1&store_id=1`);
      expect(res.status).toBe(404);
    } finally {
      await listener.close();
    }
  });

  it("limits per calling address, folds repeats, and asks only for the orders named", async () => {
    const { app, flush } = buildNoticeApp(api.ctx, api.queue, { marketplace: "brickowl", flushMs: 60_000 });
    try {
      const notify = (orderId: string, ip: string) =>
        app.inject({
          method: "GET",
          url: `/brick_owl_order_notify?order_id=${orderId}&store_id=${storeId}`,
          remoteAddress: ip,
        });
      const forged = [];
      for (let i = 0; i < 130; i++) forged.push(await notify(String(900_000 + i), "203.0.113.9"));
      expect(forged.filter((r) => r.statusCode === 200)).toHaveLength(120);
      expect(forged.filter((r) => r.statusCode === 429)).toHaveLength(10);
      const genuine = await notify(sim.control.createOrder().toString(), "198.51.100.200");
      expect(genuine.statusCode).toBe(200);
      expect(genuine.json()).toEqual({ accepted: true, folded: false });
      const again = await notify("900000", "198.51.100.201");
      expect(again.json()).toEqual({ accepted: true, folded: true });
      await flush();
      await app.close();
      const rows = await runs();
      expect(rows).toHaveLength(1);
      expect(rows[0]!.mode).toBe("targets");
      expect(rows[0]!.targetIds).toHaveLength(121);
    } finally {
      await app.close();
    }
  });

  it("an unknown order id becomes a fetch of that order, never a walk of the order list", async () => {
    for (const r of await runs()) {
      if (r.state === "queued") await runSync(api.ctx, r.id, { queue: api.queue });
    }
    const { app, flush } = buildNoticeApp(api.ctx, api.queue, { marketplace: "brickowl", flushMs: 60_000 });
    try {
      const before = sim.control.calls();
      const res = await app.inject({
        method: "GET",
        url: `/brick_owl_order_notify?order_id=777777777&store_id=${storeId}`,
        remoteAddress: "203.0.113.50",
      });
      expect(res.statusCode).toBe(200);
      await flush();
      const run = (await runs()).find((r) => r.state === "queued")!;
      expect(run.mode).toBe("targets");
      expect(run.targetIds).toEqual(["777777777"]);
      const done = await runSync(api.ctx, run.id, { queue: api.queue });
      expect(done.state).toBe("completed_with_errors");
      // One order/view answered "not found"; no list call.
      expect(sim.control.calls() - before).toBe(1);
      const junk = await app.inject({ method: "GET", url: `/brick_owl_order_notify?store_id=${storeId}` });
      expect(junk.statusCode).toBe(400);
    } finally {
      await app.close();
    }
  });
});

describe("roles × actions: every route against the permissions table", () => {
  let C: Seeded;
  beforeAll(async () => {
    C = await seedAccount(api, "access-roles");
  });
  /** Ids nobody has: an allowed call answers 400/404, never changes anything of the account. */
  const concrete = (url: string) =>
    url
      .replace(":id", "999999")
      .replace(":ref", "999999")
      .replace(":marketplace", "fake")
      .replace(":token", "x".repeat(32));
  /** Streams that stay open while allowed (the refusal is still checked). */
  const STREAMS = new Set(["GET /api/events"]);
  const call = (r: { method: string; url: string }, role: "owner" | "staff" | "picker") =>
    api.app.inject({
      method: r.method as "GET",
      url: concrete(r.url),
      headers: bearer(C.tokens[role]),
      remoteAddress: nextIp(),
      ...(r.method === "GET" ? {} : { payload: {} }),
    });

  it("every signed-in route names an action of the table (no role lists, no unnamed routes)", () => {
    const guarded = api.app.routes.filter((r) => r.auth !== "public" && r.auth !== "operator");
    expect(guarded.length).toBeGreaterThan(40);
    for (const r of guarded)
      expect(isAction(String(r.auth)), `${r.method} ${r.url} declares ${JSON.stringify(r.auth)}`).toBe(true);
  });

  it("each role is refused exactly what the table refuses, with a 403 naming the role and the action", async () => {
    const switches = defaultSwitches();
    const mismatches: string[] = [];
    for (const r of api.app.routes.filter((x) => x.auth !== "public" && x.auth !== "operator")) {
      const action = r.auth as Action;
      for (const role of ROLES) {
        const allowed = allows(action, role, switches);
        if (allowed && STREAMS.has(`${r.method} ${r.url}`)) continue;
        const res = await call(r, role);
        const forbidden = res.statusCode === 403 && res.json().error.code === "forbidden";
        if (forbidden === allowed) {
          mismatches.push(`${r.method} ${r.url} as ${role}: ${res.statusCode} ${res.body.slice(0, 120)}`);
          continue;
        }
        if (forbidden) {
          const err = res.json().error;
          expect(err.message).toContain(action);
          expect(err.message).toContain(role);
          expect(err.details).toEqual({ role, action });
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it("pickers may mark shipped until the owner switches it off; the UI is told through /api/auth/me", async () => {
    const ship = { method: "POST", url: "/api/fulfilment/ship" };
    const me = async () =>
      (
        await api.app.inject({ method: "GET", url: "/api/auth/me", headers: bearer(C.tokens.picker) })
      ).json() as { permissions: string[] };
    // Allowed: the request gets past the role check and is refused for its empty body.
    expect((await call(ship, "picker")).statusCode).toBe(400);
    expect((await me()).permissions).toContain("orders.ship");
    expect((await me()).permissions).not.toContain("sync.run");

    const patch = (token: string, body: object) =>
      api.app.inject({
        method: "PATCH",
        url: "/api/settings/account",
        headers: bearer(token),
        payload: body,
      });
    const staffTry = await patch(C.tokens.staff, { access: { pickersMayShip: false } });
    expect(staffTry.statusCode).toBe(403);
    expect(staffTry.json().error.message).toContain("settings.manage");
    const off = await patch(C.tokens.owner, { access: { pickersMayShip: false } });
    expect(off.statusCode, off.body).toBe(200);
    expect(off.json().access).toEqual({ pickersMayShip: false });

    const refused = await call(ship, "picker");
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.message).toMatch(/picker.*orders\.ship.*Pickers may mark orders shipped/);
    expect((await me()).permissions).not.toContain("orders.ship");
    // Staff and owners are not affected by the switch.
    expect((await call(ship, "staff")).statusCode).toBe(400);
    // Another account's pickers keep their default.
    expect(
      (await api.app.inject({ method: "POST", url: ship.url, headers: bearer(A.tokens.picker), payload: {} }))
        .statusCode,
    ).toBe(400);

    expect((await patch(C.tokens.owner, { access: { pickersMayShip: true } })).statusCode).toBe(200);
    expect((await call(ship, "picker")).statusCode).toBe(400);
  });

  it("account settings name a bad field, and keep the document settings beside them", async () => {
    const put = await api.app.inject({
      method: "PUT",
      url: "/api/settings/documents",
      headers: bearer(C.tokens.owner),
      payload: { storeName: "Roles Corner" },
    });
    expect(put.statusCode, put.body).toBe(200);
    const pastSheet = await api.app.inject({
      method: "PUT",
      url: "/api/settings/documents",
      headers: bearer(C.tokens.owner),
      payload: { storeName: "Roles Corner", labelLayout: "a4-2x7", labelStartAt: 15 },
    });
    expect(pastSheet.statusCode).toBe(400);
    expect(pastSheet.json().error.message).toMatch(/^body\.labelStartAt: the a4-2x7 layout has 14 positions/);
    const bad = await api.app.inject({
      method: "PATCH",
      url: "/api/settings/account",
      headers: bearer(C.tokens.owner),
      payload: { timezone: "Europe/Nowhere" },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toMatch(/^body\.timezone: must be a time zone name/);
    const unknown = await api.app.inject({
      method: "PATCH",
      url: "/api/settings/account",
      headers: bearer(C.tokens.owner),
      payload: { access: { pickersMayDance: true } },
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.message).toContain("pickersMayDance");
    const ok = await api.app.inject({
      method: "PATCH",
      url: "/api/settings/account",
      headers: bearer(C.tokens.owner),
      payload: { timezone: "Europe/Luxembourg", access: { pickersMayShip: true } },
    });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().account.timezone).toBe("Europe/Luxembourg");
    const docs = await api.app.inject({
      method: "GET",
      url: "/api/settings/documents",
      headers: bearer(C.tokens.picker),
    });
    expect(docs.json()).toMatchObject({
      documents: { storeName: "Roles Corner" },
      timezone: "Europe/Luxembourg",
    });
  });

  it("the README's roles table is the one generated from the permissions table", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    expect(
      readme.includes(permissionsMarkdown()),
      "README.md must hold the table permissionsMarkdown() (src/http/permissions.ts) renders, unchanged",
    ).toBe(true);
  });
});
