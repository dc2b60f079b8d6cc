import { spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse } from "csv-parse/sync";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { TEST_PRELOAD_ENV } from "../../test/helpers/child-server.ts";
import { testSettings } from "../../test/helpers/db.ts";
import { bearer, seedAccount, type TestApi, testApi } from "../../test/helpers/http.ts";
import { verifyPassword } from "../auth/passwords.ts";
import { createContext } from "../context.ts";
import { SecretRegistry } from "../core/secrets.ts";
import { openDatabase } from "../db/connection.ts";
import { importJobs, inventoryLedger, inventoryLots, users } from "../db/schema.ts";
import { linesCsv, ordersCsv } from "../documents/csv.ts";
import { makeOrders } from "../documents/testing.ts";
import { IMPORT_JOB, runImportJob } from "../inventory/import-job.ts";
import { createLogger } from "../logger.ts";

// Counts password hashing: a refused setup must not pay for (or offer) a hash.
const hashes = vi.hoisted(() => ({ n: 0 }));
vi.mock("../auth/passwords.ts", async (importOriginal) => {
  const real = await importOriginal<typeof import("../auth/passwords.ts")>();
  return {
    ...real,
    hashPassword: async (p: string) => {
      hashes.n++;
      return real.hashPassword(p);
    },
  };
});

/**
 * Intake hardening: one upload must not stop the server, CSV cells stay cells, the data directory is
 * private, public routes take small bodies, schedules that never fire and encoded API paths are
 * refused or handled like the API, and a password never needs the command line.
 */
let api: TestApi;
let A: Awaited<ReturnType<typeof seedAccount>>;

beforeAll(async () => {
  api = await testApi();
  A = await seedAccount(api, `intake-${Date.now()}`);
  await api.queue.work(IMPORT_JOB, async (d) => runImportJob(api.ctx, Number(d.jobId)));
});
afterAll(async () => {
  await api?.close();
});

const call = (method: "GET" | "POST" | "PATCH", url: string, token: string | null, payload?: unknown) =>
  api.app.inject({
    method,
    url,
    headers: token ? bearer(token) : {},
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });

async function lotState() {
  const lots = await api.ctx.db.select().from(inventoryLots).where(eq(inventoryLots.accountId, A.account.id));
  const ledger = await api.ctx.db
    .select()
    .from(inventoryLedger)
    .where(eq(inventoryLedger.accountId, A.account.id));
  return { lots: lots.length, quantity: lots.reduce((n, l) => n + l.quantity, 0), ledger: ledger.length };
}

function lotFile(lines: number, prefix: string): string {
  const out = ["item_no,color_id,condition,quantity,price,location"];
  for (let i = 0; i < lines; i++)
    out.push(`${prefix}${i % 3000},${1 + (i % 80)},new,${1 + (i % 9)},0.125,B-${i % 50}`);
  return `${out.join("\r\n")}\r\n`;
}

