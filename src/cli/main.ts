import { Command, Option } from "commander";
import type { Settings } from "../config.ts";
import { MarketplaceError } from "../core/errors.ts";
import { DataDirBusyError } from "../db/lock.ts";
import { ApiCallError, type ApiClient, openApiClient } from "./api-client.ts";
import { camel, chargesText, kebab, lotText, plain, shipToText, table } from "./format.ts";
import { waitForRun } from "./progress.ts";
import type { RunView } from "./run-view.ts";

interface GlobalOpts {
  json?: boolean;
  dataDir?: string;
  account?: string;
}

const program = new Command();
program
  .name("orderhub")
  .description("Every order from every marketplace in one place.")
  .option("--json", "machine-readable output only")
  .option("--data-dir <dir>", "data directory (default ORDERHUB_DATA_DIR or ./data)")
  .option("--account <slug>", "the account to act on (default: the first one)")
  .showHelpAfterError();

// Settings (validated with zod) load before a command runs, not for `--help`: start-up stays quick.
let config: typeof import("../config.ts") | null = null;
program.hook("preAction", async () => {
  config ??= await import("../config.ts");
});

function settingsFor(opts: GlobalOpts, extra: NodeJS.ProcessEnv = {}): Settings {
  return config!.loadSettings({
    ...process.env,
    ...(opts.dataDir ? { ORDERHUB_DATA_DIR: opts.dataDir } : {}),
    ...extra,
  });
}

function globals(cmd: Command): GlobalOpts {
  return cmd.optsWithGlobals() as GlobalOpts;
}

function print(opts: GlobalOpts, data: unknown, human: () => string): void {
  // Human output is scrubbed of terminal escapes; --json keeps every character (JSON escapes them).
  process.stdout.write(`${opts.json ? JSON.stringify(data, null, 2) : plain(human())}\n`);
}

/** Runs one command against the API (remote or in-process) and turns failures into clear exits. */
async function withApi(cmd: Command, fn: (api: ApiClient, opts: GlobalOpts) => Promise<void>): Promise<void> {
  const opts = globals(cmd);
  let api: ApiClient | null = null;
  try {
    api = await openApiClient(settingsFor(opts), { account: opts.account });
    await fn(api, opts);
  } catch (err) {
    reportError(opts, err);
  } finally {
    await api?.close().catch(() => {});
  }
}

function reportError(opts: GlobalOpts, err: unknown): void {
  let payload: { code: string; message: string; details?: unknown };
  if (err instanceof ApiCallError) payload = { code: err.code, message: err.message, details: err.details };
  else if (err instanceof MarketplaceError) payload = { code: err.kind, message: err.message };
  else if (err instanceof DataDirBusyError) payload = { code: "data_dir_busy", message: err.message };
  else if (config && err instanceof config.SettingsError)
    payload = { code: "invalid_settings", message: err.message };
  else payload = { code: "error", message: err instanceof Error ? err.message : String(err) };
  if (opts.json) process.stdout.write(`${JSON.stringify({ error: payload }, null, 2)}\n`);
  else {
    process.stderr.write(`orderhub: ${plain(payload.message)}\n`);
    const d = payload.details as { issues?: { path: string; message: string }[] } | null | undefined;
    for (const i of d?.issues ?? []) process.stderr.write(plain(`  ${i.path}: ${i.message}\n`));
  }
  process.exitCode = 1;
}

// ------------------------------------------------------------------ serve / migrate

program
  .command("serve")
  .description("run the server: HTTP API and UI, background workers and the scheduler")
  .addOption(
    new Option("--role <role>", "which part to run").choices(["all", "web", "worker"]).default("all"),
  )
  .option("--port <port>", "port to listen on (default PORT or 3000)")
  .option("--host <host>", "address to listen on (default HOST or 127.0.0.1)")
  .option(
    "--notify-port <port>",
    "listen on this port for marketplaces that call a fixed port with their notices (BrickOwl calls 42500; default off)",
  )
  .addOption(new Option("--brickowl-notify-port <port>", "the older name of --notify-port").hideHelp())
  .action(
    async (
      o: {
        role: "all" | "web" | "worker";
        port?: string;
        host?: string;
        notifyPort?: string;
        brickowlNotifyPort?: string;
      },
      cmd: Command,
    ) => {
      const opts = globals(cmd);
      try {
        const settings = settingsFor(opts, {
          ...(o.port ? { PORT: o.port } : {}),
          ...(o.host ? { HOST: o.host } : {}),
          ...((o.notifyPort ?? o.brickowlNotifyPort)
            ? { ORDERHUB_NOTIFY_PORT: (o.notifyPort ?? o.brickowlNotifyPort)! }
            : {}),
        });
        const { serve } = await import("../server.ts");
        await serve(settings, { role: o.role });
      } catch (err) {
        reportError(opts, err);
      }
    },
  );

program
  .command("migrate")
  .description("apply database migrations and exit")
  .action(async (_o: unknown, cmd: Command) => {
    const opts = globals(cmd);
    try {
      const { openDatabase, runMigrations } = await import("../db/connection.ts");
      const settings = settingsFor(opts);
      const database = await openDatabase({ databaseUrl: settings.databaseUrl, dataDir: settings.dataDir });
      try {
        await runMigrations(database);
      } finally {
        await database.close();
      }
      print(
        opts,
        { migrated: true, database: database.kind },
        () => `Database is up to date (${database.kind}).`,
      );
    } catch (err) {
      reportError(opts, err);
    }
  });

// ------------------------------------------------------------------ users and tokens

const user = program.command("user").description("manage users");
user
  .command("add")
  .description("create a user (creates the account too on a fresh install)")
  .requiredOption("--email <email>", "login e-mail")
  .option(
    "--password <password>",
    "at least 10 characters (other local users can see it in ps: prefer --password-stdin)",
  )
  .option(
    "--password-stdin",
    "read the password from standard input (without this or --password, a terminal asks)",
  )
  .addOption(
    new Option("--role <role>", "what they may do").choices(["owner", "staff", "picker"]).default("staff"),
  )
  .option("--name <name>", "display name")
  .option("--account-name <name>", "name of the account to create when there is none", "My store")
  .option("--force", "add an owner although the account has one already")
  .action(
    async (
      o: {
        email: string;
        password?: string;
        passwordStdin?: boolean;
        role: string;
        name?: string;
        accountName: string;
        force?: boolean;
      },
      cmd,
    ) => {
      // Asked first: before the database opens (no wait at the prompt) and before anything is created.
      let password: string;
      try {
        password = await (await import("./password-input.ts")).newUserPassword(o);
      } catch (err) {
        return reportError(globals(cmd), err);
      }
      return withApi(cmd, async (api, opts) => {
        await ensureAccount(api, opts, o.accountName);
        const res = await api
          .call<{ user: { id: number; email: string; role: string } }>("POST", "/api/users", {
            email: o.email,
            password,
            role: o.role,
            ...(o.name ? { name: o.name } : {}),
            ...(o.force ? { force: true } : {}),
          })
          .catch((err) => {
            // A second owner is never created by accident (the first-run hint followed twice).
            if (err instanceof ApiCallError && err.code === "owner_exists") {
              const owner = (err.details as { owner?: string } | null)?.owner ?? "someone";
              throw new ApiCallError(
                err.status,
                err.code,
                `this account has an owner already (${owner}); nothing was created. Add --force to add a second owner, or --role staff for someone who helps`,
                err.details,
              );
            }
            throw err;
          });
        print(opts, res, () => `Created ${res.user.role} ${res.user.email} (user ${res.user.id}).`);
      });
    },
  );

