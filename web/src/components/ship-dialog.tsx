import { useState } from "react";
import { api } from "../api.ts";
import { Dialog, ErrorText, toast } from "./ui.tsx";

interface Planned {
  orderId: number;
  number: string;
  marketplace: string;
  calls: string[];
}

/** Mark shipped: first shows what will be sent where (dry run), then sends on confirmation. */
export function ShipDialog(props: { orderIds: number[]; onClose: () => void; onDone: () => void }) {
  const [form, setForm] = useState({
    carrier: "",
    trackingNumber: "",
    shippedAt: new Date().toISOString().slice(0, 10),
    combine: false,
  });
  const [plan, setPlan] = useState<Planned[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const body = {
    orders: props.orderIds,
    ...(form.carrier ? { carrier: form.carrier } : {}),
    ...(form.trackingNumber ? { trackingNumber: form.trackingNumber } : {}),
    shippedAt: form.shippedAt,
    ...(form.combine ? { combine: true } : {}),
  };
  async function preview() {
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
  async function send() {
    setBusy(true);
    try {
      await api("POST", "/api/fulfilment/ship", body);
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
      title={`Mark ${props.orderIds.length} order${props.orderIds.length === 1 ? "" : "s"} shipped`}
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
            Ship date
            <input
              type="date"
              value={form.shippedAt}
              onChange={(e) => setForm({ ...form, shippedAt: e.target.value })}
            />
          </label>
          <label className="check">
            <input
              type="checkbox"
              checked={form.combine}
              onChange={(e) => setForm({ ...form, combine: e.target.checked })}
            />
            One parcel (the orders go to the same buyer)
          </label>
          <ErrorText error={error} />
          <div className="actions">
            <button type="button" onClick={props.onClose}>
              Cancel
            </button>
            <button type="submit" className="primary" disabled={busy}>
              Review…
            </button>
          </div>
        </form>
      ) : (
        <div className="stack">
          <p>This will be sent:</p>
          <ul className="plan">
            {plan.map((p) => (
              <li key={p.orderId}>
                <strong>{p.number}</strong>
                <ul>
                  {(p.calls.length ? p.calls : ["nothing to send (already shipped)"]).map((c) => (
                    <li key={c}>{c}</li>
                  ))}
                </ul>
              </li>
            ))}
          </ul>
          <ErrorText error={error} />
          <div className="actions">
            <button type="button" onClick={() => setPlan(null)}>
              Back
            </button>
            <button type="button" className="primary" disabled={busy} onClick={() => void send()}>
              Send to marketplaces
            </button>
          </div>
        </div>
      )}
    </Dialog>
  );
}
