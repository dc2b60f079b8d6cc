import type { AppContext } from "../context.ts";
import { type ConnectionRow, connectionSecrets } from "../db/repos/connections.ts";
import { getAdapter } from "../marketplaces/registry.ts";
import type { AdapterContext, MarketplaceAdapter } from "../marketplaces/types.ts";
import { type BudgetCategory, type CountedBudget, createBudget } from "./budget.ts";
import { staticTokens } from "./static-tokens.ts";

/** An open session with a marketplace for one connection and one purpose. */
export interface AdapterSession {
  adapter: MarketplaceAdapter<unknown>;
  actx: AdapterContext;
  budget: CountedBudget;
  connection: ConnectionRow;
  /** Gives back the calls leased but not spent. */
  close(): Promise<void>;
}

/**
 * The one way to talk to a marketplace: opens the connection's secrets (registered with the log
 * scrubber), its token provider and its budget for `purpose`, and builds the adapter context.
 */
export async function openAdapter(
  ctx: AppContext,
  connection: ConnectionRow,
  purpose: BudgetCategory,
  opts: { signal?: AbortSignal; logger?: AppContext["logger"] } = {},
): Promise<AdapterSession> {
  const adapter = getAdapter(connection.marketplace);
  const manifest = adapter.manifest;
  const secrets = connectionSecrets(ctx.box, connection);
  for (const v of Object.values(secrets)) ctx.secrets.add(v);
  const tokens =
    manifest.auth.kind === "oauth2"
      ? (await import("./tokens.ts")).createTokenProvider(ctx, connection, manifest)
      : staticTokens(manifest);
  const budget = createBudget(ctx, connection, manifest, purpose);
  const actx: AdapterContext = {
    connectionId: connection.id,
    baseUrl: connection.baseUrl,
    config: connection.config,
    secrets,
    http: ctx.http,
    budget,
    tokens,
    clock: ctx.clock,
    timeoutMs: ctx.settings.marketplaceTimeoutMs,
    logger:
      opts.logger ?? ctx.logger.child({ connectionId: connection.id, marketplace: connection.marketplace }),
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
  return { adapter, actx, budget, connection, close: () => budget.release() };
}

/** Runs `fn` in a session and closes it afterwards, whatever happens. */
export async function withAdapter<T>(
  ctx: AppContext,
  connection: ConnectionRow,
  purpose: BudgetCategory,
  fn: (s: AdapterSession) => Promise<T>,
  opts: { signal?: AbortSignal; logger?: AppContext["logger"] } = {},
): Promise<T> {
  const s = await openAdapter(ctx, connection, purpose, opts);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}
