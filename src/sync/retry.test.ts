import { describe, expect, it } from "vitest";
import { MarketplaceError, type MarketplaceErrorKind } from "../core/errors.ts";
import { classify, defaultRetryPolicy } from "./retry.ts";

const err = (kind: MarketplaceErrorKind, retryAfterMs: number | null = null) =>
  new MarketplaceError(kind, { marketplace: "fake", operation: "op", message: kind, retryAfterMs });
const policy = { ...defaultRetryPolicy, random: () => 0.5 };

describe("classify", () => {
  it("waits out rate limits without burning attempts, honouring retry-after", () => {
    expect(classify(err("rate_limited", 12_000), 9, policy)).toMatchObject({
      retry: true,
      delayMs: 12_000,
      burnsAttempt: false,
    });
    expect(classify(err("transient", 3_000), 9, policy)).toMatchObject({
      retry: true,
      delayMs: 3_000,
      burnsAttempt: false,
    });
  });
  it("backs off exponentially on transient failures, then gives up and asks a person", () => {
    expect(classify(err("transient"), 1, policy).delayMs).toBe(750);
    expect(classify(err("transient"), 3, policy).delayMs).toBe(3_000);
    expect(classify(err("transient"), 5, policy)).toMatchObject({ retry: false, needsPerson: true });
  });
  it("never retries auth, bad requests, contract changes or ambiguous writes blindly", () => {
    expect(classify(err("auth"), 1, policy)).toMatchObject({ retry: false, needsPerson: true });
    expect(classify(err("invalid_request"), 1, policy).retry).toBe(false);
    expect(classify(err("contract_changed"), 1, policy).retry).toBe(false);
    expect(classify(err("not_found"), 1, policy).retry).toBe(false);
    expect(classify(err("ambiguous_write"), 1, policy)).toMatchObject({ retry: false, needsPerson: false });
  });
  it("caps the delay", () => {
    expect(classify(err("transient"), 4, { ...policy, maxAttempts: 50, maxDelayMs: 2_000 }).delayMs).toBe(
      1_500,
    );
  });
});
