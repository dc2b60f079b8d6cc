import { useCallback, useEffect, useState } from "react";
import { can } from "../access.ts";
import { api, type Connection } from "../api.ts";
import { FileImportButton } from "../components/file-import.tsx";
import { Dialog, ErrorText, toast } from "../components/ui.tsx";
import { formatDateTime, marketplaceInfo, marketplaceName } from "../format.ts";
import { useLive } from "../live.ts";
import { useNewest } from "../newest.ts";

interface Lot {
  id: number;
  itemNo: string | null;
  name: string | null;
  colorName: string | null;
  condition: string;
  location: string | null;
  quantity: number;
  reserved: number;
  /** Why the last reconcile could not explain this lot (nothing was sent for it); null when in step. */
  flagReason: string | null;
  flaggedAt: string | null;
}

interface PushRow {
  id: number;
  kind: string;
  number?: string;
  action: string | null;
  marketplace: string | null;
  state: string;
  attempts: number;
  lastError: string | null;
}

interface LotDetail {
  lot: Lot;
  listings: {
    id: number;
    marketplace: string;
    externalId: string;
    quantitySeen: number | null;
    syncedAt: string | null;
  }[];
  ledger: {
    id: number;
    kind: string;
    quantityDelta: number;
    reservedDelta: number;
    reason: string;
    createdAt: string;
  }[];
  pushes: {
    id: number;
    status: string;
    lastError: string | null;
    payload: { marketplace: string; delta: number };
  }[];
}

interface ReconcileResult {
  checked: number;
  adopted: { lotId: number; externalId: string; was: number; now: number }[];
  explained: number;
  aligned: { lotId: number; marketplace: string; externalId: string; was: number; now: number }[];
  flagged: { lotId: number; marketplace: string; externalId: string; reason: string }[];
  unread: { connectionId: number; name: string; error: string }[];
  proposals: {
    create: { externalId: string; itemNo: string | null; colorName: string | null; quantity: number }[];
    delete: { lotId: number; externalId: string; itemNo: string | null; quantity: number }[];
  };
  applied: { created: number; deleted: number };
}

