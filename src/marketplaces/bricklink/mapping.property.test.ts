import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../core/clock.ts";
import { isMarketplaceError } from "../../core/errors.ts";
import { silentLogger } from "../../core/logger.ts";
import { orderInputSchema, orderSummarySchema } from "../../core/order.ts";
import { noTokens, openBudget } from "../testing/context.ts";
import { describePath, type Json, mutated } from "../testing/mutations.ts";
import type { AdapterContext } from "../types.ts";
import { bricklinkAdapter } from "./adapter.ts";

/**
 * Random mutations of the real BrickLink payloads: every mutated answer either maps to an order
 * that passes the unified schema, or fails with contract_changed naming the field — nothing else.
 * ORDERHUB_PROPERTY_RUNS raises the number of cases (long mode).
 */
const RUNS = Number(process.env.ORDERHUB_PROPERTY_RUNS) || 1000;
const DIR = resolve(process.cwd(), "../shared/fixtures/real/bricklink");
const present = existsSync(DIR);
const load = (f: string) => JSON.parse(readFileSync(join(DIR, f), "utf8"));

function contextAnswering(answer: (url: URL) => unknown): AdapterContext {
  return {
    connectionId: 1,
    baseUrl: "https://api.example.test/api/store/v1",
    config: {},
    secrets: { consumerKey: "ck", consumerSecret: "cs", tokenValue: "tv", tokenSecret: "ts" },
    http: async (req) => {
      const url = new URL(req);
      return new Response(
        JSON.stringify({ meta: { code: 200, message: "OK", description: "OK" }, data: answer(url) }),
        {
          status: 200,
          headers: { "content-type": "application/json" },
        },
      );
    },
    budget: openBudget() as unknown as AdapterContext["budget"],
    tokens: noTokens,
    clock: new ManualClock(new Date("2026-06-01T00:00:00Z")),
    logger: silentLogger,
  };
}

/** The error must be contract_changed, and its message must name the field it is about. */
function expectContractChanged(err: unknown, label: string[]) {
  const why = `${label.join(", ")} → ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
  expect(isMarketplaceError(err), why).toBe(true);
  if (!isMarketplaceError(err)) return;
  expect(err.kind, why).toBe("contract_changed");
  expect(err.field, why).toBeTruthy();
  expect(err.message, why).toContain(
    err
      .field!.split(".")
      .filter((s) => !/^\d+$/.test(s))
      .at(-1) ?? "",
  );
}

if (!present) {
  describe("BrickLink mapping properties", () => {
    it.skip("skipped: ../shared/fixtures/real/bricklink is not beside this checkout", () => {});
  });
}

describe.skipIf(!present)("BrickLink mapping of mutated real payloads", () => {
  const detail = present ? (load("order-detail-docs-example.json") as Json) : null;
  const envelope = present ? load("order-items-envelope-go-bricklink-testdata.json") : null;
  const single = present ? (load("order-item-docs-example.json") as Json) : null;
  const listEntries = present
    ? ([
        load("order-list-entry-2014-bricksync.json"),
        load("order-list-entry-2023-gbp-stripe.json"),
      ] as Json[])
    : [];

  it("the unmutated fixtures map to valid orders", { timeout: 600_000 }, async () => {
    const items = [...(envelope.data as Json[]), [single]] as Json;
    const ctx = contextAnswering((u) => (u.pathname.endsWith("/items") ? items : detail));
    const order = await bricklinkAdapter.orders.fetchOrder(ctx, "3905404");
    expect(orderInputSchema.safeParse(order).success).toBe(true);
  });

  it("an order (detail + items) maps to a valid unified order or fails with contract_changed naming the field", {
    timeout: 600_000,
  }, async () => {
    const base = { order: detail, items: [...(envelope.data as Json[]), [single]] } as Json;
    await fc.assert(
      fc.asyncProperty(mutated(base, 2), async ({ value, mutations }) => {
        const v = value as { order?: Json; items?: Json };
        const ctx = contextAnswering((u) => (u.pathname.endsWith("/items") ? v.items : v.order));
        const label = describePath(mutations);
        let order: unknown;
        try {
          order = await bricklinkAdapter.orders.fetchOrder(ctx, "3905404");
        } catch (err) {
          expectContractChanged(err, label);
          return;
        }
        const parsed = orderInputSchema.safeParse(order);
        expect(
          parsed.success,
          `${label.join(", ")} mapped to an invalid order: ${parsed.error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
        ).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it("an order list entry maps to a valid summary or fails with contract_changed naming the field", {
    timeout: 600_000,
  }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...listEntries).chain((e) => mutated(e)),
        async ({ value, mutations }) => {
          const ctx = contextAnswering(() => [value]);
          const label = describePath(mutations);
          let page: Awaited<ReturnType<typeof bricklinkAdapter.orders.page>>;
          try {
            page = await bricklinkAdapter.orders.page(ctx, {
              checkpoint: null,
              mode: "incremental",
              includeArchived: false,
            });
          } catch (err) {
            expectContractChanged(err, label);
            return;
          }
          for (const s of page.summaries)
            expect(orderSummarySchema.safeParse(s).success, label.join(", ")).toBe(true);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
