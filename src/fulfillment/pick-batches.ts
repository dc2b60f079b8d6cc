import { and, asc, eq, inArray, isNull, type SQL, sql } from "drizzle-orm";
import { AppError, badRequest, notFound } from "../core/errors.ts";
import type { Db, DbOrTx } from "../db/connection.ts";
import {
  inventoryLots,
  orderEvents,
  orderLines,
  orders,
  pickBatches,
  pickBatchItems,
  pickBatchOrders,
  pickShortages,
  users,
} from "../db/schema.ts";
import { naturalCompare, toteLetter } from "../documents/text.ts";
import { hasAdapter, listManifests } from "../marketplaces/registry.ts";

/** A claim nobody renews runs out: a picker who walked away does not hold a lot for ever. */
export const CLAIM_TTL_MS = 5 * 60_000;
/** Orders one batch holds at most (a pick list of more is not walked in one go). */
export const MAX_BATCH_ORDERS = 1_000;

export type PickAction = "claim" | "release" | "pick" | "unpick" | "short";
export type ItemRow = typeof pickBatchItems.$inferSelect;
/** What a lot's view is made of. */
type ItemFields = Pick<
  ItemRow,
  | "id"
  | "version"
  | "lotId"
  | "location"
  | "itemType"
  | "itemNo"
  | "colorId"
  | "colorName"
  | "condition"
  | "name"
  | "image"
  | "quantity"
  | "breakdown"
  | "state"
  | "foundQty"
  | "claimedBy"
  | "claimedAt"
  | "doneBy"
>;

const conflict409 = (message: string, details: unknown = null) =>
  new AppError(409, "conflict", message, details);

function imageFor(
  marketplace: string,
  line: { itemType: string; itemNo: string | null; colorId: string | null; extra: unknown },
): string | null {
  const manifest = listManifests({ includeInternal: true }).find((m) => m.id === marketplace);
  if (!manifest?.itemImage) return null;
  try {
    return manifest.itemImage.url({
      itemType: line.itemType,
      itemNo: line.itemNo,
      colorId: line.colorId,
      extra: (line.extra ?? {}) as Record<string, unknown>,
    });
  } catch {
    return null;
  }
}

/** Every origin item pictures may come from (the web UI's content policy lists them). */
export function itemImageOrigins(): string[] {
  return [...new Set(listManifests({ includeInternal: true }).flatMap((m) => m.itemImage?.origins ?? []))];
}

function itemKey(l: {
  lotId: number | null;
  itemType: string;
  itemNo: string | null;
  name: string;
  colorId: string | null;
  condition: string;
  location: string | null;
}): string {
  if (l.lotId !== null) return `lot:${l.lotId}`;
  const parts = [l.itemType, l.itemNo ?? l.name, l.colorId ?? "", l.condition, l.location ?? ""];
  return `item:${parts.map((p) => p.trim().toLowerCase()).join("|")}`;
}

/** Walking order: by bin in natural order (no bin last), then item, colour, condition. */
export function walkingOrder<
  T extends {
    location: string | null;
    itemNo: string | null;
    name: string;
    colorName: string | null;
    condition: string;
  },
>(items: T[]): T[] {
  const cond = (c: string) => (c === "new" ? 0 : c === "used" ? 1 : 2);
  return [...items].sort((a, b) => {
    const la = a.location?.trim() || null;
    const lb = b.location?.trim() || null;
    if (la === null && lb !== null) return 1;
    if (la !== null && lb === null) return -1;
    return (
      (la !== null && lb !== null ? naturalCompare(la, lb) : 0) ||
      naturalCompare(a.itemNo ?? a.name, b.itemNo ?? b.name) ||
      naturalCompare(a.colorName ?? "", b.colorName ?? "") ||
      cond(a.condition) - cond(b.condition)
    );
  });
}

/**
 * Adds orders to the account's open pick batch of that name (made when none is open), giving
 * each new order the next tote letter and folding its lines into the batch's lots: each lot once,
 * with every order's share. Orders already in the batch are left as they are. One transaction;
 * adds to one batch run one after another (the batch row is locked).
 */
