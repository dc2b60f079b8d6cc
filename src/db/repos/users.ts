import { and, asc, count, eq, gt, isNull, lte, or, sql } from "drizzle-orm";
import type { DbOrTx } from "../connection.ts";
import { apiTokens, auditLog, sessions, users } from "../schema.ts";

export type UserRow = typeof users.$inferSelect;
export type Role = UserRow["role"];

export function publicUser(u: UserRow) {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    role: u.role,
    disabled: u.disabledAt !== null,
    disabledAt: u.disabledAt,
    lockedUntil: u.lockedUntil,
    lastLoginAt: u.lastLoginAt,
    createdAt: u.createdAt,
  };
}

export async function countUsers(db: DbOrTx): Promise<number> {
  const [r] = await db.select({ n: count() }).from(users);
  return r?.n ?? 0;
}

/** The user with this e-mail in one account (e-mails are unique per account, not across accounts). */
export async function findUserByEmail(db: DbOrTx, accountId: number, email: string): Promise<UserRow | null> {
  const [u] = await db
    .select()
    .from(users)
    .where(and(eq(users.accountId, accountId), sql`lower(${users.email}) = ${email.toLowerCase()}`));
  return u ?? null;
}

/** Every account's user with this e-mail, for sign-in (oldest first, a few at most). */
export async function findSignInCandidates(db: DbOrTx, email: string, limit: number): Promise<UserRow[]> {
  return db
    .select()
    .from(users)
    .where(sql`lower(${users.email}) = ${email.toLowerCase()}`)
    .orderBy(asc(users.id))
    .limit(limit);
}

/**
 * Counts a sign-in attempt before its password is checked, in one statement, so parallel attempts
 * cannot all pass a lock that none of them has written yet. Null when the user is locked.
 */
export async function reserveLoginAttempt(
  db: DbOrTx,
  userId: number,
  now: Date,
  lockAfter: number,
  lockUntil: Date,
): Promise<{ failedLogins: number; lockedUntil: Date | null } | null> {
  const [r] = await db
    .update(users)
    .set({
      failedLogins: sql`${users.failedLogins} + 1`,
      lockedUntil: sql`case when ${users.failedLogins} + 1 >= ${lockAfter} then ${lockUntil.toISOString()}::timestamptz else null end`,
    })
    .where(and(eq(users.id, userId), or(isNull(users.lockedUntil), lte(users.lockedUntil, now))))
    .returning({ failedLogins: users.failedLogins, lockedUntil: users.lockedUntil });
  return r ?? null;
}

/** Ends every session of a user (sign-out everywhere); returns how many there were. */
export async function deleteUserSessions(db: DbOrTx, userId: number): Promise<number> {
  const rows = await db.delete(sessions).where(eq(sessions.userId, userId)).returning({ id: sessions.id });
  return rows.length;
}

/** Active owners of an account other than `exceptId`: an account never loses its last one. */
export async function otherActiveOwners(db: DbOrTx, accountId: number, exceptId: number): Promise<number> {
  const [r] = await db
    .select({ n: count() })
    .from(users)
    .where(
      and(
        eq(users.accountId, accountId),
        eq(users.role, "owner"),
        isNull(users.disabledAt),
        sql`${users.id} <> ${exceptId}`,
      ),
    );
  return r?.n ?? 0;
}

export async function listUsers(db: DbOrTx, accountId: number): Promise<UserRow[]> {
  return db.select().from(users).where(eq(users.accountId, accountId)).orderBy(asc(users.id));
}

export async function getUser(db: DbOrTx, id: number): Promise<UserRow | null> {
  const [u] = await db.select().from(users).where(eq(users.id, id));
  return u ?? null;
}

export async function firstOwner(db: DbOrTx, accountId: number): Promise<UserRow | null> {
  const [u] = await db
    .select()
    .from(users)
    .where(and(eq(users.accountId, accountId), eq(users.role, "owner"), isNull(users.disabledAt)))
    .orderBy(asc(users.id))
    .limit(1);
  return u ?? null;
}

/** The account has a user with this e-mail already (two adds of the same address at once). */
export class DuplicateUserError extends Error {
  constructor(email: string) {
    super(`this account has a user with the e-mail ${email} already`);
  }
}

/** PostgreSQL's unique_violation, as pg and PGlite report it (possibly wrapped by drizzle). */
function isUniqueViolation(err: unknown): boolean {
  for (
    let e = err as { code?: unknown; cause?: unknown } | null, i = 0;
    e && i < 5;
    e = e.cause as typeof e, i++
  )
    if (e.code === "23505") return true;
  return false;
}

export async function insertUser(
  db: DbOrTx,
  v: { accountId: number; email: string; name?: string | null; passwordHash: string; role: Role },
): Promise<UserRow> {
  try {
    const [u] = await db
      .insert(users)
      .values({
        accountId: v.accountId,
        email: v.email,
        name: v.name ?? null,
        passwordHash: v.passwordHash,
        role: v.role,
      })
      .returning();
    return u!;
  } catch (err) {
    // The check before the insert can race another add of the same address: the index decides.
    if (isUniqueViolation(err)) throw new DuplicateUserError(v.email);
    throw err;
  }
}

export async function createSession(
  db: DbOrTx,
  v: { id: string; userId: number; accountId: number; csrfToken: string; expiresAt: Date },
) {
  await db.insert(sessions).values(v);
}

export async function findSession(db: DbOrTx, id: string, now: Date) {
  const [row] = await db
    .select({ session: sessions, user: users })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.id, id), gt(sessions.expiresAt, now), isNull(users.disabledAt)));
  return row ?? null;
}

export async function touchSession(db: DbOrTx, id: string, now: Date, expiresAt: Date) {
  await db.update(sessions).set({ lastSeenAt: now, expiresAt }).where(eq(sessions.id, id));
}

export async function deleteSession(db: DbOrTx, id: string) {
  await db.delete(sessions).where(eq(sessions.id, id));
}

export async function findApiToken(db: DbOrTx, hash: string, now: Date) {
  const [row] = await db
    .select({ token: apiTokens, user: users })
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .where(
      and(
        eq(apiTokens.tokenHash, hash),
        isNull(apiTokens.revokedAt),
        isNull(users.disabledAt),
        sql`(${apiTokens.expiresAt} is null or ${apiTokens.expiresAt} > ${now})`,
      ),
    );
  return row ?? null;
}

export async function audit(
  db: DbOrTx,
  v: {
    accountId: number | null;
    userId: number | null;
    action: string;
    target?: string | null;
    detail?: object;
    ip?: string | null;
  },
) {
  await db.insert(auditLog).values({
    accountId: v.accountId,
    userId: v.userId,
    action: v.action,
    target: v.target ?? null,
    detail: v.detail ?? {},
    ip: v.ip ?? null,
  });
}
