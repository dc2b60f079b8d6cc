import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import type { Browser } from "playwright-core";
import { hashPassword } from "../../src/auth/passwords.ts";
import type { AppContext } from "../../src/context.ts";
import { createAccount } from "../../src/db/repos/accounts.ts";
import { insertConnection } from "../../src/db/repos/connections.ts";
import type { Role } from "../../src/db/repos/users.ts";
import { insertUser } from "../../src/db/repos/users.ts";
import { type RunningServer, startServer } from "../../src/server.ts";
import { launch } from "../../test/e2e/browser.ts";
import { testSettings } from "../../test/helpers/db.ts";

/** The p-th percentile of a list of timings. */
export const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

export interface UiWorld {
  server: RunningServer;
  ctx: AppContext;
  browser: Browser;
  accountId: number;
  connectionId: number;
  /** Closes the browser and the server and removes the data directory. */
  close(): Promise<void>;
}

/**
 * What the browser benchmarks share: the UI built as `npm start` serves it, a server on PGlite,
 * Debian's Chromium, and an account with one user (`bench@example.com`, "benchmark password") and a
 * BrickLink connection that is never called.
 */
export async function startUiWorld(role: Role): Promise<UiWorld> {
  const built = spawnSync(process.execPath, ["scripts/build-web.js"], { stdio: "inherit" });
  if (built.status !== 0) throw new Error("building the web UI failed");
  const settings = { ...testSettings({ logLevel: "error" }), port: 0 };
  const server = await startServer(settings, { role: "all" });
  const ctx = server.ctx;
  const browser = await launch();
  const close = async () => {
    await browser.close();
    await server.stop();
    rmSync(settings.dataDir, { recursive: true, force: true });
  };
  try {
    const account = await createAccount(ctx.db, { name: "Bench", slug: "bench" });
    await insertUser(ctx.db, {
      accountId: account.id,
      email: "bench@example.com",
      passwordHash: await hashPassword("benchmark password"),
      role,
    });
    const conn = await insertConnection(ctx.db, ctx.box, {
      accountId: account.id,
      marketplace: "bricklink",
      name: "BL",
      baseUrl: "http://127.0.0.1:1/none",
      config: {},
      secrets: {},
    });
    return { server, ctx, browser, accountId: account.id, connectionId: conn.id, close };
  } catch (err) {
    await close();
    throw err;
  }
}
