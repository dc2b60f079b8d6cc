import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..", "..");

/**
 * What a test adds to the environment of an `orderhub` process it starts, so that process also knows
 * the test-only fake marketplace (bin/orderhub.js honours ORDERHUB_PRELOAD only under NODE_ENV=test).
 */
export const TEST_PRELOAD_ENV = {
  NODE_ENV: "test",
  ORDERHUB_PRELOAD: join(ROOT, "src", "marketplaces", "testing", "register-fake.ts"),
  // The simulators listen on this machine: a test server may connect to loopback addresses.
  ORDERHUB_ALLOW_PRIVATE_MARKETPLACE_URLS: "1",
};

/** A port that was free a moment ago (the server binds it itself). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface ChildServerOptions {
  port: number;
  dataDir: string;
  databaseUrl?: string | null;
  secretKey: string;
  logFile: string;
  env?: Record<string, string>;
}

/**
 * `orderhub serve` as a child process, the way a seller runs it, so a test can SIGKILL it at any
 * moment and start it again on the same data.
 */
export class ChildServer {
  private child: ChildProcess | null = null;
  private log: WriteStream;
  readonly url: string;
  starts = 0;
  kills = 0;

  constructor(private readonly opts: ChildServerOptions) {
    this.url = `http://127.0.0.1:${opts.port}`;
    this.log = createWriteStream(opts.logFile, { flags: "a" });
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(timeoutMs = 90_000): Promise<void> {
    if (this.running) return;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(this.opts.port),
      HOST: "127.0.0.1",
      ORDERHUB_DATA_DIR: this.opts.dataDir,
      ORDERHUB_SECRET_KEY: this.opts.secretKey,
      ORDERHUB_DEMO: "0",
      ORDERHUB_LOG_PRETTY: "0",
      LOG_LEVEL: "info",
      DATABASE_URL: this.opts.databaseUrl ?? "",
      ...TEST_PRELOAD_ENV,
      ...this.opts.env,
    };
    this.log.write(`\n==== start ${++this.starts} ${new Date().toISOString()}\n`);
    const child = spawn(process.execPath, [join(ROOT, "bin", "orderhub.js"), "serve"], {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout!.pipe(this.log, { end: false });
    child.stderr!.pipe(this.log, { end: false });
    this.child = child;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`the server exited while starting (see ${this.opts.logFile})`);
      try {
        const res = await fetch(`${this.url}/api/health`, { signal: AbortSignal.timeout(2_000) });
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(
      `the server did not answer /api/health within ${timeoutMs} ms (see ${this.opts.logFile})`,
    );
  }

  /** kill -9: no shutdown code runs. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
    this.kills++;
    this.log.write(`\n==== killed ${new Date().toISOString()}\n`);
  }

  /** A clean stop (SIGTERM), as a service manager does. */
  async stop(): Promise<number | null> {
    const child = this.child;
    if (!child || !this.running) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  }

  async close(): Promise<void> {
    await this.kill();
    await new Promise((r) => this.log.end(r));
  }
}
