import { getTableColumns, getTableName, type Table } from "drizzle-orm";
import type { DbOrTx } from "./connection.ts";

interface RawClient {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** The driver client under a drizzle database or transaction (PGlite or pg). */
function rawClient(db: DbOrTx): RawClient {
  const session = (db as unknown as { session: { client: RawClient } }).session;
  return session.client;
}

const MAX_PARAMS = 60_000;

/**
 * Multi-row INSERT with the SQL built by hand: drizzle's builder spends hundreds of milliseconds on
 * a few thousand wide rows, which dominated order ingest. Column names and JSON handling come from
 * the drizzle table, so the schema stays the single source.
 */
export async function bulkInsert<T extends Table>(
  db: DbOrTx,
  table: T,
  rows: Partial<T["$inferInsert"]>[],
  opts: { returning?: string[] } = {},
): Promise<Record<string, unknown>[]> {
  if (rows.length === 0) return [];
  const columns = getTableColumns(table) as Record<string, { name: string; columnType: string }>;
  const keys = Object.keys(rows[0]!).filter((k) => k in columns);
  const names = keys.map((k) => `"${columns[k]!.name}"`).join(", ");
  const json = keys.map((k) => columns[k]!.columnType === "PgJsonb");
  const perChunk = Math.max(1, Math.floor(MAX_PARAMS / keys.length));
  const out: Record<string, unknown>[] = [];
  const client = rawClient(db);
  for (let start = 0; start < rows.length; start += perChunk) {
    const chunk = rows.slice(start, start + perChunk);
    const values: unknown[] = [];
    const tuples: string[] = [];
    for (const row of chunk) {
      const ph: string[] = [];
      keys.forEach((k, i) => {
        const v = (row as Record<string, unknown>)[k];
        values.push(v === undefined ? null : json[i] ? (v === null ? null : JSON.stringify(v)) : v);
        ph.push(`$${values.length}${json[i] ? "::jsonb" : ""}`);
      });
      tuples.push(`(${ph.join(",")})`);
    }
    const returning = opts.returning?.length
      ? ` returning ${opts.returning.map((k) => `"${columns[k]!.name}" as "${k}"`).join(", ")}`
      : "";
    const res = await client.query(
      `insert into "${getTableName(table)}" (${names}) values ${tuples.join(",")}${returning}`,
      values,
    );
    out.push(...(res.rows as Record<string, unknown>[]));
  }
  return out;
}
