import type { ApiClient } from "./api-client.ts";
import type { RunView } from "./run-view.ts";

const FINAL = new Set(["completed", "completed_with_errors", "failed", "cancelled"]);

/**
 * Waits for a sync run to finish. In-process (no server), it works the job queue itself;
 * against a server it polls the run. On a terminal a progress bar shows seen/total.
 */
export async function waitForRun(
  api: ApiClient,
  runId: number,
  opts: { progress: boolean },
): Promise<RunView> {
  // The progress bar library loads only when a bar is shown (a terminal), not for scripts.
  const cliProgress = opts.progress ? (await import("cli-progress")).default : null;
  const bar = cliProgress
    ? new cliProgress.SingleBar(
        {
          format:
            "{bar} {value}/{total} orders — created {created}, updated {updated}, skipped {skipped}, failed {failed}",
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : null;
  let started = false;
  const show = (run: RunView) => {
    if (!bar) return;
    const payload = { created: run.created, updated: run.updated, skipped: run.skipped, failed: run.failed };
    if (!started) {
      bar.start(run.total ?? run.seen, run.seen, payload);
      started = true;
    }
    bar.setTotal(Math.max(run.total ?? 0, run.seen));
    bar.update(run.seen, payload);
  };
  const fetchRun = async () => (await api.call<{ run: RunView }>("GET", `/api/sync-runs/${runId}`)).run;
  try {
    if (api.local) {
      // No server: work the queue here until nothing is due, then read the outcome.
      const ticker = setInterval(() => void fetchRun().then(show, () => {}), 250);
      try {
        await api.local.queue.runUntilIdle();
      } finally {
        clearInterval(ticker);
      }
      const run = await fetchRun();
      show(run);
      return run;
    }
    for (;;) {
      const run = await fetchRun();
      show(run);
      if (FINAL.has(run.state)) return run;
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    bar?.stop();
  }
}
