import { Fragment, type PointerEvent, useCallback, useEffect, useRef, useState } from "react";
import { ApiError, api } from "../api.ts";
import { Dialog, ErrorText, toast } from "../components/ui.tsx";
import { useLive } from "../live.ts";
import { navigate, useLocation } from "../router.ts";

export interface PickItem {
  id: number;
  version: number;
  lotId: number | null;
  location: string | null;
  itemType: string;
  itemNo: string | null;
  colorName: string | null;
  condition: string;
  name: string;
  image: string | null;
  quantity: number;
  breakdown: { orderId: number; tote: string; quantity: number }[];
  state: "open" | "picked" | "short";
  foundQty: number | null;
  claimedBy: { id: number; name: string } | null;
  claimedByMe: boolean;
  doneBy: { id: number; name: string } | null;
}

export interface PickBatch {
  batch: { id: number; name: string; state: "open" | "done" };
  orders: { orderId: number; tote: string; number: string; buyerName: string | null }[];
  items: PickItem[];
  progress: { done: number; total: number };
}

interface BatchSummary {
  id: number;
  name: string;
  state: "open" | "done";
  orders: number;
  total: number;
  done: number;
  updatedAt: string;
}

const LONG_PRESS_MS = 550;
const FIRST_LOTS = 40;
const CONDITION: Record<string, string> = { new: "New", used: "Used" };

/** A short buzz where the phone can (a refusal, a conflict). */
export function buzz(pattern: number | number[] = 200): void {
  try {
    navigator.vibrate?.(pattern);
  } catch {
    // Some browsers refuse vibration without a user gesture: the message says it anyway.
  }
}

/** The batch with one lot as the server answered it (unless the page already has a newer one). */
function withItem(d: PickBatch, item: PickItem): PickBatch {
  return {
    ...d,
    items: d.items.map((i) => (i.id === item.id && item.version >= i.version ? item : i)),
  };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Pick mode: `/pick` lists batches; `/pick?batch=7` walks one; `?orders=1,2` or `?query=…` makes one. */
export function PickPage() {
  const { search } = useLocation();
  const batch = Number(search.get("batch")) || null;
  const orders = search.get("orders");
  const query = search.get("query");
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (batch || (!orders && query === null)) return;
    setError(null);
    const body = orders
      ? {
          orders: orders.split(",").filter(Boolean),
          ...(search.get("name") ? { name: search.get("name") } : {}),
        }
      : { query: query ?? "", ...(search.get("name") ? { name: search.get("name") } : {}) };
    api<{ batchId: number }>("POST", "/api/pick-batches", body)
      .then((r) => navigate(`/pick?batch=${r.batchId}`, { replace: true }))
      .catch(setError);
  }, [batch, orders, query, search]);
  if (batch) return <PickBatchView id={batch} />;
  if (orders || query !== null)
    return (
      <div className="pick-page">
        {error ? <ErrorText error={error} /> : <p className="muted">Making the pick list…</p>}
      </div>
    );
  return <BatchList />;
}

function BatchList() {
  const [batches, setBatches] = useState<BatchSummary[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => {
    api<{ batches: BatchSummary[] }>("GET", "/api/pick-batches")
      .then((r) => setBatches(r.batches))
      .catch(setError);
  }, []);
  useEffect(load, [load]);
  useLive((e) => {
    if (e.type === "pick.updated") load();
  });
  return (
    <div className="pick-page">
      <div className="pick-head">
        <h1>Pick</h1>
        <a
          href="/pack"
          className="pick-link"
          onClick={(e) => {
            e.preventDefault();
            navigate("/pack");
          }}
        >
          Pack &amp; verify →
        </a>
      </div>
      <ErrorText error={error} />
      {batches && batches.length === 0 ? (
        <p className="muted">No pick batches yet. Select orders in Orders and press “Pick”.</p>
      ) : null}
      <ul className="pick-batches">
        {(batches ?? []).map((b) => (
          <li key={b.id}>
            <a
              href={`/pick?batch=${b.id}`}
              onClick={(e) => {
                e.preventDefault();
                navigate(`/pick?batch=${b.id}`);
              }}
            >
              <strong>{b.name}</strong>
              <span className="muted">
                {b.orders} order{b.orders === 1 ? "" : "s"} · {b.done} / {b.total} lots
                {b.state === "done" ? " · done" : ""}
              </span>
            </a>
          </li>
        ))}
      </ul>
    </div>
  );
}

