import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import type { FastifyReply, FastifyRequest } from "fastify";
import { ensureOperatorToken, safeEqual, sha256 } from "../auth/tokens.ts";
import type { AppContext } from "../context.ts";
import { AppError } from "../core/errors.ts";
import { findAccountBySlug, firstAccount } from "../db/repos/accounts.ts";
import { findApiToken, findSession, touchSession } from "../db/repos/users.ts";
import { apiTokens } from "../db/schema.ts";
import { allows, defaultSwitches, dependsOnSwitch, loadSwitches, refusal } from "./permissions.ts";
import type { Auth, AuthRule } from "./route.ts";

export const SESSION_COOKIE = "orderhub_session";

export function newSessionSecrets() {
  const token = randomBytes(32).toString("base64url");
  return { token, id: sha256(token), csrfToken: randomBytes(24).toString("base64url") };
}

/** Works out who is calling: the operator token, an API token, or a session cookie. */
export async function resolveAuth(ctx: AppContext, req: FastifyRequest): Promise<Auth | null> {
  const header = req.headers.authorization;
  const now = ctx.clock.now();
  if (header?.startsWith("Bearer ")) {
    const token = header.slice(7).trim();
    if (token.startsWith("ohop_")) {
      if (!safeEqual(token, ensureOperatorToken(ctx.settings.dataDir))) return null;
      const slug = req.headers["x-orderhub-account"];
      const account =
        typeof slug === "string" && slug ? await findAccountBySlug(ctx.db, slug) : await firstAccount(ctx.db);
      if (typeof slug === "string" && slug && !account) {
        return { accountId: null, userId: null, role: "owner", via: "operator" };
      }
      return { accountId: account?.id ?? null, userId: null, role: "owner", via: "operator" };
    }
    const row = await findApiToken(ctx.db, sha256(token), now);
    if (!row) return null;
    // Touch at most once a minute: a script calling in a loop should not write on every request.
    if (!row.token.lastUsedAt || now.getTime() - row.token.lastUsedAt.getTime() > 60_000) {
      await ctx.db.update(apiTokens).set({ lastUsedAt: now }).where(eq(apiTokens.id, row.token.id));
    }
    return { accountId: row.token.accountId, userId: row.user.id, role: row.user.role, via: "token" };
  }
  const cookie = req.cookies?.[SESSION_COOKIE];
  if (!cookie) return null;
  const id = sha256(cookie);
  const row = await findSession(ctx.db, id, now);
  if (!row) return null;
  if (now.getTime() - row.session.lastSeenAt.getTime() > 60_000) {
    await touchSession(ctx.db, id, now, new Date(now.getTime() + ctx.settings.sessionDays * 86_400_000));
  }
  return {
    accountId: row.session.accountId,
    userId: row.user.id,
    role: row.user.role,
    via: "session",
    sessionId: id,
    csrfToken: row.session.csrfToken,
  };
}

/**
 * Applies a route's rule; a cookie-authenticated write must also carry the CSRF token. The account's
 * switches are read only when the role's grant depends on one.
 */
export async function authorise(
  ctx: AppContext,
  rule: AuthRule,
  auth: Auth | null,
  req: FastifyRequest,
): Promise<void> {
  if (rule === "public") return;
  if (!auth) throw new AppError(401, "unauthenticated", "sign in first (session cookie or API token)");
  if (auth.via === "session" && !["GET", "HEAD", "OPTIONS"].includes(req.method)) {
    const sent = req.headers["x-csrf-token"];
    if (typeof sent !== "string" || !auth.csrfToken || !safeEqual(sent, auth.csrfToken)) {
      throw new AppError(403, "csrf_failed", "missing or wrong x-csrf-token header");
    }
  }
  if (rule === "operator") {
    if (auth.via !== "operator")
      throw new AppError(403, "forbidden", "only the local operator (the orderhub CLI) may do this");
    return;
  }
  if (auth.accountId === null) {
    throw new AppError(404, "no_account", "there is no account yet: create one with `orderhub user add`");
  }
  const switches = dependsOnSwitch(rule, auth.role)
    ? await loadSwitches(ctx.db, auth.accountId)
    : defaultSwitches();
  if (!allows(rule, auth.role, switches)) {
    throw new AppError(403, "forbidden", refusal(rule, auth.role), { role: auth.role, action: rule });
  }
}

export function setSessionCookie(reply: FastifyReply, req: FastifyRequest, token: string, days: number) {
  reply.setCookie(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: "lax",
    secure: req.protocol === "https",
    path: "/",
    maxAge: days * 86_400,
  });
}
