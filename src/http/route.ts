import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { Role } from "../db/repos/users.ts";
import { type Action, PERMISSIONS, ROLES } from "./permissions.ts";

export interface Auth {
  /** Null only for the operator on an install that has no account yet. */
  accountId: number | null;
  userId: number | null;
  role: Role;
  via: "session" | "token" | "operator";
  sessionId?: string;
  csrfToken?: string;
}

/**
 * Who may call a route: anyone, the local operator (CLI) only, or the action it performs — a key of
 * `PERMISSIONS` in `src/http/permissions.ts`, which says which roles may (add a line there for new work).
 */
export type AuthRule = "public" | "operator" | Action;

export interface RouteInput<P, Q, B> {
  auth: Auth | null;
  params: P;
  query: Q;
  body: B;
  ip: string;
  req: FastifyRequest;
  /** The body as received, for routes that ask for it (`rawBody`). */
  rawBody?: string;
}

export interface RouteDef<P = unknown, Q = unknown, B = unknown> {
  method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  url: string;
  auth: AuthRule;
  summary: string;
  tags: string[];
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  response?: z.ZodType;
  /** Status of a successful answer (200 by default). */
  status?: number;
  /** The handler writes the reply itself (streams, files). */
  raw?: boolean;
  /** Another body limit than the server's 2 MB (file uploads), or than 8 KB for public routes. */
  bodyLimit?: number;
  /** Keep the body exactly as received in `input.rawBody` (signatures are computed over it). */
  rawBody?: boolean;
  handler(input: RouteInput<P, Q, B>, reply: FastifyReply): Promise<unknown>;
}

export function defineRoute<P = Record<string, never>, Q = Record<string, never>, B = undefined>(
  def: RouteDef<P, Q, B>,
): RouteDef<unknown, unknown, unknown> {
  return def as unknown as RouteDef<unknown, unknown, unknown>;
}

export const idParam = z.object({ id: z.coerce.number().int().positive() });

const errorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown() }),
});

function jsonSchema(s: z.ZodType, io: "input" | "output"): object {
  try {
    return z.toJSONSchema(s, { io, unrepresentable: "any" }) as object;
  } catch {
    return {};
  }
}

/** OpenAPI 3.1 from the same zod schemas that validate the requests. */
export function openApiDocument(routes: RouteDef[], version: string): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const r of routes) {
    const path = r.url.replace(/:([A-Za-z]+)/g, "{$1}");
    const parameters: object[] = [];
    for (const [where, schema] of [
      ["path", r.params],
      ["query", r.query],
    ] as const) {
      if (!schema) continue;
      const js = jsonSchema(schema, "input") as { properties?: Record<string, object>; required?: string[] };
      for (const [name, s] of Object.entries(js.properties ?? {})) {
        parameters.push({
          name,
          in: where,
          required: where === "path" || (js.required ?? []).includes(name),
          schema: s,
        });
      }
    }
    const security = r.auth === "public" ? [] : [{ session: [] }, { bearer: [] }];
    paths[path] ??= {};
    paths[path][r.method.toLowerCase()] = {
      summary: r.summary,
      tags: r.tags,
      security,
      "x-orderhub-auth": r.auth,
      ...(r.auth in PERMISSIONS
        ? {
            "x-orderhub-roles": ROLES.filter((role) => PERMISSIONS[r.auth as Action][role] !== false),
          }
        : {}),
      parameters,
      ...(r.body
        ? {
            requestBody: {
              required: true,
              content: { "application/json": { schema: jsonSchema(r.body, "input") } },
            },
          }
        : {}),
      responses: {
        [String(r.status ?? 200)]: {
          description: "success",
          ...(r.response
            ? { content: { "application/json": { schema: jsonSchema(r.response, "output") } } }
            : {}),
        },
        default: {
          description: "error",
          content: { "application/json": { schema: jsonSchema(errorSchema, "output") } },
        },
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: { title: "Orderhub API", version },
    components: {
      securitySchemes: {
        session: { type: "apiKey", in: "cookie", name: "orderhub_session" },
        bearer: { type: "http", scheme: "bearer" },
      },
    },
    paths,
  };
}
