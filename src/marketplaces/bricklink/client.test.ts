import { createHmac } from "node:crypto";
import OAuth from "oauth-1.0a";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../core/clock.ts";
import { isMarketplaceError, type MarketplaceError } from "../../core/errors.ts";
import { silentLogger } from "../../core/logger.ts";
import { noTokens, openBudget } from "../testing/context.ts";
import { runAdapterContract } from "../testing/contract.ts";
import type { AdapterContext } from "../types.ts";
import { bricklinkAdapter } from "./adapter.ts";
import { BrickLinkClient, nextTimestamp, rfc3986 } from "./client.ts";
import { type BrickLinkSimulator, startBrickLinkSimulator } from "./simulator/server.ts";
import { brickLinkOrderItemsSchema, brickLinkOrderSchema, brickLinkOrderSummarySchema } from "./types.ts";

describe("OAuth 1.0a signing", () => {
  it("matches the published OAuth Core 1.0 appendix A.5 vector with the library we use", () => {
    const oauth = new OAuth({
      consumer: { key: "dpf43f3p2l4k3l03", secret: "kd94hf93k423kf44" },
      signature_method: "HMAC-SHA1",
      hash_function: (base, key) => createHmac("sha1", key).update(base).digest("base64"),
    });
    oauth.getTimeStamp = () => 1191242096;
    oauth.getNonce = () => "kllo9940pd9333jh";
    const signed = oauth.authorize(
      { url: "http://photos.example.net/photos?file=vacation.jpg&size=original", method: "GET", data: {} },
      { key: "nnch734d00sl2jdk", secret: "pfkkdhi9sl3r4s00" },
    );
    expect(signed.oauth_signature).toBe("tR3+Ty81lMeYAr/Fid0kMTYa/WM=");
  });
  it("timestamps never go back and never run far ahead of the clock", () => {
    const now = Date.parse("2001-01-01T00:00:00Z"); // in the past, so later calls on the real clock are unaffected
    const stamps = Array.from({ length: 100 }, () => nextTimestamp(now));
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]!).toBeGreaterThanOrEqual(stamps[i - 1]!);
    expect(stamps.at(-1)! - now / 1000).toBeLessThanOrEqual(30);
    expect(stamps[1]! - stamps[0]!).toBe(1);
  });
  it("encodes as RFC 3986 (space %20, commas encoded)", () => {
    expect(rfc3986("a b,c*~")).toBe("a%20b%2Cc%2A~");
  });
});

let sim: BrickLinkSimulator;
beforeAll(async () => {
  sim = await startBrickLinkSimulator({ seed: 3, orders: 60 });
});
afterAll(async () => {
  await sim.close();
});

function ctx(creds = sim.credentials): AdapterContext {
  return {
    connectionId: 1,
    baseUrl: sim.baseUrl,
    config: {},
    secrets: { ...creds },
    http: (u, i) => fetch(u, i),
    budget: openBudget(),
    tokens: noTokens,
    clock: systemClock,
    logger: silentLogger,
  };
}
const client = (creds = sim.credentials) => new BrickLinkClient(ctx(creds), creds);
const fails = async (p: Promise<unknown>) =>
  (await p.then(
    () => null,
    (e) => e,
  )) as MarketplaceError;

