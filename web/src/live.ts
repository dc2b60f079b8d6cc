import { useEffect, useRef } from "react";

export interface LiveEvent {
  type: string;
  [key: string]: unknown;
}

type Listener = (e: LiveEvent) => void;
const listeners = new Set<Listener>();
let source: EventSource | null = null;
const TYPES = [
  "order.created",
  "order.updated",
  "sync.progress",
  "connection.updated",
  "push.updated",
  "pick.updated",
];

/** One event stream for the whole page, shared by every component that listens. */
export function startLive(): () => void {
  if (source) return () => {};
  source = new EventSource("/api/events");
  for (const t of TYPES) {
    source.addEventListener(t, (m) => {
      const data = JSON.parse((m as MessageEvent<string>).data) as LiveEvent;
      for (const l of listeners) l(data);
    });
  }
  return () => {
    source?.close();
    source = null;
  };
}

export function useLive(handler: Listener): void {
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => {
    const l: Listener = (e) => ref.current(e);
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
}
