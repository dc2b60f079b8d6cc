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
  DuplicateUserError,
  deleteSession,
  findSignInCandidates,
  findUserByEmail,
  firstOwner,
  getUser,
  insertUser,
  listUsers,
  publicUser,
  reserveLoginAttempt,
  type UserRow,
} from "../../db/repos/users.ts";
import { apiTokens, users } from "../../db/schema.ts";
import { newSessionSecrets, SESSION_COOKIE, setSessionCookie } from "../auth.ts";
import { allowedActions, loadSwitches, roleMay } from "../permissions.ts";
import { defineRoute, idParam, type RouteDef } from "../route.ts";
import { emailSchema, passwordSchema } from "./system.ts";
import { userAdminRoutes } from "./users.ts";

const LOCK_AFTER = 5;
const LOCK_MINUTES = 15;
/** Accounts one e-mail is tried against at sign-in (e-mails are unique per account only). */
const MAX_CANDIDATES = 5;
const IP_LOGINS_PER_MINUTE = 20;
const WINDOW_MS = 60_000;
/** Addresses (or e-mails) remembered at most; the oldest are dropped first, never all at once. */
const MAX_KEYS = 50_000;

/**
 * The address a limit applies to: IPv4 as is (also when mapped into IPv6), IPv6 by its /64, since
 * one host usually holds a whole /64 and could otherwise take a fresh address for every attempt.
 */
