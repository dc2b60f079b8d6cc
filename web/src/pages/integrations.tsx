import { type FormEvent, useCallback, useEffect, useRef, useState } from "react";
import { can } from "../access.ts";
import {
  api,
  type Budget,
  type Connection,
  FINAL_RUN_STATES,
  type Manifest,
  type SyncEstimate,
  type SyncRun,
} from "../api.ts";
import { CopyButton, Dialog, ErrorText, toast } from "../components/ui.tsx";
import { duration, formatDateTime, marketplaceInfo, marketplaceName, relative } from "../format.ts";

const listenerOf = (id: string) => marketplaceInfo(id)?.noticeListener ?? null;

import { useLive } from "../live.ts";

type Health = { kind: "syncing" | "error" | "stale" | "synced" | "ok" | "never"; text: string };

/** The status light of a card (seed 002): syncing, error, stale after 24 h, synced within the hour. */
export function health(c: Connection, now = Date.now()): Health {
  if (c.activeRun) return { kind: "syncing", text: "Syncing" };
  if (c.lastSyncState === "failed" || (c.lastError && c.lastSyncState !== "completed"))
    return { kind: "error", text: "Error" };
  if (!c.lastSyncAt) return { kind: "never", text: "Not synced yet" };
  const age = now - new Date(c.lastSyncAt).getTime();
  if (age > 24 * 3_600_000) return { kind: "stale", text: "Stale" };
  if (age < 3_600_000) return { kind: "synced", text: "Synced" };
  return { kind: "ok", text: "Synced" };
}

/** What the seller should do about the connection's last error. */
function errorAction(message: string): "reconnect" | "wait" | "retry" {
  if (/refused|credential|api key|token|signature|reconnect/i.test(message)) return "reconnect";
  if (/budget|rate limit|used up|waiting until/i.test(message)) return "wait";
  return "retry";
}

function BudgetChart({ budget }: { budget: Budget }) {
  const max = Math.max(1, ...budget.byHour.map((h) => h.calls));
  const w = 240;
  const h = 48;
  const bw = w / budget.byHour.length;
  const colors: Record<string, string> = {
    orders: "#2563eb",
    history: "#93c5fd",
    stock: "#16a34a",
    fulfilment: "#d97706",
    other: "#6b7280",
  };
  return (
    <svg
      className="chart"
      viewBox={`0 0 ${w} ${h + 12}`}
      role="img"
      aria-label="API calls per hour over the last 24 hours"
    >
      {budget.byHour.map((hr, i) => {
        let y = h;
        return (
          <g key={hr.hour}>
            <title>{`${new Date(hr.hour).getHours()}:00 — ${hr.calls} calls (${
              Object.entries(hr.byCategory)
                .filter(([, n]) => n)
                .map(([k, n]) => `${k} ${n}`)
                .join(", ") || "none"
            })`}</title>
            {Object.entries(hr.byCategory).map(([cat, n]) => {
              const bh = (n / max) * h;
              y -= bh;
              return n > 0 ? (
                <rect
                  key={cat}
                  x={i * bw + 1}
                  y={y}
                  width={bw - 2}
                  height={bh}
                  fill={colors[cat] ?? "#999"}
                />
              ) : null;
            })}
          </g>
        );
      })}
      <line x1="0" y1={h} x2={w} y2={h} stroke="#ccc" />
      <text x="0" y={h + 11} className="chart-label">
        24 h ago
      </text>
      <text x={w} y={h + 11} textAnchor="end" className="chart-label">
        now
      </text>
    </svg>
  );
}

