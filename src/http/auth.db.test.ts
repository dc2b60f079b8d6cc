import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, login, seedAccount, type TestApi, testApi } from "../../test/helpers/http.ts";
import { ensureOperatorToken } from "../auth/tokens.ts";
import { type Action, allows, defaultSwitches, isAction, ROLES } from "./permissions.ts";

let api: TestApi;
let acct: Awaited<ReturnType<typeof seedAccount>>;

beforeAll(async () => {
  api = await testApi();
  acct = await seedAccount(api);
});
afterAll(async () => {
  await api.close();
});

function concrete(url: string): string {
  return url
    .replace(":id", "1")
    .replace(":ref", "1")
    .replace(":marketplace", "fake")
    .replace(":token", "x".repeat(32));
}

const PUBLIC = [
  "GET /api/health",
  "GET /api/openapi.json",
  "GET /api/setup",
  "POST /api/setup",
  "POST /api/auth/login",
  "POST /webhooks/:marketplace/:token",
  "GET /oauth/callback/:marketplace",
];

describe("every route's auth", () => {
  it("public routes are exactly the documented few", () => {
    const pub = api.app.routes.filter((r) => r.auth === "public").map((r) => `${r.method} ${r.url}`);
    expect(pub.sort()).toEqual([...PUBLIC].sort());
  });

  it("every other route answers 401 without credentials", async () => {
    const guarded = api.app.routes.filter((r) => r.auth !== "public");
    expect(guarded.length).toBeGreaterThan(15);
    for (const r of guarded) {
      const res = await api.app.inject({
        method: r.method,
        url: concrete(r.url),
        payload: r.method === "GET" ? undefined : {},
      });
      expect(res.statusCode, `${r.method} ${r.url}`).toBe(401);
      expect(res.json().error.code).toBe("unauthenticated");
    }
  });

  it("role-limited routes answer 403 to a role the permissions table does not allow", async () => {
    const switches = defaultSwitches();
    const limited = api.app.routes.filter(
      (r) => isAction(String(r.auth)) && ROLES.some((x) => !allows(r.auth as Action, x, switches)),
    );
    expect(limited.length).toBeGreaterThan(5);
    for (const r of limited) {
      const role = ROLES.find((x) => !allows(r.auth as Action, x, switches))!;
      const res = await api.app.inject({
        method: r.method,
        url: concrete(r.url),
        headers: bearer(acct.tokens[role]),
        payload: r.method === "GET" ? undefined : {},
      });
      expect(res.statusCode, `${r.method} ${r.url} as ${role}`).toBe(403);
    }
  });

  it("operator-only routes refuse ordinary users", async () => {
    for (const r of api.app.routes.filter((x) => x.auth === "operator")) {
      const res = await api.app.inject({
        method: r.method,
        url: r.url,
        headers: bearer(acct.tokens.owner),
        payload: {},
      });
      expect(res.statusCode, r.url).toBe(403);
    }
  });

  it("cookie-authenticated writes need the CSRF token", async () => {
    const s = await login(api, acct.users.owner.email);
    const writes = api.app.routes.filter((r) => r.auth !== "public" && r.method !== "GET");
    for (const r of writes) {
      const res = await api.app.inject({
        method: r.method,
        url: concrete(r.url),
        headers: { cookie: s.cookie },
        payload: {},
      });
      expect(res.statusCode, `${r.method} ${r.url}`).toBe(403);
      expect(res.json().error.code).toBe("csrf_failed");
    }
    const ok = await api.app.inject({
      method: "POST",
      url: "/api/tokens",
      headers: { cookie: s.cookie, "x-csrf-token": s.csrf },
      payload: { name: "from the browser" },
    });
    expect(ok.statusCode).toBe(201);
  });

  it("sends security headers", async () => {
    const res = await api.app.inject({ method: "GET", url: "/api/health" });
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(res.headers["x-frame-options"]).toBe("DENY");
    expect(res.headers["content-security-policy"]).toContain("default-src 'none'");
  });

  it("documents every route in the OpenAPI document", async () => {
    const doc = (await api.app.inject({ method: "GET", url: "/api/openapi.json" })).json();
    for (const r of api.app.routes) {
      const path = r.url.replace(/:([A-Za-z]+)/g, "{$1}");
      expect(doc.paths[path]?.[r.method.toLowerCase()], `${r.method} ${r.url}`).toBeTruthy();
    }
    expect(doc.paths["/api/orders"].get.parameters.map((p: { name: string }) => p.name)).toContain("sort");
  });
});

