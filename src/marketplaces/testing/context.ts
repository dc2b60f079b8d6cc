import type { Clock } from "../../core/clock.ts";
import { systemClock } from "../../core/clock.ts";
import { MarketplaceError } from "../../core/errors.ts";
import { silentLogger } from "../../core/logger.ts";
import type { AdapterContext, ApiBudget, TokenProvider } from "../types.ts";

/** A budget that lets every call through and notes what it was told (for client tests). */
export function openBudget(): ApiBudget & { calls: string[]; feedback: { operation: string }[] } {
  const calls: string[] = [];
  const feedback: { operation: string }[] = [];
  return {
    calls,
    feedback,
    async spend(operation, n = 1) {
      for (let i = 0; i < n; i++) calls.push(operation);
    },
    async observe(operation, f) {
      feedback.push({ operation, ...f });
    },
  };
}

/** For connections that sign with their secrets: asking for a token is a mistake. */
export const noTokens: TokenProvider = {
  async getAccessToken() {
    throw new MarketplaceError("invalid_request", {
      marketplace: "fake",
      operation: "accessToken",
      message: "this connection uses no access tokens",
    });
  },
  async invalidate() {},
};

/** An adapter context for tests of one client or adapter, with what the test sets. */
export function testAdapterContext(
  o: Partial<AdapterContext> & Pick<AdapterContext, "baseUrl"> & { clock?: Clock },
): AdapterContext {
  return {
    connectionId: 1,
    config: {},
    secrets: {},
    http: (url, init) => fetch(url, init),
    budget: openBudget(),
    tokens: noTokens,
    clock: systemClock,
    logger: silentLogger,
    ...o,
  };
}
