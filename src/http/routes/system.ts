import { eq, sql } from "drizzle-orm";
import { z } from "zod";
import { hashPassword } from "../../auth/passwords.ts";
import type { AppContext } from "../../context.ts";
import { AppError, conflict } from "../../core/errors.ts";
import { createAccount, firstAccount, slugify } from "../../db/repos/accounts.ts";
import { audit, countUsers, insertUser, publicUser } from "../../db/repos/users.ts";
import { accounts } from "../../db/schema.ts";
import type { HttpDeps } from "../deps.ts";
import { defineRoute, openApiDocument, type RouteDef } from "../route.ts";
import { limitKey } from "./auth.ts";
import { MinuteWindow } from "./webhooks.ts";

export const passwordSchema = z.string().min(10, "must be at least 10 characters").max(200);
export const emailSchema = z.string().trim().toLowerCase().pipe(z.email("must be an e-mail address"));

/** Setup attempts per address per minute (each one may hash a password). */
const SETUP_PER_MINUTE = 10;

export function systemRoutes(ctx: AppContext, deps: HttpDeps, all: () => RouteDef[]): RouteDef[] {
  const setupAttempts = new MinuteWindow(SETUP_PER_MINUTE);
  return [
    defineRoute({
      method: "GET",
      url: "/api/health",
      auth: "public",
      summary: "Is the server up and its database reachable",
      tags: ["system"],
      response: z.object({
        status: z.literal("ok"),
        database: z.enum(["pglite", "postgres"]),
        version: z.string(),
      }),
      async handler() {
        await ctx.db.execute(sql`select 1`);
        return { status: "ok", database: ctx.database.kind, version: deps.version };
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/openapi.json",
      auth: "public",
      summary: "This API, described as OpenAPI 3.1",
      tags: ["system"],
      async handler() {
        return openApiDocument(all(), deps.version);
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/setup",
      auth: "public",
      summary: "Whether the first owner still has to be created",
      tags: ["system"],
      response: z.object({ needed: z.boolean() }),
      async handler() {
        return { needed: (await countUsers(ctx.db)) === 0 };
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/setup",
      auth: "public",
      summary: "First run: create the account and its owner (refused once anyone exists)",
      tags: ["system"],
      status: 201,
      body: z.object({
        accountName: z.string().trim().min(1).max(100),
        email: emailSchema,
        password: passwordSchema,
        name: z.string().trim().max(100).optional(),
        timezone: z.string().max(60).optional(),
      }),
      async handler({ body, ip }, reply) {
        const wait = setupAttempts.take(limitKey(ip), ctx.clock.now().getTime());
        if (wait !== null) {
          const seconds = Math.ceil(wait / 1000);
          reply.header("retry-after", String(seconds));
          throw new AppError(
            429,
            "rate_limited",
            `too many setup attempts from this address: try again in ${seconds} seconds`,
            { retryAfterSeconds: seconds },
          );
        }
        // Refused before the costly hash: a finished setup must not be a free password-hashing service.
        if ((await countUsers(ctx.db)) > 0) throw conflict("Orderhub is already set up: sign in instead");
        const passwordHash = await hashPassword(body.password);
        return ctx.db.transaction(async (tx) => {
          // Serialise concurrent first runs: only one may win.
          await tx.execute(sql`select pg_advisory_xact_lock(4242)`);
          if ((await countUsers(tx)) > 0) throw conflict("Orderhub is already set up: sign in instead");
          // The demo may have made the account already (with its demo stores): the owner takes it over.
          const existing = await firstAccount(tx);
          const account = existing
            ? ((
                await tx
                  .update(accounts)
                  .set({ name: body.accountName, ...(body.timezone ? { timezone: body.timezone } : {}) })
                  .where(eq(accounts.id, existing.id))
                  .returning()
              )[0] ?? existing)
            : await createAccount(tx, {
                name: body.accountName,
                slug: slugify(body.accountName),
                ...(body.timezone ? { timezone: body.timezone } : {}),
              });
          const user = await insertUser(tx, {
            accountId: account.id,
            email: body.email,
            name: body.name ?? null,
            passwordHash,
            role: "owner",
          });
          await audit(tx, { accountId: account.id, userId: user.id, action: "setup", ip });
          return {
            user: publicUser(user),
            account: { id: account.id, name: account.name, slug: account.slug },
          };
        });
      },
    }),
  ];
}