/** The lines of orders that are picked and packed (not removed, not digital), with their lot's location. */
function pickableLines(db: DbOrTx, accountId: number | string, orderCondition: SQL) {
  return db
    .select({
      id: orderLines.id,
      orderId: orderLines.orderId,
      lotId: orderLines.lotId,
      itemType: orderLines.itemType,
      itemNo: orderLines.itemNo,
      name: orderLines.name,
      colorId: orderLines.colorId,
      colorName: orderLines.colorName,
      condition: orderLines.condition,
      quantity: orderLines.quantity,
      shippedQty: orderLines.shippedQty,
      lineLocation: orderLines.location,
      lotLocation: inventoryLots.location,
      extra: orderLines.extra,
    })
    .from(orderLines)
    .leftJoin(inventoryLots, eq(inventoryLots.id, orderLines.lotId))
    .where(
      and(
        eq(orderLines.accountId, Number(accountId)),
        orderCondition,
        isNull(orderLines.removedAt),
        eq(orderLines.digital, false),
      ),
    );
}

export async function addOrdersToPickBatch(
  db: DbOrTx,
  accountId: string | number,
  batchName: string,
  orderIds: readonly (number | string)[],
  opts: { userId?: number | null; now?: Date } = {},
): Promise<{ batchId: number; added: number; created: boolean }> {
  const account = Number(accountId);
  if (!Number.isSafeInteger(account) || account <= 0)
    throw badRequest(`accountId: not an account id: ${accountId}`);
  const name = batchName.trim();
  if (!name) throw badRequest("name: a pick batch needs a name");
  if (name.length > 100) throw badRequest("name: at most 100 characters");
  const ids = [...new Set(orderIds.map(Number))];
  const bad = ids.filter((i) => !Number.isSafeInteger(i) || i <= 0);
  if (bad.length) throw badRequest(`orders: not order ids: ${bad.join(", ")}`);
  if (ids.length === 0) throw badRequest("orders: name at least one order");
  const now = opts.now ?? new Date();
  return db.transaction(async (tx) => {
    const inserted = await tx
      .insert(pickBatches)
      .values({ accountId: account, name, createdBy: opts.userId ?? null, createdAt: now, updatedAt: now })
      .onConflictDoNothing()
      .returning({ id: pickBatches.id });
    const [batch] = await tx
      .select({ id: pickBatches.id })
      .from(pickBatches)
      .where(
        and(
          eq(pickBatches.accountId, account),
          sql`lower(${pickBatches.name}) = ${name.toLowerCase()}`,
          eq(pickBatches.state, "open"),
        ),
      )
      .for("update");
    if (!batch) throw conflict409(`the pick batch "${name}" was finished meanwhile: try again`);
    const batchId = batch.id;

    const found = await tx
      .select({ id: orders.id, marketplace: orders.marketplace })
      .from(orders)
      .where(and(eq(orders.accountId, account), inArray(orders.id, ids)));
    const known = new Map(found.map((o) => [o.id, o.marketplace]));
    const missing = ids.filter((i) => !known.has(i));
    if (missing.length) throw notFound(`order${missing.length === 1 ? "" : "s"} ${missing.join(", ")}`);

    const present = await tx
      .select({ orderId: pickBatchOrders.orderId, position: pickBatchOrders.position })
      .from(pickBatchOrders)
      .where(eq(pickBatchOrders.batchId, batchId));
    const inBatch = new Set(present.map((p) => p.orderId));
    const fresh = ids.filter((i) => !inBatch.has(i));
    if (present.length + fresh.length > MAX_BATCH_ORDERS)
      throw badRequest(
        `orders: a pick batch holds at most ${MAX_BATCH_ORDERS} orders ("${name}" has ${present.length})`,
      );
    if (fresh.length === 0) return { batchId, added: 0, created: inserted.length > 0 };
    let next = present.reduce((m, p) => Math.max(m, p.position + 1), 0);
    const totes = new Map<number, string>();
    const rows = fresh.map((orderId) => {
      const position = next++;
      const tote = toteLetter(position);
      totes.set(orderId, tote);
      return { batchId, orderId, accountId: account, tote, position, addedAt: now };
    });
    await tx.insert(pickBatchOrders).values(rows);

    const lines = await pickableLines(tx, account, inArray(orderLines.orderId, fresh)).orderBy(
      asc(orderLines.orderId),
      asc(orderLines.position),
      asc(orderLines.id),
    );

    type Fold = Omit<typeof pickBatchItems.$inferInsert, "breakdown"> & {
      breakdown: { orderId: number; lineId: number; tote: string; quantity: number }[];
    };
    const folded = new Map<string, Fold>();
    for (const l of lines) {
      const qty = l.quantity - l.shippedQty;
      if (qty <= 0) continue;
      const location = l.lotLocation?.trim() || l.lineLocation?.trim() || null;
      const key = itemKey({ ...l, location });
      const share = { orderId: l.orderId, lineId: l.id, tote: totes.get(l.orderId)!, quantity: qty };
      const f = folded.get(key);
      if (f) {
        f.quantity += qty;
        f.breakdown.push(share);
        continue;
      }
      const marketplace = known.get(l.orderId)!;
      folded.set(key, {
        accountId: account,
        batchId,
        key,
        lotId: l.lotId,
        location,
        itemType: l.itemType,
        itemNo: l.itemNo,
        colorId: l.colorId,
        colorName: l.colorName,
        condition: l.condition,
        name: l.name,
        marketplace,
        image: hasAdapter(marketplace) ? imageFor(marketplace, l) : null,
        quantity: qty,
        breakdown: [share],
        updatedAt: now,
      });
    }
    const keys = [...folded.keys()];
    const existing = keys.length
      ? await tx
          .select()
          .from(pickBatchItems)
          .where(and(eq(pickBatchItems.batchId, batchId), inArray(pickBatchItems.key, keys)))
      : [];
    for (const e of existing) {
      const f = folded.get(e.key)!;
      folded.delete(e.key);
      // More to pick of a lot that was done: it is open again, for whoever takes it.
      await tx
        .update(pickBatchItems)
        .set({
          quantity: e.quantity + f.quantity,
          breakdown: [...e.breakdown, ...f.breakdown],
          state: "open",
          foundQty: null,
          doneBy: null,
          doneAt: null,
          version: e.version + 1,
          updatedAt: now,
        })
        .where(eq(pickBatchItems.id, e.id));
    }
    if (folded.size) await tx.insert(pickBatchItems).values([...folded.values()]);

    const all = await tx
      .select({
        id: pickBatchItems.id,
        walk: pickBatchItems.walk,
        location: pickBatchItems.location,
        itemNo: pickBatchItems.itemNo,
        name: pickBatchItems.name,
        colorName: pickBatchItems.colorName,
        condition: pickBatchItems.condition,
      })
      .from(pickBatchItems)
      .where(eq(pickBatchItems.batchId, batchId));
    const moves = walkingOrder(all)
      .map((it, walk) => ({ id: it.id, walk, was: it.walk }))
      .filter((m) => m.walk !== m.was)
      .map(({ id, walk }) => ({ id, walk }));
    if (moves.length)
      await tx.execute(sql`update pick_batch_items as i set walk = v.walk
        from jsonb_to_recordset(${JSON.stringify(moves)}::jsonb) as v(id bigint, walk integer)
        where i.id = v.id and i.batch_id = ${batchId}`);
    await tx.update(pickBatches).set({ updatedAt: now }).where(eq(pickBatches.id, batchId));
    return { batchId, added: fresh.length, created: inserted.length > 0 };
  });
}

