import { and, eq, gte, sql } from "drizzle-orm";
import type { DbOrTx } from "../connection.ts";
import { apiUsage } from "../schema.ts";

export const HOUR = 3_600_000;

export function hourBucket(d: Date): Date {
  return new Date(Math.floor(d.getTime() / HOUR) * HOUR);
}

export async function addUsage(
  db: DbOrTx,
  connectionId: number,
  at: Date,
  category: string,
  calls: number,
): Promise<void> {
  await db
    .insert(apiUsage)
    .values({ connectionId, bucketStart: hourBucket(at), category, calls })
    .onConflictDoUpdate({
      target: [apiUsage.connectionId, apiUsage.bucketStart, apiUsage.category],
      set: { calls: sql`${apiUsage.calls} + ${calls}` },
    });
}

export async function usageSince(db: DbOrTx, connectionId: number, since: Date): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`coalesce(sum(${apiUsage.calls}), 0)::int` })
    .from(apiUsage)
    .where(and(eq(apiUsage.connectionId, connectionId), gte(apiUsage.bucketStart, since)));
  return row?.n ?? 0;
}

export async function usageByHour(db: DbOrTx, connectionId: number, since: Date) {
  return db
    .select({ bucketStart: apiUsage.bucketStart, category: apiUsage.category, calls: apiUsage.calls })
    .from(apiUsage)
    .where(and(eq(apiUsage.connectionId, connectionId), gte(apiUsage.bucketStart, since)))
    .orderBy(apiUsage.bucketStart);
}