describe("client against the simulator", () => {
  it("reads sales only (direction=in), hides filed orders unless asked, and flattens nothing it should not", async () => {
    const open = await client().getOrders();
    const filed = await client().getOrders({ filed: true });
    const out = await client().getOrders({ direction: "out" });
    expect(open.length).toBeGreaterThan(30);
    expect(filed.length).toBeGreaterThan(0);
    expect(out.length).toBeGreaterThan(0);
    const ids = new Set(open.map((o) => o.order_id));
    for (const o of [...filed, ...out]) expect(ids.has(o.order_id)).toBe(false);
    const items = await client().getOrderItems(String(open[0]!.order_id));
    expect(Array.isArray(items[0])).toBe(true);
  });

  it("serves payloads of the real shapes (the same schemas the real fixtures pass)", async () => {
    const list = await client().getOrders();
    for (const s of list) brickLinkOrderSummarySchema.parse(s);
    const o = await client().getOrder(String(list[0]!.order_id));
    brickLinkOrderSchema.parse(o);
    expect(o.cost.grand_total).toMatch(/^\d+\.\d{4}$/);
    expect(o.date_ordered).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    brickLinkOrderItemsSchema.parse(await client().getOrderItems(String(o.order_id)));
  });

  it("rejects a wrong secret with BrickLink's own error, as an auth error", async () => {
    const err = await fails(client({ ...sim.credentials, tokenSecret: "wrong-secret" }).getOrders());
    expect(err.kind).toBe("auth");
    expect(err.message).toMatch(/signature is invalid/);
    expect(err.message).not.toContain("wrong-secret");
  });

  it("explains an IP mismatch with the address to register", async () => {
    const s2 = await startBrickLinkSimulator({
      orders: 1,
      allowedIp: { ip: "10.1.2.3", mask: "255.255.255.255" },
    });
    try {
      const c = new BrickLinkClient({ ...ctx(), baseUrl: s2.baseUrl }, s2.credentials);
      const err = await fails(c.getOrders());
      expect(err.kind).toBe("auth");
      expect(err.message).toMatch(/register IP 127\.0\.0\.1.*0\.0\.0\.0 with mask 0\.0\.0\.0/);
    } finally {
      await s2.close();
    }
  });

  it("classifies every fault", async () => {
    const expectKind = async (fault: Parameters<typeof sim.control.fault>[0], kind: string) => {
      sim.control.fault(fault, 1);
      const err = await fails(client().getOrders());
      expect(isMarketplaceError(err), String(err)).toBe(true);
      expect(err.kind, fault).toBe(kind);
    };
    await expectKind("html503", "transient");
    await expectKind("server_error", "transient");
    await expectKind("rate_limit", "rate_limited");
    // A body cut off or garbled on the way is read again; a changed shape is contract_changed.
    await expectKind("malformed", "transient");
    await expectKind("truncated", "transient");
    const id = String((await client().getOrders())[0]!.order_id);
    sim.control.fault("malformed", 1);
    // The write may have been applied before the garbled answer: never repeat it blindly.
    expect((await fails(client().updateOrderStatus(id, "PAID"))).kind).toBe("ambiguous_write");
    expect((await fails(client().getOrder("1"))).kind).toBe("not_found");
  });

  it("understands the simulator's real-HTTP-code mode as well as errors inside HTTP 200", async () => {
    const s2 = await startBrickLinkSimulator({ orders: 1, httpErrorCodes: true });
    try {
      const c = (creds: typeof s2.credentials) =>
        new BrickLinkClient({ ...ctx(creds), baseUrl: s2.baseUrl }, creds);
      const res = await fetch(`${s2.baseUrl}/orders`);
      expect(res.status).toBe(401);
      expect((await fails(c({ ...s2.credentials, tokenSecret: "bad-secret" }).getOrders())).kind).toBe(
        "auth",
      );
      expect((await fails(c(s2.credentials).getOrder("1"))).kind).toBe("not_found");
      s2.control.fault("rate_limit", 1);
      expect((await fails(c(s2.credentials).getOrders())).kind).toBe("rate_limited");
    } finally {
      await s2.close();
    }
  });

  it("refuses disallowed status moves with BrickLink's 422 as invalid_request, and allows forward moves", async () => {
    const id = sim.control.createOrder();
    await client().updateOrderStatus(String(id), "PAID");
    const err = await fails(client().updateOrderStatus(String(id), "PENDING"));
    expect(err.kind).toBe("invalid_request");
    expect(err.message).toMatch(/RESOURCE_UPDATE_NOT_ALLOWED/);
    expect((await client().getOrder(String(id))).status).toBe("PAID");
  });

  it("turns the notification queue into the orders it names", async () => {
    const notices = bricklinkAdapter.notices;
    if (notices.style !== "ping") throw new Error("BrickLink pings");
    await notices.drain(ctx());
    const a = sim.control.createOrder();
    const b = sim.control.createOrder();
    sim.control.setStatus(a, "PAID");
    expect((await notices.drain(ctx())).externalOrderIds.sort()).toEqual([String(a), String(b)].sort());
    expect((await notices.drain(ctx())).externalOrderIds).toEqual([]);
  });

  it("updates inventory by signed delta and requires a description", async () => {
    const [lot] = await client().getInventories();
    const after = await client().updateInventory(lot!.inventory_id, {
      quantityDelta: -2,
      description: lot!.description ?? "",
    });
    expect(after.quantity).toBe(lot!.quantity - 2);
    const back = await client().updateInventory(lot!.inventory_id, { quantityDelta: 2, description: "" });
    expect(back.quantity).toBe(lot!.quantity);
  });
});

runAdapterContract("bricklink (simulator)", async () => {
  const s = await startBrickLinkSimulator({ orders: 0 });
  const c = (creds: typeof s.credentials): AdapterContext => ({ ...ctx(creds), baseUrl: s.baseUrl });
  return {
    adapter: bricklinkAdapter as never,
    context: () => c(s.credentials),
    badCredentials: () => c({ ...s.credentials, consumerSecret: "nope-nope" }),
    seedOrders: async (n) => Array.from({ length: n }, () => String(s.control.createOrder())),
    changeOrder: async (id) => s.control.setStatus(Number(id), "PAID"),
    injectFault: async (kind) => s.control.fault(kind === "rate_limited" ? "rate_limit" : "html503", 1),
    futureCheckpoint: () => ({ newestChange: "2200-01-01T00:00:00.000Z" }),
    settableStatus: "PACKED",
    lotId: async () => String([...s.control.state.inventory.keys()][0]),
    close: () => s.close(),
  };
});