function PickBatchView({ id }: { id: number }) {
  const [data, setData] = useState<PickBatch | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [short, setShort] = useState<PickItem | null>(null);
  // A long batch shows the lots up to a little past the picker's next one at once, the rest a
  // moment later: the picker can go while the end of the list is still being drawn.
  const [shown, setShown] = useState(FIRST_LOTS);
  const seq = useRef(0);

  const load = useCallback(async () => {
    const mine = ++seq.current;
    try {
      const d = await api<PickBatch>("GET", `/api/pick-batches/${id}`);
      if (mine === seq.current) setData(d);
      setError(null);
      return d;
    } catch (err) {
      setError(err);
      return null;
    }
  }, [id]);

  // The next lot in walking order is held for this picker, so nobody else walks to it.
  const requestNext = useCallback(async (): Promise<PickItem | null> => {
    try {
      return (await api<{ item: PickItem | null }>("POST", `/api/pick-batches/${id}/next`)).item;
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 409)) toast(message(err), "error");
      return null;
    }
  }, [id]);
  const showNext = useCallback((item: PickItem | null) => {
    if (!item) return;
    setData((d) => (d ? withItem(d, item) : d));
    requestAnimationFrame(() =>
      document
        .querySelector(`[data-lot="${item.id}"]`)
        ?.scrollIntoView({ block: "center", behavior: "smooth" }),
    );
  }, []);
  const claimNext = useCallback(async () => showNext(await requestNext()), [requestNext, showNext]);

  // The batch and the claim of the next lot at once: one round trip less before the picker can go.
  useEffect(() => {
    let gone = false;
    void Promise.all([load(), requestNext()]).then(([d, next]) => {
      if (gone || !d) return;
      showNext(next);
    });
    return () => {
      gone = true;
    };
  }, [load, requestNext, showNext]);

  // Other pickers' ticks and claims arrive as they happen; a change this page already shows is skipped.
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  const current = useRef(data);
  current.current = data;
  useLive((e) => {
    if (e.type !== "pick.updated" || Number(e.batchId) !== id) return;
    const known = current.current?.items.find((i) => i.id === Number(e.itemId));
    if (known && e.version !== null && known.version >= Number(e.version)) return;
    if (pending.current) clearTimeout(pending.current);
    pending.current = setTimeout(() => void load(), 120);
  });

  async function act(item: PickItem, action: "pick" | "unpick" | "short", extra: object = {}) {
    const optimistic: PickItem["state"] =
      action === "unpick" ? "open" : action === "pick" ? "picked" : "short";
    setData((d) =>
      d
        ? {
            ...d,
            items: d.items.map((i) => (i.id === item.id ? { ...i, state: optimistic, claimedBy: null } : i)),
          }
        : d,
    );
    try {
      const r = await api<{ item: PickItem; finished: boolean }>(
        "POST",
        `/api/pick-batches/${id}/items/${item.id}`,
        { action, version: item.version, ...extra },
      );
      setData((d) => (d ? withItem(d, r.item) : d));
      if (r.finished) {
        toast("Every lot is picked: the batch is done");
        buzz([60, 60, 60]);
        void load();
      } else if (action !== "unpick") void claimNext();
    } catch (err) {
      buzz();
      toast(message(err), "error");
      void load();
    }
  }

  const count = data?.items.length ?? 0;
  useEffect(() => {
    if (shown >= count) return;
    // After the first lots are painted.
    let t: ReturnType<typeof setTimeout> | undefined;
    const f = requestAnimationFrame(() => {
      t = setTimeout(() => setShown(count), 0);
    });
    return () => {
      cancelAnimationFrame(f);
      if (t) clearTimeout(t);
    };
  }, [shown, count]);

  if (!data)
    return (
      <div className="pick-page">
        {error ? <ErrorText error={error} /> : <p className="muted">Loading…</p>}
      </div>
    );
  // Counted from the lots shown, so a tick moves it at once.
  const total = data.items.length;
  const done = data.items.filter((i) => i.state !== "open").length;
  const totes = data.orders.length
    ? `${data.orders[0]!.tote}–${data.orders[data.orders.length - 1]!.tote}`
    : "";
  let lastLocation: string | null | undefined;
  const mine = data.items.findIndex((i) => i.claimedByMe);
  const upTo = Math.max(shown, mine + FIRST_LOTS);
  return (
    <div className="pick-page">
      <div className="pick-progress" aria-live="polite">
        <div className="pick-progress-row">
          <a
            href="/pick"
            className="pick-back"
            aria-label="All pick batches"
            onClick={(e) => {
              e.preventDefault();
              navigate("/pick");
            }}
          >
            ‹
          </a>
          <strong className="pick-name">{data.batch.name}</strong>
          <span className="pick-count" data-testid="pick-progress">
            {done} / {total} lots
          </span>
        </div>
        <div
          className="pick-bar"
          role="progressbar"
          aria-valuemin={0}
          aria-valuemax={total}
          aria-valuenow={done}
          aria-label="Lots picked"
        >
          <span style={{ width: `${total ? (100 * done) / total : 0}%` }} />
        </div>
        <div className="muted pick-sub">
          {data.orders.length} order{data.orders.length === 1 ? "" : "s"}
          {totes ? ` · totes ${totes}` : ""} · tap to tick, hold for a shortage
          {data.batch.state === "done" ? " · done" : ""}
        </div>
      </div>
      <ErrorText error={error} />
      <ul className="pick-list">
        {data.items.slice(0, upTo).map((item) => {
          // One heading per bin as walking order groups them ("a-2" with "A-2").
          const bin = item.location?.trim().toLowerCase() ?? null;
          const heading = bin !== lastLocation;
          lastLocation = bin;
          return (
            <Fragment key={item.id}>
              {heading ? (
                <li className="pick-bin" aria-hidden="true">
                  {item.location ?? "No bin"}
                </li>
              ) : null}
              <LotRow
                item={item}
                onTap={() => void act(item, item.state === "open" ? "pick" : "unpick")}
                onLongPress={() => {
                  if (item.state !== "open") return;
                  buzz(40);
                  setShort(item);
                }}
              />
            </Fragment>
          );
        })}
      </ul>
      {short ? (
        <ShortageDialog
          item={short}
          onClose={() => setShort(null)}
          onSave={(found, note) => {
            setShort(null);
            void act(short, "short", { found, ...(note ? { note } : {}) });
          }}
        />
      ) : null}
    </div>
  );
}

