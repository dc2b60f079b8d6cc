import { createHash } from "node:crypto";
import { eq, lt, sql } from "drizzle-orm";
import type { SecretBox } from "../../core/secrets.ts";
import type { DbOrTx, Tx } from "../connection.ts";
import { credentials, oauthStates } from "../schema.ts";

export type CredentialsRow = typeof credentials.$inferSelect;
export type OAuthStateRow = typeof oauthStates.$inferSelect;

/** What a credentials row holds, opened. */
export interface OpenTokens {
  refreshToken: string | null;
  accessToken: string | null;
  accessExpiresAt: Date | null;
}

/** Fingerprint of a refresh token, to notice that the seller pasted a new one (never the token itself). */
export function tokenHash(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

export function openTokens(box: SecretBox, row: CredentialsRow): OpenTokens {
  return {
    refreshToken: row.refreshTokenEnc ? box.open(row.refreshTokenEnc) : null,
    accessToken: row.accessTokenEnc ? box.open(row.accessTokenEnc) : null,
    accessExpiresAt: row.accessExpiresAt,
  };
}

export async function getCredentials(db: DbOrTx, connectionId: number): Promise<CredentialsRow | null> {
  const [row] = await db.select().from(credentials).where(eq(credentials.connectionId, connectionId));
  return row ?? null;
}

/**
 * The row, locked until `tx` ends: every process refreshing this connection queues here, so only
 * the first one calls the token endpoint and the others read what it stored.
 */
export async function lockCredentials(tx: Tx, connectionId: number): Promise<CredentialsRow | null> {
  const [row] = await tx
    .select()
    .from(credentials)
    .where(eq(credentials.connectionId, connectionId))
    .for("update");
  return row ?? null;
}

/** Creates the row from the connection's secrets unless it exists (a concurrent creator wins, once). */
export async function seedCredentials(
  tx: Tx,
  box: SecretBox,
  v: { connectionId: number; accountId: number; refreshToken: string | null },
): Promise<void> {
  await tx
    .insert(credentials)
    .values({
      connectionId: v.connectionId,
      accountId: v.accountId,
      refreshTokenEnc: v.refreshToken ? box.seal(v.refreshToken) : null,
      seedHash: v.refreshToken ? tokenHash(v.refreshToken) : null,
    })
    .onConflictDoNothing({ target: credentials.connectionId });
}

/**
 * Replaces every token (the seller pasted a new refresh token, or signed in again): the state
 * goes back to ok and the version moves on.
 */
export async function replaceCredentials(
  db: DbOrTx,
  box: SecretBox,
  v: {
    connectionId: number;
    accountId: number;
    refreshToken: string | null;
    accessToken: string | null;
    accessExpiresAt: Date | null;
    now: Date;
  },
): Promise<CredentialsRow> {
  const values = {
    refreshTokenEnc: v.refreshToken ? box.seal(v.refreshToken) : null,
    accessTokenEnc: v.accessToken ? box.seal(v.accessToken) : null,
    accessExpiresAt: v.accessToken ? v.accessExpiresAt : null,
    seedHash: v.refreshToken ? tokenHash(v.refreshToken) : null,
    state: "ok" as const,
    stateMessage: null,
    refreshedAt: v.accessToken ? v.now : null,
    updatedAt: v.now,
  };
  const [row] = await db
    .insert(credentials)
    .values({ connectionId: v.connectionId, accountId: v.accountId, ...values })
    .onConflictDoUpdate({
      target: credentials.connectionId,
      set: { ...values, version: sql`${credentials.version} + 1` },
    })
    .returning();
  return row!;
}

/**
 * Stores what a refresh answered, rotated refresh token included, and bumps the version. The
 * caller commits this before anyone gets the access token.
 */
export async function storeRefreshedTokens(
  tx: Tx,
  box: SecretBox,
  connectionId: number,
  v: { refreshToken: string | null; accessToken: string; accessExpiresAt: Date | null; now: Date },
): Promise<CredentialsRow> {
  const [row] = await tx
    .update(credentials)
    .set({
      ...(v.refreshToken ? { refreshTokenEnc: box.seal(v.refreshToken) } : {}),
      accessTokenEnc: box.seal(v.accessToken),
      accessExpiresAt: v.accessExpiresAt,
      version: sql`${credentials.version} + 1`,
      state: "ok",
      stateMessage: null,
      refreshedAt: v.now,
      updatedAt: v.now,
    })
    .where(eq(credentials.connectionId, connectionId))
    .returning();
  return row!;
}

/** The marketplace refused the stored grant for good: nothing is tried again until the seller reconnects. */
export async function markReconnectNeeded(
  db: DbOrTx,
  connectionId: number,
  message: string,
  now: Date,
): Promise<void> {
  await db
    .update(credentials)
    .set({
      state: "reconnect_needed",
      stateMessage: message,
      accessTokenEnc: null,
      accessExpiresAt: null,
      version: sql`${credentials.version} + 1`,
      updatedAt: now,
    })
    .where(eq(credentials.connectionId, connectionId));
}

export async function deleteCredentials(db: DbOrTx, connectionId: number): Promise<void> {
  await db.delete(credentials).where(eq(credentials.connectionId, connectionId));
}

/** What the API may show: the state and when tokens last changed, never a token. */
export async function credentialsStatus(db: DbOrTx, connectionId: number) {
  const row = await getCredentials(db, connectionId);
  return {
    state: row?.state ?? ("ok" as const),
    message: row?.stateMessage ?? null,
    accessTokenExpiresAt: row?.accessExpiresAt ?? null,
    refreshedAt: row?.refreshedAt ?? null,
  };
}

// ------------------------------------------------------------------ consent states

export async function insertOAuthState(
  db: DbOrTx,
  v: Omit<typeof oauthStates.$inferInsert, "createdAt">,
): Promise<void> {
  await db.insert(oauthStates).values(v);
}

export async function findOAuthState(db: DbOrTx, id: string): Promise<OAuthStateRow | null> {
  const [row] = await db.select().from(oauthStates).where(eq(oauthStates.id, id));
  return row ?? null;
}

/** Takes the state out: of two callbacks with the same state, exactly one gets the row. */
export async function consumeOAuthState(db: DbOrTx, id: string): Promise<OAuthStateRow | null> {
  const [row] = await db.delete(oauthStates).where(eq(oauthStates.id, id)).returning();
  return row ?? null;
}

export async function purgeExpiredOAuthStates(db: DbOrTx, now: Date): Promise<void> {
  await db.delete(oauthStates).where(lt(oauthStates.expiresAt, now));
}
