import { and, asc, eq, inArray } from "drizzle-orm";
import type { DbOrTx } from "../connection.ts";
import { connections, inventoryLots, listings } from "../schema.ts";

/** The stock lot an order line was matched to, with where that lot is listed on each marketplace. */
export interface LineLot {
  /** Orderhub's own lot id. */
  id: number;
  itemNo: string | null;
  colorName: string | null;
  condition: string;
  location: string | null;
  /** One per marketplace listing of the lot: the marketplace's own lot id (inventory id, lot id, SKU). */
  listings: { marketplace: string; connectionId: number; connectionName: string; externalId: string }[];
}

/** The lots behind these lot ids (those of order lines), with their listings, in two queries. */
export async function lotsByIds(
  db: DbOrTx,
  accountId: number,
  lotIds: (number | null)[],
): Promise<Map<number, LineLot>> {
  const ids = [...new Set(lotIds.filter((x): x is number => x !== null))];
  const out = new Map<number, LineLot>();
  if (ids.length === 0) return out;
  const [lots, links] = await Promise.all([
    db
      .select({
        id: inventoryLots.id,
        itemNo: inventoryLots.itemNo,
        colorName: inventoryLots.colorName,
        condition: inventoryLots.condition,
        location: inventoryLots.location,
      })
      .from(inventoryLots)
      .where(and(eq(inventoryLots.accountId, accountId), inArray(inventoryLots.id, ids))),
    db
      .select({
        lotId: listings.lotId,
        marketplace: listings.marketplace,
        connectionId: listings.connectionId,
        connectionName: connections.name,
        externalId: listings.externalId,
      })
      .from(listings)
      .innerJoin(connections, eq(connections.id, listings.connectionId))
      .where(and(eq(listings.accountId, accountId), inArray(listings.lotId, ids)))
      .orderBy(asc(listings.connectionId), asc(listings.id)),
  ]);
  for (const l of lots) out.set(Number(l.id), { ...l, id: Number(l.id), listings: [] });
  for (const { lotId, ...link } of links)
    out.get(Number(lotId))?.listings.push({ ...link, connectionId: Number(link.connectionId) });
  return out;
}
