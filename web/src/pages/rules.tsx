import { useCallback, useEffect, useState } from "react";
import { can } from "../access.ts";
import { ApiError, api } from "../api.ts";
import { Dialog, ErrorText, toast } from "../components/ui.tsx";
import { marketplaceName, marketplaces, STATUS_LABELS } from "../format.ts";

// ------------------------------------------------------------------ the rule model, as the API has it

type Op = "is" | "is_not" | "gt" | "gte" | "lt" | "lte" | "eq" | "contains" | "not_contains";
interface Condition {
  field: "marketplace" | "status" | "country" | "total" | "itemCount" | "item" | "buyer" | "shippingMethod";
  op: Op;
  values?: string[];
  value?: string | number;
  amount?: string;
  currency?: string;
}
interface Action {
  type: "tag" | "note" | "set_status" | "pick_batch" | "hold";
  tag?: string;
  text?: string;
  status?: string;
  batch?: string;
  reason?: string;
}
type Trigger = "order_created" | "status_changed";
interface Rule {
  id: number;
  name: string;
  position: number;
  enabled: boolean;
  triggers: Trigger[];
  conditions: Condition[];
  actions: Action[];
}
interface Outcome {
  action: string;
  result: "done" | "skipped";
  detail?: string;
}
interface DryRun {
  scanned: number;
  total: number;
  matched: number;
  orders: { orderId: number; number: string; status: string; actions: Outcome[] }[];
}

const TRIGGER_LABELS: Record<Trigger, string> = {
  order_created: "a new order comes in",
  status_changed: "an order's status changes",
};

/** Each field with the comparisons it takes and the kind of value it wants. */
const FIELDS: Record<
  Condition["field"],
  { label: string; ops: Op[]; kind: "list" | "amount" | "number" | "text" }
> = {
  marketplace: { label: "Marketplace", ops: ["is", "is_not"], kind: "list" },
  status: { label: "Status", ops: ["is", "is_not"], kind: "list" },
  country: { label: "Country (ISO code)", ops: ["is", "is_not"], kind: "list" },
  total: { label: "Order total", ops: ["gte", "gt", "lte", "lt", "eq"], kind: "amount" },
  itemCount: { label: "Item count", ops: ["gte", "gt", "lte", "lt", "eq"], kind: "number" },
  item: { label: "Item number / SKU", ops: ["contains", "not_contains"], kind: "list" },
  buyer: { label: "Buyer", ops: ["contains", "is"], kind: "text" },
  shippingMethod: { label: "Shipping method", ops: ["contains", "is"], kind: "text" },
};
const OP_LABELS: Record<Op, string> = {
  is: "is",
  is_not: "is not",
  gt: "more than",
  gte: "at least",
  lt: "less than",
  lte: "at most",
  eq: "exactly",
  contains: "includes",
  not_contains: "does not include",
};
const ACTIONS: Record<
  Action["type"],
  { label: string; key: keyof Action; placeholder: string; optional?: boolean }
> = {
  tag: { label: "Add tag", key: "tag", placeholder: "e.g. EU" },
  note: { label: "Add internal note", key: "text", placeholder: "what the note says" },
  set_status: { label: "Set marketplace status", key: "status", placeholder: "e.g. PACKED or Processing" },
  pick_batch: { label: "Add to pick batch", key: "batch", placeholder: "batch name, e.g. Morning" },
  hold: { label: "Hold the order", key: "reason", placeholder: "why (optional)", optional: true },
};

export function describeCondition(c: Condition): string {
  const f = FIELDS[c.field];
  const v =
    f.kind === "list"
      ? (c.values ?? [])
          .map((x) =>
            c.field === "marketplace"
              ? marketplaceName(x)
              : c.field === "status"
                ? (STATUS_LABELS[x] ?? x)
                : x,
          )
          .join(", ")
      : f.kind === "amount"
        ? `${c.amount ?? ""}${c.currency ? ` ${c.currency}` : ""}`
        : String(c.value ?? "");
  return `${f.label} ${OP_LABELS[c.op]} ${v}`;
}
export function describeAction(a: Action): string {
  const d = ACTIONS[a.type];
  const v = a[d.key];
  return v ? `${d.label}: ${String(v)}` : d.label;
}

