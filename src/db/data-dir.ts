import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** Files the process creates from here on are its own alone (0600 files, 0700 folders). */
export function setPrivateUmask(): void {
  try {
    process.umask(process.umask() | 0o077);
  } catch {
    // A worker thread may not change the umask; the main thread has set it already.
  }
}

/** Takes group and other rights off everything under `dir` (symlinks are left alone). */
function tighten(path: string, changed: string[]): void {
  const st = lstatSync(path);
  if (st.isSymbolicLink()) return;
  if (st.mode & 0o077) {
    chmodSync(path, st.mode & 0o700);
    changed.push(path);
  }
  if (st.isDirectory()) for (const name of readdirSync(path)) tighten(join(path, name), changed);
}

/**
 * The data directory holds the database, the secret key and the CLI token: it is created 0700 under
 * a private umask before anything is written, and an existing one readable by others is tightened
 * (`deep` walks every file; otherwise only the directory itself, which already keeps others out).
 * Returns the paths whose rights were taken away.
 */
export function preparePrivateDir(dir: string, opts: { deep?: boolean } = {}): string[] {
  setPrivateUmask();
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    return [];
  }
  const changed: string[] = [];
  if (opts.deep) tighten(dir, changed);
  else {
    const mode = lstatSync(dir).mode;
    if (mode & 0o077) {
      chmodSync(dir, mode & 0o700);
      changed.push(dir);
    }
  }
  return changed;
}