user.command("list").action(async (_o, cmd) =>
  withApi(cmd, async (api, opts) => {
    const res = await api.call<{ users: Record<string, unknown>[] }>("GET", "/api/users");
    const state = (u: Record<string, unknown>) =>
      u.disabled
        ? "disabled"
        : u.lockedUntil && Date.parse(String(u.lockedUntil)) > Date.now()
          ? "locked"
          : "active";
    print(opts, res, () =>
      table(
        res.users.map((u) => ({ ...u, state: state(u) })),
        [
          { key: "id", label: "ID", right: true },
          { key: "email", label: "E-MAIL" },
          { key: "role", label: "ROLE" },
          { key: "name", label: "NAME" },
          { key: "state", label: "STATE" },
        ],
      ),
    );
  }),
);

// ---- cutting a user off (owners; the operator acts as one): <user> is an id or an e-mail

/** The id of a user of this account named by id or e-mail, or a clear error. */
async function userId(api: ApiClient, who: string): Promise<number> {
  const res = await api.call<{ users: { id: number; email: string }[] }>("GET", "/api/users");
  const u = /^\d+$/.test(who)
    ? res.users.find((x) => x.id === Number(who))
    : res.users.find((x) => x.email.toLowerCase() === who.toLowerCase());
  if (!u) throw new Error(`no user "${who}" in this account (see \`orderhub user list\`)`);
  return u.id;
}

for (const [name, disabled] of [
  ["disable", true],
  ["enable", false],
] as const) {
  user
    .command(`${name} <user>`)
    .description(
      disabled
        ? "stop a user: their sessions end and their API tokens stop at once"
        : "let a user sign in again",
    )
    .action(async (who: string, _o: unknown, cmd: Command) =>
      withApi(cmd, async (api, opts) => {
        const res = await api.call<{ user: { email: string } }>(
          "PATCH",
          `/api/users/${await userId(api, who)}`,
          {
            disabled,
          },
        );
        print(opts, res, () => `${res.user.email} is ${disabled ? "disabled" : "enabled"}.`);
      }),
    );
}

user
  .command("role <user> <role>")
  .description("change what a user may do (owner, staff or picker); applies to their next request")
  .action(async (who: string, role: string, _o: unknown, cmd: Command) =>
    withApi(cmd, async (api, opts) => {
      const res = await api.call<{ user: { email: string; role: string } }>(
        "PATCH",
        `/api/users/${await userId(api, who)}`,
        { role },
      );
      print(opts, res, () => `${res.user.email} is now ${res.user.role}.`);
    }),
  );

user
  .command("delete <user>")
  .description("delete a user with their sessions and API tokens (the audit log keeps what they did)")
  .option("--yes", "really delete")
  .action(async (who: string, o: { yes?: boolean }, cmd: Command) =>
    withApi(cmd, async (api, opts) => {
      if (!o.yes) throw new Error(`add --yes to delete ${who} (or \`orderhub user disable\` to keep them)`);
      const res = await api.call("DELETE", `/api/users/${await userId(api, who)}`);
      print(opts, res, () => `Deleted ${who}.`);
    }),
  );

user
  .command("reset-password <user>")
  .description(
    "set a new password (ends their sessions); without --password-stdin one is made up and shown once",
  )
  .option("--password-stdin", "read the new password from standard input")
  .action(async (who: string, o: { passwordStdin?: boolean }, cmd: Command) =>
    withApi(cmd, async (api, opts) => {
      let password: string;
      if (o.passwordStdin) {
        const chunks: Buffer[] = [];
        for await (const c of process.stdin) chunks.push(c as Buffer);
        password = Buffer.concat(chunks)
          .toString("utf8")
          .replace(/\r?\n$/, "");
      } else {
        const { randomBytes } = await import("node:crypto");
        password = randomBytes(15).toString("base64url");
      }
      const res = await api.call<{ sessionsEnded: number }>(
        "POST",
        `/api/users/${await userId(api, who)}/password`,
        { password },
      );
      const shown = o.passwordStdin ? res : { ...res, password };
      print(opts, shown, () =>
        o.passwordStdin
          ? `New password set for ${who}; ${res.sessionsEnded} session(s) ended.`
          : `New password for ${who} (shown once): ${password}\n${res.sessionsEnded} session(s) ended.`,
      );
    }),
  );

user
  .command("logout <user>")
  .description("end all of a user's sessions (--tokens: revoke their API tokens too)")
  .option("--tokens", "revoke their API tokens as well")
  .action(async (who: string, o: { tokens?: boolean }, cmd: Command) =>
    withApi(cmd, async (api, opts) => {
      const res = await api.call<{ sessionsEnded: number; tokensRevoked: number }>(
        "POST",
        `/api/users/${await userId(api, who)}/logout`,
        { tokens: Boolean(o.tokens) },
      );
      print(opts, res, () => `${res.sessionsEnded} session(s) ended, ${res.tokensRevoked} token(s) revoked.`);
    }),
  );

async function ensureAccount(api: ApiClient, opts: GlobalOpts, name: string): Promise<void> {
  try {
    await api.call("GET", "/api/account");
  } catch (err) {
    if (!(err instanceof ApiCallError) || (err.status !== 404 && err.code !== "no_account")) throw err;
    await api.call("POST", "/api/accounts", { name, ...(opts.account ? { slug: opts.account } : {}) });
  }
}

const token = program.command("token").description("API tokens for scripts");
token
  .command("create")
  .requiredOption("--name <name>", "what the token is for")
  .option("--expires-days <days>", "expire after this many days")
  .action(async (o: { name: string; expiresDays?: string }, cmd) =>
    withApi(cmd, async (api, opts) => {
      const res = await api.call<{ token: string; id: number }>("POST", "/api/tokens", {
        name: o.name,
        ...(o.expiresDays ? { expiresInDays: Number(o.expiresDays) } : {}),
      });
      print(
        opts,
        res,
        () => `${res.token}\n(shown once: store it now; send it as "Authorization: Bearer <token>")`,
      );
    }),
  );

// ------------------------------------------------------------------ connections

