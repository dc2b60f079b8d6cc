import type { AppContext } from "../context.ts";
import { buildHttpApp } from "./app.ts";
import type { HttpDeps } from "./deps.ts";

export async function startHttpServer(
  ctx: AppContext,
  deps: HttpDeps,
  opts: { port: number; host: string },
): Promise<{ url: string; close(): Promise<void> }> {
  const app = await buildHttpApp(ctx, deps);
  await app.listen({ port: opts.port, host: opts.host });
  const addr = app.server.address();
  const port = typeof addr === "object" && addr ? addr.port : opts.port;
  const host = opts.host.includes(":") ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${host}:${port}`,
    async close() {
      await app.close();
    },
  };
}
