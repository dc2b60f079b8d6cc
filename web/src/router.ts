import { useEffect, useState } from "react";

/** Client-side routes on the History API: the URL always says where you are and which filters apply. */
export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (to === location.pathname + location.search) return;
  if (opts.replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  window.dispatchEvent(new Event("orderhub:navigate"));
}

const read = () => ({ path: location.pathname, search: new URLSearchParams(location.search) });

export function useLocation(): { path: string; search: URLSearchParams } {
  const [loc, setLoc] = useState(read);
  useEffect(() => {
    const on = () => setLoc(read());
    window.addEventListener("popstate", on);
    window.addEventListener("orderhub:navigate", on);
    return () => {
      window.removeEventListener("popstate", on);
      window.removeEventListener("orderhub:navigate", on);
    };
  }, []);
  return loc;
}

/** Changes some query parameters of the current URL (empty values are removed). */
export function setParams(
  changes: Record<string, string | null | undefined>,
  opts: { replace?: boolean } = {},
): void {
  const p = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === undefined || v === "") p.delete(k);
    else p.set(k, v);
  }
  const qs = p.toString();
  navigate(`${location.pathname}${qs ? `?${qs}` : ""}`, opts);
}
