import { useEffect, useRef, useState } from "react";
import { api } from "../api.ts";
import { Dialog, ErrorText, toast } from "./ui.tsx";

interface ImportJob {
  id: number;
  name: string;
  state: string;
  total: number;
  done: number;
  created: number;
  added: number;
  error: string | null;
  cancelRequested: boolean;
}

const FINAL = ["completed", "failed", "cancelled"];

/**
 * "Import file": a BrickLink mass-upload XML or a CSV of lots. The server checks the whole file first
 * (a bad line is named and nothing is written), then writes it in the background: this shows the
 * progress, and Cancel takes back what was written.
 */
export function FileImportButton({ disabled, onDone }: { disabled?: boolean; onDone: () => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [job, setJob] = useState<ImportJob | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [checking, setChecking] = useState<string | null>(null);

  async function upload(file: File) {
    const format = /\.xml$/i.test(file.name) ? "xml" : /\.csv$/i.test(file.name) ? "csv" : null;
    if (!format) {
      toast(`${file.name}: choose a .xml (BrickLink mass upload) or .csv file`, "error");
      return;
    }
    setChecking(file.name);
    setError(null);
    try {
      const content = await file.text();
      const r = await api<{ job: ImportJob }>("POST", "/api/inventory/import-file", {
        format,
        content,
        name: file.name,
      });
      setJob(r.job);
    } catch (err) {
      setError(err);
    } finally {
      setChecking(null);
    }
  }

  const running = job !== null && !FINAL.includes(job.state);
  useEffect(() => {
    if (!job || !running) return;
    const t = setInterval(() => {
      void api<{ job: ImportJob }>("GET", `/api/inventory/import-jobs/${job.id}`).then(
        (r) => {
          setJob(r.job);
          if (FINAL.includes(r.job.state)) onDone();
        },
        () => {},
      );
    }, 500);
    return () => clearInterval(t);
  }, [job, running, onDone]);

  const pct = job && job.total > 0 ? Math.round((100 * job.done) / job.total) : null;
  const title = !job
    ? `Checking ${checking ?? "the file"}…`
    : job.state === "completed"
      ? `${job.name} imported`
      : job.state === "cancelled"
        ? `${job.name}: import cancelled`
        : job.state === "failed"
          ? `${job.name}: import failed`
          : job.state === "undoing"
            ? `${job.name}: taking the import back…`
            : `Importing ${job.name}…`;
  return (
    <>
      <button
        type="button"
        disabled={disabled || running || checking !== null}
        onClick={() => input.current?.click()}
      >
        Import file
      </button>
      <input
        ref={input}
        type="file"
        accept=".csv,.xml,text/csv,application/xml,text/xml"
        hidden
        aria-label="Inventory file (BrickLink XML or CSV)"
        onChange={(e) => {
          const f = e.target.files?.[0];
          e.target.value = "";
          if (f) void upload(f);
        }}
      />
      {checking !== null || job !== null || error !== null ? (
        <Dialog
          title={error ? "The file was not imported" : title}
          onClose={
            running || checking !== null
              ? undefined
              : () => {
                  setJob(null);
                  setError(null);
                }
          }
        >
          <div className="stack">
            <ErrorText error={error} />
            {error ? <p>Nothing was written. Fix the line named above and import the file again.</p> : null}
            {checking !== null ? <p>The whole file is checked before anything is written.</p> : null}
            {job ? (
              <>
                <div
                  className="progress"
                  role="progressbar"
                  aria-valuemin={0}
                  aria-valuemax={job.total}
                  aria-valuenow={job.done}
                  aria-label="Lines written"
                >
                  <div style={pct === null ? undefined : { width: `${pct}%` }} />
                </div>
                <p className="progress-text">
                  {job.done.toLocaleString()} / {job.total.toLocaleString()} lines
                  {job.state === "completed"
                    ? ` — ${job.created.toLocaleString()} lots created, ${job.added.toLocaleString()} added to existing lots`
                    : ""}
                </p>
                {job.state === "cancelled" ? <p>Nothing of this file was kept.</p> : null}
                {job.state === "failed" ? <p className="error">{job.error}</p> : null}
                {running ? (
                  <div className="actions">
                    <button
                      type="button"
                      disabled={job.cancelRequested}
                      onClick={() =>
                        void api<{ job: ImportJob }>(
                          "POST",
                          `/api/inventory/import-jobs/${job.id}/cancel`,
                        ).then(
                          (r) => setJob(r.job),
                          (err) => toast(err instanceof Error ? err.message : String(err), "error"),
                        )
                      }
                    >
                      {job.cancelRequested ? "Cancelling…" : "Cancel"}
                    </button>
                  </div>
                ) : null}
              </>
            ) : null}
          </div>
        </Dialog>
      ) : null}
    </>
  );
}