export interface PickItemView {
  id: number;
  version: number;
  lotId: number | null;
  location: string | null;
  itemType: string;
  itemNo: string | null;
  colorId: string | null;
  colorName: string | null;
  condition: string;
  name: string;
  image: string | null;
  quantity: number;
  breakdown: { orderId: number; tote: string; quantity: number }[];
  state: "open" | "picked" | "short";
  foundQty: number | null;
  /** Who holds the lot now (an open lot someone claimed), and whether it is the viewer. */
  claimedBy: { id: number; name: string } | null;
  claimedByMe: boolean;
  doneBy: { id: number; name: string } | null;
}

function userName(u: { name: string | null; email: string } | undefined): string {
  return u?.name?.trim() || u?.email.split("@")[0] || "someone";
}

function claimLive(row: Pick<ItemRow, "claimedBy" | "claimedAt">, now: Date): boolean {
  return (
    row.claimedBy !== null && row.claimedAt !== null && now.getTime() - row.claimedAt.getTime() < CLAIM_TTL_MS
  );
}

async function userNames(db: DbOrTx, ids: (number | null)[]): Promise<Map<number, string>> {
  const wanted = [...new Set(ids.filter((i): i is number => i !== null))];
  if (!wanted.length) return new Map();
  const rows = await db
    .select({ id: users.id, name: users.name, email: users.email })
    .from(users)
    .where(inArray(users.id, wanted));
  return new Map(rows.map((r) => [r.id, userName(r)]));
}