export function IntegrationsPage() {
  const [list, setList] = useState<Connection[] | null>(null);
  const [manifests, setManifests] = useState<Manifest[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [runId, setRunId] = useState<number | null>(null);
  const [connecting, setConnecting] = useState<string | null>(null);
  const [reconnect, setReconnect] = useState<Connection | null>(null);
  const load = useCallback(async () => {
    try {
      setList((await api<{ connections: Connection[] }>("GET", "/api/connections")).connections);
      setError(null);
    } catch (err) {
      setError(err);
    }
  }, []);
  // Back from "Connect with …": the server stored the connection and started its first import.
  useEffect(() => {
    const q = new URLSearchParams(window.location.search);
    if (!q.has("connected")) return;
    toast("Connected: the first import is running");
    window.history.replaceState(null, "", window.location.pathname);
  }, []);
  useEffect(() => {
    void load();
    void api<{ marketplaces: Manifest[] }>("GET", "/api/marketplaces").then((r) =>
      setManifests(r.marketplaces),
    );
  }, [load]);
  useLive((e) => {
    if (e.type === "connection.updated" || e.type === "sync.progress") void load();
  });
  // What this user may do here comes from the permissions table (src/http/permissions.ts).
  const owner = can("connections.manage");
  const mayRun = can("sync.run");

  const [fullSync, setFullSync] = useState<Connection | null>(null);

  async function sync(c: Connection, mode: "incremental" | "full") {
    try {
      const r = await api<{ runId: number }>("POST", `/api/connections/${c.id}/sync`, { mode });
      setRunId(r.runId);
    } catch (err) {
      toast(err instanceof Error ? err.message : String(err), "error");
    }
  }

  return (
    <div className="page">
      <div className="page-head">
        <h1>Integrations</h1>
        {owner ? (
          <select
            aria-label="Connect a marketplace"
            value=""
            onChange={(e) => setConnecting(e.target.value || null)}
          >
            <option value="">Connect a marketplace…</option>
            {manifests.map((m) => (
              <option key={m.id} value={m.id}>
                {m.displayName}
              </option>
            ))}
          </select>
        ) : null}
      </div>
      <ErrorText error={error} />
      {list && list.length === 0 ? <p className="muted">No marketplace connected yet.</p> : null}
      <div className="cards">
        {(list ?? []).map((c) => {
          const h = health(c);
          const action = c.lastError ? errorAction(c.lastError) : null;
          return (
            <article key={c.id} className="card integration" aria-label={c.name}>
              <header>
                <span className={`light light-${h.kind}`} aria-hidden="true" />
                <div>
                  <h2>{c.name}</h2>
                  <span className="muted">
                    {c.displayName}
                    {c.storeName ? ` · ${c.storeName}` : ""}
                    {c.demo ? " · demo" : ""}
                  </span>
                </div>
                <span className={`health health-${h.kind}`}>{h.text}</span>
              </header>
              <dl>
                <dt>Orders synced</dt>
                <dd>{c.orderCount.toLocaleString()}</dd>
                <dt>Last sync</dt>
                <dd title={formatDateTime(c.lastSyncAt)}>{relative(c.lastSyncAt)}</dd>
                <dt>Next sync</dt>
                <dd title={formatDateTime(c.nextSyncAt)}>
                  {c.scheduleEnabled ? (c.nextSyncAt ? relative(c.nextSyncAt) : "soon") : "paused"}
                </dd>
                <dt>API budget today</dt>
                <dd>
                  {c.budget.usedToday.toLocaleString()} used
                  {c.budget.limit !== null
                    ? `, ${c.budget.remainingToday?.toLocaleString()} of ${c.budget.limit.toLocaleString()} left`
                    : ""}
                </dd>
                {c.details && c.details.pending > 0 ? (
                  <>
                    <dt>Waiting for details</dt>
                    <dd data-testid="details-backlog">
                      {c.details.pending.toLocaleString()} orders listed, lines and address to come
                      {" · "}
                      {!c.details.estimatedDoneAt
                        ? "not at this budget and schedule: raise the daily budget"
                        : new Date(c.details.estimatedDoneAt).getTime() <= Date.now()
                          ? "with the next sync"
                          : `done ${relative(c.details.estimatedDoneAt)} at this budget (${formatDateTime(c.details.estimatedDoneAt)})`}
                    </dd>
                  </>
                ) : null}
              </dl>
              <BudgetChart budget={c.budget} />
              {c.webhookUrl ? (
                <div className="webhook">
                  <span className="muted">Push notification URL</span>
                  <code>{c.webhookUrl}</code>
                  <CopyButton text={c.webhookUrl} />
                </div>
              ) : null}
              {listenerOf(c.marketplace) ? (
                <p className="muted small-text">
                  New-order notifications: {marketplaceName(c.marketplace)} calls port{" "}
                  {listenerOf(c.marketplace)!.defaultPort} — start Orderhub with --notify-port{" "}
                  {listenerOf(c.marketplace)!.defaultPort} and register this machine's address with{" "}
                  {marketplaceName(c.marketplace)}. Polling runs regardless.
                </p>
              ) : null}
              {c.lastError ? (
                <div className={`problem problem-${action}`} role="alert">
                  <p>{c.lastError}</p>
                  {action === "reconnect" && owner ? (
                    <button type="button" onClick={() => setReconnect(c)}>
                      Reconnect
                    </button>
                  ) : action === "retry" && mayRun ? (
                    <button type="button" onClick={() => void sync(c, "incremental")}>
                      Retry
                    </button>
                  ) : null}
                </div>
              ) : null}
              <footer>
                {c.activeRun ? (
                  <button type="button" className="primary" onClick={() => setRunId(c.activeRun!.id)}>
                    Show progress
                  </button>
                ) : mayRun ? (
                  <>
                    <button type="button" className="primary" onClick={() => void sync(c, "incremental")}>
                      Sync now
                    </button>
                    <button type="button" onClick={() => setFullSync(c)}>
                      Full sync
                    </button>
                  </>
                ) : null}
                {owner ? (
                  <button
                    type="button"
                    className="danger link"
                    onClick={async () => {
                      if (!confirm(`Disconnect ${c.name}? Its orders stay; it stops syncing.`)) return;
                      await api("DELETE", `/api/connections/${c.id}`).catch((err) =>
                        toast(String(err), "error"),
                      );
                      void load();
                    }}
                  >
                    Disconnect
                  </button>
                ) : null}
              </footer>
            </article>
          );
        })}
      </div>
      {runId !== null ? <SyncDialog runId={runId} onClose={() => setRunId(null)} onRun={setRunId} /> : null}
      {fullSync ? (
        <FullSyncDialog
          connection={fullSync}
          onClose={() => setFullSync(null)}
          onStart={() => {
            const c = fullSync;
            setFullSync(null);
            void sync(c, "full");
          }}
        />
      ) : null}
      {connecting ? (
        <ConnectDialog
          manifest={manifests.find((m) => m.id === connecting)!}
          onClose={() => setConnecting(null)}
          onDone={(runIdAfter) => {
            setConnecting(null);
            void load();
            if (runIdAfter) setRunId(runIdAfter);
          }}
        />
      ) : null}
      {reconnect ? (
        <ConnectDialog
          manifest={manifests.find((m) => m.id === reconnect.marketplace)!}
          existing={reconnect}
          onClose={() => setReconnect(null)}
          onDone={() => {
            setReconnect(null);
            void load();
          }}
        />
      ) : null}
    </div>
  );
}

/** A full sync fetches every order again: what it costs in API calls, asked before it starts. */
function FullSyncDialog(props: { connection: Connection; onClose: () => void; onStart: () => void }) {
  const c = props.connection;
  const [estimate, setEstimate] = useState<SyncEstimate | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api<{ estimate: SyncEstimate }>("GET", `/api/connections/${c.id}/sync-estimate?mode=full`)
      .then((r) => setEstimate(r.estimate))
      .catch(setError);
  }, [c.id]);
  return (
    <Dialog title={`Full sync of ${c.name}?`} onClose={props.onClose}>
      <div className="stack">
        <ErrorText error={error} />
        {estimate ? (
          <p data-testid="full-sync-cost">
            A full sync fetches all {estimate.orders.toLocaleString()} orders again: about{" "}
            <strong>{estimate.calls.toLocaleString()} API calls</strong>
            {estimate.remainingToday !== null
              ? ` — ${estimate.remainingToday.toLocaleString()} of today's ${estimate.dailyLimit?.toLocaleString()} are left${
                  estimate.extraDays ? `; it needs ${estimate.extraDays} more day(s) of budget` : ""
                }`
              : ""}
            . A normal sync only fetches new and changed orders.
          </p>
        ) : !error ? (
          <p className="muted">Working out what it costs…</p>
        ) : null}
        <div className="actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="button" className="primary" disabled={!estimate} onClick={props.onStart}>
            Start full sync
          </button>
        </div>
      </div>
    </Dialog>
  );
}

