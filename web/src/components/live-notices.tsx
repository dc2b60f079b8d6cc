import { useEffect, useRef } from "react";
import { marketplaceName } from "../format.ts";
import { useLive } from "../live.ts";
import { toast } from "./ui.tsx";

/** New orders are told in one toast per this long, however many arrive ("5 new orders"). */
export const NEW_ORDERS_WINDOW_MS = 4_000;

/** What one toast says about the orders that arrived in a window. */
export function newOrdersText(arrived: { number: string; marketplace: string }[]): string {
  if (arrived.length === 1) return `New order ${arrived[0]!.number}`;
  const per = new Map<string, number>();
  for (const o of arrived) per.set(o.marketplace, (per.get(o.marketplace) ?? 0) + 1);
  const parts = per.size > 1 ? ` (${[...per].map(([m, n]) => `${n} ${marketplaceName(m)}`).join(", ")})` : "";
  return `${arrived.length} new orders${parts}`;
}

/**
 * What the live stream tells the seller wherever they are: new orders (batched), and what needs
 * them (a failed sync or push). A sync that simply ran — on the schedule, after a notice — says nothing.
 */
export function LiveNotices() {
  const pending = useRef<{ number: string; marketplace: string }[]>([]);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );
  useLive((e) => {
    if (e.type === "order.created") {
      pending.current.push({ number: String(e.number), marketplace: String(e.marketplace) });
      timer.current ??= setTimeout(() => {
        const arrived = pending.current;
        pending.current = [];
        timer.current = null;
        if (arrived.length) toast(newOrdersText(arrived));
      }, NEW_ORDERS_WINDOW_MS);
      return;
    }
    if (e.type === "sync.progress") {
      const state = String(e.state);
      if (state === "completed_with_errors")
        toast(
          `Sync finished with ${e.failed} failed order${e.failed === 1 ? "" : "s"} — see Integrations`,
          "error",
        );
      else if (state === "failed") toast("A sync failed — see Integrations", "error");
      return;
    }
    if (e.type === "push.updated" && e.state === "failed")
      toast("An update to a marketplace failed and needs you — see the order or Inventory", "error");
  });
  return null;
}