const connect = program
  .command("connect <marketplace>")
  .description("connect a marketplace store")
  .requiredOption("--name <name>", "a name for this connection")
  .option("--base-url <url>", "API base URL (a simulator, a proxy, or the real API by default)")
  .option("--every <minutes>", "sync every N minutes (default 15)")
  .option("--cron <expression>", "sync on a cron schedule instead")
  .option("--daily-budget <calls>", "API calls per day this connection may spend")
  .option("--no-test", "save without testing the credentials");
// Flags come from every manifest's config fields, so a new marketplace needs no CLI change. The
// adapters behind them load only when "connect" is on the command line (to run it or show its help).
if (process.argv.includes("connect")) {
  const { listManifests } = await import("../marketplaces/registry.ts");
  const seenFlags = new Set<string>();
  for (const m of listManifests({ includeInternal: true })) {
    for (const f of m.config) {
      const flag = f.flag ?? `--${kebab(f.key)}`;
      if (seenFlags.has(flag)) continue;
      seenFlags.add(flag);
      const option = new Option(`${flag} <value>`, `${f.label}${f.secret ? " (secret)" : ""} [${m.id}]`);
      // The test marketplace's flags work but stay out of the help.
      connect.addOption(m.internal ? option.hideHelp() : option);
    }
  }
}
connect.action(async (marketplace: string, o: Record<string, string | boolean | undefined>, cmd: Command) =>
  withApi(cmd, async (api, opts) => {
    const { listManifests } = await import("../marketplaces/registry.ts");
    const manifest = listManifests({ includeInternal: true }).find((m) => m.id === marketplace);
    if (!manifest) {
      const known = listManifests()
        .map((m) => m.id)
        .join(", ");
      throw new Error(`unknown marketplace "${marketplace}" (known: ${known})`);
    }
    const config: Record<string, string> = {};
    for (const f of manifest.config) {
      const v = o[camel((f.flag ?? `--${kebab(f.key)}`).replace(/^--/, ""))];
      if (typeof v === "string") config[f.key] = v;
    }
    const body: Record<string, unknown> = { marketplace, name: o.name, config, test: o.test !== false };
    if (typeof o.baseUrl === "string") body.baseUrl = o.baseUrl;
    if (typeof o.cron === "string") body.schedule = { kind: "cron", expression: o.cron };
    else if (typeof o.every === "string") body.schedule = { kind: "interval", minutes: Number(o.every) };
    if (typeof o.dailyBudget === "string") body.dailyBudget = Number(o.dailyBudget);
    const res = await api.call<{ connection: Record<string, unknown> & { id: number; name: string } }>(
      "POST",
      "/api/connections",
      body,
    );
    print(
      opts,
      res,
      () =>
        `Connected ${manifest.displayName} as "${res.connection.name}" (connection ${res.connection.id}).`,
    );
  }),
);

const connections = program.command("connections").description("list and inspect connections");
connections.command("list").action(async (_o, cmd) =>
  withApi(cmd, async (api, opts) => {
    const res = await api.call<{ connections: Record<string, unknown>[] }>("GET", "/api/connections");
    print(opts, res, () =>
      table(res.connections, [
        { key: "id", label: "ID", right: true },
        { key: "name", label: "NAME" },
        { key: "marketplace", label: "MARKETPLACE" },
        { key: "lastSyncState", label: "LAST SYNC" },
        { key: "lastSyncAt", label: "AT" },
        { key: "nextSyncAt", label: "NEXT" },
      ]),
    );
  }),
);

connections
  .command("show <connection>")
  .description("one connection: sync state, next run, push-notification URL, API budget today")
  .action(async (ref: string, _o: unknown, cmd: Command) =>
    withApi(cmd, async (api, opts) => {
      const id = await connectionId(api, ref);
      const res = await api.call<{
        connection: Record<string, unknown> & {
          budget: {
            limit: number | null;
            usedToday: number;
            remainingToday: number | null;
            resetsAt: string | null;
          };
          activeRun: {
            state: string;
            seen: number;
            total: number | null;
            waitingUntil: string | null;
          } | null;
          details?: {
            pending: number;
            callsNeeded: number;
            callsPerDay: number | null;
            estimatedDoneAt: string | null;
          };
        };
      }>("GET", `/api/connections/${id}`);
      print(opts, res, () => {
        const c = res.connection;
        const b = c.budget;
        return [
          `${c.name} (${c.displayName}${c.demo ? ", demo" : ""}) — connection ${c.id}`,
          `last sync: ${c.lastSyncState ?? "never"}${c.lastSyncAt ? ` at ${c.lastSyncAt}` : ""}${c.lastError ? ` — ${c.lastError}` : ""}`,
          `next sync: ${c.nextSyncAt ?? "not scheduled"}`,
          c.activeRun
            ? `running: ${c.activeRun.seen}/${c.activeRun.total ?? "?"} orders${c.activeRun.waitingUntil ? `, waiting until ${c.activeRun.waitingUntil}` : ""}`
            : "no sync running",
          `API budget today: ${b.usedToday} used${b.limit !== null ? ` of ${b.limit}, ${b.remainingToday} left, resets ${b.resetsAt}` : ""}`,
          `orders: ${c.orderCount}`,
          ...(c.details && c.details.pending > 0
            ? [
                `waiting for details: ${c.details.pending} orders (${c.details.callsNeeded} calls${c.details.callsPerDay !== null ? `, ${c.details.callsPerDay} a day left for them` : ""}) — ${c.details.estimatedDoneAt ? `done by ${c.details.estimatedDoneAt}` : "not at the current budget and schedule: raise the daily budget or sync more often"}`,
              ]
            : []),
          ...(c.webhookUrl ? [`push-notification URL: ${c.webhookUrl}`] : []),
        ].join("\n");
      });
    }),
  );

async function connectionId(api: ApiClient, ref: string): Promise<number> {
  const res = await api.call<{ connections: { id: number; name: string }[] }>("GET", "/api/connections");
  const hit =
    res.connections.find((c) => String(c.id) === ref) ?? res.connections.find((c) => c.name === ref);
  if (!hit) throw new ApiCallError(404, "not_found", `no connection named or numbered "${ref}"`, null);
  return hit.id;
}

// ------------------------------------------------------------------ sync

type SyncOptions = { full?: boolean; includeFiled?: boolean; wait?: boolean; yes?: boolean };

