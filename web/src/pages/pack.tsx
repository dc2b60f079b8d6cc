import { useCallback, useEffect, useRef, useState } from "react";
import { can } from "../access.ts";
import { ApiError, api, download } from "../api.ts";
import { ErrorText, StatusBadge, toast } from "../components/ui.tsx";
import { navigate, useLocation } from "../router.ts";
import { buzz } from "./pick.tsx";

export interface PackLine {
  id: number;
  lotId: number | null;
  itemNo: string | null;
  name: string;
  colorName: string | null;
  condition: string;
  quantity: number;
  location: string | null;
  image: string | null;
  /** What a scan of this line may carry: its lot code (`LOT-12`), its item number. */
  codes: string[];
}

export interface PackOrder {
  order: {
    id: number;
    number: string;
    status: string;
    rawStatus: string;
    buyerName: string | null;
    buyerUsername: string | null;
    shippingMethod: string | null;
    trackingNumbers: string[];
  };
  lines: PackLine[];
}

type Outcome =
  | { kind: "confirmed"; line: PackLine }
  | { kind: "already"; line: PackLine }
  | { kind: "ambiguous"; code: string }
  | { kind: "none" };

const norm = (s: string) => s.trim().toLowerCase();

/**
 * Which line a scan confirms: the line whose lot code it is, else the one unconfirmed line with
 * that item number (several: the scan is ambiguous, the lot label or a tap decides). Pure, so the
 * page and its benchmark use the same rule.
 */
export function matchScan(lines: PackLine[], confirmed: ReadonlySet<number>, code: string): Outcome {
  const c = norm(code);
  const byLot = lines.find((l) => l.codes.some((k) => k.startsWith("LOT-") && norm(k) === c));
  if (byLot)
    return confirmed.has(byLot.id) ? { kind: "already", line: byLot } : { kind: "confirmed", line: byLot };
  const byItem = lines.filter((l) => l.itemNo && norm(l.itemNo) === c);
  if (byItem.length === 0) return { kind: "none" };
  const open = byItem.filter((l) => !confirmed.has(l.id));
  if (open.length === 0) return { kind: "already", line: byItem[0]! };
  if (open.length > 1) return { kind: "ambiguous", code };
  return { kind: "confirmed", line: open[0]! };
}

const SHIPPED = new Set(["shipped", "delivered", "completed", "fulfilled"]);
const CONDITION: Record<string, string> = { new: "New", used: "Used" };

