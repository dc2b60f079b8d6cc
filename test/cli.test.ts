import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_PRELOAD_ENV } from "./helpers/child-server.ts";

const BIN = resolve("bin/orderhub.js");
const dataDir = mkdtempSync(join(tmpdir(), "orderhub-cli-"));
const env = {
  ...process.env,
  ORDERHUB_DATA_DIR: dataDir,
  ORDERHUB_DEMO: "0",
  LOG_LEVEL: "warn",
  DATABASE_URL: "",
  ...TEST_PRELOAD_ENV,
};

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) };
}

let server: ChildProcess | null = null;

async function waitForLockUrl(): Promise<string> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      const lock = JSON.parse(readFileSync(join(dataDir, "orderhub.lock"), "utf8"));
      if (lock.url) return lock.url as string;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("server did not start");
}

afterAll(() => {
  server?.kill("SIGKILL");
});

describe("orderhub CLI", () => {
  beforeAll(() => {
    // A fresh data directory, no server: the command opens it itself.
    const add = cli(
      "user",
      "add",
      "--email",
      "owner@shop.example",
      "--password",
      "a long password",
      "--role",
      "owner",
      "--json",
    );
    expect(add.code, add.stderr).toBe(0);
    expect(add.json().user).toMatchObject({ email: "owner@shop.example", role: "owner" });
  });

  it("migrate and bad input answer in JSON", () => {
    expect(cli("migrate", "--json").json()).toEqual({ migrated: true, database: "pglite" });
    const bad = cli("user", "add", "--email", "x", "--password", "short", "--json");
    expect(bad.code).toBe(1);
    expect(bad.json().error.message).toMatch(/body\.email.*body\.password/s);
  });

  it("talks to a running server, which owns the data directory", async () => {
    server = spawn(process.execPath, [BIN, "serve", "--port", "0"], { env, stdio: "ignore" });
    const url = await waitForLockUrl();
    const health = await (await fetch(`${url}/api/health`)).json();
    expect(health).toMatchObject({ status: "ok", database: "pglite" });

    const conn = cli(
      "connect",
      "fake",
      "--name",
      "Test shop",
      "--store",
      "seeded-12",
      "--api-key",
      "good-key",
      "--json",
    );
    expect(conn.code, conn.stdout + conn.stderr).toBe(0);
    expect(conn.json().connection).toMatchObject({
      name: "Test shop",
      marketplace: "fake",
      secretsSet: ["apiKey"],
    });
    expect(conn.stdout).not.toContain("good-key");

    const list = cli("connections", "list", "--json").json();
    expect(list.connections.map((c: { name: string }) => c.name)).toEqual(["Test shop"]);

    const sync = cli("sync", "Test shop", "--wait", "--json");
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.json()).toMatchObject({
      success: true,
      ordersProcessed: 12,
      ordersCreated: 12,
      ordersSkipped: 0,
      failed: [],
    });
    expect(sync.json().apiCalls).toBe(13);

    const again = cli("sync", "Test shop", "--wait", "--json").json();
    expect(again).toMatchObject({ ordersCreated: 0, ordersSkipped: 12, apiCalls: 1 });

    const orders = cli(
      "orders",
      "list",
      "--sort",
      "number",
      "--dir",
      "asc",
      "--page-size",
      "5",
      "--json",
    ).json();
    expect(orders.total).toBe(12);
    expect(orders.orders.map((o: { number: string }) => o.number)).toEqual([
      "FK-1000",
      "FK-1001",
      "FK-1002",
      "FK-1003",
      "FK-1004",
    ]);

    const show = cli("orders", "show", "FK-1003", "--json").json();
    expect(show.order).toMatchObject({ number: "FK-1003", status: "pending" });
    expect(show.order.lines).toHaveLength(2);
    expect(cli("orders", "show", String(show.order.id), "--json").json().order.number).toBe("FK-1003");

    const human = cli("orders", "list", "--status", "pending");
    expect(human.stdout).toMatch(/12 orders, page 1 of 1/);

    const token = cli("token", "create", "--name", "script", "--json").json();
    expect(token.token).toMatch(/^oh_/);
    const viaToken = await fetch(`${url}/api/orders?pageSize=1`, {
      headers: { authorization: `Bearer ${token.token}` },
    });
    expect(((await viaToken.json()) as { total: number }).total).toBe(12);

    // A second process on the same directory is refused, with the owner named.
    const second = cli("serve", "--port", "0", "--json");
    expect(second.code).toBe(1);
    expect(second.json().error).toMatchObject({ code: "data_dir_busy" });
    expect(second.json().error.message).toMatch(/in use by another Orderhub process/);

    const missing = cli("orders", "show", "BL-1", "--json");
    expect(missing.code).toBe(1);
    expect(missing.json().error.code).toBe("not_found");

    // SIGTERM: a clean stop that releases the directory.
    const exited = new Promise<number | null>((r) => server!.on("exit", (code) => r(code)));
    server.kill("SIGTERM");
    expect(await exited).toBe(0);
    server = null;
    expect(existsSync(join(dataDir, "orderhub.lock"))).toBe(false);
  }, 120_000);

  it("works on the data directory when no server runs", () => {
    const jobs = cli("jobs", "run", "--until-idle", "--json");
    expect(jobs.code, jobs.stderr).toBe(0);
    expect(jobs.json()).toEqual({ ran: 0, failed: 0 });
    expect(cli("orders", "list", "--json", "--buyer", "buyer 1011").json().total).toBe(1);
  });

  it("without a server, sync --wait runs the sync in the foreground", () => {
    const conn = cli(
      "connect",
      "fake",
      "--name",
      "Local shop",
      "--store",
      "seeded-4",
      "--api-key",
      "good-key",
    );
    expect(conn.code, conn.stderr).toBe(0);
    const sync = cli("sync", "Local shop", "--wait", "--json");
    expect(sync.code, sync.stderr).toBe(0);
    // The fake store shares order ids with "Test shop": what matters is that the run ran here.
    expect(sync.json()).toMatchObject({ success: true, state: "completed" });
    expect(sync.json().apiCalls).toBeGreaterThan(0);
  }, 60_000);

  it("exports documents for named orders or a filter into a folder", () => {
    const out = join(dataDir, "exports");
    const csv = cli("export", "csv", "--orders", "FK-1001,FK-1002", "--out", out, "--json");
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.json()).toMatchObject({ kind: "csv-orders", orders: 2 });
    expect(csv.json().file).toMatch(/orderhub-orders-\d{8}-\d{6}\.csv$/);
    expect(readFileSync(csv.json().file, "utf8")).toContain("FK-1002");
    const labels = cli(
      "export",
      "labels",
      "--status",
      "pending",
      "--layout",
      "a4-2x7",
      "--out",
      out,
      "--json",
    );
    expect(labels.code, labels.stderr).toBe(0);
    expect(readFileSync(labels.json().file).subarray(0, 5).toString()).toBe("%PDF-");
    // The fake marketplace ships by line: a parcel of one unit is planned, more than was ordered refused.
    const line = cli("orders", "show", "FK-1001", "--json").json().order.lines[0];
    const part = cli("ship", "FK-1001", "--tracking", "X1", "--lines", `${line.id}:1`, "--dry-run", "--json");
    expect(part.code, part.stderr).toBe(0);
    expect(part.json().pushes[0].calls[0]).toMatch(`lines ${line.externalLineId} ×1`);
    const ship = cli(
      "ship",
      "FK-1001",
      "--tracking",
      "X1",
      "--lines",
      `${line.id}:${line.quantity + 1}`,
      "--json",
    );
    expect(ship.code).toBe(1);
    expect(ship.json().error.message).toMatch(
      `lines: line ${line.id} (${line.externalLineId}) of FK-1001 has`,
    );
    const bare = cli("ship", "FK-1001", "--lines", `${line.id}`, "--json");
    expect(bare.code).toBe(1);
    expect(bare.json().error.message).toMatch(/--lines: give lineId:quantity pairs/);
    const none = cli("export", "pick-sheet", "--json");
    expect(none.code).toBe(1);
    expect(none.json().error.message).toMatch(/no orders selected/);
    const typo = cli("export", "csv", "--filter", "stauts=pending", "--json");
    expect(typo.code).toBe(1);
    expect(typo.json().error.message).toMatch(/filter/);
    // Lines CSV; a second export never overwrites the first, even within the same second.
    const lines = cli("export", "csv", "--lines", "--orders", "FK-1001", "--out", out, "--json");
    const again = cli("export", "csv", "--lines", "--orders", "FK-1001", "--out", out, "--json");
    expect(lines.json().file).toMatch(/orderhub-order-lines-\d{8}-\d{6}\.csv$/);
    expect(again.json().file).not.toBe(lines.json().file);
    expect(readFileSync(lines.json().file, "utf8")).toBe(readFileSync(again.json().file, "utf8"));
  }, 60_000);

  it("user add refuses a second owner unless asked with --force, and says who the owner is", () => {
    const args = ["user", "add", "--email", "second@shop.example", "--password", "second password"];
    const refused = cli(...args, "--role", "owner", "--json");
    expect(refused.code).toBe(1);
    expect(refused.json().error).toMatchObject({ code: "owner_exists" });
    expect(refused.json().error.message).toMatch(/owner already \(owner@shop\.example\).*--force/);
    const human = cli(...args, "--role", "owner");
    expect(human.stderr).toMatch(/nothing was created/);
    const users = () => cli("user", "list", "--json").json().users as { email: string; role: string }[];
    expect(users().some((u) => u.email === "second@shop.example")).toBe(false);
    const forced = cli(...args, "--role", "owner", "--force", "--json");
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.json().user).toMatchObject({ email: "second@shop.example", role: "owner" });
    const owners = users().filter((u) => u.role === "owner");
    expect(owners.map((u) => u.email).sort()).toEqual(["owner@shop.example", "second@shop.example"]);
  }, 120_000);

  it("cuts a user off: disable, role, reset-password, logout, delete", () => {
    const add = cli(
      "user",
      "add",
      "--email",
      "helper@shop.example",
      "--password",
      "helper password",
      "--json",
    );
    expect(add.code, add.stderr).toBe(0);
    const off = cli("user", "disable", "helper@shop.example", "--json");
    expect(off.code, off.stderr).toBe(0);
    expect(off.json().user).toMatchObject({ email: "helper@shop.example", disabled: true });
    const role = cli("user", "role", "helper@shop.example", "picker");
    expect(role.stdout).toMatch(/helper@shop\.example is now picker/);
    const reset = cli("user", "reset-password", "helper@shop.example", "--json");
    expect(reset.json().password).toMatch(/^[\w-]{20}$/);
    expect(cli("user", "logout", "helper@shop.example", "--tokens", "--json").json()).toEqual({
      sessionsEnded: 0,
      tokensRevoked: 0,
    });
    const refused = cli("user", "delete", "helper@shop.example");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/--yes/);
    expect(cli("user", "delete", "helper@shop.example", "--yes").code).toBe(0);
    const nobody = cli("user", "disable", "helper@shop.example");
    expect(nobody.stderr).toMatch(/no user "helper@shop\.example"/);
  }, 180_000);

  it("prints no terminal escapes from stored text, but keeps them in --json", () => {
    const title = "\u001b]0;owned\u0007Mallory\u001b[2J";
    const add = cli(
      "user",
      "add",
      "--email",
      "escapes@shop.example",
      "--password",
      "escapes password",
      "--name",
      title,
      "--json",
    );
    expect(add.code, add.stderr).toBe(0);
    const human = cli("user", "list");
    expect(human.stdout).toContain("Mallory");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for control characters
    expect(human.stdout).not.toMatch(/\u001b|\u0007/);
    const json = cli("user", "list", "--json");
    expect(json.json().users.find((u: { email: string }) => u.email === "escapes@shop.example").name).toBe(
      title,
    );
  }, 60_000);
});
