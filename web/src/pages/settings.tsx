import { type FormEvent, type ReactNode, useCallback, useEffect, useState } from "react";
import { can } from "../access.ts";
import { ApiError, api, type Connection, type Manifest, type Me } from "../api.ts";
import { CopyButton, ErrorText, toast } from "../components/ui.tsx";
import { formatDateTime, marketplaceInfo } from "../format.ts";
import { navigate, useLocation } from "../router.ts";
import { UsersPage } from "./users.tsx";

// ------------------------------------------------------------------ shapes

interface Address {
  name?: string | null;
  company?: string | null;
  line1?: string | null;
  line2?: string | null;
  city?: string | null;
  region?: string | null;
  postalCode?: string | null;
  countryCode?: string | null;
  phone?: string | null;
}
interface DocumentSettings {
  storeName?: string;
  email?: string | null;
  returnAddress?: Address | null;
  paper?: "a4" | "letter";
  language?: "en" | "de" | "fr";
  labelLayout?: string;
  labelStartAt?: number;
}
type Grant = boolean | string;
interface AccountSettings {
  account: { id: number; name: string; slug: string; timezone: string };
  access: Record<string, boolean>;
  switches: { key: string; label: string; what: string; default: boolean }[];
  labelLayouts: { id: string; positions: number }[];
  permissions: Record<string, { what: string; owner: Grant; staff: Grant; picker: Grant }>;
  publicUrl: string | null;
}
interface Token {
  id: number;
  name: string;
  prefix: string;
  userId: number;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
}
type SettingsConnection = Connection & { config: Record<string, string>; dailyBudget: number | null };
type ConnManifest = Omit<Manifest, "config"> & {
  config: (Manifest["config"][number] & { kind?: string })[];
  capabilities: { webhooks?: string };
  noticeListener?: { path: string; defaultPort: number } | null;
};

/** The messages of a 400 by field (`returnAddress.city`), from the API's issues or its `field`. */
function fieldErrors(err: unknown): Record<string, string> {
  if (!(err instanceof ApiError)) return {};
  const d = err.details as { issues?: { path: string; message: string }[]; field?: string } | null;
  const out: Record<string, string> = {};
  for (const i of d?.issues ?? []) out[i.path.replace(/^body\./, "")] ??= i.message;
  if (d?.field) out[d.field] = err.message.replace(/^[^:]+: /, "");
  return out;
}

/** A labelled input with its own error line under it. */
function Field(props: { label: string; error?: string | undefined; hint?: ReactNode; children: ReactNode }) {
  return (
    // biome-ignore lint/a11y/noLabelWithoutControl: the control comes in as children
    <label className={props.error ? "field invalid" : "field"}>
      <span>{props.label}</span>
      {props.children}
      {props.error ? (
        <span className="field-error" role="alert">
          {props.error}
        </span>
      ) : props.hint ? (
        <span className="muted small-text">{props.hint}</span>
      ) : null}
    </label>
  );
}

// ------------------------------------------------------------------ the page

const SECTIONS = [
  { id: "", label: "Store & documents", action: "settings.read" },
  { id: "connections", label: "Connections", action: "sync.read" },
  { id: "users", label: "Users", action: "users.read" },
  { id: "tokens", label: "API tokens", action: "tokens.own" },
  { id: "access", label: "Roles & access", action: "settings.read" },
] as const;

/** Settings: owners change everything here; others see what they may, read-only. */
export function SettingsPage({ me }: { me: Me }) {
  const { path } = useLocation();
  const current = path.replace(/^\/settings\/?/, "").split("/")[0] ?? "";
  const visible = SECTIONS.filter((s) => can(s.action));
  const section = visible.find((s) => s.id === current) ?? visible[0];
  return (
    <div className="page settings-page">
      <div className="page-head">
        <h1>Settings</h1>
        {!can("settings.manage") ? <span className="muted">Only an owner can change these.</span> : null}
      </div>
      <nav className="subnav" aria-label="Settings">
        {visible.map((s) => (
          <a
            key={s.id}
            href={`/settings${s.id ? `/${s.id}` : ""}`}
            aria-current={s.id === section?.id ? "page" : undefined}
            onClick={(e) => {
              e.preventDefault();
              navigate(`/settings${s.id ? `/${s.id}` : ""}`);
            }}
          >
            {s.label}
          </a>
        ))}
      </nav>
      {section?.id === "" ? <StoreSettings /> : null}
      {section?.id === "connections" ? <ConnectionSettings /> : null}
      {section?.id === "users" ? <UsersPage meId={me.user.id} /> : null}
      {section?.id === "tokens" ? <TokenSettings meId={me.user.id} /> : null}
      {section?.id === "access" ? <AccessSettings /> : null}
    </div>
  );
}