/** Pack mode: scan (camera or a scanner that types) an order's barcode, then each line; ship in one tap. */
export function PackPage() {
  const { search } = useLocation();
  const ref = search.get("order");
  const [pack, setPack] = useState<PackOrder | null>(null);
  const [confirmed, setConfirmed] = useState<Set<number>>(new Set());
  const [scanned, setScanned] = useState(0);
  const [notice, setNotice] = useState<{ text: string; kind: "ok" | "error" } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [camera, setCamera] = useState(false);
  const [busy, setBusy] = useState(false);
  const [typed, setTyped] = useState("");
  const verified = useRef<number | null>(null);
  const state = useRef({ pack, confirmed });
  state.current = { pack, confirmed };

  const open = useCallback(async (code: string): Promise<boolean> => {
    try {
      const p = await api<PackOrder>("GET", `/api/pack/${encodeURIComponent(code)}`);
      setPack(p);
      setConfirmed(new Set());
      setScanned(0);
      verified.current = null;
      setError(null);
      setNotice({ text: `Order ${p.order.number}: scan or tap each line`, kind: "ok" });
      if (new URLSearchParams(location.search).get("order") !== p.order.number)
        navigate(`/pack?order=${encodeURIComponent(p.order.number)}`, { replace: true });
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return false;
      setError(err);
      return true;
    }
  }, []);

  useEffect(() => {
    if (ref && ref !== state.current.pack?.order.number) void open(ref);
  }, [ref, open]);

  const refuse = useCallback((text: string) => {
    buzz([120, 60, 120]);
    setNotice({ text, kind: "error" });
  }, []);

  /** One scan from the camera, a scanner or the box: a line of the open order, else an order. */
  const onScan = useCallback(
    async (raw: string) => {
      const code = raw.trim();
      if (!code) return;
      const { pack: p, confirmed: done } = state.current;
      if (p) {
        const m = matchScan(p.lines, done, code);
        if (m.kind === "confirmed") {
          setConfirmed((s) => new Set(s).add(m.line.id));
          setScanned((n) => n + 1);
          setNotice({ text: `✓ ${m.line.quantity} × ${m.line.itemNo ?? m.line.name}`, kind: "ok" });
          buzz(30);
          return;
        }
        if (m.kind === "already")
          return refuse(`${m.line.itemNo ?? m.line.name} is already confirmed in ${p.order.number}`);
        if (m.kind === "ambiguous")
          return refuse(`Several lines are item ${code}: scan the lot label or tap the right line`);
        if (norm(code) === norm(p.order.number))
          return setNotice({ text: `${p.order.number} is open`, kind: "ok" });
      }
      const wasOrder = await open(code);
      if (!wasOrder)
        refuse(
          p
            ? `Wrong item: “${code}” is not in ${p.order.number}`
            : `No order “${code}”: scan an order's barcode`,
        );
    },
    [open, refuse],
  );

  // A USB or Bluetooth scanner types the code and Enter, wherever the focus is.
  useEffect(() => {
    let buffer = "";
    const onKey = (e: KeyboardEvent) => {
      const t = e.target;
      if (t instanceof Element && t.closest("input, textarea, select, [role=dialog]")) return;
      if (e.key === "Enter") {
        if (buffer) {
          e.preventDefault();
          const code = buffer;
          buffer = "";
          void onScan(code);
        }
      } else if (e.key.length === 1 && !e.ctrlKey && !e.metaKey && !e.altKey) buffer += e.key;
      else if (e.key === "Escape") buffer = "";
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [onScan]);

  const allDone = Boolean(pack && pack.lines.length > 0 && pack.lines.every((l) => confirmed.has(l.id)));
  useEffect(() => {
    if (!allDone || !pack || verified.current === pack.order.id) return;
    verified.current = pack.order.id;
    buzz([60, 40, 60]);
    api("POST", `/api/pack/${pack.order.id}/verified`, { lines: pack.lines.length, scanned }).catch((err) =>
      toast(err instanceof Error ? err.message : String(err), "error"),
    );
  }, [allDone, pack, scanned]);

  async function printLabel() {
    if (!pack) return;
    try {
      const name = await download("/api/documents", { kind: "labels", orders: [pack.order.id] });
      toast(`Downloaded ${name}`);
    } catch (err) {
      toast(err instanceof Error ? err.message : String(err), "error");
    }
  }

  async function markShipped() {
    if (!pack) return;
    setBusy(true);
    try {
      await api("POST", "/api/fulfilment/ship", { orders: [pack.order.id] });
      toast(`${pack.order.number} marked shipped`);
      setPack({ ...pack, order: { ...pack.order, status: "shipped" } });
    } catch (err) {
      toast(err instanceof Error ? err.message : String(err), "error");
    } finally {
      setBusy(false);
    }
  }

  const left = pack ? pack.lines.filter((l) => !confirmed.has(l.id)).length : 0;
  return (
    <div className="pack-page">
      <div className="pick-head">
        <h1>Pack</h1>
        <a
          href="/pick"
          className="pick-link"
          onClick={(e) => {
            e.preventDefault();
            navigate("/pick");
          }}
        >
          ← Pick
        </a>
      </div>
      <form
        className="pack-scanbox"
        onSubmit={(e) => {
          e.preventDefault();
          const code = typed;
          setTyped("");
          void onScan(code);
        }}
      >
        <input
          aria-label="Scan or type a barcode"
          placeholder="Scan or type a code"
          value={typed}
          onChange={(e) => setTyped(e.target.value)}
          autoComplete="off"
          autoCapitalize="off"
          spellCheck={false}
        />
        <button type="submit">Go</button>
        <button type="button" className={camera ? "primary" : ""} onClick={() => setCamera((c) => !c)}>
          {camera ? "Stop camera" : "Camera"}
        </button>
      </form>
      {camera ? <CameraScanner onCode={(c) => void onScan(c)} onError={(m) => refuse(m)} /> : null}
      {notice ? (
        <p
          className={`pack-notice pack-notice-${notice.kind}`}
          role={notice.kind === "error" ? "alert" : "status"}
        >
          {notice.text}
        </p>
      ) : null}
      <ErrorText error={error} />
      {pack ? (
        <section className="pack-order" aria-label={`Order ${pack.order.number}`}>
          <div className="pack-order-head">
            <strong>{pack.order.number}</strong>
            <StatusBadge status={pack.order.status} raw={pack.order.rawStatus} />
            <span className="muted">{pack.order.buyerName ?? pack.order.buyerUsername ?? ""}</span>
            <span className="spacer" />
            <span data-testid="pack-progress">
              {pack.lines.length - left} / {pack.lines.length} lines
            </span>
          </div>
          <ul className="pack-lines">
            {pack.lines.map((l) => {
              const ok = confirmed.has(l.id);
              return (
                <li
                  key={l.id}
                  className={ok ? "pack-ok" : ""}
                  data-line={l.id}
                  data-confirmed={ok ? "1" : "0"}
                >
                  <button
                    type="button"
                    className="pick-tap"
                    aria-pressed={ok}
                    onClick={() =>
                      setConfirmed((s) => {
                        const n = new Set(s);
                        if (n.has(l.id)) n.delete(l.id);
                        else n.add(l.id);
                        return n;
                      })
                    }
                  >
                    <span className="pick-check" aria-hidden="true">
                      {ok ? "✓" : ""}
                    </span>
                    {l.image ? (
                      <span className="pick-img" aria-hidden="true">
                        <img src={l.image} alt="" loading="lazy" referrerPolicy="no-referrer" />
                      </span>
                    ) : null}
                    <span className="pick-what">
                      <span className="pick-item">
                        <strong>{l.itemNo ?? l.name}</strong>
                        {l.colorName ? <span> · {l.colorName}</span> : null}
                        <span className={`pick-cond pick-cond-${l.condition}`}>
                          {CONDITION[l.condition] ?? "?"}
                        </span>
                      </span>
                      <span className="pick-desc">{l.name}</span>
                      <span className="muted pick-sub">
                        {l.location ?? "no bin"}
                        {l.lotId ? ` · LOT-${l.lotId}` : ""}
                      </span>
                    </span>
                    <span className="pick-qty">{l.quantity}</span>
                  </button>
                </li>
              );
            })}
          </ul>
          <div className="pack-done">
            {allDone ? (
              <p className="pack-all">Every line is confirmed.</p>
            ) : (
              <p className="muted">{left} to confirm</p>
            )}
            <button type="button" disabled={!allDone} onClick={() => void printLabel()}>
              Print label
            </button>
            {can("orders.ship") && !SHIPPED.has(pack.order.status) ? (
              <button
                type="button"
                className="primary"
                disabled={!allDone || busy}
                onClick={() => void markShipped()}
              >
                Mark shipped
              </button>
            ) : null}
          </div>
        </section>
      ) : (
        <p className="muted">Scan the barcode on a pick sheet or packing slip to open its order.</p>
      )}
    </div>
  );
}

interface Detector {
  detect(source: CanvasImageSource): Promise<{ rawValue: string }[]>;
}

/** The browser's BarcodeDetector where it reads Code 128, else the zxing-wasm one from our own bundle. */
async function makeDetector(): Promise<Detector> {
  const native = (
    globalThis as {
      BarcodeDetector?: { new (o: object): Detector; getSupportedFormats(): Promise<string[]> };
    }
  ).BarcodeDetector;
  if (native && (await native.getSupportedFormats().catch((): string[] => [])).includes("code_128"))
    return new native({ formats: ["code_128"] });
  const [{ BarcodeDetector, setZXingModuleOverrides }, wasm] = await Promise.all([
    import("barcode-detector/ponyfill"),
    import("zxing-wasm/reader/zxing_reader.wasm?url"),
  ]);
  // Served by Orderhub itself: the polyfill would fetch it from a CDN otherwise.
  setZXingModuleOverrides({
    locateFile: (path: string, prefix: string) => (path.endsWith(".wasm") ? wasm.default : prefix + path),
  });
  return new BarcodeDetector({ formats: ["code_128"] });
}

function CameraScanner({
  onCode,
  onError,
}: {
  onCode: (code: string) => void;
  onError: (m: string) => void;
}) {
  const video = useRef<HTMLVideoElement>(null);
  const cb = useRef({ onCode, onError });
  cb.current = { onCode, onError };
  const [status, setStatus] = useState("Starting the camera…");
  useEffect(() => {
    let stream: MediaStream | null = null;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let last = { code: "", at: 0 };
    (async () => {
      try {
        const detector = await makeDetector();
        stream = await navigator.mediaDevices.getUserMedia({
          video: { facingMode: "environment" },
          audio: false,
        });
        if (stopped) return;
        const v = video.current!;
        v.srcObject = stream;
        await v.play();
        setStatus("Point the camera at a barcode");
        const tick = async () => {
          if (stopped) return;
          try {
            if (v.readyState >= 2) {
              const found = await detector.detect(v);
              const code = found[0]?.rawValue;
              const now = performance.now();
              // The same code held in view counts once (until it leaves for 2 s).
              if (code && (code !== last.code || now - last.at > 2000)) cb.current.onCode(code);
              if (code) last = { code, at: now };
            }
          } catch {
            // A frame that cannot be read is skipped.
          }
          timer = setTimeout(() => void tick(), 150);
        };
        void tick();
      } catch (err) {
        const m =
          err instanceof DOMException && err.name === "NotAllowedError"
            ? "The camera is not allowed: allow it in the browser, or use a scanner"
            : `The camera cannot start: ${err instanceof Error ? err.message : String(err)}`;
        setStatus(m);
        cb.current.onError(m);
      }
    })();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      for (const t of stream?.getTracks() ?? []) t.stop();
    };
  }, []);
  return (
    <div className="pack-camera">
      <video ref={video} muted playsInline aria-label="Camera" />
      <p className="muted">{status}</p>
    </div>
  );
}
