import { useCallback, useEffect, useState } from "react";
import { can } from "../access.ts";
import { api, type OrderDetail } from "../api.ts";
import { HoldNotice, SHIPPED_STATUSES } from "../components/batch-ship-dialog.tsx";
import { OrderTimeline, ReviewNotice } from "../components/order-timeline.tsx";
import { ShipDialog } from "../components/ship-dialog.tsx";
import { ErrorText, StatusBadge, toast } from "../components/ui.tsx";
import { formatDateTime, marketplaceName } from "../format.ts";
import { useLive } from "../live.ts";
import { useNewest } from "../newest.ts";
import { Charges, LotCell, ShipTo } from "./order-detail-parts.tsx";

export function OrderDrawer({ id, onClose }: { id: string; onClose: () => void }) {
  const [o, setO] = useState<OrderDetail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const begin = useNewest(id);
  const load = useCallback(async () => {
    const answer = begin(id);
    try {
      const { order } = await api<{ order: OrderDetail }>("GET", `/api/orders/${encodeURIComponent(id)}`);
      if (!answer.accept()) return;
      setO(order);
      setError(null);
    } catch (err) {
      if (answer.accept()) setError(err);
    }
  }, [id, begin]);
  useEffect(() => {
    setO(null);
    void load();
  }, [load]);
  useLive((e) => {
    if ((e.type === "order.updated" || e.type === "push.updated") && String(e.orderId) === id) void load();
  });

  const [shipping, setShipping] = useState(false);
  // A shipped order is not marked shipped again: its tracking can be replaced (with a warning).
  const shipped = o ? SHIPPED_STATUSES.has(o.status) : false;
  return (
    <aside className="drawer" aria-label={o ? `Order ${o.number}` : "Order"}>
      <div className="drawer-head">
        <h2>{o ? o.number : "Order"}</h2>
        <button type="button" className="icon" aria-label="Close order" onClick={onClose}>
          ×
        </button>
      </div>
      <ErrorText error={error} />
      {!o ? (
        <p className="muted">Loading…</p>
      ) : (
        <div className="drawer-body">
          <ReviewNotice order={o} onCleared={() => void load()} />
          <HoldNotice order={o} onChanged={() => void load()} />
          <section className="facts">
            <StatusBadge status={o.status} raw={o.rawStatus} review={o.needsReview} />
            <span>{marketplaceName(o.marketplace)}</span>
            <span>{formatDateTime(o.orderedAt)}</span>
            <span>Payment: {o.paymentStatus}</span>
            {o.updatedAt ? <span className="muted">Updated {formatDateTime(o.updatedAt)}</span> : null}
            <span className="actions-inline">
              {o.url ? (
                <a href={o.url} target="_blank" rel="noreferrer">
                  View on {marketplaceName(o.marketplace)}
                </a>
              ) : null}
              {can("orders.ship") ? (
                <button type="button" className="small" onClick={() => setShipping(true)}>
                  {shipped ? "Replace tracking…" : "Mark shipped…"}
                </button>
              ) : null}
              {can("orders.refresh") ? (
                <button
                  type="button"
                  className="small"
                  onClick={async () => {
                    try {
                      await api("POST", `/api/orders/${o.id}/refresh`);
                      toast(`Refreshing ${o.number} from ${marketplaceName(o.marketplace)}…`);
                    } catch (err) {
                      toast(err instanceof Error ? err.message : String(err), "error");
                    }
                  }}
                >
                  Refresh order
                </button>
              ) : null}
            </span>
          </section>
          <section className="two">
            <div>
              <h3>Buyer</h3>
              <p>
                {o.buyerName ?? "—"}
                {o.buyerUsername ? <span className="muted"> ({o.buyerUsername})</span> : null}
                <br />
                {o.buyerEmail ? <a href={`mailto:${o.buyerEmail}`}>{o.buyerEmail}</a> : null}
              </p>
              {o.buyerRemarks ? (
                <p className="remarks">
                  <strong>Remarks:</strong> {o.buyerRemarks}
                </p>
              ) : null}
            </div>
            <div>
              <ShipTo order={o} />
              <p className="muted">
                {o.shippingMethod ?? ""}
                {o.trackingNumbers.length ? ` · tracking ${o.trackingNumbers.join(", ")}` : ""}
              </p>
            </div>
          </section>
          <section>
            <h3>
              Items ({o.lines.filter((l) => !l.removedAt).length} lots,{" "}
              {o.lines.filter((l) => !l.removedAt).reduce((n, l) => n + l.quantity, 0)} items)
            </h3>
            <div className="table-wrap small">
              <table className="lines">
                <thead>
                  <tr>
                    <th>Location</th>
                    <th>Item</th>
                    <th>Colour</th>
                    <th>Cond.</th>
                    <th className="num">Qty</th>
                    <th className="num">Unit</th>
                    <th className="num">Total</th>
                  </tr>
                </thead>
                <tbody>
                  {o.lines
                    .filter((l) => !l.removedAt)
                    .map((l) => (
                      <tr key={l.id}>
                        <td>{l.location ?? "—"}</td>
                        <td>
                          <span className="mono">{l.itemNo}</span> {l.name}
                          <LotCell line={l} marketplace={o.marketplace} />
                        </td>
                        <td>{l.colorName ?? ""}</td>
                        <td>{l.condition}</td>
                        <td className="num">{l.quantity}</td>
                        <td className="num">{l.unitPrice.display}</td>
                        <td className="num">{l.lineTotal.display}</td>
                      </tr>
                    ))}
                </tbody>
              </table>
            </div>
          </section>
          <Charges order={o} />
          {o.shipments?.length ? (
            <section>
              <h3>Shipments</h3>
              <ul className="pushes">
                {o.shipments.map((sh) => (
                  <li key={sh.id} className={`push-${sh.push?.state ?? sh.state}`}>
                    <span className={`dot dot-${sh.push?.state ?? sh.state}`} aria-hidden="true" />
                    {formatDateTime(sh.shippedAt)} · {sh.carrier ? `${sh.carrier} ` : ""}
                    {sh.trackingUrl ? (
                      <a href={sh.trackingUrl} target="_blank" rel="noreferrer noopener">
                        {sh.trackingNumber ?? "tracking"}
                      </a>
                    ) : (
                      (sh.trackingNumber ?? "no tracking")
                    )}{" "}
                    — {sh.lines.map((l) => `${l.quantity} × ${l.name}`).join(", ")}
                    <span className="muted"> · {sh.push?.state ?? sh.state}</span>
                  </li>
                ))}
              </ul>
            </section>
          ) : null}
          {o.pushes.length ? (
            <section>
              <h3>Updates to {marketplaceName(o.marketplace)}</h3>
              <ul className="pushes">
                {o.pushes.map((p) => (
                  <li key={p.id} className={`push-${p.state}`}>
                    <span className={`dot dot-${p.state}`} aria-hidden="true" />
                    {p.action === "ship" ? "Shipment" : "Status"} — {p.state}
                    {p.lastError ? <span className="error"> · {p.lastError}</span> : null}
                    {p.state === "failed" && can("pushes.retry") ? (
                      <button
                        type="button"
                        className="small"
                        onClick={async () => {
                          await api("POST", `/api/pushes/${p.id}/retry`).catch((err) =>
                            toast(String(err), "error"),
                          );
                          void load();
                        }}
                      >
                        Retry
                      </button>
                    ) : null}
                  </li>
                ))}
              </ul>
            </section>
          ) : null}
          <OrderTimeline order={o} />
        </div>
      )}
      {shipping && o ? (
        <ShipDialog
          orderIds={[o.id]}
          replace={shipped}
          onClose={() => setShipping(false)}
          onDone={() => {
            setShipping(false);
            void load();
          }}
        />
      ) : null}
    </aside>
  );
}
