import { asc, eq } from "drizzle-orm";
import type { DbOrTx } from "../connection.ts";
import { accounts } from "../schema.ts";

export type AccountRow = typeof accounts.$inferSelect;

export function slugify(name: string): string {
  return (
    name
      .toLowerCase()
      .normalize("NFKD")
      .replace(/\p{M}/gu, "")
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "")
      .slice(0, 40) || "store"
  );
}

export async function createAccount(db: DbOrTx, input: { name: string; slug?: string; timezone?: string }) {
  const [row] = await db
    .insert(accounts)
    .values({ name: input.name, slug: input.slug ?? slugify(input.name), timezone: input.timezone ?? "UTC" })
    .returning();
  return row!;
}

export async function findAccountBySlug(db: DbOrTx, slug: string): Promise<AccountRow | null> {
  const [row] = await db.select().from(accounts).where(eq(accounts.slug, slug));
  return row ?? null;
}

export async function firstAccount(db: DbOrTx): Promise<AccountRow | null> {
  const [row] = await db.select().from(accounts).orderBy(asc(accounts.id)).limit(1);
  return row ?? null;
}

export async function getAccount(db: DbOrTx, id: number): Promise<AccountRow | null> {
  const [row] = await db.select().from(accounts).where(eq(accounts.id, id));
  return row ?? null;
}