/** Lots with BrickLink as the truth: what is on the shelf, what moved it, and what still has to reach a marketplace. */
export function InventoryPage() {
  const [search, setSearch] = useState("");
  const [flaggedOnly, setFlaggedOnly] = useState(false);
  const [flaggedCount, setFlaggedCount] = useState(0);
  const [lots, setLots] = useState<{ lots: Lot[]; total: number } | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  const [pushes, setPushes] = useState<PushRow[]>([]);
  const [conns, setConns] = useState<Connection[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [reconciled, setReconciled] = useState<{ connectionId: number; result: ReconcileResult } | null>(
    null,
  );
  const [busy, setBusy] = useState(false);
  // What this user may do here comes from the permissions table (src/http/permissions.ts).
  const owner = can("inventory.manage");

  const view = `${flaggedOnly}:${search}`;
  const begin = useNewest(view);
  const load = useCallback(async () => {
    const answer = begin(view);
    try {
      const q = new URLSearchParams({ limit: "200" });
      if (search) q.set("search", search);
      if (flaggedOnly) q.set("flagged", "true");
      const [l, p, f, flagged] = await Promise.all([
        api<{ lots: Lot[]; total: number }>("GET", `/api/inventory/lots?${q}`),
        api<{ pushes: PushRow[] }>("GET", "/api/pushes?state=pending&limit=200"),
        api<{ pushes: PushRow[] }>("GET", "/api/pushes?state=failed&limit=200"),
        api<{ total: number }>("GET", "/api/inventory/lots?flagged=true&limit=1"),
      ]);
      if (!answer.accept()) return;
      setLots(l);
      setFlaggedCount(flagged.total);
      setPushes([...p.pushes, ...f.pushes].filter((x) => x.kind === "stock"));
      setError(null);
    } catch (err) {
      if (answer.accept()) setError(err);
    }
  }, [search, flaggedOnly, view, begin]);
  useEffect(() => {
    const t = setTimeout(() => void load(), 200);
    return () => clearTimeout(t);
  }, [load]);
  useEffect(() => {
    void api<{ connections: Connection[] }>("GET", "/api/connections").then((r) => setConns(r.connections));
  }, []);
  useLive((e) => {
    if (e.type === "push.updated" || e.type === "order.created" || e.type === "order.updated") void load();
  });
  // Reconcile runs against the connections whose inventory is the truth (BrickLink for brick sellers).
  const truth = conns.filter((c) => marketplaceInfo(c.marketplace)?.capabilities.stockSource === "truth");
  const truthName = truth[0] ? marketplaceName(truth[0].marketplace) : "the truth";

  async function run(path: string, body: object, done: (r: unknown) => void) {
    setBusy(true);
    try {
      done(await api("POST", path, body));
      void load();
    } catch (err) {
      toast(err instanceof Error ? err.message : String(err), "error");
    } finally {
      setBusy(false);
    }
  }

  const failed = pushes.filter((p) => p.state === "failed");
  return (
    <div className="page">
      <div className="page-head">
        <h1>Inventory</h1>
        {owner ? (
          <div className="actions">
            <FileImportButton disabled={busy} onDone={() => void load()} />
            {conns.map((c) => (
              <button
                key={c.id}
                type="button"
                disabled={busy}
                onClick={() =>
                  void run("/api/inventory/import", { connectionId: c.id }, (r) => {
                    const i = (r as { import: { created: number; linked: number; unlinked: unknown[] } })
                      .import;
                    toast(
                      `${c.name}: ${i.created} new lots, ${i.linked} linked, ${i.unlinked.length} not linked`,
                    );
                  })
                }
              >
                Import {c.name}
              </button>
            ))}
            {truth.map((c) => (
              <button
                key={`r${c.id}`}
                type="button"
                className="primary"
                disabled={busy}
                onClick={() =>
                  void run("/api/inventory/reconcile", { connectionId: c.id }, (r) =>
                    setReconciled({
                      connectionId: c.id,
                      result: (r as { reconcile: ReconcileResult }).reconcile,
                    }),
                  )
                }
              >
                Reconcile with {c.name}
              </button>
            ))}
          </div>
        ) : null}
      </div>
      <p className="muted">
        {lots ? `${lots.total.toLocaleString()} lots` : ""} · {pushes.length - failed.length} stock updates on
        their way
        {failed.length ? ` · ${failed.length} failed` : ""}
        {flaggedCount ? ` · ${flaggedCount} flagged by the reconcile` : ""}
      </p>
      {failed.length ? (
        <div className="problem" role="alert">
          <ul>
            {failed.map((p) => (
              <li key={p.id}>
                {marketplaceName(p.marketplace ?? "")} {p.action}: {p.lastError}{" "}
                {can("pushes.retry") ? (
                  <button
                    type="button"
                    className="small"
                    onClick={() => void run(`/api/pushes/${p.id}/retry`, {}, () => toast("Sent again"))}
                  >
                    Retry
                  </button>
                ) : null}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <ErrorText error={error} />
      <search>
        <label className="grow">
          <span className="sr-only">Search lots</span>
          <input
            type="search"
            placeholder="Item number, name or location"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
        </label>
      </search>
      <label className="check">
        <input type="checkbox" checked={flaggedOnly} onChange={(e) => setFlaggedOnly(e.target.checked)} />
        Flagged only{flaggedCount ? ` (${flaggedCount})` : ""}
      </label>
      <div className="table-wrap">
        <table className="lots">
          <thead>
            <tr>
              <th>Location</th>
              <th>Item</th>
              <th>Name</th>
              <th>Colour</th>
              <th>Cond.</th>
              <th className="num">For sale</th>
              <th className="num">Reserved</th>
            </tr>
          </thead>
          <tbody>
            {(lots?.lots ?? []).map((l) => (
              <tr key={l.id} className={open === l.id ? "open" : ""} onClick={() => setOpen(l.id)}>
                <td>{l.location ?? "—"}</td>
                <td className="mono">
                  {l.itemNo}
                  {l.flagReason ? (
                    <>
                      {" "}
                      <span className="badge badge-problem" title={l.flagReason}>
                        flagged
                      </span>
                    </>
                  ) : null}
                </td>
                <td>{l.name}</td>
                <td>{l.colorName}</td>
                <td>{l.condition}</td>
                <td className="num">{l.quantity}</td>
                <td className="num">{l.reserved}</td>
              </tr>
            ))}
            {lots && lots.lots.length === 0 ? (
              <tr>
                <td colSpan={7} className="empty">
                  {flaggedOnly
                    ? "No flagged lots: the last reconcile could explain every lot."
                    : `No lots yet. Import the ${truthName} store inventory to start.`}
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
      {open !== null ? <LotDrawer id={open} onClose={() => setOpen(null)} /> : null}
      {reconciled ? (
        <Dialog title={`Reconcile with ${truthName}`} onClose={() => setReconciled(null)} wide>
          <div className="stack">
            <p>
              {reconciled.result.checked} {truthName} lots checked. {reconciled.result.adopted.length} took{" "}
              {truthName}'s quantity; {reconciled.result.explained} wait for an update on its way.
            </p>
            {reconciled.result.adopted.length ? (
              <ul className="plan">
                {reconciled.result.adopted.map((a) => (
                  <li key={a.lotId}>
                    Lot {a.lotId} ({truthName} {a.externalId}): {a.was} → {a.now}
                  </li>
                ))}
              </ul>
            ) : null}
            {reconciled.result.aligned.length ? (
              <p>
                {reconciled.result.aligned.length} linked lots are being brought to {truthName}'s quantity:
              </p>
            ) : reconciled.result.flagged.length ? null : (
              <p>Every linked lot already shows {truthName}'s quantity.</p>
            )}
            {reconciled.result.aligned.length ? (
              <ul className="plan">
                {reconciled.result.aligned.map((a) => (
                  <li key={`a${a.marketplace}${a.externalId}`}>
                    Lot {a.lotId} ({marketplaceName(a.marketplace)} {a.externalId}): {a.was} → {a.now}
                  </li>
                ))}
              </ul>
            ) : null}
            {reconciled.result.flagged.length ? (
              <div className="problem" role="alert">
                <div>
                  <strong>{reconciled.result.flagged.length} flagged</strong> — nothing was sent for them:
                  <ul>
                    {reconciled.result.flagged.map((f) => (
                      <li key={`f${f.marketplace}${f.externalId}`}>
                        Lot {f.lotId} ({marketplaceName(f.marketplace)} {f.externalId}): {f.reason}
                      </li>
                    ))}
                  </ul>
                </div>
              </div>
            ) : null}
            {reconciled.result.unread.map((u) => (
              <p key={`u${u.connectionId}`} className="error">
                {u.name} could not be read ({u.error}): its lots were left as they are.
              </p>
            ))}
            {reconciled.result.proposals.create.length ||
            reconciled.result.proposals.delete.length ||
            reconciled.result.flagged.length ? (
              <>
                {reconciled.result.proposals.create.length || reconciled.result.proposals.delete.length ? (
                  <p>
                    <strong>Only on one side</strong> — nothing changes until you approve:
                  </p>
                ) : null}
                {reconciled.result.flagged.length ? (
                  <p>Approving also sets the flagged lots to {truthName}'s quantity, as you checked them.</p>
                ) : null}
                <ul className="plan">
                  {reconciled.result.proposals.create.map((c) => (
                    <li key={`c${c.externalId}`}>
                      New on {truthName}: lot {c.externalId} ({c.itemNo} {c.colorName}, {c.quantity}) — create
                      it here
                    </li>
                  ))}
                  {reconciled.result.proposals.delete.map((d) => (
                    <li key={`d${d.externalId}`}>
                      Gone from {truthName}: lot {d.externalId} ({d.itemNo}, {d.quantity}) — take it off sale
                      everywhere
                    </li>
                  ))}
                </ul>
                <div className="actions">
                  <button type="button" onClick={() => setReconciled(null)}>
                    Not now
                  </button>
                  <button
                    type="button"
                    className="primary"
                    disabled={busy}
                    onClick={() =>
                      void run(
                        "/api/inventory/reconcile",
                        { connectionId: reconciled.connectionId, approve: true },
                        (r) => {
                          const res = (r as { reconcile: ReconcileResult }).reconcile;
                          toast(
                            `Created ${res.applied.created}, took ${res.applied.deleted} off sale, ${res.aligned.length} linked lots set to ${truthName}'s quantity`,
                          );
                          setReconciled(null);
                        },
                      )
                    }
                  >
                    Approve
                  </button>
                </div>
              </>
            ) : (
              <div className="actions">
                <button type="button" onClick={() => setReconciled(null)}>
                  Done
                </button>
              </div>
            )}
          </div>
        </Dialog>
      ) : null}
    </div>
  );
}

function LotDrawer({ id, onClose }: { id: number; onClose: () => void }) {
  const [d, setD] = useState<LotDetail | null>(null);
  const [by, setBy] = useState("");
  const [reason, setReason] = useState("");
  const begin = useNewest(String(id));
  const load = useCallback(async () => {
    const answer = begin(String(id));
    const lot = await api<LotDetail>("GET", `/api/inventory/lots/${id}`);
    if (answer.accept()) setD(lot);
  }, [id, begin]);
  useEffect(() => {
    void load();
  }, [load]);
  useLive((e) => {
    if (e.type === "push.updated") void load();
  });
  return (
    <aside className="drawer" aria-label={`Lot ${id}`}>
      <div className="drawer-head">
        <h2>
          Lot {id} {d ? `· ${d.lot.itemNo ?? ""} ${d.lot.colorName ?? ""}` : ""}
        </h2>
        <button type="button" className="icon" aria-label="Close lot" onClick={onClose}>
          ×
        </button>
      </div>
      {d ? (
        <div className="drawer-body">
          <section className="facts">
            <span>
              <strong>{d.lot.quantity}</strong> for sale
            </span>
            <span>{d.lot.reserved} reserved</span>
            <span>Location {d.lot.location ?? "—"}</span>
          </section>
          {d.lot.flagReason ? (
            <div className="problem" role="alert">
              <p>
                <strong>Flagged</strong> by the reconcile of{" "}
                {d.lot.flaggedAt ? formatDateTime(d.lot.flaggedAt) : "—"}: {d.lot.flagReason}
              </p>
            </div>
          ) : null}
          <form
            className="filters"
            hidden={!can("inventory.adjust")}
            onSubmit={async (e) => {
              e.preventDefault();
              try {
                await api("POST", `/api/inventory/lots/${id}/adjust`, {
                  by: Number(by),
                  reason: reason || "adjusted",
                });
                setBy("");
                setReason("");
                toast("Adjusted; sending to the marketplaces");
                void load();
              } catch (err) {
                toast(err instanceof Error ? err.message : String(err), "error");
              }
            }}
          >
            <label>
              Change by
              <input
                value={by}
                onChange={(e) => setBy(e.target.value)}
                placeholder="+3 or -2"
                inputMode="numeric"
                required
              />
            </label>
            <label className="grow">
              Reason
              <input
                value={reason}
                onChange={(e) => setReason(e.target.value)}
                placeholder="counted, damaged, found…"
              />
            </label>
            <button type="submit" className="primary">
              Adjust
            </button>
          </form>
          <section>
            <h3>On the marketplaces</h3>
            <ul className="pushes">
              {d.listings.map((l) => (
                <li key={l.id}>
                  {marketplaceName(l.marketplace)} lot {l.externalId}: {l.quantitySeen ?? "?"} as last seen
                </li>
              ))}
              {d.pushes
                .filter((p) => p.status !== "sent")
                .map((p) => (
                  <li key={`p${p.id}`}>
                    <span
                      className={`dot dot-${p.status === "failed" ? "failed" : "pending"}`}
                      aria-hidden="true"
                    />
                    {marketplaceName(p.payload.marketplace)} {p.payload.delta > 0 ? "+" : ""}
                    {p.payload.delta}: {p.status}
                    {p.lastError ? <span className="error"> · {p.lastError}</span> : null}
                  </li>
                ))}
            </ul>
          </section>
          <section>
            <h3>Ledger</h3>
            <ol className="timeline">
              {d.ledger.map((r) => (
                <li key={r.id}>
                  <time dateTime={r.createdAt}>{formatDateTime(r.createdAt)}</time>
                  <span>
                    {r.kind} {r.quantityDelta ? `${r.quantityDelta > 0 ? "+" : ""}${r.quantityDelta}` : ""}
                    {r.reservedDelta ? ` (reserved ${r.reservedDelta > 0 ? "+" : ""}${r.reservedDelta})` : ""}{" "}
                    — {r.reason}
                  </span>
                  <span />
                </li>
              ))}
            </ol>
          </section>
        </div>
      ) : (
        <p className="muted">Loading…</p>
      )}
    </aside>
  );
}
