import Fastify, { type FastifyReply, type FastifyRequest } from "fastify";
import { prng } from "../../bricklink/simulator/store.ts";
import { readSimulatorState, writeSimulatorState } from "../../simulator.ts";
import { BRICKOWL_STATUSES, brickOwlStatusId } from "../mapping.ts";
import { type Json, retotal, type SeedOptions, type SimOrder, seedStore, ukIso, unix } from "./store.ts";

export type SimFault =
  | "rate_limit"
  | "server_error"
  | "html503"
  | "hang"
  | "malformed"
  | "truncated"
  | "slow"
  /** The write is applied, then the connection is cut before the answer: an ambiguous failure. */
  | "drop_after_apply"
  /** The call is carried out, then no answer ever comes: the client's timeout fires after the fact. */
  | "hang_after_apply";

export interface BrickOwlSimulatorOptions extends SeedOptions {
  port?: number;
  host?: string;
  apiKey?: string;
  /** Requests per minute before BrickOwl answers 429 (600 normal, 200 for bulk/batch). */
  perMinute?: number;
  batchPerMinute?: number;
  /** HTTP status for a refused key (BrickOwl's exact code is undocumented). */
  badKeyStatus?: number;
  /** Port the order/notify call-out goes to (42500 on BrickOwl). */
  notifyPort?: number;
  /** Where the store is kept between starts: loaded when it exists, written before each change is answered. */
  stateFile?: string | null;
}

/** What a kept store holds: orders and lots (not the calls, limits or faults). */
interface KeptStore {
  orders: [string, SimOrder][];
  inventory: [string, Json][];
  nextId: number;
  nextLot: number;
}

export const DEFAULT_API_KEY = "SIMBRICKOWLKEY00000000000000000001";

const CLOUDFLARE_503 =
  "<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1></body></html>\n";

/**
 * A protocol-faithful BrickOwl API v1 (reference B7): key in the query (GET) or the form body (POST),
 * bare JSON with strings for numbers and explicit nulls, `{"error":{"status":…}}` errors, order/list
 * filters and its 500/5,000 limit, set_status 1–7 only, inventory/update with exactly one identifier,
 * per-minute limits and the order/notify call-out. `/_sim` and `control` seed, change and break it.
 */
