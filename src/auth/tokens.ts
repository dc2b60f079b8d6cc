import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

export function newToken(prefix: string): string {
  return `${prefix}${randomBytes(32).toString("base64url")}`;
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(sha256(a));
  const y = Buffer.from(sha256(b));
  return timingSafeEqual(x, y);
}

/**
 * The local operator token (mode 0600 in the data directory): the `orderhub` CLI on this machine
 * presents it to act for an account. Reading it needs the same rights as reading the database.
 */
export function ensureOperatorToken(dataDir: string): string {
  const path = join(dataDir, "cli-token");
  if (existsSync(path)) {
    chmodSync(path, 0o600);
    return readFileSync(path, "utf8").trim();
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const token = newToken("ohop_");
  try {
    writeFileSync(path, `${token}\n`, { mode: 0o600, flag: "wx" });
    return token;
  } catch {
    return readFileSync(path, "utf8").trim();
  }
}
