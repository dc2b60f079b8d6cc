import { randomBytes } from "node:crypto";
import { and, asc, eq, isNull } from "drizzle-orm";
import type { SecretBox } from "../../core/secrets.ts";
import type { DbOrTx } from "../connection.ts";
import { connections } from "../schema.ts";

export type ConnectionRow = typeof connections.$inferSelect;
export type Schedule = ConnectionRow["schedule"];

/** What the API and CLI may show of a connection: never the secrets, only which ones are set. */
export function publicConnection(c: ConnectionRow, secretKeys: string[]) {
  return {
    id: c.id,
    marketplace: c.marketplace,
    name: c.name,
    baseUrl: c.baseUrl,
    config: c.config,
    secretsSet: secretKeys,
    schedule: c.schedule,
    scheduleEnabled: c.scheduleEnabled,
    nextSyncAt: c.nextSyncAt,
    dailyBudget: c.dailyBudget,
    storeName: c.storeName,
    currency: c.currency,
    lastSyncAt: c.lastSyncAt,
    lastSyncState: c.lastSyncState,
    lastError: c.lastError,
    demo: c.demo,
    disabled: c.disabledAt !== null,
    createdAt: c.createdAt,
  };
}
export type PublicConnection = ReturnType<typeof publicConnection>;

export function newWebhookToken(): string {
  return randomBytes(24).toString("base64url");
}

export interface NewConnection {
  accountId: number;
  marketplace: string;
  name: string;
  baseUrl: string;
  config: Record<string, string>;
  secrets: Record<string, string>;
  schedule?: Schedule;
  dailyBudget?: number | null;
  demo?: boolean;
  nextSyncAt?: Date | null;
}

export async function insertConnection(
  db: DbOrTx,
  box: SecretBox,
  input: NewConnection,
): Promise<ConnectionRow> {
  const [row] = await db
    .insert(connections)
    .values({
      accountId: input.accountId,
      marketplace: input.marketplace,
      name: input.name,
      baseUrl: input.baseUrl,
      config: input.config,
      secretsEnc: Object.keys(input.secrets).length ? box.sealJson(input.secrets) : null,
      schedule: input.schedule ?? { kind: "interval", minutes: 15 },
      dailyBudget: input.dailyBudget ?? null,
      demo: input.demo ?? false,
      nextSyncAt: input.nextSyncAt ?? null,
      webhookToken: newWebhookToken(),
    })
    .returning();
  return row!;
}

export async function listConnections(db: DbOrTx, accountId: number): Promise<ConnectionRow[]> {
  return db
    .select()
    .from(connections)
    .where(and(eq(connections.accountId, accountId), isNull(connections.disabledAt)))
    .orderBy(asc(connections.id));
}

export async function getConnection(
  db: DbOrTx,
  accountId: number,
  id: number,
): Promise<ConnectionRow | null> {
  const [row] = await db
    .select()
    .from(connections)
    .where(and(eq(connections.accountId, accountId), eq(connections.id, id)));
  return row ?? null;
}

/** A connection by id or by name, within the account. */
export async function findConnection(
  db: DbOrTx,
  accountId: number,
  ref: string,
): Promise<ConnectionRow | null> {
  if (/^\d+$/.test(ref)) {
    const byId = await getConnection(db, accountId, Number(ref));
    if (byId) return byId;
  }
  const [row] = await db
    .select()
    .from(connections)
    .where(and(eq(connections.accountId, accountId), eq(connections.name, ref)));
  return row ?? null;
}

export async function findConnectionByWebhookToken(db: DbOrTx, token: string): Promise<ConnectionRow | null> {
  const [row] = await db.select().from(connections).where(eq(connections.webhookToken, token));
  return row ?? null;
}

export async function updateConnection(
  db: DbOrTx,
  accountId: number,
  id: number,
  patch: Partial<typeof connections.$inferInsert>,
): Promise<ConnectionRow | null> {
  const [row] = await db
    .update(connections)
    .set({ ...patch, updatedAt: new Date() })
    .where(and(eq(connections.accountId, accountId), eq(connections.id, id)))
    .returning();
  return row ?? null;
}

export function connectionSecrets(box: SecretBox, c: ConnectionRow): Record<string, string> {
  return box.openJson(c.secretsEnc);
}