/** Live progress, then the result: success, or partial with the failed orders and Retry failed. */
export function SyncDialog({
  runId,
  onClose,
  onRun,
}: {
  runId: number;
  onClose: () => void;
  onRun: (id: number) => void;
}) {
  const [run, setRun] = useState<SyncRun | null>(null);
  const [showErrors, setShowErrors] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(async () => {
    try {
      setRun((await api<{ run: SyncRun }>("GET", `/api/sync-runs/${runId}`)).run);
    } catch (err) {
      setError(err);
    }
  }, [runId]);
  useEffect(() => {
    void load();
    const t = setInterval(() => void load(), 1000);
    return () => clearInterval(t);
  }, [load]);
  useLive((e) => {
    if (e.type === "sync.progress" && e.runId === runId) void load();
  });
  const done = run ? FINAL_RUN_STATES.includes(run.state) : false;
  const total = run?.total ?? null;
  const pct = run && total ? Math.min(100, Math.round((run.seen / total) * 100)) : null;
  const title = !run
    ? "Sync"
    : !done
      ? "Syncing orders"
      : run.state === "completed"
        ? "Sync complete"
        : run.state === "completed_with_errors"
          ? "Sync finished with errors"
          : run.state === "cancelled"
            ? "Sync cancelled"
            : "Sync failed";
  return (
    <Dialog title={title} onClose={onClose}>
      <ErrorText error={error} />
      {run ? (
        <div className="stack">
          {!done ? (
            <>
              <div
                className="progress"
                role="progressbar"
                aria-valuemin={0}
                aria-valuemax={total ?? undefined}
                aria-valuenow={run.seen}
                aria-label="Orders processed"
              >
                <div
                  style={pct === null ? undefined : { width: `${pct}%` }}
                  className={pct === null ? "indeterminate" : ""}
                />
              </div>
              <p className="progress-text">
                {run.seen.toLocaleString()} / {total !== null ? total.toLocaleString() : "?"} orders
                {pct !== null ? <span className="muted"> · {pct}%</span> : null}
              </p>
              {run.waitingUntil ? (
                <p className="muted">
                  Waiting for the marketplace's API budget until {formatDateTime(run.waitingUntil)}
                </p>
              ) : null}
            </>
          ) : null}
          {done ? (
            <p>
              {run.state === "completed"
                ? "Orders synced successfully."
                : run.state === "completed_with_errors"
                  ? "Most orders synced, but some could not be."
                  : run.state === "cancelled"
                    ? "The sync was cancelled; the next one picks up the rest."
                    : "The sync could not finish."}{" "}
              Total processed: {(run.seen - run.failed).toLocaleString()} / {run.seen.toLocaleString()}{" "}
              orders.
            </p>
          ) : null}
          <p className="counters">
            <span>Created {run.created}</span>
            <span>Updated {run.updated}</span>
            <span>Skipped {run.skipped}</span>
            <span className={run.failed ? "error" : ""}>Failed {run.failed}</span>
            <span className="muted">{run.apiCalls} API calls</span>
            {done ? <span className="muted">{duration(run.durationMs)}</span> : null}
          </p>
          {run.error ? <p className="error">{run.error}</p> : null}
          {done && run.failures.length ? (
            <>
              <button type="button" className="link" onClick={() => setShowErrors((x) => !x)}>
                {showErrors ? "Hide errors" : `View errors (${run.failures.length})`}
              </button>
              {showErrors ? (
                <ul className="failures">
                  {run.failures.map((f) => (
                    <li key={f.externalId}>
                      <strong>{f.externalId}</strong>: {f.reason}
                    </li>
                  ))}
                </ul>
              ) : null}
            </>
          ) : null}
          <div className="actions">
            {!can("sync.run") ? null : !done ? (
              <button
                type="button"
                disabled={run.cancelRequested}
                onClick={async () => {
                  await api("POST", `/api/sync-runs/${run.id}/cancel`).catch((err) => setError(err));
                  void load();
                }}
              >
                {run.cancelRequested ? "Cancelling…" : "Cancel"}
              </button>
            ) : (
              <>
                {run.failures.length ? (
                  <button
                    type="button"
                    className="primary"
                    onClick={async () => {
                      try {
                        const r = await api<{ runId: number }>(
                          "POST",
                          `/api/sync-runs/${run.id}/retry-failed`,
                        );
                        onRun(r.runId);
                      } catch (err) {
                        setError(err);
                      }
                    }}
                  >
                    Retry failed
                  </button>
                ) : null}
                <button type="button" onClick={onClose}>
                  Done
                </button>
              </>
            )}
          </div>
        </div>
      ) : (
        <p className="muted">Loading…</p>
      )}
    </Dialog>
  );
}

