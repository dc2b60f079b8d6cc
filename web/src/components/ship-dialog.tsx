import { useEffect, useState } from "react";
import { api } from "../api.ts";
import { marketplaceInfo } from "../format.ts";
import { extrasOf, Review } from "./batch-ship-dialog.tsx";
import { Dialog, ErrorText, toast } from "./ui.tsx";

interface Planned {
  orderId: number;
  number: string;
  marketplace: string;
  calls: string[];
  lines?: { lineId: number; externalLineId: string; quantity: number }[];
  replacesTracking?: string[];
}

/** What the dialog needs of one order: its lines and what its shipments already carry. */
interface ShipOrder {
  id: number;
  number: string;
  marketplace: string;
  status: string;
  lines: {
    id: number;
    name: string;
    itemNo: string | null;
    colorName: string | null;
    quantity: number;
    removedAt: string | null;
  }[];
  shipments: { lines: { lineId: number; quantity: number }[] }[];
}

/** Statuses where the marketplace says the goods have left: nothing is left to ship. */
const SHIPPED = new Set(["shipped", "delivered", "completed", "fulfilled"]);

function leftToShip(o: ShipOrder): Map<number, number> {
  const shipped = new Map<number, number>();
  for (const s of o.shipments)
    for (const l of s.lines) shipped.set(l.lineId, (shipped.get(l.lineId) ?? 0) + l.quantity);
  return new Map(
    o.lines.map((l) => [
      l.id,
      l.removedAt || SHIPPED.has(o.status) ? 0 : Math.max(0, l.quantity - (shipped.get(l.id) ?? 0)),
    ]),
  );
}

/**
 * Mark shipped: first shows what will be sent where (dry run), then sends on confirmation. For one
 * order of a marketplace that ships by line, the lines and quantities of this parcel can be chosen.
 */
