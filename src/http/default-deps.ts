import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { JobQueue } from "../jobs/queue.ts";
import type { HttpDeps } from "./deps.ts";

const root = new URL("../../", import.meta.url);

export function defaultDeps(queue: JobQueue): HttpDeps {
  const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as { version: string };
  const webDir = fileURLToPath(new URL("dist/web", root));
  return { queue, version: pkg.version, webDir: existsSync(webDir) ? webDir : null };
}
