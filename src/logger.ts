import { createRequire } from "node:module";
import pino from "pino";
import type { Logger } from "./core/logger.ts";
import type { SecretRegistry } from "./core/secrets.ts";

/** Field names whose values never reach a log line, wherever they sit. */
export const REDACT_PATHS = [
  "password",
  "*.password",
  "secrets",
  "*.secrets",
  "token",
  "*.token",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "req.headers.authorization",
  "req.headers.cookie",
  "res.headers['set-cookie']",
  "consumerSecret",
  "*.consumerSecret",
  "tokenSecret",
  "*.tokenSecret",
  "apiKey",
  "*.apiKey",
];

export interface LoggerOptions {
  level: string;
  pretty: boolean;
  registry: SecretRegistry;
  /** Where lines go (tests capture them). Defaults to stdout. */
  destination?: { write(line: string): void };
}

export function createLogger(opts: LoggerOptions): Logger & pino.Logger {
  const out = opts.destination ?? process.stdout;
  const prettyStream = opts.pretty && !opts.destination ? makePretty() : null;
  const sink = prettyStream ?? out;
  const stream = {
    write(line: string) {
      sink.write(opts.registry.scrub(line));
    },
  };
  return pino(
    {
      level: opts.level,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stream,
  );
}

function makePretty(): { write(line: string): void } | null {
  try {
    // pino-pretty is loaded lazily: only a terminal needs it.
    const pretty = createRequire(import.meta.url)("pino-pretty") as (o: object) => {
      write(line: string): void;
    };
    return pretty({ colorize: true, translateTime: "SYS:HH:MM:ss", ignore: "pid,hostname" });
  } catch {
    return null;
  }
}
