import { existsSync, readFileSync, statSync } from "node:fs";
import { extname, join, normalize } from "node:path";
import { Readable } from "node:stream";
import fastifyCookie from "@fastify/cookie";
import { isNotNull } from "drizzle-orm";
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import { ZodError, type z } from "zod";
import type { AppContext } from "../context.ts";
import { AppError } from "../core/errors.ts";
import { SecretKeyError } from "../core/secrets.ts";
import { hasUnstorable } from "../core/text.ts";
import { connectionSecrets } from "../db/repos/connections.ts";
import { openTokens } from "../db/repos/credentials.ts";
import { connections, credentials } from "../db/schema.ts";
import { itemImageOrigins } from "../fulfillment/pick-batches.ts";
import { authorise, resolveAuth } from "./auth.ts";
import type { HttpDeps } from "./deps.ts";
import type { Auth, RouteDef } from "./route.ts";
import { authRoutes } from "./routes/auth.ts";
import { connectionRoutes } from "./routes/connections.ts";
import { documentRoutes } from "./routes/documents.ts";
import { eventRoutes } from "./routes/events.ts";
import { fulfilmentRoutes } from "./routes/fulfilment.ts";
import { integrationRoutes } from "./routes/integrations.ts";
import { inventoryRoutes } from "./routes/inventory.ts";
import { oauthRoutes } from "./routes/oauth.ts";
import { orderRoutes } from "./routes/orders.ts";
import { pickingRoutes } from "./routes/picking.ts";
import { ruleRoutes } from "./routes/rules.ts";
import { savedViewRoutes } from "./routes/saved-views.ts";
import { settingsRoutes } from "./routes/settings.ts";
import { syncRunRoutes } from "./routes/sync-runs.ts";
import { systemRoutes } from "./routes/system.ts";
import { webhookRoutes } from "./routes/webhooks.ts";

declare module "fastify" {
  interface FastifyRequest {
    auth: Auth | null;
  }
}

/** JSON answers up to this size are checked for secrets before they leave. */
const SCRUB_LIMIT = 8 * 1024 * 1024;
/** Bodies of routes that need no sign-in (setup, sign-in, webhooks). */
export const PUBLIC_BODY_LIMIT = 8 * 1024;
const API_CSP = "default-src 'none'; frame-ancestors 'none'";
// WebAssembly ('wasm-unsafe-eval') runs the barcode reader served from our own bundle; item
// pictures come from the origins the marketplaces' manifests name (pick mode); blob: is the camera.
const UI_CSP = `default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: ${itemImageOrigins().join(" ")}; media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'`;

function zodMessage(where: string, err: ZodError) {
  const issues = err.issues.map((i) => ({
    path: [where, ...i.path.map(String)].join("."),
    message: i.message,
  }));
  return { message: issues.map((i) => `${i.path}: ${i.message}`).join("; "), details: { issues } };
}

/**
 * The path of the first string holding a NUL character or a UTF-16 surrogate without its pair
 * (PostgreSQL cannot store either), or null.
 */
function nulAt(value: unknown, path: string[] = [], depth = 0): string[] | null {
  if (typeof value === "string") return hasUnstorable(value) ? path : null;
  if (value === null || typeof value !== "object" || depth > 20) return null;
  for (const [k, v] of Object.entries(value)) {
    if (hasUnstorable(k)) return [...path, k];
    const hit = nulAt(v, [...path, k], depth + 1);
    if (hit) return hit;
  }
  return null;
}

/**
 * The path as the router sees it (percent-decoded, before the query): headers are chosen by this,
 * so `/%61pi/orders` gets the API's headers like `/api/orders`.
 */