function LotRow({
  item,
  onTap,
  onLongPress,
}: {
  item: PickItem;
  onTap: () => void;
  onLongPress: () => void;
}) {
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const start = useRef<{ x: number; y: number } | null>(null);
  const longPressed = useRef(false);
  const [imageFailed, setImageFailed] = useState(false);
  const cancel = () => {
    if (timer.current) clearTimeout(timer.current);
    timer.current = null;
  };
  const down = (e: PointerEvent) => {
    if (e.button !== 0) return;
    longPressed.current = false;
    start.current = { x: e.clientX, y: e.clientY };
    cancel();
    timer.current = setTimeout(() => {
      longPressed.current = true;
      timer.current = null;
      onLongPress();
    }, LONG_PRESS_MS);
  };
  const move = (e: PointerEvent) => {
    // A scroll is no press.
    if (start.current && Math.hypot(e.clientX - start.current.x, e.clientY - start.current.y) > 10) cancel();
  };
  const other = item.state === "open" && item.claimedBy && !item.claimedByMe ? item.claimedBy.name : null;
  const cls = [
    "pick-lot",
    `pick-${item.state}`,
    item.claimedByMe && item.state === "open" ? "pick-mine" : "",
    other ? "pick-theirs" : "",
  ]
    .filter(Boolean)
    .join(" ");
  const state =
    item.state === "picked"
      ? "picked"
      : item.state === "short"
        ? `short: ${item.foundQty} of ${item.quantity} found`
        : other
          ? `${other} is picking this`
          : item.claimedByMe
            ? "your next lot"
            : "to pick";
  return (
    <li className={cls} data-lot={item.id} data-state={item.state}>
      <button
        type="button"
        className="pick-tap"
        aria-pressed={item.state !== "open"}
        aria-label={`${item.quantity} × ${item.itemNo ?? item.name} ${item.colorName ?? ""} ${CONDITION[item.condition] ?? ""}: ${state}`}
        onPointerDown={down}
        onPointerMove={move}
        onPointerUp={cancel}
        onPointerCancel={cancel}
        onPointerLeave={cancel}
        onContextMenu={(e) => e.preventDefault()}
        onClick={() => {
          if (longPressed.current) {
            longPressed.current = false;
            return;
          }
          onTap();
        }}
      >
        <span className="pick-check" aria-hidden="true">
          {item.state === "picked" ? "✓" : item.state === "short" ? "!" : ""}
        </span>
        <span className="pick-img" aria-hidden="true">
          {item.image && !imageFailed ? (
            <img
              src={item.image}
              alt=""
              loading="lazy"
              referrerPolicy="no-referrer"
              onError={() => setImageFailed(true)}
            />
          ) : (
            <span className="pick-noimg">{item.itemType.slice(0, 1).toUpperCase()}</span>
          )}
        </span>
        <span className="pick-what">
          <span className="pick-item">
            <strong>{item.itemNo ?? item.name}</strong>
            {item.colorName ? <span> · {item.colorName}</span> : null}
            <span className={`pick-cond pick-cond-${item.condition}`}>
              {CONDITION[item.condition] ?? "?"}
            </span>
          </span>
          <span className="pick-desc">{item.name}</span>
          <span className="pick-totes">
            {item.breakdown.map((s) => (
              <span key={`${s.orderId}-${s.tote}`} className="pick-tote">
                {s.tote}
                {s.quantity > 1 || item.breakdown.length > 1 ? <small>×{s.quantity}</small> : null}
              </span>
            ))}
            <span className="pick-state">{state}</span>
          </span>
        </span>
        <span className="pick-qty">{item.quantity}</span>
      </button>
    </li>
  );
}

