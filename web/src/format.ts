/** What the server says about each marketplace it can connect (from GET /api/marketplaces). */
export interface MarketplaceInfo {
  id: string;
  displayName: string;
  capabilities: {
    stockSource?: "none" | "truth" | "linked";
    shipmentPush?: "none" | "order" | "line";
    [k: string]: unknown;
  };
  noticeListener?: { path: string; defaultPort: number } | null;
}

let known: MarketplaceInfo[] = [];

/** Set once after sign-in; names and lists everywhere come from here, never from a list in the UI. */
export function setMarketplaces(list: MarketplaceInfo[]): void {
  known = list;
}
export const marketplaces = (): readonly MarketplaceInfo[] => known;
export const marketplaceInfo = (id: string): MarketplaceInfo | undefined => known.find((m) => m.id === id);
export const marketplaceName = (id: string) => marketplaceInfo(id)?.displayName ?? id;

export const STATUS_LABELS: Record<string, string> = {
  pending: "Pending",
  processing: "Processing",
  shipped: "Shipped",
  delivered: "Delivered",
  completed: "Completed",
  fulfilled: "Fulfilled",
  on_hold: "On hold",
  problem: "Problem",
  cancelled: "Cancelled",
  refunded: "Refunded",
  partially_refunded: "Part refunded",
  needs_review: "Needs review",
};

const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
export function formatDateTime(iso: string | null | undefined): string {
  return iso ? dateFmt.format(new Date(iso)) : "—";
}

/** "3 min ago", "in 12 min", "2 h ago", "5 days ago". */
export function relative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "never";
  const diff = new Date(iso).getTime() - now;
  const abs = Math.abs(diff);
  const [n, unit] =
    abs < 60_000
      ? [Math.round(abs / 1000), "s"]
      : abs < 3_600_000
        ? [Math.round(abs / 60_000), "min"]
        : abs < 86_400_000
          ? [Math.round(abs / 3_600_000), "h"]
          : [Math.round(abs / 86_400_000), n1(Math.round(abs / 86_400_000)) ? "day" : "days"];
  return diff < 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`;
}
function n1(n: number) {
  return n === 1;
}

export function duration(ms: number | null): string {
  if (ms === null) return "—";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}