/** A full sync fetches every order again: says what it costs and asks first (or wants --yes). */
async function confirmFullSync(api: ApiClient, id: number, includeFiled: boolean): Promise<boolean> {
  const { estimate: e } = await api.call<{
    estimate: { calls: number; orders: number; remainingToday: number | null; extraDays: number | null };
  }>("GET", `/api/connections/${id}/sync-estimate?mode=full&includeArchived=${includeFiled}`);
  const left =
    e.remainingToday === null
      ? ""
      : ` (${e.remainingToday} left today${e.extraDays ? `; it needs ${e.extraDays} more day(s) of budget` : ""})`;
  const cost = `A full sync fetches ${e.orders} orders again: about ${e.calls} API calls${left}.`;
  if (!process.stdin.isTTY) throw new Error(`${cost} Add --yes to start it.`);
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(`${cost} Start it? [y/N] `);
  rl.close();
  if (/^y(es)?$/i.test(answer.trim())) return true;
  process.stderr.write("Not started.\n");
  return false;
}

program
  .command("sync <connection>")
  .description("pull orders now (incremental unless --full)")
  .option("--full", "fetch every order, not only new and changed ones")
  .option("--include-filed", "include filed/archived orders (with --full)")
  .option("--wait", "wait for the run to finish and print its result")
  .option("--yes", "start a full sync without being asked about its cost")
  .action(async (ref: string, o: SyncOptions, cmd: Command) =>
    withApi(cmd, async (api, opts) => {
      const id = await connectionId(api, ref);
      if (o.full && !o.yes && !(await confirmFullSync(api, id, Boolean(o.includeFiled)))) return;
      const started = await api.call<{ runId: number; joined: boolean }>(
        "POST",
        `/api/connections/${id}/sync`,
        {
          mode: o.full ? "full" : "incremental",
          includeArchived: Boolean(o.includeFiled),
        },
      );
      if (!o.wait) {
        print(opts, started, () =>
          started.joined
            ? `A sync is already running (run ${started.runId}); joined it.`
            : `Sync queued (run ${started.runId}).`,
        );
        return;
      }
      const run = await waitForRun(api, started.runId, {
        progress: !opts.json && Boolean(process.stderr.isTTY),
      });
      const result = syncResult(run);
      print(opts, result, () => {
        const lines = [
          `${run.state === "completed" ? "Synced" : `Sync ${String(run.state).replace(/_/g, " ")}`}: ` +
            `${result.ordersProcessed} orders — created ${result.ordersCreated}, updated ${result.ordersUpdated}, skipped ${result.ordersSkipped}, failed ${result.failed.length} (${result.apiCalls} API calls).`,
        ];
        for (const f of result.failed) lines.push(`  ${f.orderId}: ${f.reason}`);
        if (run.error) lines.push(`  ${run.error}`);
        return lines.join("\n");
      });
      if (run.state === "failed") process.exitCode = 1;
    }),
  );

/** Seed 002's SyncResult, plus the API calls spent and the orders that failed. */
function syncResult(run: RunView) {
  return {
    runId: run.id,
    state: run.state,
    success: run.state === "completed",
    ordersProcessed: run.seen,
    ordersCreated: run.created,
    ordersUpdated: run.updated,
    ordersSkipped: run.skipped,
    errors: [...run.failures.map((f) => `${f.externalId}: ${f.reason}`), ...(run.error ? [run.error] : [])],
    lastSyncedAt: run.finishedAt,
    apiCalls: run.apiCalls,
    failed: run.failures.map((f) => ({ orderId: f.externalId, reason: f.reason })),
  };
}

// ------------------------------------------------------------------ orders

const orders = program.command("orders").description("list, show and refresh orders");
orders
  .command("list")
  .option("--status <list>", "unified statuses, comma-separated")
  .option("--marketplace <list>", "marketplaces, comma-separated")
  .option("--from <date>", "ordered on or after this day (account's time zone) or instant")
  .option("--to <date>", "ordered on or before this day (account's time zone), or before an instant")
  .option("--buyer <prefix>", "buyer name, username or e-mail starting with")
  .option("--search <text>", "order number (BL-123 or 123), buyer, username, item number or part name")
  .option("--sort <column>", "number|marketplace|orderedAt|buyer|status|total|updatedAt")
  .option("--dir <dir>", "asc|desc")
  .option("--page <n>", "page number", "1")
  .option("--page-size <n>", "orders per page", "50")
  .option("--needs-review", "only orders flagged for review (a marketplace reported an older status)")
  .action(async (o: Record<string, string | undefined>, cmd: Command) =>
    withApi(cmd, async (api, opts) => {
      const q = new URLSearchParams();
      if (o.needsReview) q.set("needsReview", "true");
      const map: Record<string, string> = { search: "q", pageSize: "pageSize" };
      for (const k of [
        "status",
        "marketplace",
        "from",
        "to",
        "buyer",
        "search",
        "sort",
        "dir",
        "page",
        "pageSize",
      ]) {
        const v = o[k];
        if (v) q.set(map[k] ?? k, v);
      }
      const res = await api.call<{
        orders: Record<string, unknown>[];
        total: number;
        page: number;
        pageSize: number;
      }>("GET", `/api/orders?${q}`);
      print(opts, res, () => {
        const rows = res.orders.map((r) => ({
          ...r,
          total: (r.grandTotal as { display?: string; currency?: string } | undefined)?.display
            ? `${(r.grandTotal as { display: string }).display} ${(r.grandTotal as { currency: string }).currency}`
            : r.grandTotal,
        }));
        return `${table(rows, [
          { key: "number", label: "ORDER" },
          { key: "marketplace", label: "MARKETPLACE" },
          { key: "orderedAt", label: "DATE" },
          { key: "buyerName", label: "BUYER" },
          { key: "status", label: "STATUS" },
          { key: "rawStatus", label: "RAW" },
          { key: "total", label: "TOTAL", right: true },
        ])}\n${res.total} orders, page ${res.page} of ${Math.max(1, Math.ceil(res.total / res.pageSize))}`;
      });
    }),
  );

orders
  .command("show <order>")
  .description("one order by id or number (e.g. BL-12345678)")
  .action(async (ref: string, _o: unknown, cmd: Command) =>
    withApi(cmd, async (api, opts) => {
      const res = await api.call<{ order: Record<string, unknown> & { lines?: Record<string, unknown>[] } }>(
        "GET",
        `/api/orders/${encodeURIComponent(ref)}`,
      );
      print(opts, res, () => {
        const o = res.order;
        const lines = (o.lines ?? []) as Record<string, unknown>[];
        return [
          `${o.number}  ${o.marketplace}  ${o.status} (${o.rawStatus})`,
          `Buyer: ${o.buyerName ?? ""}${o.buyerUsername ? ` (${o.buyerUsername})` : ""}${o.buyerEmail ? ` <${o.buyerEmail}>` : ""}`,
          `Ordered: ${o.orderedAt}`,
          ...shipToText(o.shipTo),
          "",
          table(
            lines.map((l) => ({
              ...l,
              price: (l.unitPrice as { display?: string })?.display ?? l.unitPrice,
              lot: lotText(l),
            })),
            [
              { key: "location", label: "LOCATION" },
              { key: "itemNo", label: "ITEM" },
              { key: "name", label: "NAME" },
              { key: "colorName", label: "COLOUR" },
              { key: "condition", label: "COND" },
              { key: "quantity", label: "QTY", right: true },
              { key: "price", label: "PRICE", right: true },
              { key: "lot", label: "LOT" },
            ],
          ),
          ...chargesText(o.charges),
          ...((o.pushes as Record<string, unknown>[] | undefined)?.length
            ? [
                "",
                "Pushes:",
                ...(o.pushes as Record<string, unknown>[]).map(
                  (p) =>
                    `  #${p.id} ${p.action} → ${p.marketplace}: ${p.state}${p.lastError ? ` (${p.lastError})` : ""}`,
                ),
              ]
            : []),
        ].join("\n");
      });
    }),
  );

