import { useCallback, useRef } from "react";

export interface Answer {
  /**
   * Call once, when the answer is in: true if it may be shown — it was asked for what is on screen
   * now (the same filter, the same order) and nothing asked for later has been shown already.
   * An older answer for the same thing is still shown, so refreshes that overlap never starve.
   */
  accept(): boolean;
  /** Whether no request was started after this one (it decides when "loading" ends). */
  latest(): boolean;
}

/**
 * For loads that can overlap (a filter changed while a live refresh was on its way, another order
 * opened before the first answered). `key` names what the view shows now; `begin(key)` is called
 * with the key a request is made for.
 */
export function useNewest(key: string): (asked: string) => Answer {
  const current = useRef(key);
  current.current = key;
  const started = useRef(0);
  const shown = useRef(0);
  return useCallback((asked: string) => {
    const n = ++started.current;
    return {
      accept() {
        if (asked !== current.current || n < shown.current) return false;
        shown.current = n;
        return true;
      },
      latest: () => n === started.current,
    };
  }, []);
}
