import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseSecretKey } from "./core/secrets.ts";
import { preparePrivateDir } from "./db/data-dir.ts";

/** The key from ORDERHUB_SECRET_KEY, else a key file (0600) generated once in the data directory. */
export function loadSecretKey(secretKey: string | null, dataDir: string): Buffer {
  if (secretKey) return parseSecretKey(secretKey);
  const path = join(dataDir, "secret.key");
  if (existsSync(path)) {
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) chmodSync(path, 0o600);
    return parseSecretKey(readFileSync(path, "utf8"));
  }
  preparePrivateDir(dataDir);
  const key = randomBytes(32);
  writeFileSync(path, `${key.toString("hex")}\n`, { mode: 0o600, flag: "wx" });
  return key;
}