const emptyCondition = (): Condition => ({ field: "marketplace", op: "is", values: [] });
const emptyAction = (): Action => ({ type: "tag", tag: "" });

/** The condition as the API takes it (only the keys its field has). */
function conditionBody(c: Condition): Condition {
  const f = FIELDS[c.field];
  if (f.kind === "list") return { field: c.field, op: c.op, values: c.values ?? [] };
  if (f.kind === "amount")
    return {
      field: c.field,
      op: c.op,
      amount: c.amount ?? "",
      ...(c.currency ? { currency: c.currency } : {}),
    };
  if (f.kind === "number") return { field: c.field, op: c.op, value: Number(c.value ?? 0) };
  return { field: c.field, op: c.op, value: String(c.value ?? "") };
}
function actionBody(a: Action): Action {
  const d = ACTIONS[a.type];
  const v = (a[d.key] as string | undefined)?.trim() ?? "";
  return d.optional && !v ? { type: a.type } : { type: a.type, [d.key]: v };
}

/** Problems the API named for one part of the rule (`body.conditions.0.values: …`). */
function issuesFor(error: unknown, prefix: string): string[] {
  if (!(error instanceof ApiError)) return [];
  const d = error.details as { issues?: { path: string; message: string }[]; problems?: string[] } | null;
  const out = (d?.issues ?? [])
    .filter((i) => i.path === `body.${prefix}` || i.path.startsWith(`body.${prefix}.`))
    .map((i) => `${i.path.slice(`body.${prefix}`.length + 1) || prefix}: ${i.message}`);
  for (const p of d?.problems ?? [])
    if (p.startsWith(`${prefix}.`) || p.startsWith(`${prefix}:`)) out.push(p);
  return out;
}

// ------------------------------------------------------------------ the page