export function ShipDialog(props: {
  orderIds: number[];
  onClose: () => void;
  onDone: () => void;
  /** A shipped order: send new tracking only (the review warns that it replaces the old). */
  replace?: boolean;
}) {
  const [form, setForm] = useState({
    carrier: "",
    trackingNumber: "",
    trackingUrl: "",
    shippedAt: new Date().toISOString().slice(0, 10),
    combine: false,
  });
  const [plan, setPlan] = useState<Planned[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [order, setOrder] = useState<ShipOrder | null>(null);
  const [qty, setQty] = useState<Record<number, number>>({});
  const [extras, setExtras] = useState<Record<string, boolean>>({});
  const single = props.orderIds.length === 1 ? props.orderIds[0]! : null;

  useEffect(() => {
    if (single === null) return;
    let live = true;
    void api<{ order: ShipOrder }>("GET", `/api/orders/${single}`)
      .then((o) => {
        if (!live) return;
        setOrder(o.order);
        setQty(Object.fromEntries(leftToShip(o.order)));
      })
      .catch((err) => live && setError(err));
    return () => {
      live = false;
    };
  }, [single]);

  // What the marketplace can do comes from GET /api/marketplaces (loaded at sign-in), never its name.
  const market = order ? marketplaceInfo(order.marketplace) : undefined;
  const byLine = order !== null && market?.capabilities.shipmentPush === "line";
  const left = order ? leftToShip(order) : new Map<number, number>();
  const chosen = byLine
    ? Object.entries(qty)
        .map(([id, q]) => ({ lineId: Number(id), quantity: q }))
        .filter((l) => l.quantity > 0)
    : [];
  const body = {
    orders: props.orderIds,
    ...(form.carrier ? { carrier: form.carrier } : {}),
    ...(form.trackingNumber ? { trackingNumber: form.trackingNumber } : {}),
    ...(form.trackingUrl ? { trackingUrl: form.trackingUrl } : {}),
    shippedAt: form.shippedAt,
    ...(form.combine ? { combine: true } : {}),
    ...(byLine ? { lines: chosen } : {}),
    ...(props.replace ? { setStatus: false } : {}),
    ...(extras.drive_thru !== undefined ? { driveThru: extras.drive_thru } : {}),
  };
  const available = order ? extrasOf([order.marketplace]) : [];
  async function preview() {
    if (byLine && chosen.length === 0) {
      setError(new Error("Choose at least one line for this parcel"));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const res = await api<{ pushes: Planned[] }>("POST", "/api/fulfilment/ship", { ...body, dryRun: true });
      setPlan(res.pushes);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  async function send(replace: boolean) {
    setBusy(true);
    try {
      await api("POST", "/api/fulfilment/ship", { ...body, ...(replace ? { replaceTracking: true } : {}) });
      toast(
        `Marked ${props.orderIds.length} order${props.orderIds.length === 1 ? "" : "s"} shipped; sending to the marketplaces`,
      );
      props.onDone();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }
  return (
    <Dialog
      title={
        props.replace
          ? `Replace the tracking of ${order?.number ?? "the order"}`
          : `Mark ${props.orderIds.length} order${props.orderIds.length === 1 ? "" : "s"} shipped`
      }
      onClose={props.onClose}
      wide
    >
      {!plan ? (
        <form
          className="stack"
          onSubmit={(e) => {
            e.preventDefault();
            void preview();
          }}
        >
          <label>
            Carrier
            <input
              value={form.carrier}
              onChange={(e) => setForm({ ...form, carrier: e.target.value })}
              placeholder="DHL, Royal Mail, …"
            />
          </label>
          <label>
            Tracking number
            <input
              value={form.trackingNumber}
              onChange={(e) => setForm({ ...form, trackingNumber: e.target.value })}
            />
          </label>
          <label>
            Tracking link
            <input
              type="url"
              pattern="https?://.+"
              title="An http:// or https:// link"
              value={form.trackingUrl}
              onChange={(e) => setForm({ ...form, trackingUrl: e.target.value })}
              placeholder="https://…"
            />
          </label>
          <label>
            Ship date
            <input
              type="date"
              value={form.shippedAt}
              onChange={(e) => setForm({ ...form, shippedAt: e.target.value })}
            />
          </label>
          {byLine && order ? (
            <fieldset className="ship-lines">
              <legend>Lines in this parcel</legend>
              <table className="lines">
                <thead>
                  <tr>
                    <th>Item</th>
                    <th>Ordered</th>
                    <th>Left to ship</th>
                    <th>In this parcel</th>
                  </tr>
                </thead>
                <tbody>
                  {order.lines
                    .filter((l) => !l.removedAt)
                    .map((l) => {
                      const max = left.get(l.id) ?? 0;
                      return (
                        <tr key={l.id}>
                          <td>
                            {l.name}
                            {l.colorName ? ` (${l.colorName})` : ""}
                            {l.itemNo ? <span className="muted"> {l.itemNo}</span> : null}
                          </td>
                          <td>{l.quantity}</td>
                          <td>{max}</td>
                          <td>
                            <input
                              type="number"
                              min={0}
                              max={max}
                              disabled={max === 0}
                              aria-label={`Quantity of ${l.name} in this parcel`}
                              value={qty[l.id] ?? 0}
                              onChange={(e) =>
                                setQty({
                                  ...qty,
                                  [l.id]: Math.max(0, Math.min(max, Math.trunc(Number(e.target.value) || 0))),
                                })
                              }
                            />
                          </td>
                        </tr>
                      );
                    })}
                </tbody>
              </table>
            </fieldset>
          ) : single !== null && order && market ? (
            <p className="muted">
              {market.capabilities.shipmentPush === "none"
                ? `${market.displayName} takes no shipment updates`
                : `${market.displayName} ships whole orders: the whole order is marked shipped`}
            </p>
          ) : single === null ? (
            <p className="muted">
              Ships whole orders. To ship part of an order, open it and mark it shipped from there.
            </p>
          ) : null}
          {props.replace
            ? null
            : available.map((x) => (
                <label className="check" key={x.id}>
                  <input
                    type="checkbox"
                    checked={extras[x.id] ?? false}
                    onChange={(e) => setExtras({ ...extras, [x.id]: e.target.checked })}
                  />
                  {x.label}
                </label>
              ))}
          {props.orderIds.length > 1 ? (
            <label className="check">
              <input
                type="checkbox"
                checked={form.combine}
                onChange={(e) => setForm({ ...form, combine: e.target.checked })}
              />
              One parcel (the orders go to the same buyer)
            </label>
          ) : null}
          <ErrorText error={error} />
          <div className="actions">
            <button type="button" onClick={props.onClose}>
              Cancel
            </button>
            <button
              type="submit"
              className="primary"
              disabled={busy || (single !== null && !order && !error)}
            >
              Review…
            </button>
          </div>
        </form>
      ) : (
        <Review
          plan={plan}
          busy={busy}
          error={error}
          onBack={() => setPlan(null)}
          onSend={(replace) => void send(replace)}
        />
      )}
    </Dialog>
  );
}
