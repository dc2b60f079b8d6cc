import type { MarketplaceId } from "./marketplace-ids.ts";

/** The closed set of things that can go wrong when talking to a marketplace (STYLE §7). */
export const MARKETPLACE_ERROR_KINDS = [
  "auth",
  "rate_limited",
  "transient",
  "not_found",
  "invalid_request",
  "contract_changed",
  "ambiguous_write",
] as const;
export type MarketplaceErrorKind = (typeof MARKETPLACE_ERROR_KINDS)[number];

export interface MarketplaceErrorInit {
  marketplace: MarketplaceId;
  operation: string;
  message: string;
  retryAfterMs?: number | null;
  /** HTTP status or marketplace code, for the log and the UI. */
  code?: string | number | null;
  /** The field a contract_changed error is about. */
  field?: string | null;
  cause?: unknown;
}

/** Adapters throw these; only the sync engine and the outbox dispatcher decide what happens next. */
export class MarketplaceError extends Error {
  readonly kind: MarketplaceErrorKind;
  readonly marketplace: MarketplaceId;
  readonly operation: string;
  readonly retryAfterMs: number | null;
  readonly code: string | number | null;
  readonly field: string | null;

  constructor(kind: MarketplaceErrorKind, init: MarketplaceErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "MarketplaceError";
    this.kind = kind;
    this.marketplace = init.marketplace;
    this.operation = init.operation;
    this.retryAfterMs = init.retryAfterMs ?? null;
    this.code = init.code ?? null;
    this.field = init.field ?? null;
  }

  toJSON() {
    return {
      kind: this.kind,
      marketplace: this.marketplace,
      operation: this.operation,
      message: this.message,
      code: this.code,
      field: this.field,
      retryAfterMs: this.retryAfterMs,
    };
  }
}

export function isMarketplaceError(e: unknown): e is MarketplaceError {
  return e instanceof MarketplaceError;
}

/** Errors of our own HTTP API: `{error:{code,message,details}}`. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
  ) {
    super(message);
    this.name = "AppError";
  }
}

export const notFound = (what: string) => new AppError(404, "not_found", `${what} not found`);
export const badRequest = (message: string, details: unknown = null) =>
  new AppError(400, "invalid_request", message, details);
export const conflict = (message: string, details: unknown = null) =>
  new AppError(409, "conflict", message, details);
