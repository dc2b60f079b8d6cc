import { Fragment, useCallback, useEffect, useState } from "react";
import { api, type Connection, type SyncRun } from "../api.ts";
import { ErrorText } from "../components/ui.tsx";
import { duration, formatDateTime } from "../format.ts";
import { useLive } from "../live.ts";
import { useNewest } from "../newest.ts";
import { setParams, useLocation } from "../router.ts";

const STATE_TEXT: Record<string, string> = {
  queued: "Queued",
  running: "Running",
  completed: "Completed",
  completed_with_errors: "With errors",
  failed: "Failed",
  cancelled: "Cancelled",
};

/** Why a run started, in a seller's words. */
export const TRIGGER_TEXT: Record<string, string> = {
  schedule: "Schedule",
  manual: "Sync now",
  webhook: "Marketplace notice",
  refresh: "Order refresh",
  first_import: "First import",
  demo: "Demo store",
};

/** Every sync run: the audit trail of what was pulled, when, and what it cost. */
export function SyncLogPage() {
  const { search } = useLocation();
  const connectionId = search.get("connection");
  const [runs, setRuns] = useState<SyncRun[] | null>(null);
  const [conns, setConns] = useState<Connection[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [open, setOpen] = useState<number | null>(null);
  const begin = useNewest(connectionId ?? "");
  const load = useCallback(async () => {
    const answer = begin(connectionId ?? "");
    try {
      const q = new URLSearchParams({ limit: "200" });
      if (connectionId) q.set("connectionId", connectionId);
      const { runs } = await api<{ runs: SyncRun[] }>("GET", `/api/sync-runs?${q}`);
      if (!answer.accept()) return;
      setRuns(runs);
      setError(null);
    } catch (err) {
      if (answer.accept()) setError(err);
    }
  }, [connectionId, begin]);
  useEffect(() => {
    void load();
  }, [load]);
  useEffect(() => {
    void api<{ connections: Connection[] }>("GET", "/api/connections").then((r) => setConns(r.connections));
  }, []);
  useLive((e) => {
    if (e.type === "sync.progress") void load();
  });
  const name = (id: number) => conns.find((c) => c.id === id)?.name ?? `#${id}`;
  return (
    <div className="page">
      <div className="page-head">
        <h1>Sync log</h1>
        <label>
          <span className="sr-only">Connection</span>
          <select value={connectionId ?? ""} onChange={(e) => setParams({ connection: e.target.value })}>
            <option value="">All connections</option>
            {conns.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorText error={error} />
      <div className="table-wrap">
        <table className="runs">
          <thead>
            <tr>
              <th>Started</th>
              <th>Connection</th>
              <th>Trigger</th>
              <th>Mode</th>
              <th>Result</th>
              <th className="num">Orders</th>
              <th className="num">New</th>
              <th className="num">Updated</th>
              <th className="num">Skipped</th>
              <th className="num">Failed</th>
              <th className="num">API calls</th>
              <th className="num">Duration</th>
            </tr>
          </thead>
          <tbody>
            {(runs ?? []).map((r) => (
              <Fragment key={r.id}>
                <tr
                  className={r.error || r.failed ? "has-error" : ""}
                  onClick={() => setOpen(open === r.id ? null : r.id)}
                >
                  <td>{formatDateTime(r.startedAt ?? r.createdAt)}</td>
                  <td>{name(r.connectionId)}</td>
                  <td title={r.trigger}>{TRIGGER_TEXT[r.trigger] ?? r.trigger}</td>
                  <td>{r.mode}</td>
                  <td>
                    <span className={`run run-${r.state}`}>{STATE_TEXT[r.state] ?? r.state}</span>
                  </td>
                  <td className="num">{r.seen}</td>
                  <td className="num">{r.created}</td>
                  <td className="num">{r.updated}</td>
                  <td className="num">{r.skipped}</td>
                  <td className="num">{r.failed}</td>
                  <td className="num">{r.apiCalls}</td>
                  <td className="num">{duration(r.durationMs)}</td>
                </tr>
                {open === r.id && (r.error || r.failures.length) ? (
                  <tr className="detail">
                    <td colSpan={12}>
                      {r.error ? <p className="error">{r.error}</p> : null}
                      <ul>
                        {r.failures.map((f) => (
                          <li key={f.externalId}>
                            {f.externalId}: {f.reason}
                          </li>
                        ))}
                      </ul>
                    </td>
                  </tr>
                ) : null}
              </Fragment>
            ))}
            {runs && runs.length === 0 ? (
              <tr>
                <td colSpan={12} className="empty">
                  No sync has run yet.
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
    </div>
  );
}
