/** A sync run as `GET /api/sync-runs/:id` answers it: what `sync --wait` waits for and prints. */
export interface RunView {
  id: number;
  state: string;
  seen: number;
  total: number | null;
  created: number;
  updated: number;
  skipped: number;
  failed: number;
  failures: { externalId: string; reason: string }[];
  apiCalls: number;
  error: string | null;
  finishedAt: string | null;
}
