import { type ReactNode, useEffect, useRef, useState } from "react";
import { STATUS_LABELS } from "../format.ts";

export function StatusBadge({
  status,
  raw,
  review,
  held,
}: {
  status: string;
  raw?: string | null;
  /** Flagged for review: the marketplace reported an older status than this one. */
  review?: boolean;
  /** Held in Orderhub (by a rule or a person): not shipped until released. */
  held?: boolean;
}) {
  return (
    <span className="status-cell">
      <span className={`badge badge-${status}`} title={raw ? `Marketplace status: ${raw}` : undefined}>
        {STATUS_LABELS[status] ?? status}
      </span>
      {raw ? <span className="raw-status">{raw}</span> : null}
      {review ? (
        <span className="badge badge-review" title="The marketplace reported an older status: see the order">
          Needs review
        </span>
      ) : null}
      {held && status !== "on_hold" ? (
        <span className="badge badge-on_hold" title="Held in Orderhub: released from the order's panel">
          Held
        </span>
      ) : null}
    </span>
  );
}

/** A modal dialog: focus moves in, Escape closes, focus returns where it was. */
export function Dialog(props: { title: string; onClose?: () => void; children: ReactNode; wide?: boolean }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    const first = ref.current?.querySelector<HTMLElement>("input, select, textarea, button");
    first?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape" && props.onClose) props.onClose();
    };
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("keydown", onKey);
      before?.focus?.();
    };
  }, [props.onClose]);
  return (
    <div className="overlay" role="presentation">
      <div
        className={`dialog${props.wide ? " wide" : ""}`}
        role="dialog"
        aria-modal="true"
        aria-label={props.title}
        ref={ref}
      >
        <div className="dialog-head">
          <h2>{props.title}</h2>
          {props.onClose ? (
            <button type="button" className="icon" aria-label="Close" onClick={props.onClose}>
              ×
            </button>
          ) : null}
        </div>
        {props.children}
      </div>
    </div>
  );
}

type Toast = { id: number; text: string; kind: "info" | "error" };
let push: ((t: Omit<Toast, "id">) => void) | null = null;
export function toast(text: string, kind: Toast["kind"] = "info"): void {
  push?.({ text, kind });
}

export function Toasts() {
  const [items, setItems] = useState<Toast[]>([]);
  useEffect(() => {
    let seq = 0;
    push = (t) => {
      const id = ++seq;
      // A few at a time: the newest stay, older ones make room.
      setItems((xs) => [...xs.slice(-2), { ...t, id }]);
      setTimeout(() => setItems((xs) => xs.filter((x) => x.id !== id)), 5000);
    };
    return () => {
      push = null;
    };
  }, []);
  return (
    <div className="toasts" aria-live="polite">
      {items.map((t) => (
        <div key={t.id} className={`toast toast-${t.kind}`} role={t.kind === "error" ? "alert" : "status"}>
          {t.text}
        </div>
      ))}
    </div>
  );
}

export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      className="small"
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
        } catch {
          const t = document.createElement("textarea");
          t.value = text;
          document.body.append(t);
          t.select();
          document.execCommand("copy");
          t.remove();
        }
        setDone(true);
        setTimeout(() => setDone(false), 1500);
      }}
    >
      {done ? "Copied" : label}
    </button>
  );
}

export function ErrorText({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {error instanceof Error ? error.message : String(error)}
    </p>
  );
}
