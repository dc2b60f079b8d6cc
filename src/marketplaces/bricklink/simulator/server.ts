import { createHmac, timingSafeEqual } from "node:crypto";
import Fastify, { type FastifyReply, type FastifyRequest } from "fastify";
import { readSimulatorState, writeSimulatorState } from "../../simulator.ts";
import { rfc3986 } from "../client.ts";
import type { BrickLinkInventory } from "../types.ts";
import {
  makeOrderBuilder,
  prng,
  type SeedOptions,
  type SimOrder,
  seedStore,
  stamp,
  transitionAllowed,
} from "./store.ts";

export interface SimCredentials {
  consumerKey: string;
  consumerSecret: string;
  tokenValue: string;
  tokenSecret: string;
}

export type SimFault =
  | "rate_limit"
  | "server_error"
  | "html503"
  | "hang"
  | "malformed"
  | "truncated"
  | "slow"
  /** The call is carried out, then the connection is cut before the answer. */
  | "drop_after_apply"
  /** The call is carried out, then no answer ever comes: the client's timeout fires after the fact. */
  | "hang_after_apply";

export interface SimulatorOptions extends SeedOptions {
  port?: number;
  host?: string;
  credentials?: Partial<SimCredentials>;
  /** The token's registered address and mask; 0.0.0.0/0.0.0.0 accepts any caller. */
  allowedIp?: { ip: string; mask: string };
  /** BrickLink sends errors inside HTTP 200; `true` answers with real HTTP codes instead. */
  httpErrorCodes?: boolean;
  dailyLimit?: number;
  /** Where to POST (with an empty body) when an order changes. */
  callbackUrl?: string | null;
  /** Where the store is kept between starts: loaded when it exists, written before each change is answered. */
  stateFile?: string | null;
}

/** What a kept store holds: orders, lots and what is still to be announced (not the calls, nonces or faults). */
interface KeptStore {
  orders: [number, SimOrder][];
  inventory: [number, BrickLinkInventory][];
  nextId: number;
  notifications: { event_type: string; resource_id: number; timestamp: string }[];
  statusChanges: { orderId: number; from: string; to: string }[];
}

export const DEFAULT_CREDENTIALS: SimCredentials = {
  consumerKey: "SIMCONSUMERKEY0001",
  consumerSecret: "sim-consumer-secret-0001",
  tokenValue: "SIMTOKENVALUE0001",
  tokenSecret: "sim-token-secret-0001",
};

const NGINX_503 =
  "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

function ipToInt(ip: string): number {
  const p = ip
    .replace(/^::ffff:/, "")
    .split(".")
    .map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x))) return -1;
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

function parseAuthHeader(h: string | undefined): Record<string, string> | null {
  if (!h?.startsWith("OAuth ")) return null;
  const out: Record<string, string> = {};
  for (const m of h.slice(6).matchAll(/([a-z_]+)="([^"]*)"/g)) out[m[1]!] = decodeURIComponent(m[2]!);
  return out;
}

/**
 * A protocol-faithful BrickLink Store API: OAuth 1.0a signatures verified, IP binding, nonce
 * replay, errors inside HTTP 200, a daily call budget, the nginx 503 page, no paging, items as
 * batches, the status transition table, notifications with a bodiless callback. A control API under
 * `/_sim` (and the returned `control`) seeds, changes and breaks it.
 */