function itemView(r: ItemFields, names: Map<number, string>, viewer: number | null, now: Date): PickItemView {
  const claimed = r.state === "open" && claimLive(r, now) ? r.claimedBy : null;
  return {
    id: r.id,
    version: r.version,
    lotId: r.lotId,
    location: r.location,
    itemType: r.itemType,
    itemNo: r.itemNo,
    colorId: r.colorId,
    colorName: r.colorName,
    condition: r.condition,
    name: r.name,
    image: r.image,
    quantity: r.quantity,
    breakdown: r.breakdown.map(({ orderId, tote, quantity }) => ({ orderId, tote, quantity })),
    state: r.state,
    foundQty: r.foundQty,
    claimedBy: claimed !== null ? { id: claimed, name: names.get(claimed) ?? "someone" } : null,
    claimedByMe: claimed !== null && claimed === viewer,
    doneBy: r.doneBy !== null ? { id: r.doneBy, name: names.get(r.doneBy) ?? "someone" } : null,
  };
}

export async function itemViews(db: DbOrTx, rows: ItemFields[], viewer: number | null, now: Date) {
  const names = await userNames(
    db,
    rows.flatMap((r) => [r.claimedBy, r.doneBy]),
  );
  return rows.map((r) => itemView(r, names, viewer, now));
}

async function batchRow(db: DbOrTx, accountId: number, batchId: number) {
  const [b] = await db
    .select()
    .from(pickBatches)
    .where(and(eq(pickBatches.accountId, accountId), eq(pickBatches.id, batchId)));
  if (!b) throw notFound(`pick batch ${batchId}`);
  return b;
}

