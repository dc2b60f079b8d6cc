import { and, asc, count, eq, gt, isNull, sql } from "drizzle-orm";
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
    lastLoginAt: u.lastLoginAt,
    createdAt: u.createdAt,
  };
}

export async function countUsers(db: DbOrTx): Promise<number> {
  const [r] = await db.select({ n: count() }).from(users);
  return r?.n ?? 0;
}

export async function findUserByEmail(db: DbOrTx, email: string): Promise<UserRow | null> {
  const [u] = await db.select().from(users).where(sql`lower(${users.email}) = ${email.toLowerCase()}`);
  return u ?? null;
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

export async function insertUser(
  db: DbOrTx,
  v: { accountId: number; email: string; name?: string | null; passwordHash: string; role: Role },
): Promise<UserRow> {
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
