import cliProgress from "cli-progress";
import type { ApiClient } from "./api-client.ts";

export interface ImportJobView {
  id: number;
  name: string;
  state: string;
  total: number;
  done: number;
  created: number;
  added: number;
  error: string | null;
}

const FINAL = new Set(["completed", "failed", "cancelled"]);

/**
 * Follows a file import to its end. In-process (no server) it works the job queue itself; against a
 * server it polls the job. On a terminal a progress bar shows the lines written; Ctrl-C cancels the
 * import (what it wrote is taken back).
 */
export async function waitForImport(
  api: ApiClient,
  job: ImportJobView,
  opts: { progress: boolean },
): Promise<ImportJobView> {
  const bar = opts.progress
    ? new cliProgress.SingleBar(
        {
          format: "{bar} {value}/{total} lines — {state}, {created} lots created, {added} added",
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : null;
  bar?.start(job.total, job.done, job);
  const show = (j: ImportJobView) => bar?.update(j.done, j);
  const fetchJob = async () =>
    (await api.call<{ job: ImportJobView }>("GET", `/api/inventory/import-jobs/${job.id}`)).job;
  let cancelling = false;
  const onInterrupt = () => {
    if (cancelling) process.exit(130);
    cancelling = true;
    process.stderr.write("\nCancelling the import (Ctrl-C again to leave it running)…\n");
    void api.call("POST", `/api/inventory/import-jobs/${job.id}/cancel`).catch(() => {});
  };
  process.on("SIGINT", onInterrupt);
  try {
    if (api.local) {
      const ticker = setInterval(() => void fetchJob().then(show, () => {}), 250);
      try {
        await api.local.queue.runUntilIdle();
      } finally {
        clearInterval(ticker);
      }
      const done = await fetchJob();
      show(done);
      return done;
    }
    for (;;) {
      const j = await fetchJob();
      show(j);
      if (FINAL.has(j.state)) return j;
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    process.off("SIGINT", onInterrupt);
    bar?.stop();
  }
}
