import type { Clock } from "../core/clock.ts";
import { MarketplaceError, type MarketplaceErrorKind } from "../core/errors.ts";
import type { MarketplaceId } from "../core/marketplace-ids.ts";
import type { AdapterContext, BudgetFeedback } from "./types.ts";

/** How long one call may take when the connection does not say (ORDERHUB_MARKETPLACE_TIMEOUT_SECONDS). */
export const DEFAULT_TIMEOUT_MS = 30_000;

export type HttpContext = Pick<AdapterContext, "http" | "budget" | "clock" | "signal" | "timeoutMs">;

export interface HttpCall {
  /** The operation's name, as the budget and the errors know it. */
  operation: string;
  method: "GET" | "PUT" | "POST" | "PATCH" | "DELETE";
  url: string;
  headers?: Record<string, string>;
  body?: string;
  /** A write may have been applied when its answer is lost (default: everything but GET). */
  write?: boolean;
  /** Short form of what was called, for messages ("GET /orders"); the URL's path by default. */
  label?: string;
}

/** An answer as it came, before the marketplace's own envelope is read. */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The wait the marketplace asked for (Retry-After in seconds or as a date), if any. */
  retryAfterMs: number | null;
  write: boolean;
}

/** Retry-After as seconds ("120") or as an HTTP date; null when absent or unreadable. */
export function retryAfterMs(value: string | null, clock: Pick<Clock, "now">): number | null {
  if (!value) return null;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) {
    const s = Number(v);
    return s > 0 ? Math.ceil(s * 1000) : null;
  }
  const at = Date.parse(v);
  if (Number.isNaN(at)) return null;
  return Math.max(1000, at - clock.now().getTime());
}

/** The errors every client raises the same way, named for its marketplace. */
export function errorFor(marketplace: MarketplaceId) {
  return (
    kind: MarketplaceErrorKind,
    operation: string,
    message: string,
    extra: { code?: string | number; retryAfterMs?: number | null; field?: string } = {},
  ) => new MarketplaceError(kind, { marketplace, operation, message, ...extra });
}

/**
 * One marketplace call: spends the budget first, applies the timeout and the caller's abort, and
 * turns a lost answer into `ambiguous_write` for writes (it may have been applied) or `transient`
 * for reads. What the marketplace said about its limits (`feedback`) goes back to the budget.
 */
export async function send(
  ctx: HttpContext,
  who: { id: MarketplaceId; name: string },
  call: HttpCall,
  feedback?: (answer: HttpAnswer) => BudgetFeedback | null,
): Promise<HttpAnswer> {
  await ctx.budget.spend(call.operation);
  const write = call.write ?? call.method !== "GET";
  const timeout = AbortSignal.timeout(ctx.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, timeout]) : timeout;
  let res: Response;
  let text: string;
  try {
    res = await ctx.http(call.url, {
      method: call.method,
      headers: call.headers ?? {},
      ...(call.body !== undefined ? { body: call.body } : {}),
      signal,
    });
    text = await res.text();
  } catch (err) {
    if (ctx.signal?.aborted) throw err;
    const why = err instanceof Error && err.name === "TimeoutError" ? "timed out" : "could not be reached";
    const label = call.label ?? `${call.method} ${new URL(call.url).pathname}`;
    // A write that may have left the building might have been applied: never repeat it blindly.
    throw errorFor(who.id)(
      write ? "ambiguous_write" : "transient",
      call.operation,
      `${who.name} ${why} (${label})`,
    );
  }
  const answer: HttpAnswer = {
    status: res.status,
    headers: res.headers,
    text,
    retryAfterMs: retryAfterMs(res.headers.get("retry-after"), ctx.clock),
    write,
  };
  const said =
    feedback?.(answer) ?? (answer.retryAfterMs !== null ? { retryAfterMs: answer.retryAfterMs } : null);
  if (said) await ctx.budget.observe(call.operation, said);
  return answer;
}

/** An HTML page where JSON was expected (a proxy's error page, a maintenance page). */
export function isHtml(text: string): boolean {
  return /^\s*</.test(text);
}

/**
 * The body as JSON. A body that is not JSON is `transient` on a 5xx; otherwise it was cut off or
 * garbled on the way: a read is tried again, a write may have been applied.
 */
export function jsonBody(
  who: { id: MarketplaceId; name: string },
  operation: string,
  a: HttpAnswer,
): unknown {
  try {
    return JSON.parse(a.text);
  } catch {
    const fail = errorFor(who.id);
    if (a.status >= 500)
      throw fail("transient", operation, `${who.name} answered HTTP ${a.status}`, { code: a.status });
    throw fail(
      a.write ? "ambiguous_write" : "transient",
      operation,
      `${who.name} sent a body that is not JSON (HTTP ${a.status})`,
    );
  }
}