export async function startBrickLinkSimulator(opts: SimulatorOptions = {}) {
  const creds: SimCredentials = { ...DEFAULT_CREDENTIALS, ...opts.credentials };
  const kept = opts.stateFile ? readSimulatorState<KeptStore>(opts.stateFile, "bricklink") : null;
  const seeded = kept ? null : seedStore(opts);
  const state = {
    orders: (kept ? new Map(kept.orders) : seeded!.orders) as Map<number, SimOrder>,
    inventory: (kept ? new Map(kept.inventory) : seeded!.inventory) as Map<number, BrickLinkInventory>,
    nextId: kept?.nextId ?? seeded!.nextId,
    notifications: (kept?.notifications ?? []) as KeptStore["notifications"],
    nonces: new Set<string>(),
    faults: [] as { kind: SimFault; count: number; delayMs: number; path?: string }[],
    faultRate: 0 as number,
    faultKinds: [] as SimFault[],
    /** How long a random \"slow\" answer takes. */
    faultSlowMs: 2_000,
    calls: { day: "", count: 0, total: 0, byPath: new Map<string, number>() },
    httpErrorCodes: Boolean(opts.httpErrorCodes),
    dailyLimit: opts.dailyLimit ?? 5_000,
    allowedIp: opts.allowedIp ?? { ip: "0.0.0.0", mask: "0.0.0.0" },
    callbackUrl: opts.callbackUrl ?? null,
    /** Every status change the seller made through the API, in order. */
    statusChanges: (kept?.statusChanges ?? []) as { orderId: number; from: string; to: string }[],
    now: () => new Date(),
  };
  const rnd = prng((opts.seed ?? 1) + 7);
  const build = makeOrderBuilder(rnd, [...state.inventory.values()]);

  /** Keeps the store in its file (when it has one), before the change is answered. */
  function save(): void {
    if (!opts.stateFile) return;
    const store: KeptStore = {
      orders: [...state.orders],
      inventory: [...state.inventory],
      nextId: state.nextId,
      notifications: state.notifications,
      statusChanges: state.statusChanges,
    };
    writeSimulatorState(opts.stateFile, "bricklink", store);
  }
  save();

  const app = Fastify({ logger: false, forceCloseConnections: true });
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => {
    if (body === "") return done(null, undefined);
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(null, { __malformed: true });
    }
  });

  const send = (reply: FastifyReply, code: number, message: string, description: string, data?: unknown) => {
    const meta = { description, message, code };
    const status = state.httpErrorCodes || code < 300 ? (code === 204 ? 200 : code) : 200;
    return reply
      .status(status)
      .type("application/json")
      .send(data === undefined ? { meta } : { meta, data });
  };
  const ok = (reply: FastifyReply, data: unknown) => send(reply, 200, "OK", "OK", data);

  function notify(orderId: number) {
    state.notifications.push({ event_type: "Order", resource_id: orderId, timestamp: stamp(state.now()) });
    if (state.callbackUrl) {
      // BrickLink's callback carries no body: it only says "look".
      fetch(state.callbackUrl, { method: "POST" }).catch(() => {});
    }
  }

  /** Authentication exactly as BrickLink: signature over method, URL and query, token bound to an IP. */
  function authenticate(req: FastifyRequest): string | null {
    const p = parseAuthHeader(req.headers.authorization);
    if (!p) return "SIGNATURE_INVALID: no OAuth Authorization header";
    if (p.oauth_consumer_key !== creds.consumerKey)
      return "CONSUMER_KEY_UNKNOWN: consumer key is not registered";
    if (p.oauth_token !== creds.tokenValue) return "TOKEN_VALUE_UNKNOWN: token value is not registered";
    if (p.oauth_signature_method !== "HMAC-SHA1") return "SIGNATURE_INVALID: only HMAC-SHA1 is supported";
    const url = new URL(req.url, `http://${req.headers.host}`);
    const params: [string, string][] = [];
    for (const [k, v] of url.searchParams) params.push([rfc3986(k), rfc3986(v)]);
    for (const [k, v] of Object.entries(p))
      if (k.startsWith("oauth_") && k !== "oauth_signature") params.push([rfc3986(k), rfc3986(v)]);
    params.sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1));
    const base = [
      req.method.toUpperCase(),
      rfc3986(`${url.protocol}//${url.host}${url.pathname}`),
      rfc3986(params.map(([k, v]) => `${k}=${v}`).join("&")),
    ].join("&");
    const expected = createHmac("sha1", `${rfc3986(creds.consumerSecret)}&${rfc3986(creds.tokenSecret)}`)
      .update(base)
      .digest();
    const given = Buffer.from(p.oauth_signature ?? "", "base64");
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return "SIGNATURE_INVALID: Invalid Signature";
    const mask = ipToInt(state.allowedIp.mask);
    const caller = req.ip.replace(/^::ffff:/, "");
    if ((ipToInt(caller) & mask) >>> 0 !== (ipToInt(state.allowedIp.ip) & mask) >>> 0) {
      return `TOKEN_IP_MISMATCHED: consumer: ${creds.consumerKey} IP: ${caller}`;
    }
    const key = `${p.oauth_timestamp}:${p.oauth_nonce}`;
    if (state.nonces.has(key)) return "NONCE_REUSED: the timestamp and nonce were used before";
    state.nonces.add(key);
    return null;
  }

  app.addHook("onRequest", async (req, reply) => {
    if (req.url.startsWith("/_sim")) return;
    const day = state.now().toISOString().slice(0, 10);
    if (state.calls.day !== day) state.calls = { ...state.calls, day, count: 0 };
    state.calls.count++;
    state.calls.total++;
    const path = req.url.split("?")[0]!.replace(/\/\d+/g, "/{id}");
    state.calls.byPath.set(
      `${req.method} ${path}`,
      (state.calls.byPath.get(`${req.method} ${path}`) ?? 0) + 1,
    );
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
    if (kind === "html503") return reply.status(503).type("text/html").send(NGINX_503);
    if (kind === "hang") return new Promise(() => {}); // never answers: the client's timeout must fire
    if (kind === "slow") await new Promise((r) => setTimeout(r, delayMs));
    if (kind === "rate_limit") return send(reply, 429, "TOO_MANY_REQUESTS", "daily request limit reached");
    if (kind === "server_error") return send(reply, 500, "INTERNAL_SERVER_ERROR", "internal server error");
    if (kind === "malformed")
      return reply
        .status(200)
        .type("application/json")
        .send('{"meta":{"code":200,"message":"OK"},"data":[{"order_id":');
    const problem = authenticate(req);
    if (problem) return send(reply, 401, "BAD_OAUTH_REQUEST", problem);
    if (state.calls.count > state.dailyLimit)
      return send(reply, 429, "TOO_MANY_REQUESTS", "daily API call limit exceeded");
    if (kind === "truncated") (req as unknown as { truncate: boolean }).truncate = true;
    if (kind === "drop_after_apply" || kind === "hang_after_apply")
      (req as unknown as { cut: SimFault }).cut = kind;
  });
  // The work was done; the answer is lost on its way (the connection drops, or nothing ever comes).
  app.addHook("onSend", async (req, reply, payload) => {
    // Writes (and the notification drain) change the store: it is kept before the answer leaves.
    if (req.method !== "GET" || req.url.includes("/notifications")) save();
    const cut = (req as unknown as { cut?: SimFault }).cut;
    if (cut === "hang_after_apply") return new Promise(() => {});
    if (cut === "drop_after_apply") reply.raw.destroy();
    return payload;
  });

  const base = "/api/store/v1";
  const order = (req: FastifyRequest) => state.orders.get(Number((req.params as { id: string }).id));

  app.get(`${base}/orders`, async (req, reply) => {
    const q = req.query as Record<string, string>;
    const direction = (q.direction ?? "in").toLowerCase();
    const filed = (q.filed ?? "false").toLowerCase() === "true";
    const wanted = (q.status ?? "")
      .split(",")
      .map((s) => s.trim().toUpperCase())
      .filter(Boolean);
    const include = wanted.filter((s) => !s.startsWith("-"));
    const exclude = wanted.filter((s) => s.startsWith("-")).map((s) => s.slice(1));
    const list = [...state.orders.values()]
      .filter((o) => o.direction === direction && Boolean(o.order.is_filed) === filed)
      .filter(
        (o) =>
          (include.length ? include.includes(o.order.status) : true) && !exclude.includes(o.order.status),
      )
      .map(({ order: o }) => {
        // Summaries carry no buyer e-mail, shipping or items.
        const { buyer_email: _e, shipping: _s, remarks: _r, total_weight: _w, ...summary } = o;
        return summary;
      });
    if ((req as unknown as { truncate?: boolean }).truncate) {
      return reply
        .status(200)
        .type("application/json")
        .send(
          JSON.stringify({ meta: { description: "OK", message: "OK", code: 200 }, data: list }).slice(0, 80),
        );
    }
    return ok(reply, list);
  });
  app.get(`${base}/orders/:id`, async (req, reply) => {
    const o = order(req);
    return o ? ok(reply, o.order) : send(reply, 404, "RESOURCE_NOT_FOUND", "order not found");
  });
  app.get(`${base}/orders/:id/items`, async (req, reply) => {
    const o = order(req);
    if (!o) return send(reply, 404, "RESOURCE_NOT_FOUND", "order not found");
    return ok(reply, o.order.status === "PURGED" ? [] : o.batches);
  });
  app.put(`${base}/orders/:id`, async (req, reply) => {
    const o = order(req);
    if (!o) return send(reply, 404, "RESOURCE_NOT_FOUND", "order not found");
    const body = req.body as
      | { __malformed?: boolean; shipping?: Record<string, string>; remarks?: string; is_filed?: boolean }
      | undefined;
    if (!body || body.__malformed)
      return send(reply, 400, "INVALID_REQUEST_BODY", "A request has been made with a malformed JSON body.");
    // Only a few keys are honoured; the rest are silently ignored, as on BrickLink.
    const s = body.shipping ?? {};
    o.order.shipping = { ...o.order.shipping };
    for (const k of ["tracking_no", "tracking_link", "date_shipped"] as const)
      if (typeof s[k] === "string") o.order.shipping[k] = s[k];
    if (typeof body.remarks === "string") o.order.remarks = body.remarks;
    if (typeof body.is_filed === "boolean") o.order.is_filed = body.is_filed;
    return ok(reply, o.order);
  });
  app.put(`${base}/orders/:id/status`, async (req, reply) => {
    const o = order(req);
    if (!o) return send(reply, 404, "RESOURCE_NOT_FOUND", "order not found");
    const body = req.body as { field?: string; value?: string } | undefined;
    if (body?.field !== "status" || typeof body.value !== "string") {
      return send(reply, 400, "PARAMETER_MISSING_OR_INVALID", "Unparseable value or field: [field]");
    }
    const to = body.value.toUpperCase();
    if (!transitionAllowed(o.order.status, to)) {
      return send(
        reply,
        422,
        "RESOURCE_UPDATE_NOT_ALLOWED",
        `order status cannot change from ${o.order.status} to ${to}`,
      );
    }
    state.statusChanges.push({ orderId: o.order.order_id, from: o.order.status, to });
    o.order.status = to;
    o.order.date_status_changed = stamp(state.now());
    notify(o.order.order_id);
    return send(reply, 204, "OK_NO_CONTENT", "OK_NO_CONTENT");
  });
  app.put(`${base}/orders/:id/payment_status`, async (req, reply) => {
    const o = order(req);
    if (!o) return send(reply, 404, "RESOURCE_NOT_FOUND", "order not found");
    const body = req.body as { field?: string; value?: string } | undefined;
    if (body?.field !== "payment_status" || typeof body.value !== "string") {
      return send(reply, 400, "PARAMETER_MISSING_OR_INVALID", "Unparseable value or field: [field]");
    }
    o.order.payment = { ...o.order.payment, status: body.value };
    return send(reply, 204, "OK_NO_CONTENT", "OK_NO_CONTENT");
  });
  app.post(`${base}/orders/:id/drive_thru`, async (req, reply) => {
    const o = order(req);
    if (!o) return send(reply, 404, "RESOURCE_NOT_FOUND", "order not found");
    o.order.drive_thru_sent = true;
    return send(reply, 204, "OK_NO_CONTENT", "OK_NO_CONTENT");
  });
  app.get(`${base}/notifications`, async (_req, reply) => {
    const unread = state.notifications.splice(0);
    return ok(reply, unread);
  });
  app.get(`${base}/inventories`, async (_req, reply) => ok(reply, [...state.inventory.values()]));
  app.get(`${base}/inventories/:id`, async (req, reply) => {
    const lot = state.inventory.get(Number((req.params as { id: string }).id));
    return lot ? ok(reply, lot) : send(reply, 404, "RESOURCE_NOT_FOUND", "inventory not found");
  });
  app.put(`${base}/inventories/:id`, async (req, reply) => {
    const lot = state.inventory.get(Number((req.params as { id: string }).id));
    if (!lot) return send(reply, 404, "RESOURCE_NOT_FOUND", "inventory not found");
    const body = req.body as Record<string, unknown> | undefined;
    if (!body || body.__malformed)
      return send(reply, 400, "INVALID_REQUEST_BODY", "A request has been made with a malformed JSON body.");
    if (typeof body.description !== "string")
      return send(reply, 400, "PARAMETER_MISSING_OR_INVALID", "String input must not be null");
    if (body.quantity !== undefined) {
      // Quantity on update is a signed delta, never an absolute value.
      const delta = Number(String(body.quantity));
      if (!Number.isInteger(delta))
        return send(reply, 400, "PARAMETER_MISSING_OR_INVALID", "Unparseable value or field: [quantity]");
      if (lot.quantity + delta < 0)
        return send(reply, 400, "PARAMETER_MISSING_OR_INVALID", "quantity would fall below zero");
      lot.quantity += delta;
    }
    lot.description = body.description;
    if (typeof body.remarks === "string") lot.remarks = body.remarks;
    if (body.unit_price !== undefined) lot.unit_price = Number(body.unit_price).toFixed(4);
    return ok(reply, lot);
  });

  /** BrickLink takes sold items out of the store's lots when an order is placed. */
  function takeFromStock(items: { inventory_id?: number; quantity: number }[]) {
    for (const it of items) {
      const lot = it.inventory_id !== undefined ? state.inventory.get(it.inventory_id) : undefined;
      if (lot) lot.quantity = Math.max(0, lot.quantity - it.quantity);
    }
  }

  const control = {
    state,
    credentials: creds,
    /** A new order received (PENDING), announced as BrickLink would. */
    createOrder(o: { lines?: number; status?: string } = {}): number {
      const id = state.nextId++;
      const sim = build(id, state.now(), o.status ?? "PENDING", o.lines ?? 3);
      sim.order.date_status_changed = stamp(state.now());
      state.orders.set(id, sim);
      takeFromStock(sim.batches.flat());
      notify(id);
      save();
      return id;
    },
    setStatus(id: number, status: string): void {
      const o = state.orders.get(id);
      if (!o) throw new Error(`no simulated order ${id}`);
      o.order.status = status;
      o.order.date_status_changed = stamp(
        new Date(Math.max(state.now().getTime(), Date.parse(o.order.date_status_changed) + 1)),
      );
      notify(id);
      save();
    },
    /** The buyer added items: a new batch, status UPDATED. */
    addBatch(id: number, lines = 1): void {
      const o = state.orders.get(id);
      if (!o) throw new Error(`no simulated order ${id}`);
      const extra = build(id, state.now(), "UPDATED", lines).batches.flat();
      o.batches.push(extra);
      takeFromStock(extra);
      this.setStatus(id, "UPDATED");
    },
    fault(kind: SimFault, count = 1, opts: { delayMs?: number; path?: string } = {}): void {
      state.faults.push({
        kind,
        count,
        delayMs: opts.delayMs ?? 2_000,
        ...(opts.path ? { path: opts.path } : {}),
      });
    },
    /** A share of all calls fails with one of these faults, chosen at random. */
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
    orderId: control.createOrder((req.body ?? {}) as { lines?: number }),
  }));
  app.post("/_sim/orders/:id/status", async (req) => {
    control.setStatus(
      Number((req.params as { id: string }).id),
      String((req.body as { status: string }).status),
    );
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
  app.post("/_sim/callback", async (req) => {
    state.callbackUrl = (req.body as { url: string | null }).url;
    return { ok: true };
  });
  app.get("/_sim/state", async () => ({
    orders: state.orders.size,
    calls: state.calls.total,
    callsToday: state.calls.count,
    callsByPath: control.callsByPath(),
    pendingNotifications: state.notifications.length,
  }));

  await app.listen({ port: opts.port ?? 0, host: opts.host ?? "127.0.0.1" });
  const addr = app.server.address();
  const port = typeof addr === "object" && addr ? addr.port : (opts.port ?? 0);
  const url = `http://${opts.host ?? "127.0.0.1"}:${port}`;
  return {
    url,
    baseUrl: `${url}${base}`,
    credentials: creds,
    control,
    async close() {
      await app.close();
    },
  };
}

export type BrickLinkSimulator = Awaited<ReturnType<typeof startBrickLinkSimulator>>;
