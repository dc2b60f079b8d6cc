import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/** A stored secret that this process's key cannot open (a different ORDERHUB_SECRET_KEY). */
export class SecretKeyError extends Error {
  readonly code = "secret_key_mismatch";
  constructor() {
    super("cannot decrypt a stored secret: ORDERHUB_SECRET_KEY differs from the key it was sealed with");
    this.name = "SecretKeyError";
  }
}

/**
 * AES-256-GCM envelope for connection credentials: "v1.<iv>.<tag>.<ciphertext>" in base64url.
 * The key never leaves the process; a wrong key fails loudly instead of returning garbage.
 */
export class SecretBox {
  private readonly key: Buffer;
  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error("the secret key must be 32 bytes");
    this.key = key;
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    return ["v1", iv, cipher.getAuthTag(), body]
      .map((p) => (typeof p === "string" ? p : p.toString("base64url")))
      .join(".");
  }

  open(sealed: string): string {
    const [v, iv, tag, body] = sealed.split(".");
    if (v !== "v1" || !iv || !tag || body === undefined) throw new Error("not a sealed secret");
    const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(iv, "base64url"));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    try {
      return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString(
        "utf8",
      );
    } catch {
      throw new SecretKeyError();
    }
  }

  sealJson(value: Record<string, string>): string {
    return this.seal(JSON.stringify(value));
  }

  openJson(sealed: string | null): Record<string, string> {
    if (!sealed) return {};
    return JSON.parse(this.open(sealed)) as Record<string, string>;
  }
}

/** Accepts 64 hex characters or base64 of 32 bytes. */
export function parseSecretKey(text: string): Buffer {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, "hex");
  const b = Buffer.from(t, "base64");
  if (b.length === 32) return b;
  throw new Error("ORDERHUB_SECRET_KEY must be 32 bytes as 64 hex characters or base64");
}

/**
 * Every secret value the process has decrypted, so the log stream can blank them even when
 * someone puts one into a message by mistake (defence in depth; redaction paths come first).
 */
export class SecretRegistry {
  private readonly values = new Map<string, RegExp>();
  add(value: string | null | undefined): void {
    if (value && value.length >= 6 && !this.values.has(value)) this.values.set(value, encodedForms(value));
  }
  scrub(text: string): string {
    let out = text;
    for (const [v, encoded] of this.values) {
      if (out.includes(v)) out = out.split(v).join("[redacted]");
      // Encoded forms only show where something was escaped: skip the regex for plain text.
      if (/[%+\\]/.test(out)) out = out.replace(encoded, "[redacted]");
    }
    return out;
  }
  get size(): number {
    return this.values.size;
  }
}

/**
 * Matches a secret however it was escaped on its way into a text: percent-encoded (any subset of
 * its characters, either hex case, as encodeURIComponent or RFC 3986 or form encoding does),
 * with `+` for spaces (application/x-www-form-urlencoded), or JSON-escaped.
 */
function encodedForms(value: string): RegExp {
  const alternatives = [...value].map((ch) => {
    const options = new Set<string>([escapeRegExp(ch)]);
    const bytes = [...Buffer.from(ch, "utf8")];
    options.add(bytes.map((b) => `%${hexPattern(b)}`).join(""));
    if (ch === " ") options.add("\\+");
    const json = JSON.stringify(ch).slice(1, -1);
    if (json !== ch) options.add(escapeRegExp(json));
    return options.size === 1 ? [...options][0]! : `(?:${[...options].join("|")})`;
  });
  return new RegExp(alternatives.join(""), "g");
}

function hexPattern(byte: number): string {
  return [...byte.toString(16).padStart(2, "0")]
    .map((d) => (/[a-f]/.test(d) ? `[${d}${d.toUpperCase()}]` : d))
    .join("");
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
