import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";
import { hashPassword } from "../../src/auth/passwords.ts";
import { newToken, sha256 } from "../../src/auth/tokens.ts";
import type { AppContext } from "../../src/context.ts";
import { createAccount } from "../../src/db/repos/accounts.ts";
import { insertUser } from "../../src/db/repos/users.ts";
import { apiTokens } from "../../src/db/schema.ts";
import type { BrickLinkSimulator } from "../../src/marketplaces/bricklink/simulator/server.ts";

/** A fresh PostgreSQL database cloned from the migrated template; `drop` removes it. */
export async function freshPgDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = process.env.ORDERHUB_TEST_DATABASE_URL!;
  // The run's prefix lets the global teardown remove it if this file dies early.
  const name = `${inject("pgPrefix")}load_${randomBytes(5).toString("hex")}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database "${name}" template "${inject("pgTemplate")}"`);
  await admin.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const a = new pg.Client({ connectionString: base });
      await a.connect();
      await a.query(`drop database if exists "${name}" with (force)`).catch(() => {});
      await a.end();
    },
  };
}

/** An account with an owner and the owner's API token. */
export async function ownerWithToken(ctx: AppContext, slug: string) {
  const account = await createAccount(ctx.db, { name: slug, slug });
  const user = await insertUser(ctx.db, {
    accountId: account.id,
    email: `owner@${slug}.example`,
    passwordHash: await hashPassword("correct horse battery"),
    role: "owner",
  });
  const token = newToken("oh_");
  await ctx.db.insert(apiTokens).values({
    accountId: account.id,
    userId: user.id,
    name: "load",
    tokenHash: sha256(token),
    prefix: token.slice(0, 8),
  });
  return { account, token };
}

/**
 * Every seeded order becomes an open sales order, so the store holds exactly the seeded count.
 * Simulators of any seed number their orders alike; `idOffset` gives this store its own order ids,
 * as separate BrickLink stores have.
 */
export function allSales(sim: BrickLinkSimulator, idOffset = 0): number[] {
  const all = [...sim.control.state.orders.values()];
  sim.control.state.orders.clear();
  for (const o of all) {
    o.direction = "in";
    o.order.is_filed = false;
    o.order.order_id += idOffset;
    sim.control.state.orders.set(o.order.order_id, o);
  }
  sim.control.state.nextId += idOffset;
  return [...sim.control.state.orders.keys()];
}

/** A small JSON client for the HTTP API that never throws on a status. */
export function apiClient(baseUrl: string, token: string) {
  return async function call<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: res.status, body: parsed as T };
  };
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export interface LoadStats {
  requests: number;
  latencies: number[];
  failures: string[];
  byKind: Record<string, number>;
  /** The slowest few requests, for the report. */
  slowest: { ms: number; path: string; endedAt: number }[];
}

const SEARCHES = ["brick", "plate", "BL-2000", "tile", "gray", "sim", "a", "Berlin", "zz-no-match"];
const SORTS = ["number", "marketplace", "orderedAt", "buyer", "status", "total", "updatedAt"];
const STATUSES = ["pending", "processing", "shipped", "completed", "cancelled", "needs_review", "on_hold"];

/**
 * One client of the orders API until `done()` says stop: lists with sorts, filters, search and
 * paging, order details and ?ids= look-ups of orders it has seen, as a seller's browser would.
 */
export async function orderClient(
  baseUrl: string,
  token: string,
  seed: number,
  done: () => boolean,
  stats: LoadStats,
  thinkMs = 0,
): Promise<void> {
  let x = seed * 2_654_435_761;
  const rnd = () => {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    return x / 2 ** 32;
  };
  const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)]!;
  const seen: { id: number; number: string }[] = [];
  while (!done()) {
    // A person looks at the table between clicks: up to twice the mean pause, at random.
    if (thinkMs > 0) await new Promise((res) => setTimeout(res, rnd() * 2 * thinkMs));
    if (done()) break;
    const r = rnd();
    let kind: string;
    let path: string;
    if (r < 0.2 && seen.length) {
      kind = "detail";
      const o = pick(seen);
      path = `/api/orders/${rnd() < 0.5 ? o.number : o.id}`;
    } else if (r < 0.3 && seen.length) {
      kind = "ids";
      const ids = Array.from({ length: 1 + Math.floor(rnd() * 20) }, () => pick(seen).id);
      path = `/api/orders?ids=${[...new Set(ids)].join(",")}`;
    } else {
      kind = "list";
      const q = new URLSearchParams();
      q.set("sort", pick(SORTS));
      q.set("dir", rnd() < 0.5 ? "asc" : "desc");
      q.set("page", String(1 + Math.floor(rnd() * (rnd() < 0.7 ? 3 : 40))));
      q.set("pageSize", rnd() < 0.8 ? "100" : "500");
      if (rnd() < 0.3) q.set("status", [pick(STATUSES), pick(STATUSES)].join(","));
      if (rnd() < 0.2) q.set("marketplace", "bricklink");
      if (rnd() < 0.25) q.set("q", pick(SEARCHES));
      if (rnd() < 0.15) {
        const day = 1 + Math.floor(rnd() * 27);
        q.set("from", `2026-0${1 + Math.floor(rnd() * 9)}-${String(day).padStart(2, "0")}`);
      }
      if (rnd() < 0.1) q.set("buyer", pick(["a", "brick", "lego", "x"]));
      path = `/api/orders?${q}`;
    }
    const t = performance.now();
    try {
      const res = await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
      const text = await res.text();
      const ms = performance.now() - t;
      stats.latencies.push(ms);
      const slow = stats.slowest;
      if (slow.length < 3 || ms > slow.at(-1)!.ms) {
        slow.push({ ms: Math.round(ms), path, endedAt: Math.round(performance.now()) });
        slow.sort((a, b) => b.ms - a.ms);
        slow.length = Math.min(slow.length, 3);
      }
      stats.requests++;
      stats.byKind[kind] = (stats.byKind[kind] ?? 0) + 1;
      if (res.status < 200 || res.status > 299) {
        stats.failures.push(`${res.status} GET ${path}: ${text.slice(0, 300)}`);
        continue;
      }
      if (kind === "list" && seen.length < 2_000) {
        const body = JSON.parse(text) as { orders: { id: number; number: string }[] };
        for (const o of body.orders.slice(0, 10)) seen.push({ id: o.id, number: o.number });
      }
    } catch (err) {
      stats.requests++;
      stats.failures.push(`transport error on GET ${path}: ${(err as Error).message}`);
    }
  }
}
