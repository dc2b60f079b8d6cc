import { hashPassword } from "../../src/auth/passwords.ts";
import { newToken, sha256 } from "../../src/auth/tokens.ts";
import { createAccount } from "../../src/db/repos/accounts.ts";
import { insertUser, type Role } from "../../src/db/repos/users.ts";
import { apiTokens } from "../../src/db/schema.ts";
import { buildHttpApp, type HttpApp } from "../../src/http/app.ts";
import { JobQueue } from "../../src/jobs/queue.ts";
import { type TestContext, testContext } from "./db.ts";

export interface TestApi {
  ctx: TestContext;
  app: HttpApp;
  queue: JobQueue;
  close(): Promise<void>;
}

export async function testApi(opts: Parameters<typeof testContext>[0] = {}): Promise<TestApi> {
  const ctx = await testContext(opts);
  const queue = await JobQueue.start(ctx, { work: false });
  const app = await buildHttpApp(ctx, { queue, version: "test", webDir: null });
  await app.ready();
  return {
    ctx,
    app,
    queue,
    async close() {
      await app.close();
      await queue.stop();
      await ctx.close();
    },
  };
}

let seq = 0;

/** An account with one user of each role and an API token for each. */
export async function seedAccount(api: TestApi, name = `acct-${++seq}-${Date.now()}`) {
  const account = await createAccount(api.ctx.db, {
    name,
    slug: name
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, "-")
      .slice(0, 40),
  });
  const passwordHash = await hashPassword("correct horse battery");
  const tokens = {} as Record<Role, string>;
  const users = {} as Record<Role, { id: number; email: string }>;
  for (const role of ["owner", "staff", "picker"] as const) {
    const email = `${role}@${account.slug}.example`;
    const u = await insertUser(api.ctx.db, { accountId: account.id, email, passwordHash, role });
    const token = newToken("oh_");
    await api.ctx.db.insert(apiTokens).values({
      accountId: account.id,
      userId: u.id,
      name: role,
      tokenHash: sha256(token),
      prefix: token.slice(0, 8),
    });
    tokens[role] = token;
    users[role] = { id: u.id, email };
  }
  return { account, tokens, users };
}

export function bearer(token: string) {
  return { authorization: `Bearer ${token}` };
}

/** Signs in through the API; returns the cookie header and CSRF token. */
export async function login(api: TestApi, email: string, password = "correct horse battery") {
  const res = await api.app.inject({ method: "POST", url: "/api/auth/login", payload: { email, password } });
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
  const cookie = res.cookies.find((c) => c.name === "orderhub_session")!;
  return {
    cookie: `orderhub_session=${cookie.value}`,
    csrf: (res.json() as { csrfToken: string }).csrfToken,
    raw: cookie,
  };
}