export function RulesPage() {
  const [rules, setRules] = useState<Rule[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [editing, setEditing] = useState<Rule | "new" | null>(null);
  const manage = can("rules.manage");
  const load = useCallback(async () => {
    try {
      setRules((await api<{ rules: Rule[] }>("GET", "/api/rules")).rules);
      setError(null);
    } catch (err) {
      setError(err);
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  async function act(fn: () => Promise<unknown>) {
    try {
      await fn();
      await load();
    } catch (err) {
      toast(err instanceof Error ? err.message : String(err), "error");
    }
  }
  const move = (i: number, by: number) =>
    act(async () => {
      const ids = rules!.map((r) => r.id);
      const [id] = ids.splice(i, 1);
      ids.splice(i + by, 0, id!);
      await api("PUT", "/api/rules/order", { ids });
    });

  return (
    <div className="page rules-page">
      <div className="page-head">
        <h1>Automation rules</h1>
        <span className="spacer" />
        {manage ? (
          <button type="button" className="primary" onClick={() => setEditing("new")}>
            New rule
          </button>
        ) : null}
      </div>
      <p className="muted">
        Rules run in this order when a new order comes in or an order's status changes. Each acts once per
        event; what a rule does is on the order's timeline with the rule's name. A status a rule sets does not
        run the rules again.
      </p>
      <ErrorText error={error} />
      {rules && rules.length === 0 ? <p>No rules yet.</p> : null}
      <ol className="rule-list">
        {(rules ?? []).map((r, i) => (
          <li key={r.id} className={r.enabled ? "rule" : "rule disabled"} data-rule={r.name}>
            <div className="rule-main">
              <strong>
                {i + 1}. {r.name}
              </strong>
              {r.enabled ? null : <span className="badge">off</span>}
              <div className="muted">When {r.triggers.map((t) => TRIGGER_LABELS[t]).join(" or ")}</div>
              <div>
                {r.conditions.length
                  ? `If ${r.conditions.map(describeCondition).join(" and ")}`
                  : "Every order"}
              </div>
              <div>Then {r.actions.map(describeAction).join("; ")}</div>
            </div>
            {manage ? (
              <div className="rule-tools">
                <label className="check">
                  <input
                    type="checkbox"
                    checked={r.enabled}
                    aria-label={`${r.name} enabled`}
                    onChange={(e) =>
                      void act(() => api("PATCH", `/api/rules/${r.id}`, { enabled: e.target.checked }))
                    }
                  />
                  On
                </label>
                <button
                  type="button"
                  className="small"
                  disabled={i === 0}
                  aria-label={`Move ${r.name} up`}
                  onClick={() => void move(i, -1)}
                >
                  ↑
                </button>
                <button
                  type="button"
                  className="small"
                  disabled={i === rules!.length - 1}
                  aria-label={`Move ${r.name} down`}
                  onClick={() => void move(i, 1)}
                >
                  ↓
                </button>
                <button type="button" className="small" onClick={() => setEditing(r)}>
                  Edit
                </button>
                <button
                  type="button"
                  className="small danger"
                  onClick={() => {
                    if (window.confirm(`Delete the rule "${r.name}"? What it did stays on the orders.`))
                      void act(() => api("DELETE", `/api/rules/${r.id}`));
                  }}
                >
                  Delete
                </button>
              </div>
            ) : null}
          </li>
        ))}
      </ol>
      {editing ? (
        <RuleEditor
          rule={editing === "new" ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            void load();
          }}
        />
      ) : null}
    </div>
  );
}

function ListInput(props: { c: Condition; onChange: (values: string[]) => void; label: string }) {
  const values = props.c.values ?? [];
  const options =
    props.c.field === "marketplace"
      ? marketplaces().map((m) => ({ id: m.id, label: m.displayName }))
      : props.c.field === "status"
        ? Object.entries(STATUS_LABELS).map(([id, label]) => ({ id, label }))
        : null;
  if (options)
    return (
      <fieldset className="choices" aria-label={props.label}>
        {options.map((o) => (
          <label key={o.id} className="check">
            <input
              type="checkbox"
              checked={values.includes(o.id)}
              onChange={(e) =>
                props.onChange(e.target.checked ? [...values, o.id] : values.filter((v) => v !== o.id))
              }
            />
            {o.label}
          </label>
        ))}
      </fieldset>
    );
  return (
    <input
      aria-label={props.label}
      placeholder={props.c.field === "country" ? "DE, AT, CH" : "3001, 3003"}
      defaultValue={values.join(", ")}
      onChange={(e) =>
        props.onChange(
          e.target.value
            .split(",")
            .map((x) => x.trim())
            .filter(Boolean),
        )
      }
    />
  );
}

function RuleEditor(props: { rule: Rule | null; onClose: () => void; onSaved: () => void }) {
  const [name, setName] = useState(props.rule?.name ?? "");
  const [triggers, setTriggers] = useState<Trigger[]>(props.rule?.triggers ?? ["order_created"]);
  const [conditions, setConditions] = useState<Condition[]>(props.rule?.conditions ?? [emptyCondition()]);
  const [actions, setActions] = useState<Action[]>(props.rule?.actions ?? [emptyAction()]);
  const [error, setError] = useState<unknown>(null);
  const [dry, setDry] = useState<DryRun | null>(null);
  const [busy, setBusy] = useState(false);
  const manage = can("rules.manage");

  const body = () => ({
    name: name.trim(),
    triggers,
    conditions: conditions.map(conditionBody),
    actions: actions.map(actionBody),
  });
  const setCondition = (i: number, c: Condition) => {
    setConditions(conditions.map((x, j) => (j === i ? c : x)));
    setDry(null);
  };
  const setAction = (i: number, a: Action) => {
    setActions(actions.map((x, j) => (j === i ? a : x)));
    setDry(null);
  };

  async function dryRun() {
    setBusy(true);
    setError(null);
    try {
      const { conditions: cs, actions: as, name: n } = body();
      setDry(await api<DryRun>("POST", "/api/rules/dry-run", { name: n, conditions: cs, actions: as }));
    } catch (err) {
      setError(err);
      setDry(null);
    } finally {
      setBusy(false);
    }
  }
  async function save() {
    setBusy(true);
    setError(null);
    try {
      if (props.rule) await api("PATCH", `/api/rules/${props.rule.id}`, body());
      else await api("POST", "/api/rules", body());
      toast(`Rule "${name.trim()}" saved`);
      props.onSaved();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }
  const general =
    error instanceof ApiError &&
    !(error.details as { issues?: { path: string }[] } | null)?.issues?.every((i) =>
      /^body\.(conditions|actions)\./.test(i.path),
    );

  return (
    <Dialog title={props.rule ? `Edit rule: ${props.rule.name}` : "New rule"} onClose={props.onClose} wide>
      <form
        className="stack rule-editor"
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. EU orders" />
        </label>
        {issuesFor(error, "name").map((m) => (
          <p key={m} className="error">
            {m}
          </p>
        ))}
        <fieldset>
          <legend>When</legend>
          {(Object.keys(TRIGGER_LABELS) as Trigger[]).map((t) => (
            <label key={t} className="check">
              <input
                type="checkbox"
                checked={triggers.includes(t)}
                onChange={(e) =>
                  setTriggers(e.target.checked ? [...triggers, t] : triggers.filter((x) => x !== t))
                }
              />
              {TRIGGER_LABELS[t]}
            </label>
          ))}
          {issuesFor(error, "triggers").map((m) => (
            <p key={m} className="error">
              {m}
            </p>
          ))}
        </fieldset>
        <fieldset>
          <legend>If (all of these)</legend>
          {conditions.map((c, i) => {
            const f = FIELDS[c.field];
            const label = `Condition ${i + 1}`;
            return (
              // biome-ignore lint/suspicious/noArrayIndexKey: rows are edited in place by position
              <div key={i} className="rule-row" data-condition={i}>
                <select
                  aria-label={`${label} field`}
                  value={c.field}
                  onChange={(e) => {
                    const field = e.target.value as Condition["field"];
                    setCondition(i, {
                      field,
                      op: FIELDS[field].ops[0]!,
                      ...(FIELDS[field].kind === "list" ? { values: [] } : {}),
                    });
                  }}
                >
                  {Object.entries(FIELDS).map(([id, x]) => (
                    <option key={id} value={id}>
                      {x.label}
                    </option>
                  ))}
                </select>
                <select
                  aria-label={`${label} comparison`}
                  value={c.op}
                  onChange={(e) => setCondition(i, { ...c, op: e.target.value as Op })}
                >
                  {f.ops.map((o) => (
                    <option key={o} value={o}>
                      {OP_LABELS[o]}
                    </option>
                  ))}
                </select>
                {f.kind === "list" ? (
                  <ListInput
                    key={c.field}
                    c={c}
                    label={`${label} values`}
                    onChange={(values) => setCondition(i, { ...c, values })}
                  />
                ) : f.kind === "amount" ? (
                  <>
                    <input
                      aria-label={`${label} amount`}
                      inputMode="decimal"
                      placeholder="25.00"
                      value={c.amount ?? ""}
                      onChange={(e) => setCondition(i, { ...c, amount: e.target.value })}
                    />
                    <input
                      aria-label={`${label} currency`}
                      className="short"
                      placeholder="EUR (any)"
                      value={c.currency ?? ""}
                      onChange={(e) => setCondition(i, { ...c, currency: e.target.value.toUpperCase() })}
                    />
                  </>
                ) : (
                  <input
                    aria-label={`${label} value`}
                    type={f.kind === "number" ? "number" : "text"}
                    value={String(c.value ?? "")}
                    onChange={(e) => setCondition(i, { ...c, value: e.target.value })}
                  />
                )}
                <button
                  type="button"
                  className="small"
                  aria-label={`Remove condition ${i + 1}`}
                  onClick={() => setConditions(conditions.filter((_, j) => j !== i))}
                >
                  ×
                </button>
                {issuesFor(error, `conditions.${i}`).map((m) => (
                  <p key={m} className="error">
                    {m}
                  </p>
                ))}
              </div>
            );
          })}
          <button
            type="button"
            className="small"
            onClick={() => setConditions([...conditions, emptyCondition()])}
          >
            Add condition
          </button>
          {conditions.length === 0 ? (
            <p className="muted">No conditions: every order of the trigger.</p>
          ) : null}
        </fieldset>
        <fieldset>
          <legend>Then</legend>
          {actions.map((a, i) => {
            const d = ACTIONS[a.type];
            return (
              // biome-ignore lint/suspicious/noArrayIndexKey: rows are edited in place by position
              <div key={i} className="rule-row" data-action={i}>
                <select
                  aria-label={`Action ${i + 1}`}
                  value={a.type}
                  onChange={(e) => setAction(i, { type: e.target.value as Action["type"] })}
                >
                  {Object.entries(ACTIONS).map(([id, x]) => (
                    <option key={id} value={id}>
                      {x.label}
                    </option>
                  ))}
                </select>
                <input
                  aria-label={`Action ${i + 1} value`}
                  placeholder={d.placeholder}
                  value={String(a[d.key] ?? "")}
                  onChange={(e) => setAction(i, { ...a, [d.key]: e.target.value })}
                />
                <button
                  type="button"
                  className="small"
                  aria-label={`Remove action ${i + 1}`}
                  onClick={() => setActions(actions.filter((_, j) => j !== i))}
                >
                  ×
                </button>
                {issuesFor(error, `actions.${i}`).map((m) => (
                  <p key={m} className="error">
                    {m}
                  </p>
                ))}
              </div>
            );
          })}
          <button type="button" className="small" onClick={() => setActions([...actions, emptyAction()])}>
            Add action
          </button>
          {issuesFor(error, "actions")
            .filter((m) => !/^\d/.test(m))
            .map((m) => (
              <p key={m} className="error">
                {m}
              </p>
            ))}
        </fieldset>
        {general ? <ErrorText error={error} /> : null}
        {dry ? <DryRunResult dry={dry} /> : null}
        <div className="actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="button" disabled={busy} onClick={() => void dryRun()}>
            Dry run
          </button>
          {manage ? (
            <button type="submit" className="primary" disabled={busy}>
              Save rule
            </button>
          ) : null}
        </div>
      </form>
    </Dialog>
  );
}

function DryRunResult({ dry }: { dry: DryRun }) {
  return (
    <section className="dry-run" aria-label="Dry run">
      <h3>
        Dry run: {dry.matched.toLocaleString()} of {dry.scanned.toLocaleString()} orders would match
        {dry.scanned < dry.total
          ? ` (the newest ${dry.scanned.toLocaleString()} of ${dry.total.toLocaleString()} looked at)`
          : ""}
      </h3>
      <p className="muted">Nothing was changed or sent.</p>
      {dry.orders.length ? (
        <div className="table-scroll">
          <table className="lines">
            <thead>
              <tr>
                <th>Order</th>
                <th>Status</th>
                <th>What would happen</th>
              </tr>
            </thead>
            <tbody>
              {dry.orders.map((o) => (
                <tr key={o.orderId} data-order={o.number}>
                  <td className="mono">{o.number}</td>
                  <td>{STATUS_LABELS[o.status] ?? o.status}</td>
                  <td>
                    {o.actions.map((a) => (
                      <div key={a.action} className={a.result === "skipped" ? "muted" : undefined}>
                        {a.result === "skipped" ? "skip" : "✓"} {a.action}
                        {a.detail ? ` — ${a.detail}` : ""}
                      </div>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {dry.matched > dry.orders.length ? (
        <p className="muted">and {(dry.matched - dry.orders.length).toLocaleString()} more</p>
      ) : null}
    </section>
  );
}
