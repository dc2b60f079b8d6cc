import { statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../src/auth/passwords.ts";
import { newToken, sha256 } from "../src/auth/tokens.ts";
import type { Database } from "../src/db/connection.ts";
import { createAccount } from "../src/db/repos/accounts.ts";
import { insertUser } from "../src/db/repos/users.ts";
import { apiTokens } from "../src/db/schema.ts";
import { fakeStore } from "../src/marketplaces/testing/fake.ts";
import { loadSecretKey } from "../src/secret-key.ts";
import { type RunningServer, startServer } from "../src/server.ts";
import { onPostgres, testDatabase, testSettings } from "./helpers/db.ts";

describe("the secret key", () => {
  it("is generated once into the data directory with 0600 rights, then reused", () => {
    const s = testSettings({ secretKey: null });
    const k1 = loadSecretKey(null, s.dataDir);
    expect(statSync(join(s.dataDir, "secret.key")).mode & 0o777).toBe(0o600);
    expect(loadSecretKey(null, s.dataDir).equals(k1)).toBe(true);
    expect(loadSecretKey("ab".repeat(32), s.dataDir).equals(k1)).toBe(false);
  });
});

/** The database URL of a fresh test database (PostgreSQL runs only). */
let database: Database | null = null;
let url: string | null = null;
beforeAll(async () => {
  if (!onPostgres) return;
  database = await testDatabase();
  url = database.url;
});
afterAll(async () => {
  await database?.close();
});

async function ownerToken(server: RunningServer, name: string) {
  const account = await createAccount(server.ctx.db, { name, slug: name });
  const user = await insertUser(server.ctx.db, {
    accountId: account.id,
    email: `${name}@example.com`,
    passwordHash: await hashPassword("correct horse battery"),
    role: "owner",
  });
  const token = newToken("oh_");
  await server.ctx.db
    .insert(apiTokens)
    .values({ accountId: account.id, userId: user.id, name: "t", tokenHash: sha256(token), prefix: "oh_" });
  return token;
}

describe.skipIf(!onPostgres)("web and worker processes apart, on PostgreSQL", () => {
  it("a sync requested through the web role is run by the worker role; live events cross over", async () => {
    const settings = { ...testSettings({ databaseUrl: url, logLevel: "silent" }), port: 0 };
    const worker = await startServer({ ...settings, dataDir: testSettings().dataDir }, { role: "worker" });
    const web = await startServer(settings, { role: "web" });
    try {
      expect(worker.url).toBeNull();
      const token = await ownerToken(web, `split${Date.now()}`);
      const h = { authorization: `Bearer ${token}`, "content-type": "application/json" };
      fakeStore("split-shop").seed(6);
      const conn = await fetch(`${web.url}/api/connections`, {
        method: "POST",
        headers: h,
        body: JSON.stringify({
          marketplace: "fake",
          name: "Split",
          config: { store: "split-shop", apiKey: "good-key" },
        }),
      });
      const id = ((await conn.json()) as { connection: { id: number } }).connection.id;
      // Listen to the live stream on the web process while the worker syncs.
      const events = await fetch(`${web.url}/api/events`, { headers: h });
      const reader = events.body!.getReader();
      const sync = await fetch(`${web.url}/api/connections/${id}/sync`, {
        method: "POST",
        headers: h,
        body: "{}",
      });
      const { runId } = (await sync.json()) as { runId: number };
      let text = "";
      const deadline = Date.now() + 30_000;
      while (!text.includes('"state":"completed"') && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      await reader.cancel();
      expect(text).toContain("event: order.created");
      expect(text).toContain("event: sync.progress");
      const run = (await (await fetch(`${web.url}/api/sync-runs/${runId}`, { headers: h })).json()) as {
        run: { state: string; created: number };
      };
      expect(run.run).toMatchObject({ state: "completed", created: 6 });
    } finally {
      await web.stop();
      await worker.stop();
    }
  }, 60_000);
});

describe.skipIf(onPostgres)("one process on PGlite", () => {
  it("serves health and the live stream, and refuses split roles without PostgreSQL", async () => {
    const settings = { ...testSettings({ logLevel: "silent" }), port: 0 };
    await expect(startServer(settings, { role: "web" })).rejects.toThrow(/needs DATABASE_URL/);
    const server = await startServer(settings, { role: "all" });
    try {
      const health = await (await fetch(`${server.url}/api/health`)).json();
      expect(health).toMatchObject({ status: "ok", database: "pglite" });
      const token = await ownerToken(server, `one${Date.now()}`);
      const events = await fetch(`${server.url}/api/events`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(events.headers.get("content-type")).toMatch(/text\/event-stream/);
      const reader = events.body!.getReader();
      const accountId = (await server.ctx.db.query.accounts.findFirst())!.id;
      await server.ctx.events.publish(accountId, { type: "connection.updated", connectionId: 7 });
      let text = "";
      while (!text.includes("connection.updated"))
        text += new TextDecoder().decode((await reader.read()).value);
      expect(text).toContain('data: {"type":"connection.updated","connectionId":7}');
      await reader.cancel();
    } finally {
      await server.stop();
    }
  }, 60_000);
});
