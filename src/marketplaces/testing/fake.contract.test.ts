import { randomBytes } from "node:crypto";
import { ManualClock } from "../../core/clock.ts";
import { silentLogger } from "../../core/logger.ts";
import type { AdapterContext } from "../types.ts";
import { noTokens, openBudget } from "./context.ts";
import { runAdapterContract } from "./contract.ts";
import { fakeAdapter, fakeStore, makeFakeAdapter, signFakeNotice } from "./fake.ts";

for (const pages of ["summaries", "orders"] as const)
  runAdapterContract(`fake (${pages})`, async () => {
    const name = `contract-${randomBytes(4).toString("hex")}`;
    const store = fakeStore(name);
    const ctx = (apiKey: string): AdapterContext => ({
      connectionId: 1,
      baseUrl: "memory://fake",
      config: { store: name, pageSize: "3" },
      secrets: { apiKey },
      http: () => Promise.reject(new Error("the fake adapter never uses the network")),
      budget: openBudget(),
      tokens: noTokens,
      clock: new ManualClock(),
      logger: silentLogger,
    });
    return {
      adapter: pages === "summaries" ? fakeAdapter : makeFakeAdapter({ pages }),
      context: () => ctx("good-key"),
      badCredentials: () => ctx("wrong"),
      seedOrders: async (n) => store.seed(n),
      changeOrder: async (id) => store.setStatus(id, "PAID"),
      injectFault: async (kind, count) => store.failNext(kind, count),
      futureCheckpoint: () => ({ offset: 2_200_000_000 }),
      notice: (orderIds) => {
        const body = JSON.stringify({ orderIds });
        return { query: {}, headers: { "x-fake-signature": signFakeNotice(body, "good-key") }, body };
      },
      noticeConnection: { config: { store: name }, secrets: { apiKey: "good-key" }, storeId: null },
      close: async () => {},
    };
  });
