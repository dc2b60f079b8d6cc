import type { Database } from "./connection.ts";

/**
 * PGlite runs no autovacuum: without this, the planner has no statistics and counts cannot use
 * index-only scans, so the orders table slows down as it grows. PostgreSQL's autovacuum does the
 * same on its own; running it there too is harmless.
 */
export async function maintainDatabase(
  database: Database,
  tables: string[] = ["orders", "order_lines", "order_events", "order_search_terms"],
): Promise<void> {
  for (const t of tables) await database.sql.executeSql(`vacuum analyze ${t}`);
}

/**
 * Fresh planner statistics only (quick: a sample of each table). Without them a search that matches
 * most orders picks a plan that takes seconds per query on a freshly filled table.
 */
export async function refreshStatistics(
  database: Database,
  tables: string[] = ["orders", "order_lines", "order_search_terms"],
): Promise<void> {
  for (const t of tables) await database.sql.executeSql(`analyze ${t}`);
}