export function routedPath(url: string): string {
  const path = url.split("?")[0] ?? "/";
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

const isApiPath = (path: string) => path === "/api" || path.startsWith("/api/");
const isWebhookPath = (path: string) => path.startsWith("/webhooks/") || path === "/webhooks";

function parse<T>(schema: z.ZodType<T> | undefined, value: unknown, where: string): T {
  if (!schema) return value as T;
  const nul = nulAt(value);
  if (nul) {
    const path = [where, ...nul].join(".");
    let text: unknown = value;
    for (const k of nul) text = (text as Record<string, unknown>)?.[k];
    const why =
      typeof text === "string" && !text.includes("\u0000") && !nul.some((k) => k.includes("\u0000"))
        ? "must be valid text (it holds half of a UTF-16 surrogate pair)"
        : "must not contain a NUL character";
    throw new AppError(400, "invalid_request", `${path}: ${why}`, { issues: [{ path, message: why }] });
  }
  const r = schema.safeParse(value ?? (where === "body" ? undefined : {}));
  if (!r.success) {
    const { message, details } = zodMessage(where, r.error);
    throw new AppError(400, "invalid_request", message, details);
  }
  return r.data;
}

/** Every route of the API, in one table: registration, OpenAPI and the auth test all read it. */
export function routeTable(ctx: AppContext, deps: HttpDeps): RouteDef[] {
  const all: RouteDef[] = [];
  all.push(
    ...systemRoutes(ctx, deps, () => all),
    ...authRoutes(ctx),
    ...connectionRoutes(ctx, deps),
    ...oauthRoutes(ctx, deps),
    ...documentRoutes(ctx, deps),
    ...settingsRoutes(ctx),
    ...fulfilmentRoutes(ctx, deps),
    ...inventoryRoutes(ctx, deps),
    ...orderRoutes(ctx, deps),
    ...savedViewRoutes(ctx),
    ...pickingRoutes(ctx, deps),
    ...ruleRoutes(ctx),
    ...syncRunRoutes(ctx, deps),
    ...integrationRoutes(ctx, deps),
    ...eventRoutes(ctx),
    ...webhookRoutes(ctx, deps),
  );
  return all;
}

export type HttpApp = FastifyInstance & { routes: RouteDef[] };

export async function buildHttpApp(ctx: AppContext, deps: HttpDeps): Promise<HttpApp> {
  const app = Fastify({
    logger: false,
    bodyLimit: 2 * 1024 * 1024,
    trustProxy: false,
    // The router's own refusals (a path parameter too long, a malformed path) in the API's error shape.
    frameworkErrors: (err, _req, reply) => {
      const tooLong = err.code === "FST_ERR_MAX_PARAM_LENGTH";
      return (reply as unknown as import("fastify").FastifyReply).status(tooLong ? 414 : 400).send({
        error: {
          code: "invalid_request",
          message: tooLong
            ? "params: a path parameter is longer than 100 characters"
            : "params: the path is not a valid URL (bad percent-encoding)",
          details: null,
        },
      });
    },
  });
  await app.register(fastifyCookie);
  app.decorateRequest("auth", null);

  app.addHook("onSend", async (req, reply, payload) => {
    const path = routedPath(req.url);
    reply.header("x-content-type-options", "nosniff");
    reply.header("x-frame-options", "DENY");
    reply.header("referrer-policy", "no-referrer");
    reply.header("cross-origin-opener-policy", "same-origin");
    reply.header("content-security-policy", isApiPath(path) || isWebhookPath(path) ? API_CSP : UI_CSP);
    if (isApiPath(path)) reply.header("cache-control", "no-store");
    // Stored error texts (a sync's or a connection's last error) may hold what a marketplace
    // echoed back, a key included: the answer blanks every secret this process knows.
    if (typeof payload === "string" && ctx.secrets.size > 0 && payload.length <= SCRUB_LIMIT)
      return ctx.secrets.scrub(payload);
    return payload;
  });

  // Error texts can carry what a marketplace echoed back (a key in its error body): blank every
  // secret this process has opened before the text leaves, as the log stream does.
  const scrub = <T>(value: T): T => {
    if (value === null || value === undefined || ctx.secrets.size === 0) return value;
    if (typeof value === "string") return ctx.secrets.scrub(value) as T;
    const text = JSON.stringify(value);
    const clean = ctx.secrets.scrub(text);
    if (clean === text) return value;
    try {
      return JSON.parse(clean) as T;
    } catch {
      return null as T;
    }
  };

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof AppError) {
      return reply
        .status(err.status)
        .send({ error: { code: err.code, message: scrub(err.message), details: scrub(err.details) } });
    }
    if (err instanceof SecretKeyError) {
      ctx.logger.error({ url: req.url, method: req.method }, err.message);
      return reply.status(500).send({ error: { code: err.code, message: err.message, details: null } });
    }
    if (err instanceof ZodError) {
      const { message, details } = zodMessage("body", err);
      return reply.status(400).send({ error: { code: "invalid_request", message, details } });
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      // fastify's own input errors: malformed JSON, wrong content type, body too large.
      return reply
        .status(status)
        .send({ error: { code: "invalid_request", message: (err as Error).message, details: null } });
    }
    ctx.logger.error({ err, url: req.url, method: req.method }, "request failed");
    return reply.status(500).send({
      error: {
        code: "internal",
        message: "something went wrong on our side; it has been logged",
        details: null,
      },
    });
  });

  app.setNotFoundHandler((req, reply) => {
    const path = routedPath(req.url);
    if (isApiPath(path) || isWebhookPath(path) || !deps.webDir || req.method !== "GET") {
      return reply.status(404).send({
        error: {
          code: "not_found",
          message: `no route ${req.method} ${req.url.split("?")[0]}`,
          details: null,
        },
      });
    }
    return sendWeb(deps.webDir, req, reply);
  });

  // Every stored credential is known to the scrubbers from the start, not only once it was used here.
  try {
    for (const c of await ctx.db.select().from(connections).where(isNotNull(connections.secretsEnc))) {
      for (const v of Object.values(connectionSecrets(ctx.box, c))) ctx.secrets.add(v);
    }
    for (const c of await ctx.db.select().from(credentials)) {
      const t = openTokens(ctx.box, c);
      ctx.secrets.add(t.refreshToken);
      ctx.secrets.add(t.accessToken);
    }
  } catch (err) {
    ctx.logger.warn({ err }, "could not read the stored credentials (is ORDERHUB_SECRET_KEY the right key?)");
  }

  const routes = routeTable(ctx, deps);
  for (const r of routes) {
    // Routes anyone may call take small bodies unless they say otherwise: a sign-in or a ping is a few bytes.
    const bodyLimit = r.bodyLimit ?? (r.auth === "public" ? PUBLIC_BODY_LIMIT : null);
    app.route({
      method: r.method,
      url: r.url,
      ...(bodyLimit ? { bodyLimit } : {}),
      ...(r.rawBody
        ? {
            // Read the body once as text, keep it, and hand the same bytes on to the JSON parser.
            preParsing: async (req: FastifyRequest, _reply: unknown, payload: NodeJS.ReadableStream) => {
              const chunks: Buffer[] = [];
              for await (const c of payload)
                chunks.push(typeof c === "string" ? Buffer.from(c) : (c as Buffer));
              const raw = Buffer.concat(chunks);
              (req as FastifyRequest & { rawBody?: string }).rawBody = raw.toString("utf8");
              return Readable.from([raw]);
            },
          }
        : {}),
      handler: async (req, reply) => {
        req.auth = await resolveAuth(ctx, req);
        await authorise(ctx, r.auth, req.auth, req);
        const input = {
          auth: req.auth,
          params: parse(r.params, req.params, "params"),
          query: parse(r.query, req.query, "query"),
          body: parse(r.body, req.body, "body"),
          ip: req.ip,
          req,
          ...(r.rawBody ? { rawBody: (req as FastifyRequest & { rawBody?: string }).rawBody ?? "" } : {}),
        };
        const result = await r.handler(input, reply);
        if (r.raw) return reply;
        reply.status(r.status ?? 200);
        return result;
      },
    });
  }
  return Object.assign(app, { routes }) as unknown as HttpApp;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".woff2": "font/woff2",
};

/** The built web UI, with the SPA fallback to index.html for client-side routes. */
function sendWeb(dir: string, req: FastifyRequest, reply: import("fastify").FastifyReply) {
  const path = normalize(decodeURIComponent(req.url.split("?")[0] ?? "/")).replace(/^(\.\.[/\\])+/, "");
  let file = join(dir, path);
  if (!file.startsWith(dir) || !existsSync(file) || statSync(file).isDirectory())
    file = join(dir, "index.html");
  if (!existsSync(file))
    return reply
      .status(404)
      .send({ error: { code: "not_found", message: "the web UI is not built", details: null } });
  const ext = extname(file);
  reply.header("content-type", TYPES[ext] ?? "application/octet-stream");
  reply.header(
    "cache-control",
    file.includes("/assets/") ? "public, max-age=31536000, immutable" : "no-cache",
  );
  return reply.send(readFileSync(file));
}
