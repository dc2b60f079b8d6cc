import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";

export interface LockInfo {
  pid: number;
  startedAt: string;
  /** Where the owning server listens, so the CLI can talk to it instead. */
  url?: string | null;
}

export interface DataDirLock {
  path: string;
  update(info: Partial<LockInfo>): void;
  release(): void;
}

export class DataDirBusyError extends Error {
  constructor(
    readonly dataDir: string,
    readonly owner: LockInfo,
  ) {
    super(
      `the data directory ${dataDir} is in use by another Orderhub process (pid ${owner.pid}` +
        `${owner.url ? `, serving ${owner.url}` : ""}). PGlite allows one process at a time: ` +
        `run commands through that server, or stop it first.`,
    );
    this.name = "DataDirBusyError";
  }
}

export function lockPath(dataDir: string): string {
  return join(dataDir, "orderhub.lock");
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Who holds the directory, if a live process does. */
export function readLock(dataDir: string): LockInfo | null {
  try {
    const info = JSON.parse(readFileSync(lockPath(dataDir), "utf8")) as LockInfo;
    if (typeof info.pid === "number" && alive(info.pid)) return info;
    return null;
  } catch {
    return null;
  }
}

/**
 * One process owns a PGlite directory. The lock file is created exclusively; a lock left by a
 * process that is gone (kill -9) is taken over, a live one is refused with a clear error.
 */
export function acquireDataDirLock(dataDir: string): DataDirLock {
  const path = lockPath(dataDir);
  let info: LockInfo = { pid: process.pid, startedAt: new Date().toISOString(), url: null };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, "wx", 0o600);
      writeSync(fd, JSON.stringify(info));
      closeSync(fd);
      let held = true;
      return {
        path,
        update(more) {
          info = { ...info, ...more };
          if (held) {
            const fd2 = openSync(path, "w", 0o600);
            writeSync(fd2, JSON.stringify(info));
            closeSync(fd2);
          }
        },
        release() {
          if (!held) return;
          held = false;
          try {
            const current = JSON.parse(readFileSync(path, "utf8")) as LockInfo;
            if (current.pid === process.pid) rmSync(path, { force: true });
          } catch {
            // already gone
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = readLock(dataDir);
      if (owner && owner.pid !== process.pid) throw new DataDirBusyError(dataDir, owner);
      if (owner && owner.pid === process.pid) {
        throw new DataDirBusyError(dataDir, owner);
      }
      // Stale: its process is gone. Remove and try again.
      rmSync(path, { force: true });
    }
  }
  throw new Error(`could not lock the data directory ${dataDir}`);
}
