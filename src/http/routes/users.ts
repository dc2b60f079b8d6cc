import { and, eq, isNull } from "drizzle-orm";
import { z } from "zod";
import { hashPassword } from "../../auth/passwords.ts";
import type { AppContext } from "../../context.ts";
import { conflict, notFound } from "../../core/errors.ts";
import {
  audit,
  deleteUserSessions,
  getUser,
  otherActiveOwners,
  publicUser,
  type UserRow,
} from "../../db/repos/users.ts";
import { apiTokens, users } from "../../db/schema.ts";
import { endStreams } from "../live-streams.ts";
import type { Auth } from "../route.ts";
import { defineRoute, idParam, type RouteDef } from "../route.ts";
import { passwordSchema } from "./system.ts";

/**
 * Cutting a user off (owners only): disable or delete them, change their role, set a new password,
 * end their sessions. A disabled user's sessions and API tokens stop at the next request, because
 * every request reads the user row; their sessions are also deleted so enabling them again does not
 * bring old cookies back.
 */
export function userAdminRoutes(ctx: AppContext): RouteDef[] {
  async function load(auth: Auth, id: number): Promise<UserRow> {
    const u = await getUser(ctx.db, id);
    if (!u || u.accountId !== auth.accountId) throw notFound("user");
    return u;
  }
  async function keepAnOwner(u: UserRow, what: string) {
    if (u.role === "owner" && !u.disabledAt && (await otherActiveOwners(ctx.db, u.accountId, u.id)) === 0) {
      throw conflict(`${u.email} is the account's only active owner: ${what} would leave it without one`);
    }
  }
  async function revokeTokens(userId: number): Promise<number> {
    const rows = await ctx.db
      .update(apiTokens)
      .set({ revokedAt: ctx.clock.now() })
      .where(and(eq(apiTokens.userId, userId), isNull(apiTokens.revokedAt)))
      .returning({ id: apiTokens.id });
    return rows.length;
  }
  const log = (auth: Auth, ip: string, action: string, u: UserRow, detail: object = {}) =>
    audit(ctx.db, {
      accountId: auth.accountId,
      userId: auth.userId,
      action,
      target: `user:${u.id}`,
      detail: { email: u.email, ...detail },
      ip,
    });

  return [
    defineRoute({
      method: "PATCH",
      url: "/api/users/:id",
      auth: "users.manage",
      summary: "Change a user: role, name, or disabled (a disabled user's sessions and tokens stop at once)",
      tags: ["users"],
      params: idParam,
      body: z
        .object({
          role: z.enum(["owner", "staff", "picker"]).optional(),
          name: z.string().trim().max(100).nullable().optional(),
          disabled: z.boolean().optional(),
        })
        .refine((b) => Object.keys(b).length > 0, "name at least one of role, name, disabled"),
      async handler({ auth, params, body, ip }) {
        const u = await load(auth!, params.id);
        if ((body.role && body.role !== "owner") || body.disabled === true) {
          await keepAnOwner(u, body.disabled ? "disabling them" : "changing their role");
        }
        const patch: Partial<typeof users.$inferInsert> = {};
        if (body.role !== undefined) patch.role = body.role;
        if (body.name !== undefined) patch.name = body.name;
        if (body.disabled === true && !u.disabledAt) patch.disabledAt = ctx.clock.now();
        if (body.disabled === false && u.disabledAt) {
          Object.assign(patch, { disabledAt: null, failedLogins: 0, lockedUntil: null });
        }
        const [row] = Object.keys(patch).length
          ? await ctx.db.update(users).set(patch).where(eq(users.id, u.id)).returning()
          : [u];
        const ended = body.disabled === true ? await deleteUserSessions(ctx.db, u.id) : 0;
        if (body.disabled === true) endStreams(u.id);
        await log(auth!, ip, "user.update", u, { fields: Object.keys(patch), sessionsEnded: ended });
        return { user: publicUser(row!) };
      },
    }),
    defineRoute({
      method: "DELETE",
      url: "/api/users/:id",
      auth: "users.manage",
      summary: "Delete a user with their sessions and API tokens (the audit log keeps what they did)",
      tags: ["users"],
      params: idParam,
      async handler({ auth, params, ip }) {
        const u = await load(auth!, params.id);
        await keepAnOwner(u, "deleting them");
        await ctx.db.delete(users).where(eq(users.id, u.id));
        endStreams(u.id);
        await log(auth!, ip, "user.delete", u, { role: u.role });
        return { deleted: true };
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/users/:id/password",
      auth: "users.manage",
      summary: "Set a new password for a user (ends their sessions and clears a lockout)",
      tags: ["users"],
      params: idParam,
      body: z.object({ password: passwordSchema }),
      async handler({ auth, params, body, ip }) {
        const u = await load(auth!, params.id);
        const passwordHash = await hashPassword(body.password);
        await ctx.db
          .update(users)
          .set({ passwordHash, failedLogins: 0, lockedUntil: null })
          .where(eq(users.id, u.id));
        const ended = await deleteUserSessions(ctx.db, u.id);
        endStreams(u.id);
        await log(auth!, ip, "user.password_reset", u, { sessionsEnded: ended });
        return { ok: true, sessionsEnded: ended };
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/users/:id/logout",
      auth: "users.manage",
      summary: "End all of a user's sessions (and revoke their API tokens with tokens: true)",
      tags: ["users"],
      params: idParam,
      body: z.object({ tokens: z.boolean().optional() }).optional().default({}),
      async handler({ auth, params, body, ip }) {
        const u = await load(auth!, params.id);
        const sessionsEnded = await deleteUserSessions(ctx.db, u.id);
        const tokensRevoked = body.tokens ? await revokeTokens(u.id) : 0;
        endStreams(u.id);
        await log(auth!, ip, "user.logout", u, { sessionsEnded, tokensRevoked });
        return { sessionsEnded, tokensRevoked };
      },
    }),
  ];
}