orders
  .command("refresh <order>")
  .description("fetch one order again from its marketplace")
  .option("--wait", "wait for the refresh to finish")
  .action(async (ref: string, o: { wait?: boolean }, cmd: Command) =>
    withApi(cmd, async (api, opts) => {
      const started = await api.call<{ runId: number; joined: boolean }>(
        "POST",
        `/api/orders/${encodeURIComponent(ref)}/refresh`,
      );
      if (!o.wait) return print(opts, started, () => `Refresh queued (run ${started.runId}).`);
      const run = await waitForRun(api, started.runId, { progress: false });
      print(opts, syncResult(run), () => `Refresh ${run.state.replace(/_/g, " ")}.`);
    }),
  );

// ------------------------------------------------------------------ simulators

program
  .command("simulate <marketplace>")
  .description("run a marketplace simulator (for trying Orderhub, tests and benchmarks)")
  .option("--port <port>", "port to listen on", "4100")
  .option("--host <host>", "address to listen on", "127.0.0.1")
  .option("--orders <n>", "orders in the seeded store", "300")
  .option("--seed <n>", "seed of the generated store", "1")
  .option(
    "--callback <url>",
    "push-notification URL the simulator calls when orders change (where the marketplace calls a URL)",
  )
  .option(
    "--notify-port <port>",
    "announce new orders to 127.0.0.1:<port> (where the marketplace calls a fixed port)",
  )
  .action(
    async (
      marketplace: string,
      o: { port: string; host: string; orders: string; seed: string; callback?: string; notifyPort?: string },
      cmd: Command,
    ) => {
      const opts = globals(cmd);
      try {
        const { loadSimulator } = await import("../marketplaces/registry.ts");
        const sim = await (await loadSimulator(marketplace)).start({
          port: Number(o.port),
          host: o.host,
          orders: Number(o.orders),
          seed: Number(o.seed),
          callbackUrl: o.callback ?? null,
          notifyPort: o.notifyPort ? Number(o.notifyPort) : null,
        });
        print(
          opts,
          { baseUrl: sim.baseUrl, control: sim.controlUrl, config: sim.config, credentials: sim.secrets },
          () => sim.describe().join("\n"),
        );
        const stop = () => sim.close().then(() => process.exit(0));
        process.on("SIGTERM", stop);
        process.on("SIGINT", stop);
      } catch (err) {
        reportError(opts, err);
      }
    },
  );

// ------------------------------------------------------------------ fulfilment

interface PlannedPushView {
  orderId: number;
  number: string;
  marketplace: string;
  calls: string[];
  pushId?: number;
  duplicate?: boolean;
  replacesTracking?: string[];
}

function planText(res: { dryRun: boolean; pushes: PlannedPushView[] }): string {
  const lines = res.pushes.map((p) => {
    const what = `${p.calls.length ? p.calls.join("; ") : "nothing to send"}${
      p.replacesTracking?.length ? ` (replaces tracking ${p.replacesTracking.join(", ")})` : ""
    }`;
    const tag = res.dryRun ? "would send" : p.duplicate ? "already queued" : `queued (push ${p.pushId})`;
    return `  ${p.number}: ${what} — ${tag}`;
  });
  const head = res.dryRun
    ? `Dry run for ${res.pushes.length} order${res.pushes.length === 1 ? "" : "s"}:`
    : `Queued for ${res.pushes.length} order${res.pushes.length === 1 ? "" : "s"}:`;
  return [head, ...lines].join("\n");
}

/** Without a server the pushes are sent here and now (what `jobs run --until-idle` would do). */
async function sendNow(api: ApiClient): Promise<void> {
  if (api.local) await api.local.queue.runUntilIdle();
}

program
  .command("ship <orders...>")
  .description("mark orders shipped: tracking and ship date to the marketplace, then its shipped status")
  .option("--carrier <name>", "carrier (DHL, Royal Mail, …)")
  .option("--tracking <number>", "tracking number")
  .option("--tracking-url <url>", "tracking link, when there is no number")
  .option("--date <date>", "ship date (ISO date; default today)")
  .option(
    "--lines <lineId:qty,…>",
    "a partial shipment: order line ids (as `orders show --json` gives them) and quantities, e.g. 812:2,813:1 (only where the marketplace ships by line)",
  )
  .option("--no-status", "send the tracking only, leave the marketplace status as it is")
  .option("--drive-thru", "BrickLink: also send the Drive Thru e-mail")
  .option("--combine", "one parcel: refuse unless the orders go to the same recipient")
  .option(
    "--replace-tracking",
    "an order already shipped with other tracking gets the new one (refused without it, naming the tracking it has)",
  )
  .option("--dry-run", "show what would be sent where, send nothing")
  .action(async (refs: string[], o: Record<string, string | boolean | undefined>, cmd: Command) =>
    withApi(cmd, async (api, opts) => {
      const lines =
        typeof o.lines === "string"
          ? o.lines
              .split(",")
              .filter((x) => x.trim())
              .map((x) => {
                const m = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(x);
                if (!m)
                  throw new Error(
                    `--lines: give lineId:quantity pairs such as 812:2,813:1 (not "${x.trim()}")`,
                  );
                return { lineId: Number(m[1]), quantity: Number(m[2]) };
              })
          : null;
      const res = await api.call<{ dryRun: boolean; pushes: PlannedPushView[] }>(
        "POST",
        "/api/fulfilment/ship",
        {
          orders: refs.flatMap((r) => r.split(",")).filter(Boolean),
          ...(typeof o.carrier === "string" ? { carrier: o.carrier } : {}),
          ...(typeof o.tracking === "string" ? { trackingNumber: o.tracking } : {}),
          ...(typeof o.trackingUrl === "string" ? { trackingUrl: o.trackingUrl } : {}),
          ...(typeof o.date === "string" ? { shippedAt: o.date } : {}),
          ...(lines ? { lines } : {}),
          ...(o.status === false ? { setStatus: false } : {}),
          ...(o.driveThru ? { driveThru: true } : {}),
          ...(o.combine ? { combine: true } : {}),
          ...(o.replaceTracking ? { replaceTracking: true } : {}),
          ...(o.dryRun ? { dryRun: true } : {}),
        },
      );
      if (!res.dryRun) await sendNow(api);
      print(opts, res, () => planText(res));
    }),
  );

