import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { acquireDataDirLock, DataDirBusyError, lockPath, readLock } from "./lock.ts";

describe("data directory lock", () => {
  it("lets one owner in and refuses a second with a clear message", () => {
    const dir = mkdtempSync(join(tmpdir(), "orderhub-lock-"));
    const lock = acquireDataDirLock(dir);
    lock.update({ url: "http://127.0.0.1:3000" });
    expect(readLock(dir)).toMatchObject({ pid: process.pid, url: "http://127.0.0.1:3000" });
    expect(() => acquireDataDirLock(dir)).toThrow(DataDirBusyError);
    expect(() => acquireDataDirLock(dir)).toThrow(
      /in use by another Orderhub process.*serving http:\/\/127.0.0.1:3000/,
    );
    lock.release();
    expect(readLock(dir)).toBeNull();
    acquireDataDirLock(dir).release();
  });

  it("takes over a lock left by a process that died", () => {
    const dir = mkdtempSync(join(tmpdir(), "orderhub-lock-"));
    const dead = spawnSync(process.execPath, [
      "-e",
      "process.stdout.write(String(process.pid))",
    ]).stdout.toString();
    writeFileSync(lockPath(dir), JSON.stringify({ pid: Number(dead), startedAt: new Date().toISOString() }));
    expect(readLock(dir)).toBeNull();
    const lock = acquireDataDirLock(dir);
    expect(readLock(dir)?.pid).toBe(process.pid);
    lock.release();
  });
});