/** A batch as pick mode shows it: its orders with tote letters, its lots in walking order, progress. */
export async function getPickBatch(
  db: DbOrTx,
  accountId: number,
  batchId: number,
  viewer: number | null,
  now: Date,
) {
  const b = await batchRow(db, accountId, batchId);
  const [orderRows, itemRows] = await Promise.all([
    db
      .select({
        orderId: pickBatchOrders.orderId,
        tote: pickBatchOrders.tote,
        position: pickBatchOrders.position,
        number: orders.number,
        marketplace: orders.marketplace,
        buyerName: orders.buyerName,
        buyerUsername: orders.buyerUsername,
        status: orders.status,
      })
      .from(pickBatchOrders)
      .innerJoin(orders, eq(orders.id, pickBatchOrders.orderId))
      .where(eq(pickBatchOrders.batchId, batchId))
      .orderBy(asc(pickBatchOrders.position)),
    // One JSON text for all the lots: turning hundreds of rows with a jsonb column each into objects
    // through the driver costs several times more than parsing the same data at once.
    db
      .select({
        items: sql<string>`coalesce(json_agg(json_build_array(${pickBatchItems.id}, ${pickBatchItems.version}, ${pickBatchItems.lotId}, ${pickBatchItems.location}, ${pickBatchItems.itemType}, ${pickBatchItems.itemNo}, ${pickBatchItems.colorId}, ${pickBatchItems.colorName}, ${pickBatchItems.condition}, ${pickBatchItems.name}, ${pickBatchItems.image}, ${pickBatchItems.quantity}, ${pickBatchItems.breakdown}, ${pickBatchItems.state}, ${pickBatchItems.foundQty}, ${pickBatchItems.claimedBy}, ${pickBatchItems.claimedAt}, ${pickBatchItems.doneBy}) order by ${pickBatchItems.walk}, ${pickBatchItems.id}), '[]')::text`,
      })
      .from(pickBatchItems)
      .where(eq(pickBatchItems.batchId, batchId)),
  ]);
  type Tuple = [
    number,
    number,
    number | null,
    string | null,
    string,
    string | null,
    string | null,
    string | null,
    string,
    string,
    string | null,
    number,
    ItemRow["breakdown"],
    ItemRow["state"],
    number | null,
    number | null,
    string | null,
    number | null,
  ];
  const rows: ItemFields[] = (JSON.parse(itemRows[0]?.items ?? "[]") as Tuple[]).map((t) => ({
    id: Number(t[0]),
    version: t[1],
    lotId: t[2] === null ? null : Number(t[2]),
    location: t[3],
    itemType: t[4],
    itemNo: t[5],
    colorId: t[6],
    colorName: t[7],
    condition: t[8],
    name: t[9],
    image: t[10],
    quantity: t[11],
    breakdown: t[12],
    state: t[13],
    foundQty: t[14],
    claimedBy: t[15] === null ? null : Number(t[15]),
    claimedAt: t[16] === null ? null : new Date(t[16]),
    doneBy: t[17] === null ? null : Number(t[17]),
  }));
  const items = await itemViews(db, rows, viewer, now);
  return {
    batch: { id: b.id, name: b.name, state: b.state, createdAt: b.createdAt, updatedAt: b.updatedAt },
    orders: orderRows.map(({ position: _p, ...o }) => o),
    items,
    progress: { done: items.filter((i) => i.state !== "open").length, total: items.length },
  };
}

/** Open batches first, then the latest finished ones, with their progress. */
export async function listPickBatches(db: DbOrTx, accountId: number) {
  const rows = await db
    .select({
      id: pickBatches.id,
      name: pickBatches.name,
      state: pickBatches.state,
      createdAt: pickBatches.createdAt,
      updatedAt: pickBatches.updatedAt,
      orders: sql<number>`(select count(*)::int from pick_batch_orders o where o.batch_id = ${pickBatches.id})`,
      total: sql<number>`(select count(*)::int from pick_batch_items i where i.batch_id = ${pickBatches.id})`,
      done: sql<number>`(select count(*)::int from pick_batch_items i where i.batch_id = ${pickBatches.id} and i.state <> 'open')`,
    })
    .from(pickBatches)
    .where(eq(pickBatches.accountId, accountId))
    .orderBy(sql`${pickBatches.state} = 'open' desc`, sql`${pickBatches.updatedAt} desc`)
    .limit(50);
  return rows;
}

export interface ItemActionInput {
  accountId: number;
  batchId: number;
  itemId: number;
  userId: number | null;
  action: PickAction;
  /** The version the picker saw: a change since then is refused (409) with the lot as it is now. */
  version: number;
  /** For a shortage: how many were found (less than the lot's quantity). */
  found?: number;
  note?: string | null;
  now: Date;
}

/**
 * Claims, releases, ticks, unticks or shorts one lot, if it is still as the picker saw it
 * (`version`) and nobody else holds it. A shortage is written on every order that gets less
 * (timeline) and on the lot (pick_shortages), filling totes A, B, C… with what was found.
 * When the last lot is done the batch is finished (its name is free for a new batch).
 */