program
  .command("tracking")
  .description("tracking numbers for many orders at once")
  .command("import <file>")
  .description(
    "tracking numbers from a CSV (order number, carrier, tracking; a header is optional): all or nothing, a bad line named",
  )
  .option("--date <date>", "ship date (ISO date; default today)")
  .option("--no-status", "send the tracking only, leave the marketplace status as it is")
  .option("--drive-thru", "BrickLink: also send the Drive Thru e-mail")
  .option("--replace-tracking", "orders already shipped with other tracking get the new one")
  .option("--dry-run", "show what would be sent where, send nothing")
  .action(async (file: string, o: Record<string, string | boolean | undefined>, cmd: Command) =>
    withApi(cmd, async (api, opts) => {
      const { readFileSync } = await import("node:fs");
      const res = await api.call<{ dryRun: boolean; pushes: PlannedPushView[] }>(
        "POST",
        "/api/fulfilment/tracking-import",
        {
          csv: readFileSync(file, "utf8"),
          ...(typeof o.date === "string" ? { shippedAt: o.date } : {}),
          ...(o.status === false ? { setStatus: false } : {}),
          ...(o.driveThru ? { driveThru: true } : {}),
          ...(o.replaceTracking ? { replaceTracking: true } : {}),
          ...(o.dryRun ? { dryRun: true } : {}),
        },
      );
      if (!res.dryRun) await sendNow(api);
      print(opts, res, () => planText(res));
    }),
  );

orders
  .command("set-status <orders...>")
  .description("set a marketplace status (BrickLink PACKED, BrickOwl Processing, …)")
  .requiredOption("--status <status>", "the marketplace's status name (or BrickOwl's status id)")
  .option("--dry-run", "show what would be sent where, send nothing")
  .action(async (refs: string[], o: { status: string; dryRun?: boolean }, cmd: Command) =>
    withApi(cmd, async (api, opts) => {
      const res = await api.call<{ dryRun: boolean; pushes: PlannedPushView[] }>(
        "POST",
        "/api/fulfilment/status",
        {
          orders: refs.flatMap((r) => r.split(",")).filter(Boolean),
          status: o.status,
          ...(o.dryRun ? { dryRun: true } : {}),
        },
      );
      if (!res.dryRun) await sendNow(api);
      print(opts, res, () => planText(res));
    }),
  );

const pushes = program.command("pushes").description("pushes to marketplaces: state and retry");
pushes
  .command("list")
  .option("--state <state>", "pending | sent | failed")
  .action(async (o: { state?: string }, cmd: Command) =>
    withApi(cmd, async (api, opts) => {
      const res = await api.call<{ pushes: Record<string, unknown>[] }>(
        "GET",
        `/api/pushes${o.state ? `?state=${encodeURIComponent(o.state)}` : ""}`,
      );
      print(opts, res, () =>
        table(res.pushes, [
          { key: "id", label: "PUSH", right: true },
          { key: "number", label: "ORDER" },
          { key: "marketplace", label: "MARKETPLACE" },
          { key: "action", label: "ACTION" },
          { key: "state", label: "STATE" },
          { key: "attempts", label: "TRIES", right: true },
          { key: "lastError", label: "LAST ERROR" },
        ]),
      );
    }),
  );
pushes
  .command("retry <id>")
  .description("send a failed push again")
  .action(async (id: string, _o: unknown, cmd: Command) =>
    withApi(cmd, async (api, opts) => {
      const res = await api.call<{ push: Record<string, unknown> }>(
        "POST",
        `/api/pushes/${encodeURIComponent(id)}/retry`,
      );
      await sendNow(api);
      print(opts, res, () => `Push ${id} queued again.`);
    }),
  );

// ------------------------------------------------------------------ inventory

const inventory = program.command("inventory").description("lots with BrickLink as the truth");
inventory
  .command("import <connection>")
  .description("BrickLink: take the store inventory as lots; BrickOwl: link its lots to them")
  .action(async (ref: string, _o: unknown, cmd: Command) =>
    withApi(cmd, async (api, opts) => {
      const id = await connectionId(api, ref);
      const res = await api.call<{
        import: {
          marketplace: string;
          lots: number;
          created: number;
          linked: number;
          updated: number;
          unlinked: { externalId: string; reason: string }[];
        };
      }>("POST", "/api/inventory/import", { connectionId: id });
      const r = res.import;
      print(opts, res, () =>
        [
          `${r.lots} lots on ${r.marketplace}: ${r.created} new, ${r.linked} linked, ${r.updated} already known, ${r.unlinked.length} not linked.`,
          ...r.unlinked.slice(0, 50).map((u) => `  lot ${u.externalId}: ${u.reason}`),
        ].join("\n"),
      );
    }),
  );
inventory
  .command("list")
  .option("--search <text>", "item number, name or location")
  .option("--flagged", "only lots the last reconcile could not explain, with the reason")
  .option("--limit <n>", "lots to show", "100")
  .action(async (o: { search?: string; flagged?: boolean; limit: string }, cmd: Command) =>
    withApi(cmd, async (api, opts) => {
      const q = new URLSearchParams({ limit: o.limit });
      if (o.search) q.set("search", o.search);
      if (o.flagged) q.set("flagged", "true");
      const res = await api.call<{ lots: Record<string, unknown>[]; total: number }>(
        "GET",
        `/api/inventory/lots?${q}`,
      );
      print(
        opts,
        res,
        () =>
          `${table(res.lots, [
            { key: "id", label: "LOT", right: true },
            { key: "location", label: "LOCATION" },
            { key: "itemNo", label: "ITEM" },
            { key: "colorName", label: "COLOUR" },
            { key: "condition", label: "COND" },
            { key: "quantity", label: "QTY", right: true },
            { key: "reserved", label: "RESERVED", right: true },
            ...(o.flagged ? [{ key: "flagReason", label: "FLAGGED BECAUSE" }] : []),
          ])}\n${res.total} lots${o.flagged ? " flagged" : ""}`,
      );
    }),
  );
inventory
  .command("show <lot>")
  .description("a lot (id or bricklink:<inventory id>) with its ledger and pushes")
  .action(async (ref: string, _o: unknown, cmd: Command) =>
    withApi(cmd, async (api, opts) => {
      const res = await api.call<{
        lot: Record<string, unknown>;
        ledger: Record<string, unknown>[];
        pushes: Record<string, unknown>[];
      }>("GET", `/api/inventory/lots/${encodeURIComponent(ref)}`);
      print(opts, res, () =>
        [
          `Lot ${res.lot.id}: ${res.lot.itemNo} ${res.lot.colorName ?? ""} (${res.lot.condition}) at ${res.lot.location ?? "—"}: ${res.lot.quantity} available, ${res.lot.reserved} reserved`,
          ...(res.lot.flagReason
            ? [`Flagged by the reconcile of ${res.lot.flaggedAt}: ${res.lot.flagReason}`]
            : []),
          table(res.ledger, [
            { key: "createdAt", label: "WHEN" },
            { key: "kind", label: "KIND" },
            { key: "quantityDelta", label: "QTY", right: true },
            { key: "reservedDelta", label: "RESERVED", right: true },
            { key: "reason", label: "REASON" },
          ]),
        ].join("\n"),
      );
    }),
  );
