import { and, asc, eq, ilike, inArray, isNotNull, max, or, sql } from "drizzle-orm";
import type { AppContext } from "../context.ts";
import { AppError, badRequest, notFound } from "../core/errors.ts";
import { bulkInsert } from "../db/bulk.ts";
import { connections, inventoryLedger, inventoryLots, listings, orders, outbox } from "../db/schema.ts";
import type { JobQueue } from "../jobs/queue.ts";
import { getAdapter } from "../marketplaces/registry.ts";
import type { AdapterContext, MarketplaceAdapter, MarketplaceLot, StockPort } from "../marketplaces/types.ts";
import { requestDispatch } from "../sync/outbox.ts";
import { withAdapter } from "../sync/session.ts";
import { queueStockPush, STOCK_KIND, writeLedger } from "./ledger.ts";
import { applyOrdersToStock } from "./stock.ts";
import { truthMarketplaces } from "./truth.ts";

async function withStockSession<T>(
  ctx: AppContext,
  accountId: number,
  connectionId: number,
  fn: (a: {
    adapter: MarketplaceAdapter<unknown>;
    stock: Exclude<StockPort, { mode: "none" }>;
    actx: AdapterContext;
    conn: typeof connections.$inferSelect;
  }) => Promise<T>,
): Promise<T> {
  const [conn] = await ctx.db
    .select()
    .from(connections)
    .where(and(eq(connections.accountId, accountId), eq(connections.id, connectionId)));
  if (!conn || conn.disabledAt) throw notFound("connection");
  const adapter = getAdapter(conn.marketplace);
  const stock = adapter.stock;
  if (stock.mode === "none" || adapter.manifest.capabilities.stockSource === "none")
    throw badRequest(`${adapter.manifest.displayName} keeps no store inventory to import`);
  return withAdapter(ctx, conn, "stock", (s) => fn({ adapter, stock, actx: s.actx, conn }));
}

export interface ImportResult {
  marketplace: string;
  lots: number;
  created: number;
  linked: number;
  updated: number;
  /** Lots that could not be linked to a BrickLink lot (none, or more than one candidate). */
  unlinked: {
    externalId: string;
    itemNo: string | null;
    colorName: string | null;
    condition: string;
    reason: string;
  }[];
}

/**
 * BrickLink: takes the store inventory (stock rooms included) as the lots, each lot's starting
 * quantity an "import" ledger row. BrickOwl: links its lots to those lots — by the BrickLink lot id
 * BrickOwl keeps (external lot id), else by item, colour and condition when exactly one lot fits;
 * anything else is listed, never guessed.
 */