describe("a big inventory file is imported in the background", () => {
  it("the server keeps answering health checks while the file is checked and written, and the job reports progress", {
    timeout: 300_000,
  }, async () => {
    const before = await lotState();
    const content = lotFile(20_000, "77");
    expect(content.length).toBeGreaterThan(256 * 1024); // large enough for the worker-thread check
    const health: number[] = [];
    let finished = false;
    const poll = (async () => {
      while (!finished) {
        const t = performance.now();
        const r = await call("GET", "/api/health", null);
        expect(r.statusCode).toBe(200);
        health.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const t0 = performance.now();
    const res = await call("POST", "/api/inventory/import-file", A.tokens.owner, {
      format: "csv",
      content,
      name: "shelf.csv",
    });
    expect(res.statusCode, res.body).toBe(202);
    const job = res.json().job as { id: number; state: string; total: number };
    expect(job).toMatchObject({ state: "queued", total: 20_000 });
    const seen: number[] = [];
    const watch = setInterval(() => {
      void call("GET", `/api/inventory/import-jobs/${job.id}`, A.tokens.owner).then((r) =>
        seen.push(r.json().job.done),
      );
    }, 100);
    await api.queue.runUntilIdle();
    clearInterval(watch);
    finished = true;
    await poll;
    const took = performance.now() - t0;
    const done = (await call("GET", `/api/inventory/import-jobs/${job.id}`, A.tokens.owner)).json().job;
    expect(done).toMatchObject({ state: "completed", total: 20_000, done: 20_000 });
    expect(done.created + done.added).toBe(20_000);
    const after = await lotState();
    expect(after.ledger - before.ledger).toBe(20_000);
    expect(after.quantity - before.quantity).toBe(
      Array.from({ length: 20_000 }, (_, i) => 1 + (i % 9)).reduce((a, b) => a + b),
    );
    // Progress was visible part way, not only at the end.
    expect(
      seen.some((d) => d > 0 && d < 20_000),
      `progress seen: ${seen.join(",")}`,
    ).toBe(true);
    // One transaction for the whole file kept health waiting for all of it; batches keep each wait short.
    const sorted = [...health].sort((a, b) => a - b);
    const max = sorted.at(-1)!;
    expect(health.length).toBeGreaterThan(10);
    expect(max, `health max ${Math.round(max)} ms while the import took ${Math.round(took)} ms`).toBeLessThan(
      Math.max(2_000, took / 5),
    );
    // The staged lines are gone once the job is done.
    const staged = await api.ctx.database.sql.executeSql(
      "select count(*)::int as n from import_job_lines where job_id = $1",
      [job.id],
    );
    expect((staged.rows[0] as { n: number }).n).toBe(0);
  });

  it("a bad line is refused with its line named before any job exists; nothing is written", async () => {
    const before = await lotState();
    const jobsBefore = (await api.ctx.db.select().from(importJobs)).length;
    const content = `${lotFile(9_000, "55").trimEnd()}\r\n3001,5,new,-1,,A\r\n`;
    const res = await call("POST", "/api/inventory/import-file", A.tokens.owner, { format: "csv", content });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(/^line 9002: quantity must be a whole number/);
    expect(await lotState()).toEqual(before);
    expect((await api.ctx.db.select().from(importJobs)).length).toBe(jobsBefore);
  });

  it("Cancel part way takes back what the job wrote: lots, quantities and ledger as before", {
    timeout: 300_000,
  }, async () => {
    // Some stock first: the cancelled import adds to these lots too, and must give exactly that back.
    const seed = await call("POST", "/api/inventory/import-file", A.tokens.owner, {
      format: "csv",
      content: lotFile(300, "66"),
    });
    expect(seed.statusCode).toBe(202);
    await api.queue.runUntilIdle();
    const before = await lotState();
    const res = await call("POST", "/api/inventory/import-file", A.tokens.owner, {
      format: "csv",
      content: lotFile(30_000, "66"),
      name: "too-much.csv",
    });
    expect(res.statusCode).toBe(202);
    const id = res.json().job.id as number;
    const running = api.queue.runUntilIdle();
    let cancelledAt = 0;
    for (;;) {
      const j = (await call("GET", `/api/inventory/import-jobs/${id}`, A.tokens.owner)).json().job;
      if (j.done > 0) {
        cancelledAt = j.done;
        const c = await call("POST", `/api/inventory/import-jobs/${id}/cancel`, A.tokens.owner);
        expect(c.statusCode, c.body).toBe(200);
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await running;
    const j = (await call("GET", `/api/inventory/import-jobs/${id}`, A.tokens.owner)).json().job;
    expect(cancelledAt).toBeLessThan(30_000);
    expect(j).toMatchObject({ state: "cancelled", created: 0, added: 0 });
    expect(await lotState()).toEqual(before);
    const again = await call("POST", `/api/inventory/import-jobs/${id}/cancel`, A.tokens.owner);
    expect(again.statusCode).toBe(409);
  });

  it("another account's import job is not found", async () => {
    const B = await seedAccount(api, `intake-b-${Date.now()}`);
    const [j] = await api.ctx.db.select().from(importJobs).where(eq(importJobs.accountId, A.account.id));
    expect((await call("GET", `/api/inventory/import-jobs/${j!.id}`, B.tokens.owner)).statusCode).toBe(404);
    expect(
      (await call("POST", `/api/inventory/import-jobs/${j!.id}/cancel`, B.tokens.owner)).statusCode,
    ).toBe(404);
  });
});

/** A reader as a spreadsheet is: any CR or LF outside quotes ends a row. Returns every cell. */
function spreadsheetCells(text: string): string[] {
  const cells: string[] = [];
  let cell = "";
  let quoted = false;
  let started = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"' && !started) {
      quoted = true;
      started = true;
    } else if (ch === "," || ch === "\r" || ch === "\n") {
      cells.push(cell);
      cell = "";
      started = false;
    } else {
      cell += ch;
      started = true;
    }
  }
  cells.push(cell);
  return cells;
}

const FORMULA = /^[=+\-@\t\r]/;
const NUMBER = /^-?\d+(\.\d+)?$/;
const formulas = (text: string) =>
  spreadsheetCells(text.replace(/^\uFEFF/, "")).filter((c) => FORMULA.test(c) && !NUMBER.test(c));

describe("every CSV keeps a cell a cell", () => {
  const evil = ["Bob\r=1+1", 'Ann\n=HYPERLINK("http://x")', "x\r\n@SUM(1)", "+49 30 1234", "-2+3", "\t=cmd"];

  it("orders and lines CSV: line breaks are quoted, formulas are text; a strict reader gets the same rows", () => {
    const orders = makeOrders(3, 2);
    orders[0]!.buyerName = evil[0]!;
    orders[0]!.shippingAddress!.line1 = evil[1]!;
    orders[1]!.buyerRemarks = evil[2]!;
    orders[1]!.shippingAddress!.phone = evil[3]!;
    orders[2]!.internalNote = evil[4]!;
    orders[0]!.lines[0]!.name = evil[1]!;
    orders[0]!.lines[1]!.location = evil[0]!;
    orders[1]!.lines[0]!.completeness = "=1+1";
    orders[2]!.lines[0]!.colorName = evil[5]!;
    const o = ordersCsv(orders).toString("utf8");
    const l = linesCsv(orders).toString("utf8");
    const strict = (t: string) =>
      parse(t, { columns: true, bom: true, relax_quotes: false }) as Record<string, string>[];
    const ob = strict(o);
    expect(ob).toHaveLength(3);
    expect(ob[0]!.buyer_name).toBe(evil[0]);
    expect(ob[0]!.ship_line1).toBe(evil[1]);
    expect(ob[1]!.buyer_remarks).toBe(evil[2]);
    expect(ob[1]!.ship_phone).toBe(`'${evil[3]}`);
    const lb = strict(l);
    expect(lb).toHaveLength(6);
    expect(lb[0]!.name).toBe(evil[1]);
    expect(lb[1]!.location).toBe(evil[0]);
    expect(lb[2]!.completeness).toBe("'=1+1");
    expect(lb[4]!.color).toBe(`'${evil[5]}`);
    expect(formulas(o)).toEqual([]);
    expect(formulas(l)).toEqual([]);
    // Credits and other negative amounts stay numbers.
    expect(ob.every((r) => NUMBER.test(r.total!))).toBe(true);
  });

  it("the inventory CSV export: the same, and it imports back to the same values", async () => {
    const B = await seedAccount(api, `intake-csv-${Date.now()}`);
    const [lot] = await api.ctx.db
      .insert(inventoryLots)
      .values({
        accountId: B.account.id,
        itemNo: "3001",
        colorId: "5",
        colorName: evil[3],
        condition: "new",
        location: evil[0],
        description: evil[1],
        quantity: 0,
      })
      .returning();
    const res = await call("GET", "/api/inventory/export?format=csv", B.tokens.owner);
    expect(res.statusCode).toBe(200);
    const rows = parse(res.body, { columns: true, relax_quotes: false }) as Record<string, string>[];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ lot_id: String(lot!.id), location: evil[0], description: evil[1] });
    expect(formulas(res.body)).toEqual([]);
    const { parseLotCsv } = await import("../inventory/files.ts");
    expect(parseLotCsv(res.body)[0]).toMatchObject({
      location: evil[0],
      description: evil[1],
      colorName: evil[3],
    });
  });
});

describe("the data directory is private", () => {
  function loose(dir: string): string[] {
    const out: string[] = [];
    const walk = (p: string) => {
      const st = statSync(p);
      if (st.mode & 0o077) out.push(`${p} ${(st.mode & 0o777).toString(8)}`);
      if (st.isDirectory()) for (const n of readdirSync(p)) walk(join(p, n));
    };
    walk(dir);
    return out;
  }

  it("a fresh data directory: every folder 0700 and every file 0600 or tighter, whatever the umask", {
    timeout: 120_000,
  }, async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "orderhub-modes-")), "data");
    const old = process.umask(0o022);
    try {
      const ctx = await createContext(testSettings({ dataDir: dir, secretKey: null, logLevel: "silent" }));
      await ctx.close();
    } finally {
      process.umask(old);
    }
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readdirSync(dir)).toEqual(expect.arrayContaining(["pg", "secret.key"]));
    expect(loose(dir)).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("an existing directory readable by others is tightened at start, with a log line", {
    timeout: 120_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "orderhub-loose-"));
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, "backups"), { mode: 0o755 });
    chmodSync(join(dir, "backups"), 0o755);
    writeFileSync(join(dir, "backups", "orders.sql"), "secret");
    chmodSync(join(dir, "backups", "orders.sql"), 0o644);
    const lines: string[] = [];
    const secrets = new SecretRegistry();
    const logger = createLogger({
      level: "info",
      pretty: false,
      registry: secrets,
      destination: { write: (l) => lines.push(l) },
    });
    const ctx = await createContext(testSettings({ dataDir: dir, logLevel: "info" }), {
      logger,
      secrets,
      database: await openDatabase({ dataDir: null }),
    });
    await ctx.close();
    expect(loose(dir)).toEqual([]);
    expect(lines.join("\n")).toMatch(/readable by other local users/);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("public routes, schedules and paths", () => {
  it("a cron expression that never fires is a 400 naming the schedule, on create and on change", async () => {
    const bad = { kind: "cron", expression: "0 0 30 2 *" };
    const created = await call("POST", "/api/connections", A.tokens.owner, {
      marketplace: "fake",
      name: "Never",
      config: { store: "intake-never", apiKey: "good-key" },
      schedule: bad,
      test: false,
    });
    expect(created.statusCode, created.body).toBe(400);
    expect(created.json().error.message).toMatch(/^schedule: .*never fires/);
    const ok = await call("POST", "/api/connections", A.tokens.owner, {
      marketplace: "fake",
      name: "Hourly",
      config: { store: "intake-hourly", apiKey: "good-key" },
      schedule: { kind: "cron", expression: "0 * * * *" },
      test: false,
    });
    expect(ok.statusCode, ok.body).toBe(201);
    const patched = await call("PATCH", `/api/connections/${ok.json().connection.id}`, A.tokens.owner, {
      schedule: bad,
    });
    expect(patched.statusCode, patched.body).toBe(400);
    expect(patched.json().error.message).toMatch(/^schedule: .*never fires/);
  });

  it("setup after setup is refused before any password is hashed, and setup attempts are limited per address", async () => {
    const body = { accountName: "Mallory", email: "m@evil.example", password: "a long password here" };
    const before = hashes.n;
    const r = await api.app.inject({
      method: "POST",
      url: "/api/setup",
      payload: body,
      remoteAddress: "10.9.9.9",
    });
    expect(r.statusCode).toBe(409);
    expect(hashes.n).toBe(before);
    const codes: number[] = [];
    for (let i = 0; i < 12; i++)
      codes.push(
        (
          await api.app.inject({
            method: "POST",
            url: "/api/setup",
            payload: body,
            remoteAddress: "10.9.9.10",
          })
        ).statusCode,
      );
    expect(codes.slice(0, 10).every((c) => c === 409)).toBe(true);
    expect(codes.at(-1)).toBe(429);
    expect(hashes.n).toBe(before);
  });

  it("sign-in, setup and webhooks refuse bodies of more than a few KB; signed-in routes keep their limit", async () => {
    const nested = (depth: number): unknown =>
      depth === 0 ? "x".repeat(1000) : { a: nested(depth - 1), b: "y".repeat(500) };
    const big = JSON.stringify({ email: "a@b.example", password: "p".repeat(100), junk: nested(40) });
    expect(big.length).toBeGreaterThan(20_000);
    const huge = JSON.stringify({ junk: "z".repeat(100_000) });
    for (const [url, body] of [
      ["/api/auth/login", big],
      ["/api/setup", big],
      // Notices that carry orders take more than a sign-in, but nothing like the server's 2 MB.
      ["/webhooks/bricklink/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", huge],
    ] as const) {
      const r = await api.app.inject({
        method: "POST",
        url,
        headers: { "content-type": "application/json" },
        payload: body,
      });
      expect(r.statusCode, `${url}: ${r.body}`).toBe(413);
    }
    const note = await call("POST", "/api/inventory/import-file", A.tokens.owner, {
      format: "csv",
      content: `${lotFile(1000, "44")}`,
    });
    expect(note.statusCode).toBe(202);
    await api.queue.runUntilIdle();
  });

  it("an encoded API path gets the API's headers (no-store, the API's CSP), not the UI's", async () => {
    for (const url of ["/%61pi/orders", "/%61%70%69/orders?page=1", "/api/%6frders"]) {
      const r = await call("GET", url, A.tokens.owner);
      expect(r.statusCode, url).toBe(200);
      expect(r.headers["cache-control"], url).toBe("no-store");
      expect(r.headers["content-security-policy"], url).toBe("default-src 'none'; frame-ancestors 'none'");
    }
    const h = await call("GET", "/%61pi/health", null);
    expect(h.headers["cache-control"]).toBe("no-store");
    const missing = await call("GET", "/%61pi/nothing-here", null);
    expect(missing.statusCode).toBe(404);
    expect(missing.headers["content-type"]).toMatch(/json/);
  });
});