inventory
  .command("adjust <lot>")
  .description("change a lot's quantity (pushed to every marketplace)")
  .requiredOption("--by <n>", "signed change: +3 or -2")
  .option("--reason <text>", "why", "adjusted")
  .action(async (ref: string, o: { by: string; reason: string }, cmd: Command) =>
    withApi(cmd, async (api, opts) => {
      const by = Number(o.by);
      if (!Number.isInteger(by) || by === 0)
        throw new Error(`--by: a whole number other than 0, such as +3 or -2 (not "${o.by}")`);
      const res = await api.call<{ lot: Record<string, unknown> }>(
        "POST",
        `/api/inventory/lots/${encodeURIComponent(ref)}/adjust`,
        {
          by,
          reason: o.reason,
        },
      );
      if (api.local) await api.local.queue.runUntilIdle();
      print(
        opts,
        res,
        () =>
          `Lot ${res.lot.id}: now ${res.lot.quantity} available (${by > 0 ? "+" : ""}${by}); pushed to its marketplaces.`,
      );
    }),
  );
inventory
  .command("reconcile <connection>")
  .description(
    "BrickLink wins where nothing explains a difference; --approve applies the proposed creations and deletions",
  )
  .option("--approve", "apply the proposals (lots only on one side)")
  .action(async (ref: string, o: { approve?: boolean }, cmd: Command) =>
    withApi(cmd, async (api, opts) => {
      const id = await connectionId(api, ref);
      const res = await api.call<{
        reconcile: {
          checked: number;
          adopted: { lotId: number; externalId: string; was: number; now: number }[];
          explained: number;
          aligned: { lotId: number; marketplace: string; externalId: string; was: number; now: number }[];
          flagged: { lotId: number; marketplace: string; externalId: string; reason: string }[];
          unread: { connectionId: number; name: string; error: string }[];
          proposals: {
            create: { externalId: string; itemNo: string | null; quantity: number }[];
            delete: { lotId: number; externalId: string; itemNo: string | null; quantity: number }[];
          };
          applied: { created: number; deleted: number };
        };
      }>("POST", "/api/inventory/reconcile", { connectionId: id, approve: Boolean(o.approve) });
      if (api.local) await api.local.queue.runUntilIdle();
      const r = res.reconcile;
      print(opts, res, () =>
        [
          `${r.checked} BrickLink lots checked: ${r.adopted.length} took BrickLink's quantity, ${r.explained} wait for a push on its way.`,
          ...r.adopted.map((a) => `  lot ${a.lotId} (BrickLink ${a.externalId}): ${a.was} → ${a.now}`),
          ...(r.aligned.length
            ? [`${r.aligned.length} linked lots brought to BrickLink's quantity:`]
            : r.flagged.length
              ? []
              : ["Every linked lot already shows BrickLink's quantity."]),
          ...r.aligned.map((a) => `  lot ${a.lotId} (${a.marketplace} ${a.externalId}): ${a.was} → ${a.now}`),
          ...(r.flagged.length
            ? [
                `${r.flagged.length} flagged, nothing sent for them (inventory list --flagged):`,
                ...r.flagged.map((f) => `  lot ${f.lotId} (${f.marketplace} ${f.externalId}): ${f.reason}`),
              ]
            : []),
          ...r.unread.map((u) => `Not checked: ${u.name} could not be read (${u.error}).`),
          ...(r.proposals.create.length || r.proposals.delete.length
            ? [
                o.approve ? "Applied:" : "Proposed (run again with --approve to apply):",
                ...r.proposals.create.map(
                  (c) => `  create lot for BrickLink ${c.externalId} (${c.itemNo}, ${c.quantity})`,
                ),
                ...r.proposals.delete.map(
                  (d) =>
                    `  BrickLink ${d.externalId} is gone: take lot ${d.lotId} (${d.itemNo}, ${d.quantity}) off sale`,
                ),
              ]
            : ["Nothing only on one side."]),
        ].join("\n"),
      );
    }),
  );
inventory
  .command("export")
  .description("all lots as BrickLink mass-upload XML or CSV")
  .requiredOption("--format <format>", "xml | csv")
  .option("--out <dir>", "folder to write the file to", ".")
  .action(async (o: { format: string; out: string }, cmd: Command) =>
    withApi(cmd, async (api, opts) => {
      if (o.format !== "xml" && o.format !== "csv")
        throw new Error(`--format: xml or csv, not "${o.format}"`);
      const file = await api.download(`/api/inventory/export?format=${o.format}`);
      const { mkdirSync, writeFileSync } = await import("node:fs");
      const { join, resolve } = await import("node:path");
      mkdirSync(resolve(o.out), { recursive: true });
      const path = join(resolve(o.out), file.fileName);
      writeFileSync(path, file.body);
      print(opts, { file: path, bytes: file.body.length }, () => `Wrote ${path}.`);
    }),
  );
inventory
  .command("import-file <path>")
  .description("add lots from BrickLink mass-upload XML or CSV (a bad line rejects the whole file)")
  .action(async (path: string, _o: unknown, cmd: Command) =>
    withApi(cmd, async (api, opts) => {
      const { readFileSync } = await import("node:fs");
      const { basename } = await import("node:path");
      const format = /\.xml$/i.test(path) ? "xml" : /\.csv$/i.test(path) ? "csv" : null;
      if (!format) throw new Error(`${path}: name it .xml (BrickLink mass upload) or .csv`);
      const { waitForImport } = await import("./import-progress.ts");
      const res = await api.call<{ job: import("./import-progress.ts").ImportJobView }>(
        "POST",
        "/api/inventory/import-file",
        { format, content: readFileSync(path, "utf8"), name: basename(path) },
      );
      // The file was checked whole; the lines are written in the background: follow them.
      const job = await waitForImport(api, res.job, { progress: !opts.json && process.stderr.isTTY });
      if (job.state !== "completed") {
        process.exitCode = 1;
        return print(opts, { job }, () =>
          job.state === "cancelled"
            ? "Import cancelled: nothing of it was kept."
            : `Import failed: ${job.error ?? "unknown error"}`,
        );
      }
      print(
        opts,
        { job, import: { created: job.created, added: job.added } },
        () => `${job.created} lots created, ${job.added} added to existing lots.`,
      );
    }),
  );
