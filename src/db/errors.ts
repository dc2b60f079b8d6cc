import { DrizzleQueryError } from "drizzle-orm/errors";

/**
 * What to tell a seller (and store in a run's error) about a failed database call: the database's own
 * reason, never the statement with its parameters (those hold buyers' names, addresses, e-mails).
 */
export function describeDbError(err: unknown): string {
  if (err instanceof DrizzleQueryError) {
    const cause = err.cause as { message?: string; code?: string } | undefined;
    const reason = cause?.message ?? "the database refused the statement";
    return `database error${cause?.code ? ` ${cause.code}` : ""}: ${reason}`;
  }
  return err instanceof Error ? err.message : String(err);
}
