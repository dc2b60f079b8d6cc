import { eq, sql } from "drizzle-orm";
import type { DbOrTx } from "../connection.ts";
import { rateLimits } from "../schema.ts";

export type RateLimitRow = typeof rateLimits.$inferSelect;

/**
 * Serialises everything that counts a connection's calls (its rate-limit rows and api_usage) until the
 * transaction ends, in every process. The two-key form keeps it apart from other advisory locks.
 */
export async function lockConnectionBudget(tx: DbOrTx, connectionId: number): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext('budget'), ${connectionId}::int)`);
}

export async function rateLimitRows(db: DbOrTx, connectionId: number): Promise<Map<string, RateLimitRow>> {
  const rows = await db.select().from(rateLimits).where(eq(rateLimits.connectionId, connectionId));
  return new Map(rows.map((r) => [r.key, r]));
}

/** Writes the rows back in one statement (call under lockConnectionBudget). */
export async function saveRateLimitRows(db: DbOrTx, rows: readonly RateLimitRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insert(rateLimits)
    .values(rows.map((r) => ({ ...r })))
    .onConflictDoUpdate({
      target: [rateLimits.connectionId, rateLimits.key],
      set: {
        windowStart: sql`excluded.window_start`,
        used: sql`excluded.used`,
        slots: sql`excluded.slots`,
        tokens: sql`excluded.tokens`,
        refilledAt: sql`excluded.refilled_at`,
        learnedLimit: sql`excluded.learned_limit`,
        learnedRate: sql`excluded.learned_rate`,
        blockedUntil: sql`excluded.blocked_until`,
      },
    });
}

export function emptyRateLimitRow(connectionId: number, key: string): RateLimitRow {
  return {
    connectionId,
    key,
    windowStart: null,
    used: 0,
    slots: null,
    tokens: null,
    refilledAt: null,
    learnedLimit: null,
    learnedRate: null,
    blockedUntil: null,
  };
}