function ShortageDialog({
  item,
  onClose,
  onSave,
}: {
  item: PickItem;
  onClose: () => void;
  onSave: (found: number, note: string) => void;
}) {
  const [found, setFound] = useState(String(Math.max(0, item.quantity - 1)));
  const [note, setNote] = useState("");
  const n = Number(found);
  const problem =
    found.trim() === "" || !Number.isInteger(n) || n < 0
      ? "Say how many you found (0 or more)"
      : n >= item.quantity
        ? `That is all ${item.quantity}: tick the lot instead`
        : null;
  return (
    <Dialog title={`Short: ${item.itemNo ?? item.name}`} onClose={onClose}>
      <form
        className="pick-short-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (!problem) onSave(n, note.trim());
        }}
      >
        <p>
          {item.quantity} wanted ({item.breakdown.map((s) => `${s.tote}×${s.quantity}`).join(", ")}) from{" "}
          {item.location ?? "no bin"}.
        </p>
        <label htmlFor="short-found">Found</label>
        <span className="pick-stepper">
          <button type="button" aria-label="One less" onClick={() => setFound(String(Math.max(0, n - 1)))}>
            −
          </button>
          <input
            id="short-found"
            inputMode="numeric"
            value={found}
            onChange={(e) => setFound(e.target.value)}
            aria-invalid={problem ? true : undefined}
            aria-describedby="short-problem"
          />
          <button
            type="button"
            aria-label="One more"
            onClick={() => setFound(String(Math.min(item.quantity - 1, n + 1)))}
          >
            +
          </button>
        </span>
        {problem ? (
          <p className="error" id="short-problem">
            {problem}
          </p>
        ) : null}
        <label>
          Note (optional)
          <input value={note} maxLength={500} onChange={(e) => setNote(e.target.value)} />
        </label>
        <div className="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={Boolean(problem)}>
            Record shortage
          </button>
        </div>
      </form>
    </Dialog>
  );
}