export async function actOnPickItem(db: Db, input: ItemActionInput) {
  const { accountId, batchId, itemId, userId, action, now } = input;
  return db.transaction(async (tx) => {
    const b = await batchRow(tx, accountId, batchId);
    const [row] = await tx
      .select()
      .from(pickBatchItems)
      .where(and(eq(pickBatchItems.id, itemId), eq(pickBatchItems.batchId, batchId)));
    if (!row) throw notFound(`lot ${itemId} of pick batch ${batchId}`);
    const names = await userNames(tx, [row.claimedBy, row.doneBy]);
    const current = () => itemView(row, names, userId, now);
    const heldByOther = row.state === "open" && claimLive(row, now) && row.claimedBy !== userId;
    const who = (id: number | null) => (id !== null ? (names.get(id) ?? "someone") : "someone");
    if (b.state !== "open" && action !== "release")
      throw conflict409(`the pick batch "${b.name}" is finished`, { item: current() });
    if (row.version !== input.version) {
      const msg =
        row.state === "picked"
          ? `${who(row.doneBy)} already picked this lot`
          : row.state === "short"
            ? `${who(row.doneBy)} already reported this lot short`
            : heldByOther
              ? `${who(row.claimedBy)} is picking this lot`
              : "this lot changed meanwhile: look again";
      throw conflict409(msg, { item: current() });
    }
    const set: Partial<typeof pickBatchItems.$inferInsert> = { version: row.version + 1, updatedAt: now };
    const shortages: { orderId: number; lineId: number; tote: string; wanted: number; found: number }[] = [];
    switch (action) {
      case "claim":
      case "pick":
      case "short":
        if (row.state !== "open")
          throw conflict409(
            row.state === "picked"
              ? `${who(row.doneBy)} already picked this lot`
              : `${who(row.doneBy)} already reported this lot short`,
            { item: current() },
          );
        if (heldByOther) throw conflict409(`${who(row.claimedBy)} is picking this lot`, { item: current() });
        if (action === "claim") Object.assign(set, { claimedBy: userId, claimedAt: now });
        else if (action === "pick")
          Object.assign(set, {
            state: "picked",
            doneBy: userId,
            doneAt: now,
            claimedBy: null,
            claimedAt: null,
          });
        else {
          const found = input.found;
          if (found === undefined || !Number.isInteger(found) || found < 0 || found >= row.quantity)
            throw badRequest(
              `found: how many were found, 0 to ${row.quantity - 1} (the lot wants ${row.quantity})`,
            );
          let left = found;
          for (const share of row.breakdown) {
            const got = Math.min(left, share.quantity);
            left -= got;
            if (got < share.quantity)
              shortages.push({
                orderId: share.orderId,
                lineId: share.lineId,
                tote: share.tote,
                wanted: share.quantity,
                found: got,
              });
          }
          Object.assign(set, {
            state: "short",
            foundQty: found,
            doneBy: userId,
            doneAt: now,
            claimedBy: null,
            claimedAt: null,
          });
        }
        break;
      case "release":
        if (row.claimedBy !== userId)
          throw conflict409("this lot is not claimed by you", { item: current() });
        Object.assign(set, { claimedBy: null, claimedAt: null });
        break;
      case "unpick":
        if (row.state === "open") throw conflict409("this lot is not ticked", { item: current() });
        Object.assign(set, { state: "open", foundQty: null, doneBy: null, doneAt: null });
        break;
    }
    const [updated] = await tx
      .update(pickBatchItems)
      .set(set)
      .where(and(eq(pickBatchItems.id, itemId), eq(pickBatchItems.version, row.version)))
      .returning();
    if (!updated) throw conflict409("this lot changed meanwhile: look again", { item: current() });
    const source = userId !== null ? `user:${userId}` : "user";
    const itemText = [row.itemNo ?? row.name, row.colorName, row.condition].filter(Boolean).join(" ");
    if (shortages.length) {
      await tx.insert(pickShortages).values(
        shortages.map((s) => ({
          accountId,
          batchId,
          itemId,
          lotId: row.lotId,
          orderId: s.orderId,
          orderLineId: s.lineId,
          quantity: s.wanted - s.found,
          userId,
          note: input.note?.trim() || null,
          createdAt: now,
        })),
      );
      await tx.insert(orderEvents).values(
        shortages.map((s) => ({
          accountId,
          orderId: s.orderId,
          kind: "pick.shortage",
          source,
          at: now,
          detail: {
            batchId,
            batch: b.name,
            tote: s.tote,
            item: itemText,
            lotId: row.lotId,
            location: row.location,
            wanted: s.wanted,
            found: s.found,
            short: s.wanted - s.found,
            ...(input.note?.trim() ? { note: input.note.trim() } : {}),
          },
        })),
      );
    }
    if (action === "unpick" && row.state === "short") {
      const cleared = await tx
        .delete(pickShortages)
        .where(eq(pickShortages.itemId, itemId))
        .returning({ orderId: pickShortages.orderId });
      const orderIds = [...new Set(cleared.map((c) => c.orderId))];
      if (orderIds.length)
        await tx.insert(orderEvents).values(
          orderIds.map((orderId) => ({
            accountId,
            orderId,
            kind: "pick.shortage_cleared",
            source,
            at: now,
            detail: { batchId, batch: b.name, item: itemText, lotId: row.lotId },
          })),
        );
    }
    let finished = false;
    if (updated.state !== "open") {
      const [open] = await tx
        .select({ n: sql<number>`count(*)::int` })
        .from(pickBatchItems)
        .where(and(eq(pickBatchItems.batchId, batchId), eq(pickBatchItems.state, "open")));
      if ((open?.n ?? 0) === 0) {
        await tx
          .update(pickBatches)
          .set({ state: "done", updatedAt: now })
          .where(eq(pickBatches.id, batchId));
        finished = true;
      }
    }
    if (!finished) await tx.update(pickBatches).set({ updatedAt: now }).where(eq(pickBatches.id, batchId));
    const viewNames = await userNames(tx, [updated.claimedBy, updated.doneBy]);
    return { item: itemView(updated, viewNames, userId, now), finished, shortages: shortages.length };
  });
}

