import { and, asc, eq, sql } from "drizzle-orm";
import { conflict, notFound } from "../../core/errors.ts";
import type { DbOrTx } from "../connection.ts";
import { savedViews } from "../schema.ts";

export type SavedViewRow = typeof savedViews.$inferSelect;

/** A seller may keep this many views of their own (each is counted on every refresh of the sidebar). */
export const MAX_SAVED_VIEWS = 50;

export async function listSavedViews(db: DbOrTx, accountId: number): Promise<SavedViewRow[]> {
  return db
    .select()
    .from(savedViews)
    .where(eq(savedViews.accountId, accountId))
    .orderBy(asc(savedViews.position), asc(savedViews.id));
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string } };
  return e?.code === "23505" || e?.cause?.code === "23505";
}

export async function createSavedView(
  db: DbOrTx,
  accountId: number,
  v: { name: string; query: string; createdBy: number | null },
): Promise<SavedViewRow> {
  const [{ n, last }] = (await db
    .select({
      n: sql<number>`count(*)::int`,
      last: sql<number>`coalesce(max(${savedViews.position}), 0)::int`,
    })
    .from(savedViews)
    .where(eq(savedViews.accountId, accountId))) as [{ n: number; last: number }];
  if (n >= MAX_SAVED_VIEWS)
    throw conflict(`an account keeps at most ${MAX_SAVED_VIEWS} saved views: delete one first`);
  try {
    const [row] = await db
      .insert(savedViews)
      .values({ accountId, name: v.name, query: v.query, createdBy: v.createdBy, position: last + 1 })
      .returning();
    return row!;
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(`a view named "${v.name}" exists already`);
    throw err;
  }
}

export async function updateSavedView(
  db: DbOrTx,
  accountId: number,
  id: number,
  change: { name?: string; query?: string },
  at: Date,
): Promise<SavedViewRow> {
  try {
    const [row] = await db
      .update(savedViews)
      .set({ ...change, updatedAt: at })
      .where(and(eq(savedViews.accountId, accountId), eq(savedViews.id, id)))
      .returning();
    if (!row) throw notFound(`saved view ${id}`);
    return row;
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(`a view named "${change.name}" exists already`);
    throw err;
  }
}

export async function deleteSavedView(db: DbOrTx, accountId: number, id: number): Promise<void> {
  const rows = await db
    .delete(savedViews)
    .where(and(eq(savedViews.accountId, accountId), eq(savedViews.id, id)))
    .returning({ id: savedViews.id });
  if (rows.length === 0) throw notFound(`saved view ${id}`);
}
