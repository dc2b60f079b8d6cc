import { IMPORT_JOB, runImportJob } from "../../src/inventory/import-job.ts";
import { bearer, type TestApi } from "./http.ts";

export interface ImportOutcome {
  /** The upload's answer: 202 with the job, or 4xx naming the bad line. */
  statusCode: number;
  body: string;
  job: {
    id: number;
    state: string;
    total: number;
    done: number;
    created: number;
    added: number;
    error: string | null;
  } | null;
}

/** Uploads a file and, when it is accepted, works the import job to its end (tests work no queue). */
export async function importFileAndWait(
  api: TestApi,
  token: string,
  payload: { format: "xml" | "csv"; content: string; name?: string },
): Promise<ImportOutcome> {
  await api.queue.work(IMPORT_JOB, async (d) => runImportJob(api.ctx, Number(d.jobId)));
  const res = await api.app.inject({
    method: "POST",
    url: "/api/inventory/import-file",
    headers: bearer(token),
    payload,
  });
  if (res.statusCode !== 202) return { statusCode: res.statusCode, body: res.body, job: null };
  await api.queue.runUntilIdle();
  const id = (res.json() as { job: { id: number } }).job.id;
  const job = await api.app.inject({
    method: "GET",
    url: `/api/inventory/import-jobs/${id}`,
    headers: bearer(token),
  });
  return { statusCode: res.statusCode, body: res.body, job: job.json().job };
}