export async function startBrickOwlSimulator(opts: BrickOwlSimulatorOptions = {}) {
  const seeded = seedStore(opts);
  const kept = opts.stateFile ? readSimulatorState<KeptStore>(opts.stateFile, "brickowl") : null;
  const state = {
    apiKey: opts.apiKey ?? DEFAULT_API_KEY,
    orders: kept ? new Map(kept.orders) : seeded.orders,
    inventory: kept ? new Map(kept.inventory) : seeded.inventory,
    nextId: kept?.nextId ?? seeded.nextId,
    nextLot: kept?.nextLot ?? seeded.nextLot,
    storeId: seeded.storeId,
    notifyIp: null as string | null,
    notifyPort: opts.notifyPort ?? 42_500,
    perMinute: opts.perMinute ?? 600,
    batchPerMinute: opts.batchPerMinute ?? 200,
    minute: { start: 0, count: 0, batch: 0 },
    faults: [] as { kind: SimFault; count: number; delayMs: number; path?: string }[],
    faultRate: 0,
    faultKinds: [] as SimFault[],
    /** How long a random \"slow\" answer takes. */
    faultSlowMs: 2_000,
    calls: { total: 0, byPath: new Map<string, number>() },
    /** Effective writes, to prove a retried push landed once. */
    writes: [] as { path: string; params: Record<string, string> }[],
    now: () => new Date(),
  };
  const rnd = prng((opts.seed ?? 1) + 303);
  const build = seeded.build;

  /** Keeps the store in its file (when it has one), before the change is answered. */
  function save(): void {
    if (!opts.stateFile) return;
    const store: KeptStore = {
      orders: [...state.orders],
      inventory: [...state.inventory],
      nextId: state.nextId,
      nextLot: state.nextLot,
    };
    writeSimulatorState(opts.stateFile, "brickowl", store);
  }
  save();

  const app = Fastify({ logger: false, forceCloseConnections: true });
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_req, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );

  const error = (reply: FastifyReply, code: number, status: string) =>
    reply.status(code).type("application/json").send({ error: { status } });

  function params(req: FastifyRequest): Record<string, string> {
    const q = req.query as Record<string, string>;
    if (req.method === "GET") return q;
    const b = req.body;
    return b && typeof b === "object" ? (b as Record<string, string>) : {};
  }

  function notify(orderId: string) {
    if (!state.notifyIp) return;
    const url = `http://${state.notifyIp}:${state.notifyPort}/brick_owl_order_notify?order_id=${orderId}&store_id=${state.storeId}`;
    // Best effort, like BrickOwl's: nobody retries a lost notification.
    fetch(url).catch(() => {});
  }

  // Writes change the store: it is kept before the answer leaves.
  app.addHook("onSend", async (req, _reply, payload) => {
    if (req.method !== "GET") save();
    return payload;
  });
  app.addHook("preHandler", async (req, reply) => {
    if (req.url.startsWith("/_sim")) return;
    state.calls.total++;
    const path = `${req.method} ${req.url.split("?")[0]}`;
    state.calls.byPath.set(path, (state.calls.byPath.get(path) ?? 0) + 1);
    const fault = state.faults.find((f) => f.count > 0 && (!f.path || req.url.includes(f.path)));
    let kind: SimFault | null = null;
    let delayMs = 0;
    if (fault) {
      fault.count--;
      kind = fault.kind;
      delayMs = fault.delayMs;
    } else if (state.faultRate > 0 && state.faultKinds.length && rnd() < state.faultRate) {
      kind = state.faultKinds[Math.floor(rnd() * state.faultKinds.length)]!;
      delayMs = state.faultSlowMs;
    }
    if (kind === "html503") return reply.status(503).type("text/html").send(CLOUDFLARE_503);
    if (kind === "hang") return new Promise(() => {});
    if (kind === "slow") await new Promise((r) => setTimeout(r, delayMs));
    if (kind === "rate_limit") return error(reply, 429, "Rate limit exceeded");
    if (kind === "server_error") return error(reply, 500, "Internal error");
    if (kind === "malformed") return reply.status(200).type("application/json").send('[{"order_id":');
    if (params(req).key !== state.apiKey) return error(reply, opts.badKeyStatus ?? 401, "Invalid API Key");
    const now = state.now().getTime();
    if (now - state.minute.start >= 60_000) state.minute = { start: now, count: 0, batch: 0 };
    const batch = req.url.includes("/bulk/");
    if (batch ? ++state.minute.batch > state.batchPerMinute : ++state.minute.count > state.perMinute) {
      reply.header("retry-after", String(Math.ceil((state.minute.start + 60_000 - now) / 1000)));
      return error(reply, 429, "Rate limit exceeded, slow down");
    }
    if (kind === "truncated") (req as unknown as { truncate: boolean }).truncate = true;
    if (kind === "drop_after_apply") (req as unknown as { drop: boolean }).drop = true;
    if (kind === "hang_after_apply") (req as unknown as { hang: boolean }).hang = true;
  });

  /** Answers, or — for the faults that need it — cuts the answer short after the work was done. */
  function answer(req: FastifyRequest, reply: FastifyReply, data: unknown) {
    const r = req as unknown as { truncate?: boolean; drop?: boolean; hang?: boolean };
    if (r.hang) return new Promise<FastifyReply>(() => {});
    if (r.drop) {
      reply.raw.destroy();
      return reply;
    }
    if (r.truncate) return reply.status(200).type("application/json").send(JSON.stringify(data).slice(0, 40));
    return reply.status(200).type("application/json").send(data);
  }
  const success = (req: FastifyRequest, reply: FastifyReply) => answer(req, reply, { status: "success" });

  const base = "/v1";
  const findOrder = (p: Record<string, string>) => state.orders.get(String(p.order_id ?? ""));

  app.get(`${base}/token/details`, async (req, reply) =>
    answer(req, reply, {
      username: "SimSeller",
      uid: "1000",
      has_store: true,
      store_details: {
        store_id: state.storeId,
        name: "Sim Owl Bricks",
        slogan: "",
        base_currency: "GBP",
        country: "GB",
        url: "https://simstore.brickowl.com",
        last_inventory_update: unix(state.now()),
        feedback_count: "276",
        minimum_order: "5.000",
        minimum_lot_average: "0.000",
        open: true,
      },
    }),
  );

  app.get(`${base}/order/list`, async (req, reply) => {
    const p = params(req);
    if ((p.list_type ?? "store") === "customer") return answer(req, reply, []);
    if (p.list_type && p.list_type !== "store") return error(reply, 400, "Invalid list_type");
    const limit = Math.min(Number(p.limit ?? 500) || 500, 5_000);
    let status: number | null = null;
    if (p.status !== undefined && p.status !== "") {
      status = brickOwlStatusId(p.status);
      if (status === null) return error(reply, 400, "Invalid status");
    }
    const since = p.order_time ? Number(p.order_time) : 0;
    if (!Number.isFinite(since)) return error(reply, 400, "Invalid order_time");
    const list = [...state.orders.values()]
      .map((o) => o.order)
      .filter((o) => status === null || Number(o.status_id) === status)
      .filter((o) => Number(o.order_time) >= since)
      .sort((a, b) => Number(b.order_time) - Number(a.order_time) || Number(b.order_id) - Number(a.order_id))
      .slice(0, limit)
      .map((o) => ({
        order_id: o.order_id,
        order_date: o.order_time,
        total_quantity: o.total_quantity,
        total_lots: o.total_lots,
        base_order_total: o.base_order_total,
        base_currency: o.base_currency,
        status: o.status,
        status_id: o.status_id,
        url: `https://simstore.brickowl.com/order/${o.order_id}`,
      }));
    return answer(req, reply, list);
  });

  app.get(`${base}/order/view`, async (req, reply) => {
    const o = findOrder(params(req));
    return o ? answer(req, reply, o.order) : error(reply, 404, "Order not found");
  });
  app.get(`${base}/order/items`, async (req, reply) => {
    const o = findOrder(params(req));
    return o ? answer(req, reply, o.items) : error(reply, 404, "Order not found");
  });
  app.post(`${base}/order/set_status`, async (req, reply) => {
    const p = params(req);
    const o = findOrder(p);
    if (!o) return error(reply, 404, "Order not found");
    const id = Number(p.status_id);
    if (!Number.isInteger(id) || id < 1 || id > 7) return error(reply, 400, "Invalid status_id");
    setStatus(o, id);
    state.writes.push({
      path: "order/set_status",
      params: { order_id: String(p.order_id), status_id: String(id) },
    });
    return success(req, reply);
  });
  app.post(`${base}/order/tracking`, async (req, reply) => {
    const p = params(req);
    const o = findOrder(p);
    if (!o) return error(reply, 404, "Order not found");
    if (!p.tracking_id) return error(reply, 400, "Missing tracking_id");
    o.order.tracking_number = p.tracking_id;
    state.writes.push({
      path: "order/tracking",
      params: { order_id: String(p.order_id), tracking_id: p.tracking_id },
    });
    return success(req, reply);
  });
  app.post(`${base}/order/note`, async (req, reply) => {
    const p = params(req);
    const o = findOrder(p);
    if (!o) return error(reply, 404, "Order not found");
    o.order.seller_note = p.note ?? "";
    return success(req, reply);
  });
  app.post(`${base}/order/notify`, async (req, reply) => {
    const ip = params(req).ip ?? "";
    state.notifyIp = ip.trim() || null;
    return success(req, reply);
  });

  app.get(`${base}/inventory/list`, async (req, reply) => {
    const p = params(req);
    const activeOnly = (p.active_only ?? "1") !== "0";
    const lots = [...state.inventory.values()]
      .filter((l) => !p.lot_id || l.lot_id === p.lot_id)
      .filter(
        (l) => !p.external_id_1 || (l.external_lot_ids as Record<string, string>).other === p.external_id_1,
      )
      .filter((l) => !p.type || l.type === p.type)
      .filter((l) => !activeOnly || (l.for_sale === "1" && Number(l.qty) > 0))
      .map(({ name: _n, color_id: _c, color_name: _cn, ...lot }) => lot);
    return answer(req, reply, lots);
  });

  function findLot(p: Record<string, string>): Json | null | "ambiguous" {
    const ids = ["lot_id", "external_id"].filter((k) => p[k] !== undefined && p[k] !== "");
    if (ids.length !== 1) return "ambiguous";
    if (p.lot_id) return state.inventory.get(p.lot_id) ?? null;
    return (
      [...state.inventory.values()].find(
        (l) => (l.external_lot_ids as Record<string, string>).other === p.external_id,
      ) ?? null
    );
  }

  app.post(`${base}/inventory/update`, async (req, reply) => {
    const p = params(req);
    const lot = findLot(p);
    if (lot === "ambiguous") return error(reply, 400, "Exactly one of lot_id or external_id is required");
    if (!lot) return error(reply, 404, "Lot not found");
    if (p.absolute_quantity !== undefined && p.relative_quantity !== undefined)
      return error(reply, 400, "Use either absolute_quantity or relative_quantity, not both");
    const changes = [
      "absolute_quantity",
      "relative_quantity",
      "for_sale",
      "price",
      "personal_note",
      "public_note",
    ];
    if (!changes.some((k) => p[k] !== undefined)) return error(reply, 400, "Nothing to update");
    if (p.absolute_quantity !== undefined) {
      const q = Number(p.absolute_quantity);
      if (!Number.isInteger(q) || q < 0) return error(reply, 400, "Invalid absolute_quantity");
      lot.qty = String(q);
    }
    if (p.relative_quantity !== undefined) {
      const d = Number(p.relative_quantity);
      if (!Number.isInteger(d)) return error(reply, 400, "Invalid relative_quantity");
      lot.qty = String(Math.max(0, Number(lot.qty) + d));
    }
    if (p.for_sale !== undefined) lot.for_sale = p.for_sale === "1" ? "1" : "0";
    if (p.price !== undefined) {
      const price = Number(p.price);
      if (!(price > 0)) return error(reply, 400, "Invalid price");
      lot.price = price.toFixed(3);
    }
    if (p.personal_note !== undefined) lot.personal_note = p.personal_note;
    if (p.public_note !== undefined) lot.public_note = p.public_note;
    const { key: _k, ...rest } = p;
    state.writes.push({ path: "inventory/update", params: rest });
    return success(req, reply);
  });
  app.post(`${base}/inventory/create`, async (req, reply) => {
    const p = params(req);
    if (!p.boid) return error(reply, 400, "Missing boid");
    const isPart = /-\d+$/.test(p.boid);
    if (isPart && !p.color_id) return error(reply, 400, "color_id is required for parts");
    if (!(Number(p.quantity) > 0)) return error(reply, 400, "quantity must be above 0");
    if (!(Number(p.price) > 0)) return error(reply, 400, "price must be above 0");
    const id = String(state.nextLot++);
    state.inventory.set(id, {
      lot_id: id,
      boid: p.boid,
      type: isPart ? "Part" : "Set",
      con: String(p.condition ?? "new").startsWith("used") ? "used" : "new",
      full_con: p.condition ?? "new",
      qty: String(Number(p.quantity)),
      price: Number(p.price).toFixed(3),
      for_sale: "1",
      public_note: "",
      personal_note: "",
      external_lot_ids: p.external_id ? { other: p.external_id } : [],
      ids: [{ id: p.boid, type: "boid" }],
    });
    return answer(req, reply, { lot_id: id });
  });
  app.post(`${base}/inventory/delete`, async (req, reply) => {
    const lot = findLot(params(req));
    if (lot === "ambiguous") return error(reply, 400, "Exactly one of lot_id or external_id is required");
    if (!lot) return error(reply, 404, "Lot not found");
    state.inventory.delete(String(lot.lot_id));
    return success(req, reply);
  });

  function setStatus(o: SimOrder, id: number) {
    o.order.status_id = String(id);
    o.order.status = BRICKOWL_STATUSES[id];
    if (id >= 3 && !o.order.processed_time) {
      o.order.processed_time = unix(state.now());
      o.order.iso_processed_time = ukIso(state.now());
    }
  }

  const control = {
    state,
    apiKey: state.apiKey,
    /** A buyer places an order (status Payment Received), announced through order/notify if registered. */
    createOrder(o: { lines?: number; statusId?: number; at?: Date } = {}): string {
      const id = state.nextId++;
      const sim = build(id, o.at ?? state.now(), o.statusId ?? 2, o.lines ?? 3);
      state.orders.set(String(id), sim);
      // BrickOwl takes sold items out of the store's lots when an order is placed.
      for (const it of sim.items) {
        const lot = state.inventory.get(String(it.lot_id));
        if (lot) lot.qty = String(Math.max(0, Number(lot.qty) - Number(it.ordered_quantity)));
      }
      save();
      notify(String(id));
      return String(id);
    },
    setStatus(orderId: string, statusId: number): void {
      const o = state.orders.get(orderId);
      if (!o) throw new Error(`no simulated BrickOwl order ${orderId}`);
      setStatus(o, statusId);
      save();
    },
    /** The seller edits an order: one line's quantity goes up, totals follow. */
    editOrder(orderId: string): void {
      const o = state.orders.get(orderId);
      if (!o) throw new Error(`no simulated BrickOwl order ${orderId}`);
      const it = o.items[0]!;
      it.ordered_quantity = String(Number(it.ordered_quantity) + 1);
      retotal(o);
      save();
    },
    fault(kind: SimFault, count = 1, o: { delayMs?: number; path?: string } = {}): void {
      state.faults.push({ kind, count, delayMs: o.delayMs ?? 2_000, ...(o.path ? { path: o.path } : {}) });
    },
    faultRate(rate: number, kinds: SimFault[], opts: { slowMs?: number } = {}): void {
      state.faultRate = rate;
      state.faultKinds = kinds;
      state.faultSlowMs = opts.slowMs ?? 2_000;
    },
    clearFaults(): void {
      state.faults = [];
      state.faultRate = 0;
    },
    calls(): number {
      return state.calls.total;
    },
    callsByPath(): Record<string, number> {
      return Object.fromEntries(state.calls.byPath);
    },
  };

  app.post("/_sim/orders", async (req) => ({
    orderId: control.createOrder((req.body ?? {}) as { lines?: number; statusId?: number }),
  }));
  app.post("/_sim/orders/:id/status", async (req) => {
    control.setStatus((req.params as { id: string }).id, Number((req.body as { statusId: number }).statusId));
    return { ok: true };
  });
  app.post("/_sim/faults", async (req) => {
    const b = req.body as { kind: SimFault; count?: number; rate?: number; kinds?: SimFault[] };
    if (b.rate !== undefined) control.faultRate(b.rate, b.kinds ?? [b.kind]);
    else control.fault(b.kind, b.count ?? 1);
    return { ok: true };
  });
  app.delete("/_sim/faults", async () => {
    control.clearFaults();
    return { ok: true };
  });
  app.get("/_sim/state", async () => ({
    orders: state.orders.size,
    lots: state.inventory.size,
    calls: state.calls.total,
    callsByPath: control.callsByPath(),
    notifyIp: state.notifyIp,
  }));

  await app.listen({ port: opts.port ?? 0, host: opts.host ?? "127.0.0.1" });
  const addr = app.server.address();
  const port = typeof addr === "object" && addr ? addr.port : (opts.port ?? 0);
  const url = `http://${opts.host ?? "127.0.0.1"}:${port}`;
  return {
    url,
    baseUrl: `${url}${base}`,
    apiKey: state.apiKey,
    control,
    async close() {
      await app.close();
    },
  };
}

export type BrickOwlSimulator = Awaited<ReturnType<typeof startBrickOwlSimulator>>;