export async function importInventory(
  ctx: AppContext,
  accountId: number,
  connectionId: number,
): Promise<ImportResult> {
  return withStockSession(ctx, accountId, connectionId, async ({ adapter, stock, actx, conn }) => {
    const isTruth = adapter.manifest.capabilities.stockSource === "truth";
    // Every order stored (or placed) before the store's quantities are read is already in them:
    // history for the lots taken from them, never taken off again.
    const takenAt = ctx.clock.now();
    const [newest] = await ctx.db.select({ id: max(orders.id) }).from(orders);
    const takenAfterOrder = Number(newest?.id ?? 0);
    const remote: MarketplaceLot[] = await stock.fetchInventory(actx);
    const truth = truthMarketplaces();
    const res: ImportResult = {
      marketplace: conn.marketplace,
      lots: remote.length,
      created: 0,
      linked: 0,
      updated: 0,
      unlinked: [],
    };
    // Known listings and (for linking) the BrickLink lots, read once; new rows written in bulk per chunk.
    const known = new Map(
      (await ctx.db.select().from(listings).where(eq(listings.connectionId, conn.id))).map((l) => [
        l.externalId,
        l,
      ]),
    );
    const blLots = isTruth
      ? new Map<string, number>()
      : new Map(
          (
            await ctx.db
              .select({ externalId: listings.externalId, lotId: listings.lotId })
              .from(listings)
              .where(and(eq(listings.accountId, accountId), inArray(listings.marketplace, truth.ids)))
          ).map((l) => [l.externalId, l.lotId]),
        );
    const now = ctx.clock.now();
    const CHUNK = 1000;
    for (let i = 0; i < remote.length; i += CHUNK) {
      await ctx.db.transaction(async (tx) => {
        const fresh: MarketplaceLot[] = [];
        for (const r of remote.slice(i, i + CHUNK)) {
          const k = known.get(r.externalId);
          if (k) {
            if (k.quantitySeen !== r.quantity || k.priceSeen !== r.price)
              await tx
                .update(listings)
                .set({ quantitySeen: r.quantity, priceSeen: r.price, syncedAt: now })
                .where(eq(listings.id, k.id));
            res.updated++;
          } else fresh.push(r);
        }
        if (fresh.length === 0) return;
        if (isTruth) {
          // Lots start with the truth's quantity, and an "import" ledger row says so.
          const ids = await bulkInsert(
            tx,
            inventoryLots,
            fresh.map((r) => ({
              accountId,
              itemType: r.itemType,
              itemNo: r.itemNo,
              colorId: r.colorId,
              colorName: r.colorName,
              condition: r.condition,
              completeness: r.completeness,
              name: r.name,
              location: r.location,
              quantity: r.quantity,
              reserved: 0,
              price: r.price,
              currency: conn.currency,
              description: r.description,
            })),
            { returning: ["id"] },
          );
          await bulkInsert(
            tx,
            listings,
            fresh.map((r, k) => ({
              accountId,
              lotId: Number(ids[k]!.id),
              connectionId: conn.id,
              marketplace: conn.marketplace,
              externalId: r.externalId,
              quantitySeen: r.quantity,
              priceSeen: r.price,
              syncedAt: now,
              stockBaselineAt: takenAt,
              stockBaselineOrderId: takenAfterOrder,
            })),
          );
          await bulkInsert(
            tx,
            inventoryLedger,
            fresh.map((r, k) => ({
              accountId,
              lotId: Number(ids[k]!.id),
              kind: "import" as const,
              quantityDelta: r.quantity,
              reservedDelta: 0,
              reason: `imported from ${adapter.manifest.displayName} lot ${r.externalId}`,
              dedupeKey: `import:${conn.id}:${r.externalId}`,
            })),
          );
          res.created += fresh.length;
          return;
        }
        // Another marketplace: link to a lot of the truth.
        const links: { lotId: number; r: MarketplaceLot }[] = [];
        for (const r of fresh) {
          let lotId: number | null = null;
          let reason = "";
          if (r.linkedExternalId) {
            lotId = blLots.get(r.linkedExternalId) ?? null;
            if (!lotId)
              reason = `its ${truth.name} lot ${r.linkedExternalId} is not in the ${truth.name} inventory`;
          } else {
            const candidates = r.itemNo
              ? await tx
                  .select({ id: inventoryLots.id })
                  .from(inventoryLots)
                  .where(
                    and(
                      eq(inventoryLots.accountId, accountId),
                      sql`lower(${inventoryLots.itemNo}) = ${r.itemNo.toLowerCase()}`,
                      r.colorName
                        ? sql`lower(${inventoryLots.colorName}) = ${r.colorName.toLowerCase()}`
                        : sql`true`,
                      eq(inventoryLots.condition, r.condition),
                    ),
                  )
                  .limit(2)
              : [];
            if (candidates.length === 1) lotId = candidates[0]!.id;
            else
              reason = candidates.length
                ? `more than one ${truth.name} lot fits: link it by hand`
                : `no ${truth.name} lot fits`;
          }
          if (lotId) links.push({ lotId, r });
          else
            res.unlinked.push({
              externalId: r.externalId,
              itemNo: r.itemNo,
              colorName: r.colorName,
              condition: r.condition,
              reason,
            });
        }
        await bulkInsert(
          tx,
          listings,
          links.map(({ lotId, r }) => ({
            accountId,
            lotId,
            connectionId: conn.id,
            marketplace: conn.marketplace,
            externalId: r.externalId,
            quantitySeen: r.quantity,
            priceSeen: r.price,
            syncedAt: now,
          })),
        );
        res.linked += links.length;
      });
    }
    // Orders already here hold stock too: open ones reserve it now (lines matched to the new lots).
    await applyExistingOrders(ctx, accountId);
    return res;
  });
}

/** Runs every open order of the account through the stock rules (after lots arrive or get linked). */
async function applyExistingOrders(ctx: AppContext, accountId: number): Promise<void> {
  const conns = await ctx.db.select().from(connections).where(eq(connections.accountId, accountId));
  for (const c of conns) {
    const open = await ctx.db
      .select({ id: orders.id })
      .from(orders)
      .where(
        and(
          eq(orders.connectionId, c.id),
          inArray(orders.status, ["pending", "processing", "on_hold", "problem", "needs_review"]),
        ),
      );
    for (let i = 0; i < open.length; i += 200) {
      await ctx.db.transaction((tx) =>
        applyOrdersToStock(
          tx,
          {
            accountId,
            marketplace: c.marketplace,
            connectionId: c.id,
            baselineAt: c.baselineAt,
            at: ctx.clock.now(),
          },
          open.slice(i, i + 200).map((o) => o.id),
        ),
      );
    }
  }
}

