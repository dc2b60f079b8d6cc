import { useCallback, useRef } from "react";

/**
 * For loads that can overlap (a filter changed while a live refresh was on its way, another order
 * opened before the first answered): call `begin()` before the request and apply its answer only
 * while the returned `isNewest()` holds, so what is shown always belongs to what is asked for now.
 */
export function useNewest(): () => () => boolean {
  const seq = useRef(0);
  return useCallback(() => {
    const n = ++seq.current;
    return () => n === seq.current;
  }, []);
}