/** "Connect a marketplace", rendered from the manifest's settings; secrets are password fields, never shown again. */
export function ConnectDialog(props: {
  manifest: Manifest;
  existing?: Connection;
  onClose: () => void;
  onDone: (runId?: number) => void;
  /** Sends the browser to the marketplace's sign-in page. */
  navigate?: (url: string) => void;
}) {
  const { manifest, existing } = props;
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  const consent = manifest.consent;
  /** "Connect with …": the marketplace's sign-in page brings the refresh token, so none is typed. */
  async function signIn() {
    const f = new FormData(form.current!);
    const config: Record<string, string> = {};
    for (const field of manifest.config) {
      const v = String(f.get(field.key) ?? "");
      if (v && field.key !== consent?.refreshTokenKey) config[field.key] = v;
    }
    const name = String(f.get("name") ?? "").trim();
    const baseUrl = String(f.get("baseUrl") ?? "");
    setBusy(true);
    setError(null);
    try {
      const res = await api<{ authorizationUrl: string }>("POST", "/api/connections/oauth/start", {
        marketplace: manifest.id,
        ...(existing ? { connectionId: existing.id } : { name }),
        ...(baseUrl ? { baseUrl } : {}),
        config,
      });
      (props.navigate ?? ((url: string) => window.location.assign(url)))(res.authorizationUrl);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }
  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const config: Record<string, string> = {};
    for (const field of manifest.config) {
      const v = String(f.get(field.key) ?? "");
      if (v) config[field.key] = v;
    }
    setBusy(true);
    setError(null);
    try {
      if (existing) {
        await api("PATCH", `/api/connections/${existing.id}`, { config });
        await api("POST", `/api/connections/${existing.id}/test`);
        toast(`${existing.name} reconnected`);
        props.onDone();
      } else {
        const baseUrl = String(f.get("baseUrl") ?? "");
        const res = await api<{ connection: { id: number } }>("POST", "/api/connections", {
          marketplace: manifest.id,
          name: String(f.get("name")),
          ...(baseUrl ? { baseUrl } : {}),
          config,
          test: true,
        });
        const run = await api<{ runId: number }>("POST", `/api/connections/${res.connection.id}/sync`, {
          mode: "full",
        });
        props.onDone(run.runId);
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <Dialog
      title={existing ? `Reconnect ${existing.name}` : `Connect ${manifest.displayName}`}
      onClose={props.onClose}
    >
      <form className="stack" onSubmit={submit} ref={form}>
        {!existing ? (
          <label>
            Name
            <input name="name" required defaultValue={`My ${manifest.displayName} store`} />
          </label>
        ) : null}
        {consent ? (
          <div className="stack">
            <small className="muted">
              Register this redirect URI in your {manifest.displayName} app:{" "}
              <code>{consent.redirectUri}</code> <CopyButton text={consent.redirectUri} />
            </small>
            <button type="button" className="primary" disabled={busy} onClick={() => void signIn()}>
              {existing ? `Reconnect with ${manifest.displayName}` : `Connect with ${manifest.displayName}`}
            </button>
            <small className="muted">
              Or paste a refresh token below (self-authorised apps) and use the other button.
            </small>
          </div>
        ) : null}
        {manifest.config.map((f) => (
          <label key={f.key}>
            {f.label}
            {f.required ? "" : " (optional)"}
            <input
              name={f.key}
              type={f.secret ? "password" : "text"}
              autoComplete="off"
              required={f.required && !existing && f.key !== consent?.refreshTokenKey}
              defaultValue={f.secret ? "" : (f.default ?? "")}
              placeholder={existing && f.secret ? "unchanged" : undefined}
            />
            {f.help ? <small className="muted">{f.help}</small> : null}
          </label>
        ))}
        {!existing ? (
          <details>
            <summary>Advanced</summary>
            <label>
              API address
              <input name="baseUrl" type="url" placeholder={manifest.defaultBaseUrl} />
            </label>
          </details>
        ) : null}
        <ErrorText error={error} />
        <div className="actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? "Testing…" : existing ? "Save and test" : "Connect and import"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
