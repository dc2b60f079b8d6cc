import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, seedAccount, type TestApi, testApi } from "../../test/helpers/http.ts";
import { fakeStore } from "../marketplaces/testing/fake.ts";
import { runSync } from "../sync/engine.ts";

const PLANTED = "PLANTED-s3cr3t-9f8e7d6c5b4a";
let api: TestApi;

beforeAll(async () => {
  api = await testApi();
});
afterAll(async () => {
  await api.close();
});

describe("a planted secret", () => {
  it("never appears in responses, logs or the database in clear", async () => {
    const a = await seedAccount(api);
    const h = bearer(a.tokens.owner);
    const bodies: string[] = [];
    const call = async (method: string, url: string, payload?: object) => {
      const res = await api.app.inject({
        method: method as "GET",
        url,
        headers: h,
        ...(payload ? { payload } : {}),
      });
      bodies.push(res.body, JSON.stringify(res.headers));
      return res;
    };
    fakeStore("secret-shop").seed(4);
    // Connecting with the planted value as the key: the fake refuses it, so this exercises the error path.
    const refused = await call("POST", "/api/connections", {
      marketplace: "fake",
      name: "Refused",
      config: { store: "secret-shop", apiKey: PLANTED },
      test: true,
    });
    expect(refused.statusCode).toBe(422);
    expect(refused.json().error.code).toBe("auth");
    const made = await call("POST", "/api/connections", {
      marketplace: "fake",
      name: "Kept",
      config: { store: "secret-shop", apiKey: PLANTED },
    });
    expect(made.statusCode).toBe(201);
    expect(made.json().connection.secretsSet).toEqual(["apiKey"]);
    const id = made.json().connection.id;
    await call("GET", "/api/connections");
    await call("GET", `/api/connections/${id}`);
    await call("POST", `/api/connections/${id}/test`);
    await call("PATCH", `/api/connections/${id}`, { config: { apiKey: PLANTED } });
    const sync = await call("POST", `/api/connections/${id}/sync`, {});
    // The sync fails on the refused key: the error goes to the run, the log and the connection.
    const run = await runSync(api.ctx, sync.json().runId);
    expect(run.state).toBe("failed");
    await call("GET", `/api/sync-runs/${run.id}`);
    await call("GET", "/api/sync-runs");
    // Someone logs the secret by mistake: the log stream still blanks it.
    api.ctx.logger.error({ detail: `key=${PLANTED}` }, `careless message with ${PLANTED}`);
    await call("GET", "/api/openapi.json");

    for (const b of bodies) expect(b).not.toContain(PLANTED);
    expect(api.ctx.logLines.length).toBeGreaterThan(0);
    for (const line of api.ctx.logLines) expect(line).not.toContain(PLANTED);
    expect(api.ctx.logLines.some((l) => l.includes("careless message with [redacted]"))).toBe(true);

    const dump = await api.ctx.database.sql.executeSql(
      "select string_agg(t::text, ' ') as all from (select * from connections) t union all select string_agg(t::text, ' ') from (select * from audit_log) t union all select string_agg(t::text, ' ') from (select * from sync_runs) t",
      [],
    );
    const text = JSON.stringify(dump.rows);
    expect(text).toContain("secret-shop");
    expect(text).not.toContain(PLANTED);
  });
});
