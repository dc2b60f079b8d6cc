import { isMarketplaceError } from "../core/errors.ts";

export interface RetryDecision {
  retry: boolean;
  /** How long to wait before the next try. */
  delayMs: number;
  /** False for waits imposed by the marketplace (429/503): they do not use up attempts. */
  burnsAttempt: boolean;
  /** A person has to act (reconnect, fix data) before this can succeed. */
  needsPerson: boolean;
  reason: string;
}

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Injected so tests are exact; Math.random in production. */
  random: () => number;
}

export const defaultRetryPolicy: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 1_000,
  maxDelayMs: 5 * 60_000,
  random: Math.random,
};

/** The one place that says retry-or-not and how long to wait, for pulls and pushes alike. */
export function classify(
  error: unknown,
  attempt: number,
  policy: RetryPolicy = defaultRetryPolicy,
): RetryDecision {
  const backoff = () => {
    const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
    return Math.round(exp / 2 + (exp / 2) * policy.random());
  };
  if (!isMarketplaceError(error)) {
    const retry = attempt < policy.maxAttempts;
    return {
      retry,
      delayMs: retry ? backoff() : 0,
      burnsAttempt: true,
      needsPerson: !retry,
      reason: "unexpected error",
    };
  }
  switch (error.kind) {
    case "rate_limited":
      return {
        retry: true,
        delayMs: error.retryAfterMs ?? backoff(),
        burnsAttempt: false,
        needsPerson: false,
        reason: "rate limited by the marketplace",
      };
    case "transient": {
      // A 503 with Retry-After is the marketplace asking us to wait, not a failure of ours.
      if (error.retryAfterMs !== null) {
        return {
          retry: true,
          delayMs: error.retryAfterMs,
          burnsAttempt: false,
          needsPerson: false,
          reason: "marketplace busy",
        };
      }
      const retry = attempt < policy.maxAttempts;
      return {
        retry,
        delayMs: retry ? backoff() : 0,
        burnsAttempt: true,
        needsPerson: !retry,
        reason: retry ? "temporary failure" : "still failing after retries",
      };
    }
    case "auth":
      return {
        retry: false,
        delayMs: 0,
        burnsAttempt: true,
        needsPerson: true,
        reason: "credentials refused: reconnect",
      };
    case "ambiguous_write":
      return {
        retry: false,
        delayMs: 0,
        burnsAttempt: true,
        needsPerson: false,
        reason: "may have been applied: reconcile first",
      };
    case "not_found":
    case "invalid_request":
    case "contract_changed":
      return {
        retry: false,
        delayMs: 0,
        burnsAttempt: true,
        needsPerson: true,
        reason: error.kind.replace("_", " "),
      };
  }
}
