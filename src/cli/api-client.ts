import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import type { Settings } from "../config.ts";
import type { AppContext } from "../context.ts";
import { readLock } from "../db/lock.ts";
import type { JobQueue } from "../jobs/queue.ts";

export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown,
  ) {
    super(message);
  }
}

/**
 * The CLI always speaks the HTTP API: to the running server when one owns the data directory
 * (PGlite has one owner), otherwise to an in-process copy of the same app. One code path either way.
 */
export interface ApiClient {
  mode: "remote" | "local";
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** A POST that answers a file (documents): its bytes, type and suggested name. */
  download(path: string, body?: unknown): Promise<Download>;
  /** Present in local mode: lets `--wait` and `jobs run` work the queue in the foreground. */
  local: { ctx: AppContext; queue: JobQueue } | null;
  close(): Promise<void>;
}

export interface Download {
  fileName: string;
  contentType: string;
  headers: Record<string, string>;
  body: Buffer;
}

function fileNameOf(disposition: string | undefined): string {
  return /filename="([^"]+)"/.exec(disposition ?? "")?.[1] ?? "orderhub-download";
}

function headers(token: string, account: string | undefined, body: boolean): Record<string, string> {
  const h: Record<string, string> = { authorization: `Bearer ${token}` };
  if (account) h["x-orderhub-account"] = account;
  if (body) h["content-type"] = "application/json";
  return h;
}

function fail(status: number, payload: unknown): never {
  const err = (payload as { error?: { code?: string; message?: string; details?: unknown } })?.error;
  throw new ApiCallError(
    status,
    err?.code ?? "error",
    err?.message ?? `HTTP ${status}`,
    err?.details ?? null,
  );
}

/**
 * One request to the running server. node:http rather than fetch: fetch loads its HTTP client on first
 * use, which took a fifth of a command's start-up.
 */
async function send(
  url: string,
  method: string,
  head: Record<string, string>,
  body: unknown,
): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  const u = new URL(url);
  const request = u.protocol === "https:" ? (await import("node:https")).request : httpRequest;
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      u,
      {
        method,
        // One request per command: no socket kept open that would hold the process after it.
        agent: false,
        headers:
          payload === undefined ? head : { ...head, "content-length": String(Buffer.byteLength(payload)) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const h: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h[k] = String(v);
          resolve({ status: res.statusCode ?? 0, headers: h, body: Buffer.concat(chunks) });
        });
      },
    );
    req.on("error", (err) =>
      reject(new Error(`the server at ${u.origin} did not answer: ${(err as Error).message}`)),
    );
    req.end(payload);
  });
}

export async function openApiClient(settings: Settings, opts: { account?: string }): Promise<ApiClient> {
  if (!settings.databaseUrl) {
    const owner = readLock(settings.dataDir);
    if (owner?.url) {
      const token = readFileSync(join(settings.dataDir, "cli-token"), "utf8").trim();
      const base = owner.url.replace(/\/$/, "");
      return {
        mode: "remote",
        local: null,
        async call<T>(method: string, path: string, body?: unknown) {
          const res = await send(
            `${base}${path}`,
            method,
            headers(token, opts.account, body !== undefined),
            body,
          );
          const text = res.body.toString("utf8");
          const payload = text ? JSON.parse(text) : null;
          if (res.status >= 400) fail(res.status, payload);
          return payload as T;
        },
        async download(path: string, body?: unknown) {
          const res = await send(
            `${base}${path}`,
            body === undefined ? "GET" : "POST",
            headers(token, opts.account, body !== undefined),
            body,
          );
          const bytes = res.body;
          if (res.status >= 400) fail(res.status, JSON.parse(bytes.toString("utf8") || "null"));
          const h = res.headers;
          return {
            fileName: fileNameOf(h["content-disposition"]),
            contentType: h["content-type"] ?? "",
            headers: h,
            body: bytes,
          };
        },
        async close() {},
      };
    }
  }
  // The in-process app (database, HTTP routes, job handlers) loads only here: a command that talks to a
  // running server never pays for it.
  const [
    { ensureOperatorToken },
    { createContext },
    { SecretRegistry },
    { buildHttpApp },
    { defaultDeps },
    { JobQueue },
    { createLogger },
    { startWorker },
  ] = await Promise.all([
    import("../auth/tokens.ts"),
    import("../context.ts"),
    import("../core/secrets.ts"),
    import("../http/app.ts"),
    import("../http/default-deps.ts"),
    import("../jobs/queue.ts"),
    import("../logger.ts"),
    import("../worker.ts"),
  ]);
  const secrets = new SecretRegistry();
  // Logs go to stderr so `--json` output on stdout stays machine-readable.
  const logger = createLogger({
    level: settings.logLevel === "info" ? "warn" : settings.logLevel,
    pretty: false,
    registry: secrets,
    destination: process.stderr,
  });
  const ctx = await createContext(settings, { logger, secrets });
  const queue = await JobQueue.start(ctx, { work: false });
  // The handlers only: `--wait` and `jobs run` work the queue in the foreground, no scheduler here.
  await startWorker(ctx, queue, { scheduler: false });
  const app = await buildHttpApp(ctx, defaultDeps(queue));
  await app.ready();
  const token = ensureOperatorToken(settings.dataDir);
  return {
    mode: "local",
    local: { ctx, queue },
    async call<T>(method: string, path: string, body?: unknown) {
      const res = await app.inject({
        method: method as "GET",
        url: path,
        headers: headers(token, opts.account, body !== undefined),
        ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
      });
      const payload = res.body ? JSON.parse(res.body) : null;
      if (res.statusCode >= 400) fail(res.statusCode, payload);
      return payload as T;
    },
    async download(path: string, body?: unknown) {
      const res = await app.inject({
        method: body === undefined ? "GET" : "POST",
        url: path,
        headers: headers(token, opts.account, body !== undefined),
        ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
      });
      if (res.statusCode >= 400) fail(res.statusCode, res.body ? JSON.parse(res.body) : null);
      const h = Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, String(v)]));
      return {
        fileName: fileNameOf(h["content-disposition"]),
        contentType: h["content-type"] ?? "",
        headers: h,
        body: res.rawPayload,
      };
    },
    async close() {
      await app.close();
      await queue.stop({ graceful: true });
      await ctx.close();
    },
  };
}