describe("sessions and tokens", () => {
  it("signs in, shows who is signed in, and signs out", async () => {
    const s = await login(api, acct.users.staff.email);
    expect(s.raw.httpOnly).toBe(true);
    expect(s.raw.sameSite).toBe("Lax");
    const me = await api.app.inject({ method: "GET", url: "/api/auth/me", headers: { cookie: s.cookie } });
    expect(me.json()).toMatchObject({
      user: { email: acct.users.staff.email, role: "staff" },
      csrfToken: s.csrf,
    });
    const out = await api.app.inject({
      method: "POST",
      url: "/api/auth/logout",
      headers: { cookie: s.cookie, "x-csrf-token": s.csrf },
    });
    expect(out.statusCode).toBe(200);
    expect(
      (await api.app.inject({ method: "GET", url: "/api/auth/me", headers: { cookie: s.cookie } }))
        .statusCode,
    ).toBe(401);
  });

  it("expires sessions", async () => {
    const s = await login(api, acct.users.picker.email);
    const { sessions } = await import("../db/schema.ts");
    await api.ctx.db.update(sessions).set({ expiresAt: new Date(Date.now() - 1000) });
    expect(
      (await api.app.inject({ method: "GET", url: "/api/auth/me", headers: { cookie: s.cookie } }))
        .statusCode,
    ).toBe(401);
  });

  it("locks a user after repeated wrong passwords, with a clear message", async () => {
    const a = await seedAccount(api);
    for (let i = 0; i < 5; i++) {
      const res = await api.app.inject({
        method: "POST",
        url: "/api/auth/login",
        payload: { email: a.users.staff.email, password: "wrong password" },
      });
      expect(res.statusCode).toBe(401);
    }
    const locked = await api.app.inject({
      method: "POST",
      url: "/api/auth/login",
      payload: { email: a.users.staff.email, password: "correct horse battery" },
    });
    expect(locked.statusCode).toBe(423);
    expect(locked.json().error.message).toMatch(/locked until/);
  });

  it("creates, uses and revokes API tokens", async () => {
    const created = await api.app.inject({
      method: "POST",
      url: "/api/tokens",
      headers: bearer(acct.tokens.owner),
      payload: { name: "script" },
    });
    expect(created.statusCode).toBe(201);
    const { token, id } = created.json();
    expect(token).toMatch(/^oh_/);
    expect(
      (await api.app.inject({ method: "GET", url: "/api/orders", headers: bearer(token) })).statusCode,
    ).toBe(200);
    const listed = (await api.app.inject({ method: "GET", url: "/api/tokens", headers: bearer(token) })).body;
    expect(listed).not.toContain(token);
    await api.app.inject({ method: "DELETE", url: `/api/tokens/${id}`, headers: bearer(acct.tokens.owner) });
    expect(
      (await api.app.inject({ method: "GET", url: "/api/orders", headers: bearer(token) })).statusCode,
    ).toBe(401);
  });

  it("the operator token acts for the named account and may create accounts", async () => {
    const op = ensureOperatorToken(api.ctx.settings.dataDir);
    const res = await api.app.inject({
      method: "GET",
      url: "/api/account",
      headers: { ...bearer(op), "x-orderhub-account": acct.account.slug },
    });
    expect(res.json().account.slug).toBe(acct.account.slug);
    const made = await api.app.inject({
      method: "POST",
      url: "/api/accounts",
      headers: bearer(op),
      payload: { name: "Second Shop" },
    });
    expect(made.statusCode).toBe(201);
    const wrong = await api.app.inject({
      method: "GET",
      url: "/api/account",
      headers: bearer(`ohop_${"x".repeat(43)}`),
    });
    expect(wrong.statusCode).toBe(401);
  });
});

describe("bad input", () => {
  it("names the field that is wrong", async () => {
    const h = bearer(acct.tokens.owner);
    const sort = await api.app.inject({ method: "GET", url: "/api/orders?sort=colour", headers: h });
    expect(sort.statusCode).toBe(400);
    expect(sort.json().error.message).toMatch(/^query\.sort:/);
    const status = await api.app.inject({
      method: "GET",
      url: "/api/orders?status=pending,lost",
      headers: h,
    });
    expect(status.json().error.message).toMatch(/query\.status/);
    const user = await api.app.inject({
      method: "POST",
      url: "/api/users",
      headers: h,
      payload: { email: "x", password: "short", role: "boss" },
    });
    const msg = user.json().error.message as string;
    expect(msg).toMatch(/body\.email/);
    expect(msg).toMatch(/body\.password: must be at least 10 characters/);
    expect(msg).toMatch(/body\.role/);
    const json = await api.app.inject({
      method: "POST",
      url: "/api/users",
      headers: { ...h, "content-type": "application/json" },
      payload: "{not json",
    });
    expect(json.statusCode).toBe(400);
    const conn = await api.app.inject({
      method: "POST",
      url: "/api/connections",
      headers: h,
      payload: { marketplace: "fake", name: "X", config: { store: "s", apiKey: "good-key", colour: "red" } },
    });
    expect(conn.json().error.message).toMatch(/config\.colour/);
    const missing = await api.app.inject({
      method: "POST",
      url: "/api/connections",
      headers: h,
      payload: { marketplace: "fake", name: "X", config: { store: "s" } },
    });
    expect(missing.json().error.message).toMatch(/config\.apiKey: API key is required/);
    const cron = await api.app.inject({
      method: "POST",
      url: "/api/connections",
      headers: h,
      payload: {
        marketplace: "fake",
        name: "X",
        config: { store: "s", apiKey: "k" },
        schedule: { kind: "cron", expression: "every tuesday" },
      },
    });
    expect(cron.json().error.message).toMatch(/schedule: invalid cron expression/);
  });
});