/**
 * The next open lot in walking order nobody else holds, claimed for this picker (who then holds
 * only that one). Null when none is left. Two pickers asking at once get different lots: the
 * claim is a conditional update on the version, and the loser takes the next.
 */
export async function claimNextPickItem(
  db: Db,
  input: { accountId: number; batchId: number; userId: number; now: Date },
): Promise<{ item: PickItemView | null; released: number[] }> {
  const { accountId, batchId, userId, now } = input;
  const b = await batchRow(db, accountId, batchId);
  if (b.state !== "open") return { item: null, released: [] };
  const expired = new Date(now.getTime() - CLAIM_TTL_MS);
  for (let attempt = 0; attempt < 20; attempt++) {
    const [mine] = await db
      .select()
      .from(pickBatchItems)
      .where(
        and(
          eq(pickBatchItems.batchId, batchId),
          eq(pickBatchItems.state, "open"),
          eq(pickBatchItems.claimedBy, userId),
          sql`${pickBatchItems.claimedAt} > ${expired}`,
        ),
      )
      .orderBy(asc(pickBatchItems.walk))
      .limit(1);
    if (mine) return { item: (await itemViews(db, [mine], userId, now))[0]!, released: [] };
    const [cand] = await db
      .select()
      .from(pickBatchItems)
      .where(
        and(
          eq(pickBatchItems.batchId, batchId),
          eq(pickBatchItems.state, "open"),
          sql`(${pickBatchItems.claimedBy} is null or ${pickBatchItems.claimedAt} <= ${expired})`,
        ),
      )
      .orderBy(asc(pickBatchItems.walk), asc(pickBatchItems.id))
      .limit(1);
    if (!cand) return { item: null, released: [] };
    const [won] = await db
      .update(pickBatchItems)
      .set({ claimedBy: userId, claimedAt: now, version: cand.version + 1, updatedAt: now })
      .where(and(eq(pickBatchItems.id, cand.id), eq(pickBatchItems.version, cand.version)))
      .returning();
    if (won) return { item: (await itemViews(db, [won], userId, now))[0]!, released: [] };
  }
  throw conflict409("the batch is changing too fast to claim a lot: try again");
}

