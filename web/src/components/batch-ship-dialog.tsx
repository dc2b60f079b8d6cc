import { type ClipboardEvent, useEffect, useMemo, useState } from "react";
import { can } from "../access.ts";
import { ApiError, api, type OrderList, type OrderRow } from "../api.ts";
import { type MarketplaceInfo, marketplaceInfo, marketplaceName } from "../format.ts";
import { Dialog, ErrorText, StatusBadge, toast } from "./ui.tsx";

/** What /api/marketplaces says a seller can send besides shipping: statuses, messages on shipping. */
type SendInfo = MarketplaceInfo & {
  settableStatuses?: string[];
  shipmentExtras?: { id: string; label: string; settingKey: string }[];
};
const sendInfo = (id: string) => marketplaceInfo(id) as SendInfo | undefined;

/** Statuses where the goods have left: such orders are not marked shipped again from a batch. */
export const SHIPPED_STATUSES = new Set(["shipped", "delivered", "completed", "fulfilled"]);

export interface Planned {
  orderId: number;
  number: string;
  marketplace: string;
  calls: string[];
  replacesTracking?: string[];
}

/** Lines of pasted text, for filling a column: a spreadsheet column, one value a line. */
export function pastedColumn(text: string): string[] {
  return text
    .replace(/\r\n?/g, "\n")
    .split("\n")
    .map((l) => l.split("\t")[0]!.trim())
    .filter((l, i, all) => l !== "" || i < all.length - 1)
    .filter((l) => l !== "");
}

function PlanList({ plan }: { plan: Planned[] }) {
  return (
    <ul className="plan">
      {plan.map((p) => (
        <li key={`${p.orderId}-${p.calls.join()}`}>
          <strong>{p.number}</strong>
          {p.replacesTracking ? (
            <span className="warn"> replaces tracking {p.replacesTracking.join(", ")}</span>
          ) : null}
          <ul>
            {(p.calls.length ? p.calls : ["nothing to send"]).map((c) => (
              <li key={c}>{c}</li>
            ))}
          </ul>
        </li>
      ))}
    </ul>
  );
}

/** The confirmation step every batch action shares: what will be sent, a warning, Send. */
export function Review(props: {
  plan: Planned[];
  busy: boolean;
  error: unknown;
  onBack: () => void;
  onSend: (replace: boolean) => void;
}) {
  const replacing = props.plan.filter((p) => p.replacesTracking?.length);
  const [confirmed, setConfirmed] = useState(false);
  return (
    <div className="stack">
      <p>This will be sent:</p>
      <PlanList plan={props.plan} />
      {replacing.length ? (
        <div className="warning-box" role="alert">
          <strong>
            {replacing.length === 1
              ? `${replacing[0]!.number} is already shipped with tracking ${replacing[0]!.replacesTracking!.join(", ")}.`
              : `${replacing.length} orders are already shipped with other tracking.`}
          </strong>{" "}
          The marketplace keeps one tracking per order: the new number replaces it, and the buyer sees the new
          one.
          <label className="check">
            <input type="checkbox" checked={confirmed} onChange={(e) => setConfirmed(e.target.checked)} />
            Replace the tracking
          </label>
        </div>
      ) : null}
      <ErrorText error={props.error} />
      <div className="actions">
        <button type="button" onClick={props.onBack}>
          Back
        </button>
        <button
          type="button"
          className="primary"
          disabled={props.busy || (replacing.length > 0 && !confirmed)}
          onClick={() => props.onSend(replacing.length > 0)}
        >
          Send to marketplaces
        </button>
      </div>
    </div>
  );
}

/** Messages the selected orders' marketplaces offer on shipping (Drive Thru), once each. */
export function extrasOf(marketplaces: string[]) {
  const seen = new Map<string, { id: string; label: string; where: string[] }>();
  for (const m of marketplaces)
    for (const e of sendInfo(m)?.shipmentExtras ?? []) {
      const x = seen.get(e.id) ?? { id: e.id, label: e.label, where: [] };
      x.where.push(marketplaceName(m));
      seen.set(e.id, x);
    }
  return [...seen.values()];
}

async function loadRows(ids: number[]): Promise<OrderRow[]> {
  const res = await api<OrderList>(
    "GET",
    `/api/orders?ids=${ids.join(",")}&pageSize=500&sort=number&dir=asc`,
  );
  return res.orders;
}

/**
 * Mark many orders shipped, each with its own tracking: a table of the selected orders with one
 * tracking field each (paste a column of numbers into one field and it fills down). Orders already
 * shipped are left out (their tracking is replaced from the order itself, with a warning).
 */
