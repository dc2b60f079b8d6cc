import { and, desc, eq, isNull } from "drizzle-orm";
import { z } from "zod";
import { DUMMY_HASH, hashPassword, verifyPassword } from "../../auth/passwords.ts";
import { newToken, sha256 } from "../../auth/tokens.ts";
import type { AppContext } from "../../context.ts";
import { AppError, conflict, notFound } from "../../core/errors.ts";
import { createAccount, findAccountBySlug, getAccount, slugify } from "../../db/repos/accounts.ts";
import {
  audit,
  createSession,
  deleteSession,
  findUserByEmail,
  firstOwner,
  getUser,
  insertUser,
  listUsers,
  publicUser,
} from "../../db/repos/users.ts";
import { apiTokens, users } from "../../db/schema.ts";
import { newSessionSecrets, SESSION_COOKIE, setSessionCookie } from "../auth.ts";
import { defineRoute, idParam, type RouteDef } from "../route.ts";
import { emailSchema, passwordSchema } from "./system.ts";

const LOCK_AFTER = 5;
const LOCK_MINUTES = 15;
const IP_LOGINS_PER_MINUTE = 20;

/** Per-process sliding window of login attempts per address. */
class IpLimiter {
  private readonly hits = new Map<string, number[]>();
  allow(ip: string, now: number): boolean {
    const recent = (this.hits.get(ip) ?? []).filter((t) => t > now - 60_000);
    recent.push(now);
    this.hits.set(ip, recent);
    if (this.hits.size > 10_000) this.hits.clear();
    return recent.length <= IP_LOGINS_PER_MINUTE;
  }
}