export function limitKey(ip: string): string {
  const v4 = /^(?:::ffff:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (v4) return v4[1]!;
  if (!ip.includes(":")) return ip;
  const [head = "", tail] = ip.split("%")[0]!.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

/** Per-process sliding window of login attempts per address. */
class IpLimiter {
  private readonly hits = new Map<string, number[]>();
  /** Null when allowed, else how long until the next attempt would be. */
  retryAfterMs(ip: string, now: number): number | null {
    const key = limitKey(ip);
    const recent = (this.hits.get(key) ?? []).filter((t) => t > now - WINDOW_MS);
    recent.push(now);
    this.hits.delete(key);
    this.hits.set(key, recent);
    if (this.hits.size > MAX_KEYS) {
      for (const [k, v] of this.hits) {
        if (this.hits.size <= MAX_KEYS * 0.9) break;
        if (k !== key || (v.at(-1) ?? 0) <= now - WINDOW_MS) this.hits.delete(k);
      }
    }
    if (recent.length <= IP_LOGINS_PER_MINUTE) return null;
    return Math.max(1000, (recent[recent.length - IP_LOGINS_PER_MINUTE] ?? now) + WINDOW_MS - now);
  }
}

/**
 * Failed sign-ins for e-mails that belong to nobody, kept like a real user's counter so a lockout
 * answers the same for both: the answer never tells whether an e-mail has an account.
 */
class UnknownEmailLocks {
  private readonly entries = new Map<string, { failed: number; lockedUntil: number | null }>();
  /** Counts an attempt (before any await, so parallel ones count too); the lock when it is locked. */
  attempt(email: string, now: number): Date | null {
    const e = this.entries.get(email) ?? { failed: 0, lockedUntil: null };
    if (e.lockedUntil && e.lockedUntil > now) return new Date(e.lockedUntil);
    e.failed += 1;
    e.lockedUntil = e.failed >= LOCK_AFTER ? now + LOCK_MINUTES * 60_000 : null;
    this.entries.delete(email);
    this.entries.set(email, e);
    if (this.entries.size > MAX_KEYS) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return null;
  }
}

function lockedError(until: Date): AppError {
  return new AppError(
    423,
    "locked",
    `too many failed sign-ins: this user is locked until ${until.toISOString()}`,
    { lockedUntil: until.toISOString() },
  );
}

export function authRoutes(ctx: AppContext): RouteDef[] {
  const limiter = new IpLimiter();
  const unknownEmails = new UnknownEmailLocks();
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
      body: z.object({
        email: z.string().trim().min(1).max(200),
        password: z.string().min(1).max(200),
        /** Only needed when one e-mail (with one password) signs in to several accounts. */
        account: z.string().trim().min(1).max(40).optional(),
      }),
      async handler({ body, ip, req }, reply) {
        const now = ctx.clock.now();
        const wait = limiter.retryAfterMs(ip, now.getTime());
        if (wait !== null) {
          const seconds = Math.ceil(wait / 1000);
          reply.header("retry-after", String(seconds));
          throw new AppError(
            429,
            "rate_limited",
            `too many sign-in attempts from this address: try again in ${seconds} seconds`,
            { retryAfterSeconds: seconds },
          );
        }
        const email = body.email.toLowerCase();
        const lockUntil = new Date(now.getTime() + LOCK_MINUTES * 60_000);
        const found = await findSignInCandidates(ctx.db, email, MAX_CANDIDATES);
        const accountId = body.account ? (await findAccountBySlug(ctx.db, body.account))?.id : undefined;
        const candidates = body.account ? found.filter((u) => u.accountId === accountId) : found;
        if (candidates.length === 0) {
          // Counted before the check, like a real user's attempt, so parallel guesses lock too.
          const unknownLock = unknownEmails.attempt(email, now.getTime());
          if (unknownLock) throw lockedError(unknownLock);
          await verifyPassword(body.password, DUMMY_HASH);
          throw new AppError(401, "invalid_credentials", "wrong e-mail or password");
        }
        // Each attempt is counted (atomically) before the password is checked; a locked user is not tried.
        const open: UserRow[] = [];
        let lockedUntil: Date | null = null;
        for (const u of candidates) {
          const r = await reserveLoginAttempt(ctx.db, u.id, now, LOCK_AFTER, lockUntil);
          if (r) open.push(u);
          else lockedUntil ??= (await getUser(ctx.db, u.id))?.lockedUntil ?? lockUntil;
        }
        if (open.length === 0) throw lockedError(lockedUntil ?? lockUntil);
        const matches: UserRow[] = [];
        for (const u of open) {
          if ((await verifyPassword(body.password, u.passwordHash)) && !u.disabledAt) matches.push(u);
        }
        if (matches.length === 0) {
          for (const u of open) {
            await audit(ctx.db, { accountId: u.accountId, userId: u.id, action: "login.failed", ip });
          }
          throw new AppError(401, "invalid_credentials", "wrong e-mail or password");
        }
        if (matches.length > 1) {
          // Only someone who knows the password of each of them gets this far.
          const accounts = await Promise.all(matches.map((u) => accountView(u.accountId)));
          throw new AppError(
            409,
            "choose_account",
            "this e-mail and password open several accounts: sign in again naming the account",
            { accounts: accounts.filter((a) => a !== null).map((a) => ({ slug: a.slug, name: a.name })) },
          );
        }
        const user = matches[0]!;
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
      auth: "session",
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
      auth: "session",
      summary: "Who is signed in, and the CSRF token for writes",
      tags: ["auth"],
      async handler({ auth }) {
        const user = auth!.userId ? await getUser(ctx.db, auth!.userId) : null;
        return {
          user: user ? publicUser(user) : { id: null, email: null, name: "operator", role: auth!.role },
          via: auth!.via,
          csrfToken: auth!.csrfToken ?? null,
          account: await accountView(auth!.accountId!),
          // What the UI may offer this user (src/http/permissions.ts, with the account's switches).
          permissions: allowedActions(auth!.role, await loadSwitches(ctx.db, auth!.accountId!)),
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
      auth: "session",
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
      auth: "users.read",
      summary: "Users of this account",
      tags: ["users"],
      async handler({ auth }) {
        return { users: (await listUsers(ctx.db, auth!.accountId!)).map(publicUser) };
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/users",
      auth: "users.manage",
      summary: "Add a user to this account",
      tags: ["users"],
      status: 201,
      body: z.object({
        email: emailSchema,
        password: passwordSchema,
        role: z.enum(["owner", "staff", "picker"]),
        name: z.string().trim().max(100).optional(),
        /** An owner is added beside the account's owner only when asked for in so many words. */
        force: z.boolean().optional(),
      }),
      async handler({ auth, body, ip }) {
        // Only this account is looked at: whether the address is used by another account stays unknown.
        if (await findUserByEmail(ctx.db, auth!.accountId!, body.email))
          throw conflict(`this account has a user with the e-mail ${body.email} already`);
        const owner =
          body.role === "owner" && !body.force ? await firstOwner(ctx.db, auth!.accountId!) : null;
        if (owner)
          throw new AppError(
            409,
            "owner_exists",
            `this account has an owner already (${owner.email}); send force: true to add a second owner`,
            { owner: owner.email },
          );
        const user = await insertUser(ctx.db, {
          accountId: auth!.accountId!,
          email: body.email,
          name: body.name ?? null,
          passwordHash: await hashPassword(body.password),
          role: body.role,
        }).catch((err) => {
          if (err instanceof DuplicateUserError) throw conflict(err.message);
          throw err;
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
    ...userAdminRoutes(ctx),
    defineRoute({
      method: "GET",
      url: "/api/tokens",
      auth: "tokens.own",
      summary: "API tokens (an owner sees the account's, others their own; never the tokens themselves)",
      tags: ["tokens"],
      async handler({ auth }) {
        const rows = await ctx.db
          .select()
          .from(apiTokens)
          .where(
            and(
              eq(apiTokens.accountId, auth!.accountId!),
              isNull(apiTokens.revokedAt),
              // Owners see every token of the account; everyone else only their own.
              roleMay("users.manage", auth!.role) ? undefined : eq(apiTokens.userId, auth!.userId ?? -1),
            ),
          )
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
      auth: "tokens.create",
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
      auth: "tokens.own",
      summary: "Revoke an API token (your own; an owner any of the account's)",
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
              // Someone else's token answers "not found", as a token of another account does.
              roleMay("users.manage", auth!.role) ? undefined : eq(apiTokens.userId, auth!.userId ?? -1),
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