export function BatchShipDialog(props: {
  orderIds: number[];
  onClose: () => void;
  onDone: () => void;
  /** Ship them as one parcel with one tracking instead. */
  onOneParcel?: () => void;
}) {
  const [rows, setRows] = useState<OrderRow[] | null>(null);
  const [tracking, setTracking] = useState<Record<number, string>>({});
  const [carriers, setCarriers] = useState<Record<number, string>>({});
  const [carrier, setCarrier] = useState("");
  const [shippedAt, setShippedAt] = useState(new Date().toISOString().slice(0, 10));
  const [setStatus, setSetStatus] = useState(true);
  const [extras, setExtras] = useState<Record<string, boolean>>({});
  const [plan, setPlan] = useState<Planned[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let live = true;
    void loadRows(props.orderIds)
      .then((r) => live && setRows(r))
      .catch((err) => live && setError(err));
    return () => {
      live = false;
    };
  }, [props.orderIds]);

  const open = useMemo(() => (rows ?? []).filter((r) => !SHIPPED_STATUSES.has(r.status)), [rows]);
  const left = (rows ?? []).filter((r) => SHIPPED_STATUSES.has(r.status));
  const available = extrasOf([...new Set(open.map((r) => r.marketplace))]);

  function paste(index: number, e: ClipboardEvent<HTMLInputElement>) {
    const values = pastedColumn(e.clipboardData.getData("text"));
    if (values.length < 2) return;
    e.preventDefault();
    const next = { ...tracking };
    values.forEach((v, i) => {
      const row = open[index + i];
      if (row) next[row.id] = v;
    });
    setTracking(next);
    const extra = values.length - (open.length - index);
    if (extra > 0)
      toast(`${extra} pasted number${extra === 1 ? "" : "s"} had no order left to go to`, "error");
  }

  const body = (replace: boolean, dryRun: boolean) => ({
    shipments: open.map((r) => {
      const t = (tracking[r.id] ?? "").trim();
      const c = (carriers[r.id] ?? "").trim() || carrier.trim();
      const link = /^https?:\/\//i.test(t);
      return {
        order: r.id,
        ...(c ? { carrier: c } : {}),
        ...(t ? (link ? { trackingUrl: t } : { trackingNumber: t }) : {}),
      };
    }),
    shippedAt,
    setStatus,
    ...(extras.drive_thru !== undefined ? { driveThru: extras.drive_thru } : {}),
    ...(replace ? { replaceTracking: true } : {}),
    dryRun,
  });

  async function review() {
    setBusy(true);
    setError(null);
    try {
      const res = await api<{ pushes: Planned[] }>("POST", "/api/fulfilment/ship-batch", body(false, true));
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
      await api("POST", "/api/fulfilment/ship-batch", body(replace, false));
      toast(
        `Marked ${open.length} order${open.length === 1 ? "" : "s"} shipped; sending to the marketplaces`,
      );
      props.onDone();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  return (
    <Dialog
      title={`Mark ${open.length || props.orderIds.length} orders shipped`}
      onClose={props.onClose}
      wide
    >
      {plan ? (
        <Review
          plan={plan}
          busy={busy}
          error={error}
          onBack={() => setPlan(null)}
          onSend={(r) => void send(r)}
        />
      ) : (
        <form
          className="stack batch-ship"
          onSubmit={(e) => {
            e.preventDefault();
            void review();
          }}
        >
          <div className="row-fields">
            <label>
              Carrier (all)
              <input
                value={carrier}
                onChange={(e) => setCarrier(e.target.value)}
                placeholder="DHL, Royal Mail, …"
              />
            </label>
            <label>
              Ship date
              <input type="date" value={shippedAt} onChange={(e) => setShippedAt(e.target.value)} />
            </label>
          </div>
          <p className="muted">
            One tracking number per order. Paste a column of numbers into the first field: they fill down in
            this order.
          </p>
          {rows === null && !error ? <p className="muted">Loading…</p> : null}
          {open.length ? (
            <div className="table-scroll">
              <table className="lines batch-table">
                <thead>
                  <tr>
                    <th>Order</th>
                    <th>Buyer</th>
                    <th>Status</th>
                    <th>Carrier</th>
                    <th>Tracking</th>
                  </tr>
                </thead>
                <tbody>
                  {open.map((r, i) => (
                    <tr key={r.id} data-order={r.number}>
                      <td className="mono">{r.number}</td>
                      <td>{r.buyerName ?? r.buyerUsername ?? "—"}</td>
                      <td>
                        <StatusBadge status={r.status} raw={r.rawStatus} />
                      </td>
                      <td>
                        <input
                          aria-label={`Carrier of ${r.number}`}
                          value={carriers[r.id] ?? ""}
                          placeholder={carrier || "—"}
                          onChange={(e) => setCarriers({ ...carriers, [r.id]: e.target.value })}
                        />
                      </td>
                      <td>
                        <input
                          aria-label={`Tracking of ${r.number}`}
                          className="mono"
                          placeholder="Tracking number or link"
                          value={tracking[r.id] ?? ""}
                          onPaste={(e) => paste(i, e)}
                          onChange={(e) => setTracking({ ...tracking, [r.id]: e.target.value })}
                        />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : rows ? (
            <p>Every selected order is already shipped.</p>
          ) : null}
          {left.length ? (
            <p className="muted">
              Already shipped, left out: {left.map((r) => r.number).join(", ")} (open an order to replace its
              tracking).
            </p>
          ) : null}
          <label className="check">
            <input type="checkbox" checked={setStatus} onChange={(e) => setSetStatus(e.target.checked)} />
            Set the marketplace's shipped status
          </label>
          {available.map((x) => (
            <label className="check" key={x.id}>
              <input
                type="checkbox"
                checked={extras[x.id] ?? false}
                onChange={(e) => setExtras({ ...extras, [x.id]: e.target.checked })}
              />
              {x.label} ({x.where.join(", ")})
            </label>
          ))}
          <ErrorText error={error} />
          <div className="actions">
            {props.onOneParcel ? (
              <button type="button" className="link" onClick={props.onOneParcel}>
                One parcel, one tracking…
              </button>
            ) : null}
            <span className="spacer" />
            <button type="button" onClick={props.onClose}>
              Cancel
            </button>
            <button type="submit" className="primary" disabled={busy || open.length === 0}>
              Review…
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}

/**
 * Tracking numbers from a CSV file (order number, carrier, tracking): checked all or nothing — a
 * bad line is named and nothing is sent — then reviewed and sent.
 */
export function TrackingImportDialog(props: { onClose: () => void; onDone: () => void }) {
  const [csv, setCsv] = useState("");
  const [fileName, setFileName] = useState<string | null>(null);
  const [setStatus, setSetStatus] = useState(true);
  const [plan, setPlan] = useState<Planned[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const body = (replace: boolean, dryRun: boolean) => ({
    csv,
    setStatus,
    ...(replace ? { replaceTracking: true } : {}),
    dryRun,
  });
  async function review() {
    if (!csv.trim()) {
      setError(new ApiError(400, "invalid_request", "Choose a CSV file (order number, carrier, tracking)"));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const res = await api<{ pushes: Planned[] }>(
        "POST",
        "/api/fulfilment/tracking-import",
        body(false, true),
      );
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
      const res = await api<{ pushes: Planned[] }>(
        "POST",
        "/api/fulfilment/tracking-import",
        body(replace, false),
      );
      toast(
        `Tracking for ${res.pushes.length} order${res.pushes.length === 1 ? "" : "s"} sent to the marketplaces`,
      );
      props.onDone();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }
  return (
    <Dialog title="Import tracking numbers" onClose={props.onClose} wide>
      {plan ? (
        <Review
          plan={plan}
          busy={busy}
          error={error}
          onBack={() => setPlan(null)}
          onSend={(r) => void send(r)}
        />
      ) : (
        <form
          className="stack"
          onSubmit={(e) => {
            e.preventDefault();
            void review();
          }}
        >
          <p className="muted">
            A CSV with one line per order: order number, carrier, tracking number (or link). A header line
            naming the columns is optional. Every line is checked first: if one is wrong, nothing is sent.
          </p>
          <label>
            CSV file
            <input
              type="file"
              accept=".csv,.txt,text/csv,text/plain"
              onChange={async (e) => {
                const f = e.target.files?.[0];
                setPlan(null);
                setError(null);
                if (!f) return;
                setFileName(f.name);
                setCsv(await f.text());
              }}
            />
          </label>
          {fileName ? (
            <p className="muted">
              {fileName}: {csv.split(/\r?\n/).filter((l) => l.trim()).length} lines
            </p>
          ) : null}
          <label className="check">
            <input type="checkbox" checked={setStatus} onChange={(e) => setSetStatus(e.target.checked)} />
            Set the marketplace's shipped status
          </label>
          <ErrorText error={error} />
          <div className="actions">
            <button type="button" onClick={props.onClose}>
              Cancel
            </button>
            <button type="submit" className="primary" disabled={busy}>
              Check the file…
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}

/**
 * Set a marketplace status on the selected orders: one choice per marketplace among them (each
 * marketplace has its own statuses), reviewed before anything is sent.
 */
export function SetStatusDialog(props: { orderIds: number[]; onClose: () => void; onDone: () => void }) {
  const [rows, setRows] = useState<OrderRow[] | null>(null);
  const [choice, setChoice] = useState<Record<string, string>>({});
  const [plan, setPlan] = useState<Planned[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    let live = true;
    void loadRows(props.orderIds)
      .then((r) => live && setRows(r))
      .catch((err) => live && setError(err));
    return () => {
      live = false;
    };
  }, [props.orderIds]);
  const groups = useMemo(() => {
    const by = new Map<string, OrderRow[]>();
    for (const r of rows ?? []) by.set(r.marketplace, [...(by.get(r.marketplace) ?? []), r]);
    return [...by.entries()].map(([m, list]) => ({
      marketplace: m,
      rows: list,
      statuses: sendInfo(m)?.settableStatuses ?? [],
    }));
  }, [rows]);
  const requests = groups
    .filter((g) => choice[g.marketplace])
    .map((g) => ({ orders: g.rows.map((r) => r.id), status: choice[g.marketplace]! }));

  async function run(dryRun: boolean): Promise<Planned[]> {
    const out: Planned[] = [];
    for (const r of requests)
      out.push(
        ...(await api<{ pushes: Planned[] }>("POST", "/api/fulfilment/status", { ...r, dryRun })).pushes,
      );
    return out;
  }
  return (
    <Dialog
      title={`Set status of ${props.orderIds.length} order${props.orderIds.length === 1 ? "" : "s"}`}
      onClose={props.onClose}
    >
      {plan ? (
        <Review
          plan={plan}
          busy={busy}
          error={error}
          onBack={() => setPlan(null)}
          onSend={async () => {
            setBusy(true);
            try {
              await run(false);
              toast(`Status sent for ${plan.length} order${plan.length === 1 ? "" : "s"}`);
              props.onDone();
            } catch (err) {
              setError(err);
              setBusy(false);
            }
          }}
        />
      ) : (
        <form
          className="stack"
          onSubmit={async (e) => {
            e.preventDefault();
            if (requests.length === 0) {
              setError(new ApiError(400, "invalid_request", "Choose a status"));
              return;
            }
            setBusy(true);
            setError(null);
            try {
              setPlan(await run(true));
            } catch (err) {
              setError(err);
            } finally {
              setBusy(false);
            }
          }}
        >
          {rows === null && !error ? <p className="muted">Loading…</p> : null}
          {groups.map((g) => {
            const what = `${marketplaceName(g.marketplace)} (${g.rows.length} order${g.rows.length === 1 ? "" : "s"})`;
            return g.statuses.length ? (
              <label key={g.marketplace}>
                {what}
                <select
                  value={choice[g.marketplace] ?? ""}
                  onChange={(e) => setChoice({ ...choice, [g.marketplace]: e.target.value })}
                >
                  <option value="">Leave as it is</option>
                  {g.statuses.map((s) => (
                    <option key={s} value={s}>
                      {s}
                    </option>
                  ))}
                </select>
              </label>
            ) : (
              <p key={g.marketplace} className="muted">
                {what}: takes no status updates
              </p>
            );
          })}
          <ErrorText error={error} />
          <div className="actions">
            <button type="button" onClick={props.onClose}>
              Cancel
            </button>
            <button type="submit" className="primary" disabled={busy || rows === null}>
              Review…
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}

/** An order held in Orderhub (by a rule or a person): why, and a way to release it for shipping. */
export function HoldNotice(props: {
  order: { id: number; number: string; onHold?: boolean; holdReason?: string | null };
  onChanged: () => void;
}) {
  const [busy, setBusy] = useState(false);
  if (!props.order.onHold) return null;
  return (
    <section className="hold-notice" role="status" aria-label="On hold">
      <strong>On hold</strong>
      {props.order.holdReason ? <span> — {props.order.holdReason}</span> : null}
      <span className="muted"> It is not shipped until it is released.</span>
      {can("orders.annotate") ? (
        <button
          type="button"
          className="small"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            try {
              await api("PATCH", `/api/orders/${props.order.id}`, { hold: false });
              toast(`${props.order.number} released`);
              props.onChanged();
            } catch (err) {
              toast(err instanceof Error ? err.message : String(err), "error");
            } finally {
              setBusy(false);
            }
          }}
        >
          Release
        </button>
      ) : null}
    </section>
  );
}
