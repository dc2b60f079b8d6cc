/** The HTTP API, as the UI uses it: same-origin cookies, the CSRF header on writes, errors with the server's words. */

let csrfToken: string | null = null;
export function setCsrf(token: string | null): void {
  csrfToken = token;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
  ) {
    super(message);
  }
}

async function request(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["x-csrf-token"] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: "same-origin",
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new ApiError(0, "network", "Orderhub cannot be reached: check the connection and try again");
  }
  if (!res.ok) {
    const text = await res.text();
    let err: { code?: string; message?: string; details?: unknown } | undefined;
    try {
      err = (JSON.parse(text) as { error?: typeof err }).error;
    } catch {
      err = undefined;
    }
    throw new ApiError(
      res.status,
      err?.code ?? "error",
      err?.message ?? `HTTP ${res.status}`,
      err?.details ?? null,
    );
  }
  return res;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await request(method, path, body);
  const text = await res.text();
  return (text ? JSON.parse(text) : null) as T;
}

/** A POST that answers a file: saved through the browser with the server's file name. */
export async function download(path: string, body: unknown): Promise<string> {
  const res = await request("POST", path, body);
  const name =
    /filename="([^"]+)"/.exec(res.headers.get("content-disposition") ?? "")?.[1] ?? "orderhub-download";
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return name;
}

// ------------------------------------------------------------------ shapes the API answers

export interface Money {
  amount: number;
  currency: string;
  display: string;
}

export interface OrderRow {
  id: number;
  number: string;
  marketplace: string;
  connectionId: number;
  externalId: string;
  status: string;
  rawStatus: string;
  paymentStatus: string;
  buyerName: string | null;
  buyerUsername: string | null;
  orderedAt: string;
  updatedAt: string | null;
  grandTotal: Money;
  lotCount: number;
  itemCount: number;
  countryCode: string | null;
  shippingMethod?: string | null;
  tags: string[];
  /** A marketplace reported an older status than Orderhub's: kept ours, waits for the seller's look. */
  needsReview?: boolean;
  onHold?: boolean;
}

export interface OrderList {
  orders: OrderRow[];
  total: number;
  page: number;
  pageSize: number;
}

export interface Address {
  name: string | null;
  company: string | null;
  line1: string | null;
  line2: string | null;
  line3: string | null;
  city: string | null;
  region: string | null;
  postalCode: string | null;
  countryCode: string | null;
  phone: string | null;
  full: string;
}

export interface LineLot {
  id: number;
  itemNo: string | null;
  colorName: string | null;
  condition: string;
  location: string | null;
  listings: { marketplace: string; connectionId: number; connectionName: string; externalId: string }[];
}

export interface ChargeRow extends Money {
  /** shipping, insurance, fee, credit, coupon, tax, rounding, other — or difference (not itemised). */
  kind: string;
  label: string;
}

export interface ChargeBreakdown {
  subtotal: Money;
  rows: ChargeRow[];
  grandTotal: Money;
  /** Already inside the amounts (VAT in the prices): shown, not added. */
  included: ChargeRow[];
  decimals: number;
}

export interface OrderEvent {
  id: number;
  kind: string;
  fromStatus: string | null;
  toStatus: string | null;
  rawStatus: string | null;
  source: string;
  /** When Orderhub learnt it (the timeline's order). */
  at: string;
  /** The marketplace's own time for it, where it gives one. */
  marketplaceAt?: string | null;
  detail: Record<string, unknown>;
}

/** What a marketplace claimed when it reported an older status than the one Orderhub kept. */
export interface OrderReview {
  reason: string;
  claimedStatus: string;
  claimedRawStatus: string;
  marketplaceAt: string | null;
  keptStatus: string;
  keptRawStatus: string;
  at: string;
}

export interface Push {
  id: number;
  action: string | null;
  marketplace: string | null;
  state: "pending" | "sent" | "failed" | "dead";
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string | null;
  sentAt: string | null;
  steps: { op: string; rawStatus?: string; trackingNumber?: string | null }[];
}