describe("user add without the password on the command line", () => {
  const BIN = resolve("bin/orderhub.js");
  const run = (dir: string, args: string[], input?: string) =>
    spawnSync(process.execPath, [BIN, ...args, "--data-dir", dir], {
      env: { ...process.env, ORDERHUB_DEMO: "0", LOG_LEVEL: "warn", DATABASE_URL: "", ...TEST_PRELOAD_ENV },
      encoding: "utf8",
      timeout: 120_000,
      ...(input !== undefined ? { input } : { stdio: ["ignore", "pipe", "pipe"] }),
    });

  it("--password-stdin reads the password from standard input; with neither flag and no terminal it says how", {
    timeout: 240_000,
  }, async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "orderhub-stdin-")), "data");
    const add = run(
      dir,
      ["user", "add", "--email", "owner@stdin.example", "--role", "owner", "--password-stdin", "--json"],
      "piped password 123\n",
    );
    expect(add.status, add.stderr).toBe(0);
    expect(JSON.parse(add.stdout).user).toMatchObject({ email: "owner@stdin.example", role: "owner" });
    const none = run(dir, ["user", "add", "--email", "staff@stdin.example", "--json"]);
    expect(none.status).toBe(1);
    expect(JSON.parse(none.stdout).error.message).toMatch(/--password-stdin/);
    const db = await openDatabase({ dataDir: dir });
    try {
      const rows = await db.db.select().from(users);
      expect(rows.map((u) => u.email)).toEqual(["owner@stdin.example"]);
      expect(await verifyPassword("piped password 123", rows[0]!.passwordHash)).toBe(true);
    } finally {
      await db.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!existsSync("/usr/bin/script"))(
    "on a terminal it asks twice without echoing what is typed",
    { timeout: 240_000 },
    async () => {
      const dir = join(mkdtempSync(join(tmpdir(), "orderhub-tty-")), "data");
      // script(1) gives the command a terminal of its own; answers go in when the prompts appear.
      const cmd = `${process.execPath} ${BIN} user add --email tty@shop.example --role owner --data-dir ${dir}`;
      const child = spawn("/usr/bin/script", ["-qec", cmd, "/dev/null"], {
        env: { ...process.env, ORDERHUB_DEMO: "0", LOG_LEVEL: "warn", DATABASE_URL: "", ...TEST_PRELOAD_ENV },
      });
      let out = "";
      let answered = 0;
      child.stdout.on("data", (c: Buffer) => {
        out += c.toString();
        const prompts = (out.match(/Password \(at least 10 characters\): |The same password again: /g) ?? [])
          .length;
        while (answered < prompts) {
          child.stdin.write("typed on a tty\r");
          answered++;
        }
      });
      const code = await new Promise<number | null>((r) => child.on("close", r));
      expect(code, out).toBe(0);
      expect(out).toMatch(/Created owner tty@shop\.example/);
      expect(out).not.toContain("typed on a tty");
      const db = await openDatabase({ dataDir: dir });
      try {
        const [u] = await db.db.select().from(users);
        expect(await verifyPassword("typed on a tty", u!.passwordHash)).toBe(true);
      } finally {
        await db.close();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  );
});
