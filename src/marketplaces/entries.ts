import { z } from "zod";
import type { OrderSummary } from "../core/order.ts";

/** A list entry that does not have the shape we know, with what was wrong and its id if it has one. */
export interface UnreadableEntry {
  id: string | null;
  problem: string;
}

export interface Entries<T> {
  ok: T[];
  unreadable: UnreadableEntry[];
}

/**
 * A list whose entries are read one by one: one entry a marketplace changed does not stop the
 * others (the order it names is then fetched on its own, where its problem is recorded and named).
 */
export function entriesOf<T>(entry: z.ZodType<T>, idKey: string): z.ZodType<Entries<T>> {
  return z.array(z.unknown()).transform((items) => {
    const out: Entries<T> = { ok: [], unreadable: [] };
    for (const item of items) {
      const r = entry.safeParse(item);
      if (r.success) {
        out.ok.push(r.data);
        continue;
      }
      const issue = r.error.issues[0];
      const raw = item && typeof item === "object" ? (item as Record<string, unknown>)[idKey] : undefined;
      out.unreadable.push({
        id: (typeof raw === "string" && raw.trim()) || typeof raw === "number" ? String(raw).trim() : null,
        problem: `${issue?.path.join(".") || "(entry)"}: ${issue?.message ?? "unexpected shape"}`,
      });
    }
    return out;
  }) as unknown as z.ZodType<Entries<T>>;
}

/**
 * List entries we could not read become summaries without a change marker, so the sync fetches
 * their orders one by one (where a real problem is recorded against that order, naming the field);
 * an entry without an id cannot be fetched and is logged.
 */
export function unreadableSummaries(
  ctx: { logger: { warn(obj: object, msg: string): void } },
  marketplace: string,
  unreadable: UnreadableEntry[],
): OrderSummary[] {
  const out: OrderSummary[] = [];
  for (const u of unreadable) {
    if (u.id === null) {
      ctx.logger.warn(
        { problem: u.problem },
        `${marketplace} listed an order without a readable id; skipped`,
      );
      continue;
    }
    ctx.logger.warn(
      { externalId: u.id, problem: u.problem },
      `${marketplace} listed an order in a shape we do not know; fetching it on its own`,
    );
    out.push({ externalId: u.id, changeMarker: null, rawStatus: null, archived: false });
  }
  return out;
}
