import { useCallback, useEffect, useRef, useState } from "react";
import { can } from "../access.ts";
import { api } from "../api.ts";
import { toast } from "../components/ui.tsx";
import { useLive } from "../live.ts";
import { navigate } from "../router.ts";

/** What a view holds, in the order the server writes it (src/http/routes/saved-views.ts). */
export const VIEW_KEYS = ["q", "status", "marketplace", "from", "to", "buyer", "needsReview", "sort", "dir"];

export interface SavedView {
  id: string;
  name: string;
  query: string;
  builtIn: boolean;
  /** Orders in the view now; null when the server could not count it. */
  count: number | null;
}

/** The part of the URL a view holds, written as the server writes it, so the two compare equal. */
export function viewQueryOf(search: URLSearchParams): string {
  const out = new URLSearchParams();
  for (const k of VIEW_KEYS) {
    const v = search.get(k);
    if (v) out.set(k, v);
  }
  return out.toString();
}

/** Built-in and saved views with their counts; the counts follow new and changed orders live. */
export function useViews() {
  const [views, setViews] = useState<SavedView[] | null>(null);
  const load = useCallback(async () => {
    try {
      const res = await api<{ views?: SavedView[] }>("GET", "/api/views");
      if (Array.isArray(res?.views)) setViews(res.views);
    } catch {
      // the sidebar keeps what it showed; the table says what is wrong with the server
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);
  // A sync brings orders in bursts: count again once the burst has settled a little.
  const timer = useRef<number | null>(null);
  useLive((e) => {
    if (e.type !== "order.created" && e.type !== "order.updated") return;
    if (timer.current !== null) return;
    timer.current = window.setTimeout(() => {
      timer.current = null;
      void load();
    }, 700);
  });
  useEffect(
    () => () => {
      if (timer.current !== null) clearTimeout(timer.current);
    },
    [],
  );
  return { views, reload: load };
}

function filterPart(query: string): string {
  const p = new URLSearchParams(query);
  p.delete("sort");
  p.delete("dir");
  return p.toString();
}
const hasSort = (query: string) => new URLSearchParams(query).has("sort");

function showView(query: string) {
  navigate(query ? `/?${query}` : "/");
}

export function ViewsNav({
  search,
  views,
  reload,
}: {
  search: URLSearchParams;
  views: SavedView[] | null;
  reload: () => Promise<void>;
}) {
  const current = viewQueryOf(search);
  // A view is the one on screen when its filters are; a sort clicked since does not leave it.
  const filters = filterPart(current);
  const active =
    views?.find((v) => v.query === current) ??
    views?.find((v) => filterPart(v.query) === filters && !hasSort(v.query)) ??
    null;
  const manage = can("views.manage");
  const [naming, setNaming] = useState<{ id: string | null; name: string } | null>(null);
  const builtIn = (views ?? []).filter((v) => v.builtIn);
  const own = (views ?? []).filter((v) => !v.builtIn);

  async function save() {
    if (!naming) return;
    const name = naming.name.trim();
    if (!name) return toast("Give the view a name", "error");
    try {
      if (naming.id === null) await api("POST", "/api/views", { name, query: current });
      else await api("PATCH", `/api/views/${naming.id}`, { name });
      setNaming(null);
      await reload();
      toast(naming.id === null ? `Saved the view “${name}”` : `Renamed to “${name}”`);
    } catch (err) {
      toast(err instanceof Error ? err.message : String(err), "error");
    }
  }
  async function remove(v: SavedView) {
    if (!window.confirm(`Delete the view “${v.name}”? The orders stay as they are.`)) return;
    try {
      await api("DELETE", `/api/views/${v.id}`);
      await reload();
    } catch (err) {
      toast(err instanceof Error ? err.message : String(err), "error");
    }
  }

  const item = (v: SavedView) => (
    <li key={v.id} className={v === active ? "active" : undefined}>
      {naming?.id === v.id ? (
        <NameForm naming={naming} setNaming={setNaming} onSave={() => void save()} />
      ) : (
        <>
          <a
            href={v.query ? `/?${v.query}` : "/"}
            aria-current={v === active ? "true" : undefined}
            data-view={v.id}
            onClick={(e) => {
              e.preventDefault();
              showView(v.query);
            }}
          >
            <span className="view-name">{v.name}</span>
            {v.count !== null ? (
              <span className="view-count" title={`${v.count.toLocaleString()} orders`}>
                {v.count.toLocaleString()}
              </span>
            ) : null}
          </a>
          {!v.builtIn && manage ? (
            <span className="view-actions">
              <button
                type="button"
                className="link"
                aria-label={`Rename ${v.name}`}
                title="Rename"
                onClick={() => setNaming({ id: v.id, name: v.name })}
              >
                ✎
              </button>
              <button
                type="button"
                className="link"
                aria-label={`Delete ${v.name}`}
                title="Delete"
                onClick={() => void remove(v)}
              >
                ×
              </button>
            </span>
          ) : null}
        </>
      )}
    </li>
  );

  return (
    <nav className="views-nav" aria-label="Views">
      <ul>{builtIn.map(item)}</ul>
      {own.length || manage ? <h2 className="views-heading">Your views</h2> : null}
      <ul>{own.map(item)}</ul>
      {manage && own.length === 0 && !(current && !active) ? (
        <p className="views-hint">Filter the table, then save the filters here.</p>
      ) : null}
      {manage && current && !active ? (
        naming?.id === null ? (
          <NameForm naming={naming} setNaming={setNaming} onSave={() => void save()} />
        ) : (
          <button type="button" className="small save-view" onClick={() => setNaming({ id: null, name: "" })}>
            Save these filters as a view…
          </button>
        )
      ) : null}
    </nav>
  );
}

function NameForm({
  naming,
  setNaming,
  onSave,
}: {
  naming: { id: string | null; name: string };
  setNaming: (n: { id: string | null; name: string } | null) => void;
  onSave: () => void;
}) {
  return (
    <form
      className="view-name-form"
      onSubmit={(e) => {
        e.preventDefault();
        onSave();
      }}
    >
      <input
        // biome-ignore lint/a11y/noAutofocus: the seller just asked to type a name
        autoFocus
        aria-label="View name"
        placeholder="View name"
        maxLength={60}
        value={naming.name}
        onChange={(e) => setNaming({ ...naming, name: e.target.value })}
        onKeyDown={(e) => {
          if (e.key === "Escape") setNaming(null);
        }}
      />
      <button type="submit" className="small primary">
        Save
      </button>
      <button type="button" className="small link" onClick={() => setNaming(null)}>
        Cancel
      </button>
    </form>
  );
}

// ---------------------------------------------------------------- table preferences (this browser)

export const OPTIONAL_COLUMNS = [
  { id: "items", label: "Items / lots" },
  { id: "country", label: "Country" },
  { id: "shippingMethod", label: "Shipping method" },
] as const;
export type OptionalColumn = (typeof OPTIONAL_COLUMNS)[number]["id"];
export type Density = "comfortable" | "dense";

const PREFS_KEY = "orderhub.orders.table";

interface TablePrefs {
  density: Density;
  columns: OptionalColumn[];
}

function readPrefs(): TablePrefs {
  try {
    const p = JSON.parse(localStorage.getItem(PREFS_KEY) ?? "{}") as Partial<TablePrefs>;
    const known = new Set<string>(OPTIONAL_COLUMNS.map((c) => c.id));
    return {
      density: p.density === "dense" ? "dense" : "comfortable",
      columns: Array.isArray(p.columns) ? p.columns.filter((c) => known.has(c)) : [],
    };
  } catch {
    return { density: "comfortable", columns: [] };
  }
}

/** Row density and the optional columns the seller chose, remembered in this browser. */
export function useTablePrefs() {
  const [prefs, setPrefs] = useState<TablePrefs>(readPrefs);
  const update = useCallback((change: Partial<TablePrefs>) => {
    setPrefs((p) => {
      const next = { ...p, ...change };
      try {
        localStorage.setItem(PREFS_KEY, JSON.stringify(next));
      } catch {
        // private mode: the choice lasts for this page only
      }
      return next;
    });
  }, []);
  return { prefs, update };
}

export function TableTools({
  prefs,
  update,
}: {
  prefs: TablePrefs;
  update: (change: Partial<TablePrefs>) => void;
}) {
  return (
    <span className="table-tools">
      <label className="density">
        <input
          type="checkbox"
          checked={prefs.density === "dense"}
          onChange={(e) => update({ density: e.target.checked ? "dense" : "comfortable" })}
        />
        Dense rows
      </label>
      <details className="columns-menu">
        <summary>Columns</summary>
        <div className="columns-list">
          {OPTIONAL_COLUMNS.map((c) => (
            <label key={c.id}>
              <input
                type="checkbox"
                checked={prefs.columns.includes(c.id)}
                onChange={(e) =>
                  update({
                    columns: e.target.checked
                      ? OPTIONAL_COLUMNS.map((o) => o.id).filter(
                          (id) => id === c.id || prefs.columns.includes(id),
                        )
                      : prefs.columns.filter((id) => id !== c.id),
                  })
                }
              />
              {c.label}
            </label>
          ))}
        </div>
      </details>
    </span>
  );
}

const regionNames = (() => {
  try {
    return new Intl.DisplayNames(undefined, { type: "region" });
  } catch {
    return null;
  }
})();

/** "Germany" for DE, in the browser's language; the code where the browser knows no name. */
export function countryName(code: string | null): string {
  if (!code) return "—";
  try {
    return regionNames?.of(code.toUpperCase()) ?? code;
  } catch {
    return code;
  }
}