/** Shortages recorded on a lot (newest first): which order, how many, who, when. */
export async function lotShortages(db: DbOrTx, accountId: number, lotId: number) {
  const [lot] = await db
    .select({ id: inventoryLots.id })
    .from(inventoryLots)
    .where(and(eq(inventoryLots.accountId, accountId), eq(inventoryLots.id, lotId)));
  if (!lot) throw notFound(`lot ${lotId}`);
  return db
    .select({
      id: pickShortages.id,
      batchId: pickShortages.batchId,
      orderId: pickShortages.orderId,
      number: orders.number,
      quantity: pickShortages.quantity,
      userId: pickShortages.userId,
      note: pickShortages.note,
      createdAt: pickShortages.createdAt,
    })
    .from(pickShortages)
    .innerJoin(orders, eq(orders.id, pickShortages.orderId))
    .where(and(eq(pickShortages.accountId, accountId), eq(pickShortages.lotId, lotId)))
    .orderBy(sql`${pickShortages.createdAt} desc`, sql`${pickShortages.id} desc`)
    .limit(200);
}

/** The code a line's own barcode carries: the Orderhub lot (item, colour, condition and bin in one). */
export const lotCode = (lotId: number) => `LOT-${lotId}`;

/**
 * An order as pack mode checks it: its live lines to confirm one by one, each with the codes a
 * scan of it may carry (the lot code; the item number, which pack mode takes where only one
 * unconfirmed line has it) and its picture.
 */
export async function packView(db: DbOrTx, accountId: number, orderId: number) {
  const [o] = await db
    .select({
      id: orders.id,
      number: orders.number,
      marketplace: orders.marketplace,
      status: orders.status,
      rawStatus: orders.rawStatus,
      buyerName: orders.buyerName,
      buyerUsername: orders.buyerUsername,
      shippingMethod: orders.shippingMethod,
      trackingNumbers: orders.trackingNumbers,
    })
    .from(orders)
    .where(and(eq(orders.accountId, accountId), eq(orders.id, orderId)));
  if (!o) throw notFound(`order ${orderId}`);
  const lines = await pickableLines(db, accountId, eq(orderLines.orderId, orderId)).orderBy(
    asc(orderLines.position),
    asc(orderLines.id),
  );
  return {
    order: o,
    lines: lines.map((l) => ({
      id: l.id,
      lotId: l.lotId,
      itemType: l.itemType,
      itemNo: l.itemNo,
      name: l.name,
      colorId: l.colorId,
      colorName: l.colorName,
      condition: l.condition,
      quantity: l.quantity,
      shippedQty: l.shippedQty,
      location: l.lotLocation?.trim() || l.lineLocation?.trim() || null,
      image: hasAdapter(o.marketplace) ? imageFor(o.marketplace, l) : null,
      codes: [...(l.lotId !== null ? [lotCode(l.lotId)] : []), ...(l.itemNo ? [l.itemNo] : [])],
    })),
  };
}

/** Every line of the order was confirmed by scan or tap: said on the order's timeline. */
export async function recordPackVerified(
  db: DbOrTx,
  input: {
    accountId: number;
    orderId: number;
    userId: number | null;
    lines: number;
    scanned: number;
    now: Date;
  },
) {
  await db.insert(orderEvents).values({
    accountId: input.accountId,
    orderId: input.orderId,
    kind: "pack.verified",
    source: input.userId !== null ? `user:${input.userId}` : "user",
    at: input.now,
    detail: { lines: input.lines, scanned: input.scanned, tapped: input.lines - input.scanned },
  });
}
