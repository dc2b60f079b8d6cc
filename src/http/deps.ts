import type { JobQueue } from "../jobs/queue.ts";

/** What the HTTP layer needs besides the context; tests may pass their own. */
export interface HttpDeps {
  queue: JobQueue;
  version: string;
  /** Folder of the built web UI, served at `/` when present. */
  webDir: string | null;
}
