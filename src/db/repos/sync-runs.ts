import { and, desc, eq } from "drizzle-orm";
import type { DbOrTx } from "../connection.ts";
import { syncRuns } from "../schema.ts";

export type SyncRunRow = typeof syncRuns.$inferSelect;
export const FINAL_STATES = ["completed", "completed_with_errors", "failed", "cancelled"] as const;

export function isFinal(state: SyncRunRow["state"]): boolean {
  return (FINAL_STATES as readonly string[]).includes(state);
}

export async function listSyncRuns(
  db: DbOrTx,
  accountId: number,
  opts: { connectionId?: number; limit?: number } = {},
): Promise<SyncRunRow[]> {
  return db
    .select()
    .from(syncRuns)
    .where(
      and(
        eq(syncRuns.accountId, accountId),
        opts.connectionId ? eq(syncRuns.connectionId, opts.connectionId) : undefined,
      ),
    )
    .orderBy(desc(syncRuns.createdAt), desc(syncRuns.id))
    .limit(Math.min(500, opts.limit ?? 50));
}

export async function getSyncRun(db: DbOrTx, accountId: number, runId: number): Promise<SyncRunRow | null> {
  const [row] = await db
    .select()
    .from(syncRuns)
    .where(and(eq(syncRuns.accountId, accountId), eq(syncRuns.id, runId)));
  return row ?? null;
}

export async function activeRun(db: DbOrTx, connectionId: number): Promise<SyncRunRow | null> {
  const [row] = await db
    .select()
    .from(syncRuns)
    .where(and(eq(syncRuns.connectionId, connectionId)))
    .orderBy(desc(syncRuns.id))
    .limit(1);
  return row && !isFinal(row.state) ? row : null;
}
