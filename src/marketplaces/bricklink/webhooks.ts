import type { WebhookNotice } from "../types.ts";
import type { BrickLinkNotification } from "./types.ts";

/**
 * BrickLink's callback is an empty POST that means "look": the notifications list says which
 * orders changed. Messages and feedback name no order we sync, so they are left out.
 */
export function noticeFromNotifications(list: BrickLinkNotification[]): WebhookNotice {
  const ids = new Set<string>();
  for (const n of list) if (n.event_type.toLowerCase() === "order") ids.add(n.resource_id);
  return { externalOrderIds: [...ids] };
}
