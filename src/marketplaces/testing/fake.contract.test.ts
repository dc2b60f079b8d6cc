import { randomBytes } from "node:crypto";
import { ManualClock } from "../../core/clock.ts";
import { silentLogger } from "../../core/logger.ts";
import type { AdapterContext } from "../types.ts";
import { runAdapterContract } from "./contract.ts";
import { fakeAdapter, fakeStore } from "./fake.ts";

runAdapterContract("fake", async () => {
  const name = `contract-${randomBytes(4).toString("hex")}`;
  const store = fakeStore(name);
  const ctx = (apiKey: string): AdapterContext => ({
    connectionId: 1,
    baseUrl: "memory://fake",
    config: { store: name, pageSize: "3" },
    secrets: { apiKey },
    http: () => Promise.reject(new Error("the fake adapter never uses the network")),
    budget: { spend: async () => {} },
    clock: new ManualClock(),
    logger: silentLogger,
  });
  return {
    adapter: fakeAdapter,
    context: () => ctx("good-key"),
    badCredentials: () => ctx("wrong"),
    seedOrders: async (n) => store.seed(n),
    changeOrder: async (id) => store.setStatus(id, "PAID"),
    injectFault: async (kind, count) => store.failNext(kind, count),
    futureCheckpoint: () => ({ offset: 2_200_000_000 }),
    close: async () => {},
  };
});
