import { createColumnHelper, tableFeatures, useTable } from "@tanstack/react-table";
import { type MouseEvent, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { can } from "../access.ts";
import { api, download, type OrderList, type OrderRow } from "../api.ts";
import {
  BatchShipDialog,
  SetStatusDialog,
  SHIPPED_STATUSES,
  TrackingImportDialog,
} from "../components/batch-ship-dialog.tsx";
import { ShipDialog } from "../components/ship-dialog.tsx";
import { ErrorText, StatusBadge, toast } from "../components/ui.tsx";
import { formatDateTime, marketplaceName, marketplaces, STATUS_LABELS } from "../format.ts";
import { useLive } from "../live.ts";
import { useNewest } from "../newest.ts";
import { navigate, setParams, useLocation } from "../router.ts";
import { OrderDrawer } from "./order-detail.tsx";
import { countryName, TableTools, useTablePrefs, useViews, ViewsNav } from "./orders-views.tsx";

const PAGE_SIZE = 100;
const FILTER_KEYS = ["q", "status", "marketplace", "from", "to", "buyer", "needsReview", "onHold"] as const;

const features = tableFeatures({});
const col = createColumnHelper<typeof features, OrderRow>();

/** The query the table view sends, straight from the URL (so a view can be bookmarked). */
function queryOf(search: URLSearchParams): URLSearchParams {
  const q = new URLSearchParams();
  for (const k of [...FILTER_KEYS, "sort", "dir", "page"]) {
    const v = search.get(k);
    // From and To stay days: the server reads them in the account's time zone, To as the whole day.
    if (v) q.set(k, v);
  }
  q.set("pageSize", String(PAGE_SIZE));
  return q;
}

function filterOf(search: URLSearchParams): Record<string, string> {
  const f: Record<string, string> = {};
  for (const k of FILTER_KEYS) {
    const v = search.get(k);
    if (v) f[k] = v;
  }
  return f;
}

type Selection = { ids: Set<number>; allMatching: boolean };

export function OrdersPage() {
  const { search } = useLocation();
  const queryString = queryOf(search).toString();
  const [data, setData] = useState<OrderList | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const [selection, setSelection] = useState<Selection>({ ids: new Set(), allMatching: false });
  const [cursor, setCursor] = useState(0);
  const [flash, setFlash] = useState<Set<number>>(new Set());
  const [shipOpen, setShipOpen] = useState(false);
  // Batch shipping: Set status on the selection, tracking from a CSV, one parcel for many orders.
  const [batchDialog, setBatchDialog] = useState<"status" | "import" | "parcel" | null>(null);
  const lastClicked = useRef<number | null>(null);
  const searchRef = useRef<HTMLInputElement>(null);
  const openId = search.get("order");
  const { views, reload: reloadViews } = useViews();
  const { prefs, update: updatePrefs } = useTablePrefs();

  // Answers can arrive out of order (a live refresh started before the filter changed, a slow page):
  // only answers for the filter on screen are shown, never one older than what is shown.
  const begin = useNewest(queryString);
  const load = useCallback(async () => {
    const answer = begin(queryString);
    setLoading(true);
    try {
      const res = await api<OrderList>("GET", `/api/orders?${queryString}`);
      if (answer.accept()) {
        setData(res);
        setError(null);
      }
    } catch (err) {
      if (answer.accept()) setError(err);
    } finally {
      if (answer.latest()) setLoading(false);
    }
  }, [queryString, begin]);
  const loadNow = useRef(load);
  loadNow.current = load;
  useEffect(() => {
    void load();
  }, [load]);

  // Live: new and changed orders come in place (same scroll, same selection), highlighted briefly.
  // Events come in bursts during a sync: gather them and refresh once per 300 ms.
  const pending = useRef<number | null>(null);
  const changed = useRef<Set<number>>(new Set());
  useLive((e) => {
    if (e.type !== "order.created" && e.type !== "order.updated") return;
    changed.current.add(Number(e.orderId));
    if (pending.current !== null) return;
    pending.current = window.setTimeout(() => {
      pending.current = null;
      const ids = changed.current;
      changed.current = new Set();
      setFlash(ids);
      setTimeout(() => setFlash((f) => (f === ids ? new Set() : f)), 2500);
      // The filter shown now, not the one in force when the events came.
      void loadNow.current();
    }, 300);
  });

  const rows = data?.orders ?? [];
  const toggle = useCallback(
    (id: number, index: number, shift: boolean) => {
      // Read before the update runs: React calls the updater later, after lastClicked has moved on.
      const from = lastClicked.current;
      setSelection((s) => {
        const ids = new Set(s.ids);
        if (shift && from !== null) {
          const [a, b] = [from, index].sort((x, y) => x - y);
          const on = !ids.has(id);
          for (const r of rows.slice(a!, b! + 1)) on ? ids.add(r.id) : ids.delete(r.id);
        } else if (ids.has(id)) ids.delete(id);
        else ids.add(id);
        return { ids, allMatching: false };
      });
      lastClicked.current = index;
    },
    [rows],
  );

  const sort = search.get("sort") ?? "orderedAt";
  const dir = search.get("dir") ?? (sort === "orderedAt" || sort === "total" ? "desc" : "asc");
  const sortBy = (key: string) =>
    setParams({
      sort: key,
      dir:
        sort === key
          ? dir === "asc"
            ? "desc"
            : "asc"
          : key === "orderedAt" || key === "total"
            ? "desc"
            : "asc",
      page: null,
    });

  const allOnPage = rows.length > 0 && rows.every((r) => selection.ids.has(r.id));
  const columns = useMemo(
    () =>
      col.columns([
        col.display({
          id: "select",
          header: () => (
            <input
              type="checkbox"
              aria-label="Select all orders on this page"
              checked={allOnPage}
              onChange={() =>
                setSelection((s) => {
                  const ids = new Set(s.ids);
                  for (const r of rows) allOnPage ? ids.delete(r.id) : ids.add(r.id);
                  return { ids, allMatching: false };
                })
              }
            />
          ),
          cell: ({ row }) => (
            <input
              type="checkbox"
              aria-label={`Select ${row.original.number}`}
              checked={selection.allMatching || selection.ids.has(row.original.id)}
              onClick={(e: MouseEvent<HTMLInputElement>) => {
                e.stopPropagation();
                toggle(row.original.id, row.index, e.shiftKey);
              }}
              onChange={() => {}}
            />
          ),
        }),
        col.accessor("number", {
          header: "Order",
          cell: (c) => <span className="mono">{c.getValue()}</span>,
        }),
        col.accessor("marketplace", {
          header: "Marketplace",
          cell: (c) => <span className={`mp mp-${c.getValue()}`}>{marketplaceName(c.getValue())}</span>,
        }),
        col.accessor("orderedAt", { header: "Date", cell: (c) => formatDateTime(c.getValue()) }),
        col.accessor("buyerName", {
          header: "Buyer",
          cell: (c) => (
            <span>
              {c.getValue() ?? "—"}
              {c.row.original.buyerUsername ? (
                <span className="muted"> · {c.row.original.buyerUsername}</span>
              ) : null}
            </span>
          ),
        }),
        col.accessor("status", {
          header: "Status",
          cell: (c) => (
            <StatusBadge
              status={c.getValue()}
              raw={c.row.original.rawStatus}
              review={c.row.original.needsReview}
              held={c.row.original.onHold}
            />
          ),
        }),
        // Optional columns, as the seller chose them (remembered in this browser).
        ...(prefs.columns.includes("items")
          ? [
              col.accessor("itemCount", {
                header: "Items",
                cell: (c) => (
                  <span className="num">
                    {c.getValue().toLocaleString()}
                    <span className="muted"> · {c.row.original.lotCount.toLocaleString()} lots</span>
                  </span>
                ),
              }),
            ]
          : []),
        ...(prefs.columns.includes("country")
          ? [
              col.accessor("countryCode", {
                header: "Country",
                cell: (c) => <span title={c.getValue() ?? undefined}>{countryName(c.getValue())}</span>,
              }),
            ]
          : []),
        ...(prefs.columns.includes("shippingMethod")
          ? [
              col.accessor("shippingMethod", {
                header: "Shipping",
                cell: (c) => c.getValue() ?? "—",
              }),
            ]
          : []),
        col.accessor("grandTotal", {
          header: "Total",
          cell: (c) => (
            <span className="num">
              {c.getValue().display} {c.getValue().currency}
            </span>
          ),
        }),
      ]),
    [allOnPage, rows, selection, toggle, prefs.columns],
  );
  const table = useTable({ features, columns, data: rows });
  const SORT_KEYS: Record<string, string> = {
    number: "number",
    marketplace: "marketplace",
    orderedAt: "orderedAt",
    buyerName: "buyer",
    status: "status",
    grandTotal: "total",
  };

  // Keyboard: j/k move, x selects, Enter opens, / searches, Escape closes the detail.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (t.closest("input, textarea, select, [role=dialog]")) return;
      if (e.key === "/") {
        e.preventDefault();
        searchRef.current?.focus();
      } else if (e.key === "j" || e.key === "ArrowDown") {
        e.preventDefault();
        setCursor((c) => Math.min(rows.length - 1, c + 1));
      } else if (e.key === "k" || e.key === "ArrowUp") {
        e.preventDefault();
        setCursor((c) => Math.max(0, c - 1));
      } else if (e.key === "x" && rows[cursor]) {
        toggle(rows[cursor].id, cursor, e.shiftKey);
      } else if (e.key === "Enter" && rows[cursor]) {
        setParams({ order: String(rows[cursor].id) });
      } else if (e.key === "Escape" && openId) {
        setParams({ order: null });
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [rows, cursor, toggle, openId]);
  useEffect(() => {
    document.querySelector<HTMLElement>(`tr[data-index="${cursor}"]`)?.scrollIntoView({ block: "nearest" });
  }, [cursor]);

  const total = data?.total ?? 0;
  const page = data?.page ?? 1;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const selectedCount = selection.allMatching ? total : selection.ids.size;
  const target = () =>
    selection.allMatching ? { filter: filterOf(search) } : { orders: [...selection.ids] };

  /** The selected orders (or the filter) into a pick batch, opened in pick mode. */
  async function pick() {
    try {
      const r = await api<{ batchId: number }>("POST", "/api/pick-batches", target());
      navigate(`/pick?batch=${r.batchId}`);
    } catch (err) {
      toast(err instanceof Error ? err.message : String(err), "error");
    }
  }

  // No "Mark shipped" when every selected order has left already (their tracking is replaced one by one).
  const selectedRows = rows.filter((r) => selection.ids.has(r.id));
  const allSelectedShipped =
    !selection.allMatching &&
    selectedRows.length === selection.ids.size &&
    selectedRows.length > 0 &&
    selectedRows.every((r) => SHIPPED_STATUSES.has(r.status));

  async function doc(kind: string) {
    try {
      const name = await download("/api/documents", { kind, ...target() });
      toast(`Downloaded ${name}`);
    } catch (err) {
      toast(err instanceof Error ? err.message : String(err), "error");
    }
  }

  return (
    <div className="orders-page">
      <ViewsNav search={search} views={views} reload={reloadViews} />
      <div className="orders-main">
        <Filters search={search} searchRef={searchRef} />
        {selectedCount > 0 ? (
          <div className="bulkbar" role="toolbar" aria-label="Actions on the selected orders">
            <strong>{selectedCount.toLocaleString()} selected</strong>
            {!selection.allMatching && allOnPage && total > rows.length ? (
              <button
                type="button"
                className="link"
                onClick={() => setSelection({ ids: new Set(), allMatching: true })}
              >
                Select all {total.toLocaleString()} matching the filter
              </button>
            ) : null}
            <span className="spacer" />
            <button type="button" onClick={() => void doc("labels")}>
              Labels
            </button>
            <button type="button" onClick={() => void doc("pick-sheet")}>
              Pick sheet
            </button>
            {can("pick.work") ? (
              <button type="button" onClick={() => void pick()}>
                Pick
              </button>
            ) : null}
            <button type="button" onClick={() => void doc("packing-slips")}>
              Packing slips
            </button>
            <button type="button" onClick={() => void doc("csv-orders")}>
              CSV
            </button>
            {can("orders.status") ? (
              <button
                type="button"
                onClick={() => setBatchDialog("status")}
                disabled={selection.allMatching}
                title={
                  selection.allMatching ? "Select the orders on the page to set their status" : undefined
                }
              >
                Set status…
              </button>
            ) : null}
            {can("orders.ship") && !allSelectedShipped ? (
              <button
                type="button"
                className="primary"
                onClick={() => setShipOpen(true)}
                disabled={selection.allMatching}
                title={selection.allMatching ? "Select the orders on the page to ship them" : undefined}
              >
                Mark shipped…
              </button>
            ) : null}
            <button
              type="button"
              className="link"
              onClick={() => setSelection({ ids: new Set(), allMatching: false })}
            >
              Clear
            </button>
          </div>
        ) : null}
        <ErrorText error={error} />
        <div className="table-wrap" aria-busy={loading}>
          <table className={prefs.density === "dense" ? "orders dense" : "orders"}>
            <thead>
              {table.getHeaderGroups().map((g) => (
                <tr key={g.id}>
                  {g.headers.map((h) => {
                    const key = SORT_KEYS[h.column.id];
                    const active = key && key === sort;
                    return (
                      <th
                        key={h.id}
                        className={`col-${h.column.id}`}
                        aria-sort={active ? (dir === "asc" ? "ascending" : "descending") : undefined}
                      >
                        {key ? (
                          <button type="button" className="sort" onClick={() => sortBy(key)}>
                            <table.FlexRender header={h} />
                            <span className="arrow" aria-hidden="true">
                              {active ? (dir === "asc" ? "▲" : "▼") : ""}
                            </span>
                          </button>
                        ) : (
                          <table.FlexRender header={h} />
                        )}
                      </th>
                    );
                  })}
                </tr>
              ))}
            </thead>
            <tbody>
              {table.getRowModel().rows.map((row) => (
                <tr
                  key={row.id}
                  data-index={row.index}
                  data-order={row.original.number}
                  className={[
                    row.index === cursor ? "cursor" : "",
                    flash.has(row.original.id) ? "flash" : "",
                    selection.ids.has(row.original.id) || selection.allMatching ? "selected" : "",
                    String(row.original.id) === openId ? "open" : "",
                  ].join(" ")}
                  onClick={() => {
                    setCursor(row.index);
                    setParams({ order: String(row.original.id) });
                  }}
                >
                  {row.getAllCells().map((cell) => (
                    <td key={cell.id} className={`col-${cell.column.id}`}>
                      <table.FlexRender cell={cell} />
                    </td>
                  ))}
                </tr>
              ))}
              {data && rows.length === 0 ? (
                <tr>
                  <td colSpan={columns.length} className="empty">
                    No orders match.{" "}
                    {search.toString()
                      ? "Clear the filters to see every order."
                      : "Connect a marketplace under Integrations."}
                  </td>
                </tr>
              ) : null}
            </tbody>
          </table>
        </div>
        <div className="pager">
          <TableTools prefs={prefs} update={updatePrefs} />
          {can("orders.ship") ? (
            <button type="button" className="small" onClick={() => setBatchDialog("import")}>
              Import tracking…
            </button>
          ) : null}
          <span className="muted">
            {total === 0
              ? "0 orders"
              : `${((page - 1) * PAGE_SIZE + 1).toLocaleString()}–${Math.min(page * PAGE_SIZE, total).toLocaleString()} of ${total.toLocaleString()} orders`}
          </span>
          <button type="button" disabled={page <= 1} onClick={() => setParams({ page: String(page - 1) })}>
            Previous
          </button>
          <span>
            Page {page} of {pages.toLocaleString()}
          </span>
          <button
            type="button"
            disabled={page >= pages}
            onClick={() => setParams({ page: String(page + 1) })}
          >
            Next
          </button>
        </div>
      </div>
      {openId ? <OrderDrawer id={openId} onClose={() => setParams({ order: null })} /> : null}
      {shipOpen && selection.ids.size > 1 ? (
        <BatchShipDialog
          orderIds={[...selection.ids]}
          onClose={() => setShipOpen(false)}
          onOneParcel={() => {
            setShipOpen(false);
            setBatchDialog("parcel");
          }}
          onDone={() => {
            setShipOpen(false);
            setSelection({ ids: new Set(), allMatching: false });
            void load();
          }}
        />
      ) : shipOpen || batchDialog === "parcel" ? (
        <ShipDialog
          orderIds={[...selection.ids]}
          onClose={() => {
            setShipOpen(false);
            setBatchDialog(null);
          }}
          onDone={() => {
            setShipOpen(false);
            setBatchDialog(null);
            setSelection({ ids: new Set(), allMatching: false });
            void load();
          }}
        />
      ) : null}
      {batchDialog === "status" ? (
        <SetStatusDialog
          orderIds={[...selection.ids]}
          onClose={() => setBatchDialog(null)}
          onDone={() => {
            setBatchDialog(null);
            setSelection({ ids: new Set(), allMatching: false });
            void load();
          }}
        />
      ) : batchDialog === "import" ? (
        <TrackingImportDialog
          onClose={() => setBatchDialog(null)}
          onDone={() => {
            setBatchDialog(null);
            void load();
          }}
        />
      ) : null}
    </div>
  );
}

function Filters({
  search,
  searchRef,
}: {
  search: URLSearchParams;
  searchRef: React.RefObject<HTMLInputElement | null>;
}) {
  const [q, setQ] = useState(search.get("q") ?? "");
  const [buyer, setBuyer] = useState(search.get("buyer") ?? "");
  // Text that arrived at once (pasted, dropped) searches without the typing pause.
  const pasted = useRef(false);
  // The URL changed from elsewhere (a view, Clear filters, Back): the boxes show what it says.
  const urlQ = search.get("q") ?? "";
  const urlBuyer = search.get("buyer") ?? "";
  const seen = useRef({ q: urlQ, buyer: urlBuyer });
  /** What these boxes last wrote into the URL: that change is ours, not one to follow. */
  const wrote = useRef({ q: urlQ, buyer: urlBuyer });
  if (seen.current.q !== urlQ || seen.current.buyer !== urlBuyer) {
    seen.current = { q: urlQ, buyer: urlBuyer };
    if (urlQ !== wrote.current.q || urlBuyer !== wrote.current.buyer) {
      wrote.current = { q: urlQ, buyer: urlBuyer };
      setQ(urlQ);
      setBuyer(urlBuyer);
    }
  }
  const write = useCallback((q: string, buyer: string) => {
    wrote.current = { q, buyer };
    setParams({ q, buyer, page: null }, { replace: true });
  }, []);
  const filtered = FILTER_KEYS.some((k) => search.get(k));
  useEffect(() => {
    // Typing pauses before searching; pasted text and Enter search at once.
    const t = setTimeout(
      () => {
        if ((search.get("q") ?? "") !== q || (search.get("buyer") ?? "") !== buyer) write(q, buyer);
      },
      pasted.current ? 0 : 250,
    );
    return () => clearTimeout(t);
  }, [q, buyer, search, write]);
  return (
    <search>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault(); // Enter searches now
          write(q, buyer);
        }}
      >
        <label className="grow">
          <span className="sr-only">Search orders</span>
          <input
            ref={searchRef}
            type="search"
            placeholder="Search number, buyer, item or part name  ( / )"
            value={q}
            onChange={(e) => {
              pasted.current = e.target.value.length - q.length > 1;
              setQ(e.target.value);
            }}
          />
        </label>
        <label>
          <span className="sr-only">Marketplace</span>
          <select
            value={search.get("marketplace") ?? ""}
            onChange={(e) => setParams({ marketplace: e.target.value, page: null })}
          >
            <option value="">All marketplaces</option>
            {marketplaces().map((m) => (
              <option key={m.id} value={m.id}>
                {m.displayName}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span className="sr-only">Status</span>
          <select
            value={search.get("status") ?? ""}
            onChange={(e) => setParams({ status: e.target.value, page: null })}
          >
            <option value="">All statuses</option>
            {Object.entries(STATUS_LABELS).map(([id, name]) => (
              <option key={id} value={id}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span className="label-inline">From</span>
          <input
            type="date"
            value={search.get("from") ?? ""}
            onChange={(e) => setParams({ from: e.target.value, page: null })}
          />
        </label>
        <label>
          <span className="label-inline">To</span>
          <input
            type="date"
            value={search.get("to") ?? ""}
            onChange={(e) => setParams({ to: e.target.value, page: null })}
          />
        </label>
        <label>
          <span className="sr-only">Buyer</span>
          <input type="text" placeholder="Buyer" value={buyer} onChange={(e) => setBuyer(e.target.value)} />
        </label>
        {filtered ? (
          <button
            type="button"
            className="link clear-filters"
            onClick={() => {
              const clear: Record<string, null> = { page: null };
              for (const k of FILTER_KEYS) clear[k] = null;
              wrote.current = { q: "", buyer: "" };
              setQ("");
              setBuyer("");
              setParams(clear);
            }}
          >
            Clear filters
          </button>
        ) : null}
      </form>
    </search>
  );
}