export function authRoutes(ctx: AppContext): RouteDef[] {
  const limiter = new IpLimiter();
  const accountView = async (id: number) => {
    const a = await getAccount(ctx.db, id);
    return a ? { id: a.id, name: a.name, slug: a.slug, timezone: a.timezone } : null;
  };
  return [
    defineRoute({
      method: "POST",
      url: "/api/auth/login",
      auth: "public",
      summary: "Sign in with e-mail and password (sets the session cookie)",
      tags: ["auth"],
      body: z.object({ email: z.string().trim().min(1).max(200), password: z.string().min(1).max(200) }),
      async handler({ body, ip, req }, reply) {
        const now = ctx.clock.now();
        if (!limiter.allow(ip, now.getTime())) {
          throw new AppError(
            429,
            "rate_limited",
            "too many sign-in attempts from this address; wait a minute",
          );
        }
        const user = await findUserByEmail(ctx.db, body.email);
        if (user?.lockedUntil && user.lockedUntil > now) {
          throw new AppError(
            423,
            "locked",
            `too many failed sign-ins: this user is locked until ${user.lockedUntil.toISOString()}`,
          );
        }
        const ok = await verifyPassword(body.password, user?.passwordHash ?? DUMMY_HASH);
        if (!user || !ok || user.disabledAt) {
          if (user) {
            const failed = user.failedLogins + 1;
            await ctx.db
              .update(users)
              .set({
                failedLogins: failed,
                lockedUntil: failed >= LOCK_AFTER ? new Date(now.getTime() + LOCK_MINUTES * 60_000) : null,
              })
              .where(eq(users.id, user.id));
            await audit(ctx.db, { accountId: user.accountId, userId: user.id, action: "login.failed", ip });
          }
          throw new AppError(401, "invalid_credentials", "wrong e-mail or password");
        }
        await ctx.db
          .update(users)
          .set({ failedLogins: 0, lockedUntil: null, lastLoginAt: now })
          .where(eq(users.id, user.id));
        const s = newSessionSecrets();
        await createSession(ctx.db, {
          id: s.id,
          userId: user.id,
          accountId: user.accountId,
          csrfToken: s.csrfToken,
          expiresAt: new Date(now.getTime() + ctx.settings.sessionDays * 86_400_000),
        });
        await audit(ctx.db, { accountId: user.accountId, userId: user.id, action: "login", ip });
        setSessionCookie(reply, req, s.token, ctx.settings.sessionDays);
        return { user: publicUser(user), csrfToken: s.csrfToken, account: await accountView(user.accountId) };
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/auth/logout",
      auth: "user",
      summary: "Sign out (ends this session)",
      tags: ["auth"],
      async handler({ auth }, reply) {
        if (auth?.sessionId) await deleteSession(ctx.db, auth.sessionId);
        reply.clearCookie(SESSION_COOKIE, { path: "/" });
        return { ok: true };
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/auth/me",
      auth: "user",
      summary: "Who is signed in, and the CSRF token for writes",
      tags: ["auth"],
      async handler({ auth }) {
        const user = auth!.userId ? await getUser(ctx.db, auth!.userId) : null;
        return {
          user: user ? publicUser(user) : { id: null, email: null, name: "operator", role: auth!.role },
          via: auth!.via,
          csrfToken: auth!.csrfToken ?? null,
          account: await accountView(auth!.accountId!),
        };
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/accounts",
      auth: "operator",
      summary: "Create an account (tenant) — local operator only",
      tags: ["accounts"],
      status: 201,
      body: z.object({
        name: z.string().trim().min(1).max(100),
        slug: z
          .string()
          .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, "lower-case letters, digits and dashes")
          .optional(),
        timezone: z.string().max(60).optional(),
      }),
      async handler({ body }) {
        const slug = body.slug ?? slugify(body.name);
        if (await findAccountBySlug(ctx.db, slug)) throw conflict(`an account "${slug}" exists already`);
        const a = await createAccount(ctx.db, {
          name: body.name,
          slug,
          ...(body.timezone ? { timezone: body.timezone } : {}),
        });
        return { account: { id: a.id, name: a.name, slug: a.slug, timezone: a.timezone } };
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/account",
      auth: "user",
      summary: "The caller's account",
      tags: ["accounts"],
      async handler({ auth }) {
        const a = await accountView(auth!.accountId!);
        if (!a) throw notFound("account");
        return { account: a };
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/users",
      auth: ["owner", "staff"],
      summary: "Users of this account",
      tags: ["users"],
      async handler({ auth }) {
        return { users: (await listUsers(ctx.db, auth!.accountId!)).map(publicUser) };
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/users",
      auth: ["owner"],
      summary: "Add a user to this account",
      tags: ["users"],
      status: 201,
      body: z.object({
        email: emailSchema,
        password: passwordSchema,
        role: z.enum(["owner", "staff", "picker"]),
        name: z.string().trim().max(100).optional(),
      }),
      async handler({ auth, body, ip }) {
        if (await findUserByEmail(ctx.db, body.email))
          throw conflict(`a user with the e-mail ${body.email} exists already`);
        const user = await insertUser(ctx.db, {
          accountId: auth!.accountId!,
          email: body.email,
          name: body.name ?? null,
          passwordHash: await hashPassword(body.password),
          role: body.role,
        });
        await audit(ctx.db, {
          accountId: auth!.accountId,
          userId: auth!.userId,
          action: "user.create",
          target: `user:${user.id}`,
          detail: { role: user.role },
          ip,
        });
        return { user: publicUser(user) };
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/tokens",
      auth: "user",
      summary: "API tokens of this account (never the tokens themselves)",
      tags: ["tokens"],
      async handler({ auth }) {
        const rows = await ctx.db
          .select()
          .from(apiTokens)
          .where(and(eq(apiTokens.accountId, auth!.accountId!), isNull(apiTokens.revokedAt)))
          .orderBy(desc(apiTokens.id));
        return {
          tokens: rows.map((t) => ({
            id: t.id,
            name: t.name,
            prefix: t.prefix,
            userId: t.userId,
            createdAt: t.createdAt,
            lastUsedAt: t.lastUsedAt,
            expiresAt: t.expiresAt,
          })),
        };
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/tokens",
      auth: ["owner", "staff"],
      summary: "Create an API token (shown once)",
      tags: ["tokens"],
      status: 201,
      body: z.object({
        name: z.string().trim().min(1).max(100),
        expiresInDays: z.number().int().min(1).max(3650).optional(),
      }),
      async handler({ auth, body, ip }) {
        // The operator acts for the account's first owner.
        const userId = auth!.userId ?? (await firstOwner(ctx.db, auth!.accountId!))?.id;
        if (!userId)
          throw conflict("this account has no owner yet: create one with `orderhub user add --role owner`");
        const token = newToken("oh_");
        const [row] = await ctx.db
          .insert(apiTokens)
          .values({
            accountId: auth!.accountId!,
            userId,
            name: body.name,
            tokenHash: sha256(token),
            prefix: token.slice(0, 8),
            expiresAt: body.expiresInDays
              ? new Date(ctx.clock.now().getTime() + body.expiresInDays * 86_400_000)
              : null,
          })
          .returning();
        await audit(ctx.db, {
          accountId: auth!.accountId,
          userId: auth!.userId,
          action: "token.create",
          target: `token:${row!.id}`,
          ip,
        });
        return { id: row!.id, name: row!.name, token, expiresAt: row!.expiresAt };
      },
    }),
    defineRoute({
      method: "DELETE",
      url: "/api/tokens/:id",
      auth: ["owner", "staff"],
      summary: "Revoke an API token",
      tags: ["tokens"],
      params: idParam,
      async handler({ auth, params, ip }) {
        const [row] = await ctx.db
          .update(apiTokens)
          .set({ revokedAt: ctx.clock.now() })
          .where(
            and(
              eq(apiTokens.id, params.id),
              eq(apiTokens.accountId, auth!.accountId!),
              isNull(apiTokens.revokedAt),
            ),
          )
          .returning({ id: apiTokens.id });
        if (!row) throw notFound("token");
        await audit(ctx.db, {
          accountId: auth!.accountId,
          userId: auth!.userId,
          action: "token.revoke",
          target: `token:${row.id}`,
          ip,
        });
        return { revoked: true };
      },
    }),
  ];
}
