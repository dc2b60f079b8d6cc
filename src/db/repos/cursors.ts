import { and, eq, sql } from "drizzle-orm";
import type { DbOrTx } from "../connection.ts";
import { syncCursors } from "../schema.ts";

export async function readCursor(db: DbOrTx, connectionId: number, stream: string): Promise<unknown | null> {
  const [row] = await db
    .select({ value: syncCursors.value })
    .from(syncCursors)
    .where(and(eq(syncCursors.connectionId, connectionId), eq(syncCursors.stream, stream)));
  return row?.value ?? null;
}

/** Versioned, so a reader can tell the cursor moved. Written in the transaction that stored the orders. */
export async function writeCursor(
  db: DbOrTx,
  connectionId: number,
  stream: string,
  value: unknown,
  at: Date,
): Promise<void> {
  await db
    .insert(syncCursors)
    .values({ connectionId, stream, value, updatedAt: at })
    .onConflictDoUpdate({
      target: [syncCursors.connectionId, syncCursors.stream],
      set: { value: sql`excluded.value`, version: sql`${syncCursors.version} + 1`, updatedAt: at },
    });
}