/** A lot by its id, or as `<marketplace>:<lot id there>` (bricklink:51234567). */
export async function findLot(ctx: AppContext, accountId: number, ref: string): Promise<number> {
  const m = /^([a-z]+):(.+)$/.exec(ref.trim());
  if (m) {
    const [l] = await ctx.db
      .select({ lotId: listings.lotId })
      .from(listings)
      .where(
        and(
          eq(listings.accountId, accountId),
          eq(listings.marketplace, m[1]!),
          eq(listings.externalId, m[2]!),
        ),
      );
    if (!l) throw notFound(`lot ${ref}`);
    return l.lotId;
  }
  if (!/^\d+$/.test(ref.trim()))
    throw badRequest(`lot: give a lot id or marketplace:lot id (bricklink:51234567), not "${ref}"`);
  const [l] = await ctx.db
    .select({ id: inventoryLots.id })
    .from(inventoryLots)
    .where(and(eq(inventoryLots.accountId, accountId), eq(inventoryLots.id, Number(ref))));
  if (!l) throw notFound(`lot ${ref}`);
  return l.id;
}

/** A counted change on the shelf (found 3 more, 2 damaged): a ledger row and pushes to every marketplace. */
/** The most one lot can hold (the quantity column is a 32-bit integer). */
const MAX_LOT_QUANTITY = 2_147_483_647;

export async function adjustLot(
  ctx: AppContext,
  queue: JobQueue | null,
  input: { accountId: number; userId: number | null; lotId: number; by: number; reason: string },
) {
  if (!Number.isInteger(input.by) || input.by === 0)
    throw badRequest("by: a whole number other than 0, such as +3 or -2");
  const lot = await ctx.db.transaction(async (tx) => {
    const [lot] = await tx
      .select()
      .from(inventoryLots)
      .where(and(eq(inventoryLots.accountId, input.accountId), eq(inventoryLots.id, input.lotId)))
      .for("update");
    if (!lot) throw notFound("lot");
    if (lot.quantity + input.by < 0)
      throw new AppError(
        409,
        "conflict",
        `lot ${lot.id} holds ${lot.quantity}: it cannot go down by ${-input.by}`,
      );
    if (lot.quantity + input.by > MAX_LOT_QUANTITY)
      throw new AppError(
        409,
        "conflict",
        `by: lot ${lot.id} holds ${lot.quantity}; it cannot hold more than ${MAX_LOT_QUANTITY}`,
      );
    await writeLedger(tx, {
      accountId: input.accountId,
      lotId: lot.id,
      kind: "adjust",
      quantityDelta: input.by,
      reservedDelta: 0,
      reason: input.reason || "adjusted",
      userId: input.userId,
    });
    await queueStockPush(tx, {
      accountId: input.accountId,
      lotId: lot.id,
      delta: input.by,
      reason: input.reason,
      at: ctx.clock.now(),
    });
    return lot;
  });
  if (queue) await requestDispatch(queue);
  return getLot(ctx, input.accountId, lot.id);
}

export async function getLot(ctx: AppContext, accountId: number, lotId: number) {
  const [lot] = await ctx.db
    .select()
    .from(inventoryLots)
    .where(and(eq(inventoryLots.accountId, accountId), eq(inventoryLots.id, lotId)));
  if (!lot) throw notFound("lot");
  const [ls, ledger, pushes] = await Promise.all([
    ctx.db.select().from(listings).where(eq(listings.lotId, lotId)),
    ctx.db
      .select()
      .from(inventoryLedger)
      .where(eq(inventoryLedger.lotId, lotId))
      .orderBy(asc(inventoryLedger.id)),
    ctx.db
      .select()
      .from(outbox)
      .where(and(eq(outbox.lotId, lotId), eq(outbox.kind, STOCK_KIND)))
      .orderBy(asc(outbox.id)),
  ]);
  return { lot, listings: ls, ledger, pushes };
}

export async function listLots(
  ctx: AppContext,
  accountId: number,
  q: { search?: string; flagged?: boolean; limit?: number; offset?: number },
) {
  const where = and(
    eq(inventoryLots.accountId, accountId),
    q.flagged ? isNotNull(inventoryLots.flaggedAt) : undefined,
    q.search
      ? or(
          ilike(inventoryLots.itemNo, `${q.search}%`),
          ilike(inventoryLots.name, `%${q.search}%`),
          ilike(inventoryLots.location, `${q.search}%`),
        )
      : undefined,
  );
  const rows = await ctx.db
    .select()
    .from(inventoryLots)
    .where(where)
    .orderBy(asc(inventoryLots.location), asc(inventoryLots.itemNo), asc(inventoryLots.id))
    .limit(q.limit ?? 100)
    .offset(q.offset ?? 0);
  const [n] = await ctx.db.select({ n: sql<number>`count(*)::int` }).from(inventoryLots).where(where);
  return { lots: rows, total: n?.n ?? 0 };
}
