import { useState } from "react";
import { can } from "../access.ts";
import { api, type OrderDetail, type OrderEvent } from "../api.ts";
import { formatDateTime, marketplaceName, STATUS_LABELS } from "../format.ts";
import { toast } from "./ui.tsx";

const label = (s: string | null | undefined) => (s ? (STATUS_LABELS[s] ?? s) : "—");

const EVENT_TEXT: Record<string, (e: OrderEvent) => string> = {
  created: () => "Order imported",
  status_changed: (e) =>
    `${label(e.fromStatus)} → ${label(e.toStatus)}${e.rawStatus ? ` (${e.rawStatus})` : ""}`,
  status_refused: (e) =>
    `Reported ${label(e.toStatus)}${e.rawStatus ? ` (${e.rawStatus})` : ""} — older than ${label(e.fromStatus)}${
      e.detail.keptRawStatus ? ` (${String(e.detail.keptRawStatus)})` : ""
    }: kept ours, flagged for review`,
  review_cleared: (e) =>
    `Review cleared, kept ${label(String(e.detail.keptStatus ?? "") || null)}${
      e.detail.claimedRawStatus ? ` (the marketplace said ${String(e.detail.claimedRawStatus)})` : ""
    }`,
  ship_requested: ({ detail: d }) =>
    `Marked shipped${d.trackingNumber ? `, tracking ${d.trackingNumber}` : ""}${d.carrier ? ` (${d.carrier})` : ""}${
      Array.isArray(d.combinedWith) && d.combinedWith.length
        ? `, one parcel with ${d.combinedWith.join(", ")}`
        : ""
    }`,
  status_requested: ({ detail: d }) => `Asked the marketplace to set ${String(d.rawStatus)}`,
  push_sent: () => "The marketplace accepted the update",
  push_failed: ({ detail: d }) => `Update refused: ${String(d.reason)}`,
  automation: ({ detail: d }) => {
    const rule = (d.rule ?? {}) as { name?: string };
    return `Rule "${rule.name ?? "?"}": ${String(d.action)}${
      d.result === "skipped"
        ? ` — skipped (${String(d.detail ?? "")})`
        : d.detail
          ? ` — ${String(d.detail)}`
          : ""
    }`;
  },
  note: ({ detail: d }) =>
    `Note: ${d.internalNote ?? ""}${Array.isArray(d.tags) ? ` tags ${d.tags.join(", ")}` : ""}`,
};

function sourceText(s: string): string {
  if (s.startsWith("marketplace:")) return marketplaceName(s.slice(12));
  if (s.startsWith("user")) return "you";
  if (s.startsWith("rule:")) return "automation rule";
  return s;
}

/** An order's history, in the order Orderhub learnt of it; the marketplace's own time beside each of its events. */
export function OrderTimeline({ order }: { order: OrderDetail }) {
  return (
    <section>
      <h3>Timeline</h3>
      <ol className="timeline">
        {order.events.map((e) => {
          const theirs = e.marketplaceAt && e.marketplaceAt !== e.at ? e.marketplaceAt : null;
          // The marketplace's own event: its time says who it came from.
          const own = theirs !== null && e.source === `marketplace:${order.marketplace}`;
          return (
            <li key={e.id} className={`event-${e.kind}`}>
              <time dateTime={e.at} title="When Orderhub learnt it">
                {formatDateTime(e.at)}
              </time>
              <span>{EVENT_TEXT[e.kind]?.(e) ?? e.kind}</span>
              <span className="muted">
                {own ? null : sourceText(e.source)}
                {theirs ? (
                  <>
                    {own ? "" : " · "}
                    <time dateTime={theirs} className="marketplace-time" title="The marketplace's own time">
                      {marketplaceName(order.marketplace)}&rsquo;s time {formatDateTime(theirs)}
                    </time>
                  </>
                ) : null}
              </span>
            </li>
          );
        })}
      </ol>
    </section>
  );
}

/** The "Needs review" flag on an order: what the marketplace claimed, what Orderhub kept, and a way to clear it. */
export function ReviewNotice({ order, onCleared }: { order: OrderDetail; onCleared: () => void }) {
  const [busy, setBusy] = useState(false);
  if (!order.needsReview) return null;
  const r = order.review;
  const where = marketplaceName(order.marketplace);
  return (
    <section className="review-notice" role="status" aria-label="Needs review">
      <strong>Needs review.</strong>{" "}
      {r ? (
        <>
          {where} reported {r.claimedRawStatus} ({label(r.claimedStatus)})
          {r.marketplaceAt ? ` at ${formatDateTime(r.marketplaceAt)}` : ""}, older than {r.keptRawStatus} (
          {label(r.keptStatus)}) here. Orderhub kept {r.keptRawStatus}; check the order on {where}.
        </>
      ) : (
        "The marketplace reported an older status than Orderhub's; Orderhub kept its own."
      )}
      {can("orders.status") ? (
        <button
          type="button"
          className="small"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            try {
              await api("POST", `/api/orders/${order.id}/review/clear`);
              toast(`${order.number}: review cleared`);
              onCleared();
            } catch (err) {
              toast(err instanceof Error ? err.message : String(err), "error");
            } finally {
              setBusy(false);
            }
          }}
        >
          Clear review
        </button>
      ) : null}
    </section>
  );
}
