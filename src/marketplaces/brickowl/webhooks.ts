import { MarketplaceError } from "../../core/errors.ts";
import type { NoticesPort } from "../types.ts";

const ID = /^\d{1,15}$/;

/**
 * BrickOwl's `order/notify` call-out: a plain GET naming `order_id` and `store_id`, nothing else —
 * no signature, so a notice is only ever a hint to fetch that one order (never a full sync), and it
 * counts only for the connection whose store id it names (learnt from token/details).
 */
export const brickowlNotices: NoticesPort = {
  style: "payload",
  verify(notice, connection) {
    const storeId = notice.query.store_id?.trim() ?? "";
    return connection.storeId !== null && storeId === connection.storeId;
  },
  parse(notice) {
    const orderId = notice.query.order_id?.trim() ?? "";
    const storeId = notice.query.store_id?.trim() ?? "";
    if (!ID.test(orderId) || !ID.test(storeId)) {
      throw new MarketplaceError("contract_changed", {
        marketplace: "brickowl",
        operation: "orderNotify",
        message: "order_id and store_id must be numbers",
        field: ID.test(orderId) ? "store_id" : "order_id",
      });
    }
    return { externalOrderIds: [orderId] };
  },
};