export interface OrderDetail extends OrderRow {
  buyerEmail: string | null;
  shippingAddress: Address | null;
  totals: Record<"subtotal" | "shipping" | "tax" | "fees" | "credits" | "grandTotal", Money>;
  shippingMethod: string | null;
  trackingNumbers: string[];
  buyerRemarks: string | null;
  internalNote: string | null;
  url: string | null;
  lines: {
    id: number;
    itemNo: string | null;
    name: string;
    colorName: string | null;
    condition: string;
    completeness: string | null;
    quantity: number;
    unitPrice: Money;
    lineTotal: Money;
    location: string | null;
    removedAt: string | null;
    /** This marketplace's own lot / listing id for the line. */
    marketplaceLotId?: string | null;
    /** The stock lot the line was matched to (null: not matched), with its listing on each marketplace. */
    lot?: LineLot | null;
  }[];
  /** The address as a label prints it: in the country's order, the country named when abroad. */
  shipTo?: { lines: string[]; text: string; countryCode: string | null; countryName: string | null } | null;
  /** Subtotal + rows = grand total, each amount at decimals that show it exactly. */
  charges?: ChargeBreakdown;
  events: OrderEvent[];
  review?: OrderReview | null;
  pushes: Push[];
  /** Parcels sent for this order, each with its tracking and the lines (and quantities) in it. */
  shipments?: Shipment[];
}

export interface Shipment {
  id: number;
  carrier: string | null;
  trackingNumber: string | null;
  trackingUrl: string | null;
  shippedAt: string;
  state: string;
  push: { id: number; state: string; lastError: string | null } | null;
  lines: { lineId: number; externalLineId: string; name: string; quantity: number }[];
}

export interface SyncRun {
  id: number;
  connectionId: number;
  trigger: string;
  mode: string;
  state: string;
  seen: number;
  total: number | null;
  created: number;
  updated: number;
  skipped: number;
  failed: number;
  failures: { externalId: string; reason: string; kind: string }[];
  apiCalls: number;
  error: string | null;
  waitingUntil: string | null;
  cancelRequested: boolean;
  startedAt: string | null;
  finishedAt: string | null;
  createdAt: string;
  durationMs: number | null;
}

export interface Budget {
  limit: number | null;
  usedToday: number;
  remainingToday: number | null;
  resetsAt: string | null;
  byHour: { hour: string; calls: number; byCategory: Record<string, number> }[];
}

export interface Connection {
  id: number;
  marketplace: string;
  displayName: string;
  name: string;
  baseUrl: string;
  secretsSet: string[];
  schedule: { kind: "interval"; minutes: number } | { kind: "cron"; expression: string };
  scheduleEnabled: boolean;
  nextSyncAt: string | null;
  storeName: string | null;
  currency: string | null;
  lastSyncAt: string | null;
  lastSyncState: string | null;
  lastError: string | null;
  demo: boolean;
  orderCount: number;
  activeRun: SyncRun | null;
  webhookUrl?: string;
  budget: Budget;
  /** Orders listed whose details still wait (a first import's history), and when they will be in. */
  details?: DetailsBacklog;
}

export interface DetailsBacklog {
  pending: number;
  callsNeeded: number;
  callsPerDay: number | null;
  estimatedDoneAt: string | null;
}

/** What a sync will cost (GET /api/connections/:id/sync-estimate). */
export interface SyncEstimate {
  mode: "incremental" | "full";
  includeArchived: boolean;
  orders: number;
  listCalls: number;
  perOrder: number;
  calls: number;
  dailyLimit: number | null;
  remainingToday: number | null;
  extraDays: number | null;
}

export interface ConfigField {
  key: string;
  label: string;
  secret: boolean;
  required: boolean;
  default?: string;
  help?: string;
}

export interface Manifest {
  id: string;
  displayName: string;
  defaultBaseUrl: string;
  config: ConfigField[];
  /** "Connect with …": present where the marketplace offers a sign-in. */
  consent?: { redirectUri: string; scopes: string[]; refreshTokenKey: string | null };
}

export interface Me {
  user: { id: number | null; email: string | null; name: string | null; role: string };
  csrfToken: string | null;
  account: { id: number; name: string; slug: string; timezone: string } | null;
  /** The actions of the permissions table this user may take (see access.ts). */
  permissions?: string[];
}

export const FINAL_RUN_STATES = ["completed", "completed_with_errors", "failed", "cancelled"];