// ------------------------------------------------------------------ store, return address, documents

const ADDRESS_FIELDS: [keyof Address, string, string?][] = [
  ["name", "Name"],
  ["company", "Company"],
  ["line1", "Street and number"],
  ["line2", "Address line 2"],
  ["postalCode", "Postcode"],
  ["city", "City"],
  ["region", "Region"],
  ["countryCode", "Country (ISO code)", "two letters, e.g. LU, DE, US"],
  ["phone", "Phone"],
];

const TIME_ZONES: string[] = (() => {
  try {
    return (Intl as unknown as { supportedValuesOf(k: string): string[] }).supportedValuesOf("timeZone");
  } catch {
    return [];
  }
})();

function StoreSettings() {
  const manage = can("settings.manage");
  const [docs, setDocs] = useState<DocumentSettings | null>(null);
  const [account, setAccount] = useState<AccountSettings | null>(null);
  const [timezone, setTimezone] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const load = useCallback(async () => {
    try {
      const [d, a] = await Promise.all([
        api<{ documents: DocumentSettings; timezone: string }>("GET", "/api/settings/documents"),
        api<AccountSettings>("GET", "/api/settings/account"),
      ]);
      setDocs(d.documents);
      setAccount(a);
      setTimezone(a.account.timezone);
    } catch (err) {
      setError(err);
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);
  if (!docs || !account) return error ? <ErrorText error={error} /> : <p className="muted">Loading…</p>;

  const addr = docs.returnAddress ?? {};
  const setAddr = (k: keyof Address, v: string) => setDocs({ ...docs, returnAddress: { ...addr, [k]: v } });
  const layout = account.labelLayouts.find((l) => l.id === (docs.labelLayout ?? "4x6"));

  async function save(e: FormEvent) {
    e.preventDefault();
    if (!docs || !account) return;
    setBusy(true);
    setErrors({});
    setError(null);
    // Empty parts are left out; an address with nothing in it is no address.
    const parts = Object.fromEntries(
      Object.entries(docs.returnAddress ?? {}).filter(([, v]) => typeof v === "string" && v.trim() !== ""),
    );
    const body: DocumentSettings = {
      ...(docs.storeName?.trim() ? { storeName: docs.storeName.trim() } : {}),
      email: docs.email?.trim() ? docs.email.trim() : null,
      returnAddress: Object.keys(parts).length ? parts : null,
      ...(docs.paper ? { paper: docs.paper } : {}),
      ...(docs.language ? { language: docs.language } : {}),
      ...(docs.labelLayout ? { labelLayout: docs.labelLayout } : {}),
      ...(docs.labelStartAt ? { labelStartAt: docs.labelStartAt } : {}),
    };
    const found: Record<string, string> = {};
    try {
      await api("PUT", "/api/settings/documents", body);
    } catch (err) {
      Object.assign(found, fieldErrors(err));
      if (!Object.keys(found).length) setError(err);
    }
    if (timezone !== account.account.timezone) {
      try {
        await api("PATCH", "/api/settings/account", { timezone });
      } catch (err) {
        Object.assign(found, fieldErrors(err));
        if (!Object.keys(found).length) setError(err);
      }
    }
    setErrors(found);
    setBusy(false);
    if (!Object.keys(found).length) {
      toast("Settings saved");
      void load();
    }
  }

  return (
    <form className="settings-form" onSubmit={(e) => void save(e)} aria-label="Store and documents">
      <fieldset disabled={!manage}>
        <section className="card">
          <h2>Store</h2>
          <div className="grid-fields">
            <Field
              label="Store name"
              error={errors.storeName}
              hint={`printed on labels and slips; "${account.account.name}" when empty`}
            >
              <input
                value={docs.storeName ?? ""}
                onChange={(e) => setDocs({ ...docs, storeName: e.target.value })}
              />
            </Field>
            <Field label="E-mail on documents" error={errors.email}>
              <input
                type="email"
                value={docs.email ?? ""}
                onChange={(e) => setDocs({ ...docs, email: e.target.value })}
              />
            </Field>
            <Field
              label="Time zone"
              error={errors.timezone}
              hint="dates on documents, file names and the date filter"
            >
              <input list="time-zones" value={timezone} onChange={(e) => setTimezone(e.target.value)} />
            </Field>
            <datalist id="time-zones">
              {TIME_ZONES.map((z) => (
                <option key={z} value={z} />
              ))}
            </datalist>
          </div>
        </section>
        <section className="card">
          <h2>Return address</h2>
          <p className="muted small-text">Printed as the sender on every label and packing slip.</p>
          {errors.returnAddress ? (
            <p className="field-error" role="alert">
              {errors.returnAddress}
            </p>
          ) : null}
          <div className="grid-fields">
            {ADDRESS_FIELDS.map(([k, label, hint]) => (
              <Field key={k} label={label} error={errors[`returnAddress.${k}`]} hint={hint}>
                <input
                  name={`returnAddress.${k}`}
                  value={addr[k] ?? ""}
                  onChange={(e) => setAddr(k, e.target.value)}
                />
              </Field>
            ))}
          </div>
        </section>
        <section className="card">
          <h2>Documents</h2>
          <div className="grid-fields">
            <Field label="Paper (pick sheets, packing slips)" error={errors.paper}>
              <select
                value={docs.paper ?? "a4"}
                onChange={(e) => setDocs({ ...docs, paper: e.target.value as "a4" | "letter" })}
              >
                <option value="a4">A4</option>
                <option value="letter">Letter</option>
              </select>
            </Field>
            <Field
              label="Language"
              error={errors.language}
              hint="of labels, pick sheets and packing slips; item names and buyer notes print as given"
            >
              <select
                value={docs.language ?? "en"}
                onChange={(e) => setDocs({ ...docs, language: e.target.value as "en" | "de" | "fr" })}
              >
                <option value="en">English</option>
                <option value="de">Deutsch (German)</option>
                <option value="fr">Français (French)</option>
              </select>
            </Field>
            <Field label="Label layout" error={errors.labelLayout}>
              <select
                value={docs.labelLayout ?? "4x6"}
                onChange={(e) => setDocs({ ...docs, labelLayout: e.target.value })}
              >
                {account.labelLayouts.map((l) => (
                  <option key={l.id} value={l.id}>
                    {l.id === "4x6" ? "4×6 in thermal" : `${l.id} sheet (${l.positions} labels)`}
                  </option>
                ))}
              </select>
            </Field>
            <Field
              label="Start at position"
              error={errors.labelStartAt}
              hint={
                layout && layout.positions > 1
                  ? `the first free label on the sheet in the printer (1–${layout.positions}, across then down)`
                  : "a thermal roll always starts at 1"
              }
            >
              <input
                type="number"
                min={1}
                max={layout?.positions ?? 1}
                value={docs.labelStartAt ?? 1}
                onChange={(e) => setDocs({ ...docs, labelStartAt: Number(e.target.value) || undefined })}
              />
            </Field>
          </div>
        </section>
      </fieldset>
      <ErrorText error={error} />
      {manage ? (
        <div className="actions sticky-actions">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? "Saving…" : "Save"}
          </button>
        </div>
      ) : null}
    </form>
  );
}

// ------------------------------------------------------------------ per-connection settings

function ConnectionSettings() {
  const [conns, setConns] = useState<SettingsConnection[] | null>(null);
  const [manifests, setManifests] = useState<ConnManifest[]>([]);
  const [publicUrl, setPublicUrl] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(async () => {
    try {
      const [c, m, a] = await Promise.all([
        api<{ connections: SettingsConnection[] }>("GET", "/api/connections"),
        api<{ marketplaces: ConnManifest[] }>("GET", "/api/marketplaces"),
        api<AccountSettings>("GET", "/api/settings/account"),
      ]);
      setConns(c.connections);
      setManifests(m.marketplaces);
      setPublicUrl(a.publicUrl);
    } catch (err) {
      setError(err);
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);
  if (!conns) return error ? <ErrorText error={error} /> : <p className="muted">Loading…</p>;
  if (!conns.length)
    return <p className="muted">No marketplace is connected yet: connect one under Integrations.</p>;
  return (
    <div className="settings-connections">
      {conns.map((c) => (
        <ConnectionForm
          key={c.id}
          connection={c}
          manifest={manifests.find((m) => m.id === c.marketplace)}
          publicUrl={publicUrl}
          onSaved={() => void load()}
        />
      ))}
    </div>
  );
}

function ConnectionForm(props: {
  connection: SettingsConnection;
  manifest: ConnManifest | undefined;
  publicUrl: string | null;
  onSaved: () => void;
}) {
  const c = props.connection;
  const manage = can("connections.manage");
  const [kind, setKind] = useState(c.schedule.kind);
  const [minutes, setMinutes] = useState(c.schedule.kind === "interval" ? String(c.schedule.minutes) : "15");
  const [cron, setCron] = useState(c.schedule.kind === "cron" ? c.schedule.expression : "*/15 * * * *");
  const [enabled, setEnabled] = useState(c.scheduleEnabled);
  const [budget, setBudget] = useState(c.dailyBudget === null ? "" : String(c.dailyBudget));
  const switches = (props.manifest?.config ?? []).filter((f) => f.kind === "boolean" && !f.secret);
  const [flags, setFlags] = useState<Record<string, boolean>>(() =>
    Object.fromEntries(switches.map((f) => [f.key, (c.config[f.key] ?? f.default) === "true"])),
  );
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const calls = props.manifest?.capabilities.webhooks ?? "none";
  const callsUrl = calls !== "none" && !props.manifest?.noticeListener;
  const listener = marketplaceInfo(c.marketplace)?.noticeListener ?? null;

  async function save(e: FormEvent) {
    e.preventDefault();
    const found: Record<string, string> = {};
    const n = Number(minutes);
    if (kind === "interval" && (!Number.isInteger(n) || n < 1))
      found.schedule = "give a whole number of minutes, 1 or more";
    const b = budget.trim() === "" ? null : Number(budget);
    if (b !== null && (!Number.isInteger(b) || b < 1))
      found.dailyBudget = "give a whole number of calls, 1 or more (empty: the marketplace's limit)";
    setErrors(found);
    if (Object.keys(found).length) return;
    setBusy(true);
    setError(null);
    try {
      await api("PATCH", `/api/connections/${c.id}`, {
        schedule: kind === "interval" ? { kind, minutes: n } : { kind, expression: cron.trim() },
        scheduleEnabled: enabled,
        dailyBudget: b,
        ...(switches.length
          ? { config: Object.fromEntries(switches.map((f) => [f.key, String(flags[f.key] ?? false)])) }
          : {}),
      });
      toast(`${c.name} saved`);
      props.onSaved();
    } catch (err) {
      const fe = fieldErrors(err);
      // The API names "schedule" and "body.schedule.minutes": both belong to the schedule field.
      const mapped: Record<string, string> = {};
      for (const [k, v] of Object.entries(fe)) mapped[k.split(".")[0] ?? k] ??= v;
      setErrors(mapped);
      if (!Object.keys(mapped).length) setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form
      className="card settings-connection"
      aria-label={`Settings of ${c.name}`}
      onSubmit={(e) => void save(e)}
    >
      <h2>
        {c.name} <span className="muted">· {c.displayName}</span>
      </h2>
      <fieldset disabled={!manage}>
        <div className="grid-fields">
          <Field label="Sync schedule" error={errors.schedule}>
            <span className="inline-fields">
              <select
                aria-label="Schedule kind"
                value={kind}
                onChange={(e) => setKind(e.target.value as typeof kind)}
              >
                <option value="interval">Every N minutes</option>
                <option value="cron">Cron</option>
              </select>
              {kind === "interval" ? (
                <input
                  aria-label="Minutes between syncs"
                  inputMode="numeric"
                  value={minutes}
                  onChange={(e) => setMinutes(e.target.value)}
                />
              ) : (
                <input aria-label="Cron expression" value={cron} onChange={(e) => setCron(e.target.value)} />
              )}
            </span>
          </Field>
          <Field
            label="Daily budget (API calls)"
            error={errors.dailyBudget}
            hint={`used today: ${c.budget.usedToday.toLocaleString()}${c.budget.limit ? ` of ${c.budget.limit.toLocaleString()}` : ""}; empty for the marketplace's own limit`}
          >
            <input inputMode="numeric" value={budget} onChange={(e) => setBudget(e.target.value)} />
          </Field>
        </div>
        <label className="check switch">
          <input
            type="checkbox"
            role="switch"
            aria-checked={enabled}
            checked={enabled}
            onChange={(e) => setEnabled(e.target.checked)}
          />
          Sync on the schedule
        </label>
        {switches.map((f) => (
          <label key={f.key} className="check switch" title={f.help}>
            <input
              type="checkbox"
              role="switch"
              aria-checked={flags[f.key] ?? false}
              checked={flags[f.key] ?? false}
              onChange={(e) => setFlags({ ...flags, [f.key]: e.target.checked })}
            />
            {f.label}
            {errors.config ? <span className="field-error">{errors.config}</span> : null}
          </label>
        ))}
      </fieldset>
      {callsUrl ? (
        <div className={props.publicUrl ? "public-url ok" : "public-url problem problem-wait"}>
          {props.publicUrl ? (
            <p>
              Push notifications reach Orderhub at {props.publicUrl}.
              {c.webhookUrl ? (
                <>
                  {" "}
                  Register this URL with the marketplace: <code>{c.webhookUrl}</code>{" "}
                  <CopyButton text={c.webhookUrl} />
                </>
              ) : null}
            </p>
          ) : (
            <p>
              Push notifications are off: <code>ORDERHUB_PUBLIC_URL</code> is not set, so the marketplace
              cannot reach this server. Start Orderhub with{" "}
              <code>ORDERHUB_PUBLIC_URL=https://your-address</code> (an address the marketplace can reach) and
              register the push URL shown here. Scheduled syncs run either way.
            </p>
          )}
        </div>
      ) : listener ? (
        <p className="muted small-text">
          New-order notifications arrive on port {listener.defaultPort} (start Orderhub with --notify-port{" "}
          {listener.defaultPort}); scheduled syncs run either way.
        </p>
      ) : null}
      <ErrorText error={error} />
      {manage ? (
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? "Saving…" : `Save ${c.name}`}
          </button>
        </div>
      ) : null}
    </form>
  );
}

// ------------------------------------------------------------------ API tokens

function TokenSettings({ meId }: { meId: number | null }) {
  const [tokens, setTokens] = useState<Token[] | null>(null);
  const [name, setName] = useState("");
  const [days, setDays] = useState("");
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(async () => {
    try {
      setTokens((await api<{ tokens: Token[] }>("GET", "/api/tokens")).tokens);
    } catch (err) {
      setError(err);
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  async function create(e: FormEvent) {
    e.preventDefault();
    setErrors({});
    setError(null);
    const d = days.trim() === "" ? undefined : Number(days);
    if (d !== undefined && (!Number.isInteger(d) || d < 1 || d > 3650)) {
      setErrors({ expiresInDays: "give whole days from 1 to 3650, or leave it empty for no expiry" });
      return;
    }
    try {
      const r = await api<{ name: string; token: string }>("POST", "/api/tokens", {
        name,
        ...(d !== undefined ? { expiresInDays: d } : {}),
      });
      setCreated({ name: r.name, token: r.token });
      setName("");
      setDays("");
      void load();
    } catch (err) {
      const fe = fieldErrors(err);
      setErrors(fe);
      if (!Object.keys(fe).length) setError(err);
    }
  }

  return (
    <div className="stack">
      {can("tokens.create") ? (
        <form className="card" aria-label="New API token" onSubmit={(e) => void create(e)}>
          <h2>New API token</h2>
          <p className="muted small-text">
            For scripts: send it as <code>Authorization: Bearer …</code>. It acts as you, with your role.
          </p>
          <div className="grid-fields">
            <Field label="Name" error={errors.name} hint="what it is for, e.g. “label printer script”">
              <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
            </Field>
            <Field label="Expires after (days)" error={errors.expiresInDays} hint="empty: never">
              <input inputMode="numeric" value={days} onChange={(e) => setDays(e.target.value)} />
            </Field>
          </div>
          <div className="actions">
            <button type="submit" className="primary">
              Create token
            </button>
          </div>
        </form>
      ) : null}
      {created ? (
        <div className="card token-created" role="status">
          <p>
            <strong>{created.name}</strong>: copy the token now — it is not shown again.
          </p>
          <p className="token-value">
            <code>{created.token}</code> <CopyButton text={created.token} />
          </p>
          <button type="button" className="small" onClick={() => setCreated(null)}>
            Done
          </button>
        </div>
      ) : null}
      <ErrorText error={error} />
      <div className="table-wrap">
        <table className="tokens">
          <thead>
            <tr>
              <th>Name</th>
              <th>Starts with</th>
              <th className="col-created">Created</th>
              <th>Last used</th>
              <th className="col-expires">Expires</th>
              <th>
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {(tokens ?? []).map((t) => (
              <tr key={t.id} data-token={t.name}>
                <td className="col-tname">
                  {t.name}
                  {t.userId !== meId ? <span className="muted"> (another user's)</span> : null}
                </td>
                <td className="mono">{t.prefix}…</td>
                <td className="col-created">{formatDateTime(t.createdAt)}</td>
                <td>{t.lastUsedAt ? formatDateTime(t.lastUsedAt) : "never"}</td>
                <td className="col-expires">{t.expiresAt ? formatDateTime(t.expiresAt) : "never"}</td>
                <td>
                  <button
                    type="button"
                    className="small danger"
                    onClick={async () => {
                      if (!confirm(`Revoke “${t.name}”? Scripts using it stop working at once.`)) return;
                      try {
                        await api("DELETE", `/api/tokens/${t.id}`);
                        toast(`Revoked ${t.name}`);
                        void load();
                      } catch (err) {
                        setError(err);
                      }
                    }}
                  >
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
            {tokens && !tokens.length ? (
              <tr>
                <td colSpan={6} className="empty">
                  No API tokens.
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
    </div>
  );
}

// ------------------------------------------------------------------ roles and access switches

const ROLE_NAMES = ["owner", "staff", "picker"] as const;

function AccessSettings() {
  const [a, setA] = useState<AccountSettings | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(async () => {
    try {
      setA(await api<AccountSettings>("GET", "/api/settings/account"));
    } catch (err) {
      setError(err);
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);
  if (!a) return error ? <ErrorText error={error} /> : <p className="muted">Loading…</p>;
  const label = (key: string) => a.switches.find((s) => s.key === key)?.label ?? key;
  // A grant that hangs on a switch says so with a mark; the note under the table names the switch.
  const cell = (g: Grant) => (g === true ? "yes" : g === false ? "—" : a.access[g] ? "yes*" : "no*");
  const switched = [
    ...new Set(
      Object.values(a.permissions).flatMap((p) =>
        ROLE_NAMES.map((r) => p[r]).filter((g): g is string => typeof g === "string"),
      ),
    ),
  ];
  return (
    <div className="stack">
      <section className="card">
        <h2>Switches</h2>
        {a.switches.map((s) => (
          <label key={s.key} className="check switch">
            <input
              type="checkbox"
              role="switch"
              aria-checked={a.access[s.key] ?? s.default}
              disabled={!can("settings.manage")}
              checked={a.access[s.key] ?? s.default}
              onChange={async (e) => {
                // Read before the await: a controlled box flips back until the answer comes.
                const on = e.target.checked;
                try {
                  setA(
                    await api<AccountSettings>("PATCH", "/api/settings/account", {
                      access: { [s.key]: on },
                    }),
                  );
                  toast(`${s.label}: ${on ? "on" : "off"}`);
                } catch (err) {
                  setError(err);
                }
              }}
            />
            <span>
              {s.label}
              <span className="muted small-text"> — {s.what}</span>
            </span>
          </label>
        ))}
        <ErrorText error={error} />
      </section>
      <section>
        <h2 className="section-title">What each role may do</h2>
        <div className="table-wrap">
          <table className="roles">
            <thead>
              <tr>
                <th>What</th>
                {ROLE_NAMES.map((r) => (
                  <th key={r}>{r}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {Object.entries(a.permissions).map(([action, p]) => (
                <tr key={action} data-action={action}>
                  <td className="col-what">{p.what}</td>
                  {ROLE_NAMES.map((r) => (
                    <td key={r}>{cell(p[r])}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {switched.map((k) => (
          <p key={k} className="muted small-text">
            * while “{label(k)}” is on (now {a.access[k] ? "on" : "off"}).
          </p>
        ))}
      </section>
    </div>
  );
}