inventory
  .command("pushes")
  .description("stock updates waiting or failed; --retry sends the failed ones again")
  .option("--state <state>", "pending | failed | sent", "failed")
  .option("--retry", "send every failed stock update again")
  .action(async (o: { state: string; retry?: boolean }, cmd: Command) =>
    withApi(cmd, async (api, opts) => {
      const list = await api.call<{ pushes: Record<string, unknown>[] }>(
        "GET",
        `/api/pushes?state=${encodeURIComponent(o.retry ? "failed" : o.state)}&limit=500`,
      );
      const stock = list.pushes.filter((p) => p.kind === "stock");
      if (o.retry) {
        for (const p of stock) await api.call("POST", `/api/pushes/${p.id}/retry`);
        if (api.local) await api.local.queue.runUntilIdle();
        return print(opts, { retried: stock.length }, () => `${stock.length} stock updates sent again.`);
      }
      print(opts, { pushes: stock }, () =>
        table(stock, [
          { key: "id", label: "PUSH", right: true },
          { key: "marketplace", label: "MARKETPLACE" },
          { key: "action", label: "CHANGE" },
          { key: "state", label: "STATE" },
          { key: "attempts", label: "TRIES", right: true },
          { key: "lastError", label: "LAST ERROR" },
        ]),
      );
    }),
  );
inventory
  .command("unmatched")
  .description("lines of open orders that match no lot")
  .action(async (_o: unknown, cmd: Command) =>
    withApi(cmd, async (api, opts) => {
      const res = await api.call<{ lines: Record<string, unknown>[] }>("GET", "/api/inventory/unmatched");
      print(opts, res, () =>
        table(res.lines, [
          { key: "number", label: "ORDER" },
          { key: "itemNo", label: "ITEM" },
          { key: "colorName", label: "COLOUR" },
          { key: "condition", label: "COND" },
          { key: "quantity", label: "QTY", right: true },
        ]),
      );
    }),
  );

// ------------------------------------------------------------------ documents

program
  .command("export <kind>")
  .description("labels | pick-sheet | packing-slips (PDF) or csv for selected orders or a filter")
  .option("--orders <list>", "order ids or numbers, comma-separated (BL-123,BO-456,17)")
  .option("--filter <query>", "a table filter as a query string: status=processing&marketplace=bricklink")
  .option("--status <list>", "unified statuses, comma-separated")
  .option("--marketplace <list>", "marketplaces, comma-separated")
  .option("--from <date>", "ordered on or after this day (account's time zone) or instant")
  .option("--to <date>", "ordered on or before this day (account's time zone), or before an instant")
  .option("--buyer <prefix>", "buyer name, username or e-mail starting with")
  .option("--search <text>", "order number (BL-123 or 123), buyer, username, item number or part name")
  .option("--layout <layout>", "labels: 4x6 | a4-2x7 | a4-2x5 | letter-2x7 | letter-2x5")
  .option("--start-at <n>", "labels on a sheet: first free position (1 = top left)")
  .option("--paper <paper>", "pick sheet and packing slips: a4 | letter")
  .option("--language <lang>", "labels, pick sheet, packing slips: en | de | fr (default: the account's)")
  .option("--lines", "csv: one row per order line instead of per order")
  .option("--out <dir>", "folder to write the file to", ".")
  .action(async (kind: string, o: Record<string, string | boolean | undefined>, cmd: Command) =>
    withApi(cmd, async (api, opts) => {
      const kinds: Record<string, string> = {
        labels: "labels",
        "pick-sheet": "pick-sheet",
        "packing-slips": "packing-slips",
        csv: o.lines ? "csv-lines" : "csv-orders",
      };
      const apiKind = kinds[kind];
      if (!apiKind) throw new Error(`unknown document "${kind}" (labels, pick-sheet, packing-slips, csv)`);
      const filter: Record<string, string> = {};
      if (typeof o.filter === "string") {
        for (const [k, v] of new URLSearchParams(o.filter)) filter[k] = v;
      }
      for (const [flag, key] of [
        ["status", "status"],
        ["marketplace", "marketplace"],
        ["from", "from"],
        ["to", "to"],
        ["buyer", "buyer"],
        ["search", "q"],
      ] as const) {
        if (typeof o[flag] === "string") filter[key] = o[flag] as string;
      }
      const orders =
        typeof o.orders === "string"
          ? o.orders
              .split(",")
              .map((x) => x.trim())
              .filter(Boolean)
          : null;
      if (orders && Object.keys(filter).length) throw new Error("give either --orders or a filter, not both");
      const options: Record<string, unknown> = {};
      if (typeof o.layout === "string") options.layout = o.layout;
      if (typeof o.startAt === "string") options.startAt = Number(o.startAt);
      if (typeof o.paper === "string") options.paper = o.paper;
      const file = await api.download("/api/documents", {
        kind: apiKind,
        ...(orders ? { orders } : Object.keys(filter).length ? { filter } : {}),
        ...(Object.keys(options).length ? { options } : {}),
        ...(typeof o.language === "string" ? { language: o.language } : {}),
      });
      const { existsSync, mkdirSync, writeFileSync } = await import("node:fs");
      const { join, resolve } = await import("node:path");
      const dir = resolve(String(o.out ?? "."));
      mkdirSync(dir, { recursive: true });
      // Two exports within a second get the same name: keep both (…-2.pdf) rather than overwrite.
      let path = join(dir, file.fileName);
      for (let n = 2; existsSync(path); n++) path = join(dir, file.fileName.replace(/(\.\w+)$/, `-${n}$1`));
      writeFileSync(path, file.body);
      const count = Number(file.headers["x-order-count"] ?? 0);
      print(
        opts,
        { file: path, kind: apiKind, orders: count, bytes: file.body.length },
        () =>
          `Wrote ${path} (${count} order${count === 1 ? "" : "s"}, ${file.body.length.toLocaleString("en")} bytes).`,
      );
    }),
  );

// ------------------------------------------------------------------ jobs

program
  .command("jobs")
  .description("background jobs")
  .command("run")
  .description("run due jobs (syncs, pushes) in the foreground")
  .option("--until-idle", "exit when no job is due (for scripts and cron)")
  .action(async (o: { untilIdle?: boolean }, cmd: Command) =>
    withApi(cmd, async (api, opts) => {
      if (!api.local) {
        throw new Error("a server is running and already works the jobs; nothing to do");
      }
      if (!o.untilIdle) throw new Error("say --until-idle (the server runs jobs continuously)");
      const { ran, failed } = await api.local.queue.runUntilIdle();
      print(
        opts,
        { ran, failed },
        () => `Ran ${ran} job${ran === 1 ? "" : "s"} (${failed} failed, to be retried); none is due now.`,
      );
    }),
  );

program.parseAsync(process.argv).catch((err) => {
  reportError(program.opts() as GlobalOpts, err);
});
