import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseSecretKey, SecretBox, SecretRegistry } from "./secrets.ts";

describe("SecretBox", () => {
  it("seals with AES-256-GCM: the clear text is not in the envelope, and it opens again", () => {
    const box = new SecretBox(randomBytes(32));
    const sealed = box.sealJson({ tokenSecret: "s3cr3t-value-XYZ" });
    expect(sealed).not.toContain("s3cr3t");
    expect(sealed.startsWith("v1.")).toBe(true);
    expect(box.openJson(sealed)).toEqual({ tokenSecret: "s3cr3t-value-XYZ" });
    expect(box.seal("same")).not.toBe(box.seal("same"));
  });

  it("fails loudly with the wrong key or a tampered envelope", () => {
    const sealed = new SecretBox(randomBytes(32)).seal("hello");
    expect(() => new SecretBox(randomBytes(32)).open(sealed)).toThrow(/ORDERHUB_SECRET_KEY/);
    const box = new SecretBox(randomBytes(32));
    const s = box.seal("hello world");
    const parts = s.split(".");
    parts[3] = Buffer.from("tampered!!!").toString("base64url");
    expect(() => box.open(parts.join("."))).toThrow();
    expect(() => box.open("garbage")).toThrow(/not a sealed secret/);
  });

  it("reads keys as hex or base64 and refuses anything else", () => {
    const key = randomBytes(32);
    expect(parseSecretKey(key.toString("hex")).equals(key)).toBe(true);
    expect(parseSecretKey(key.toString("base64")).equals(key)).toBe(true);
    expect(() => parseSecretKey("short")).toThrow(/32 bytes/);
  });
});

describe("SecretRegistry", () => {
  it("blanks registered secrets, also URL-encoded", () => {
    const r = new SecretRegistry();
    r.add("abc/def+ghi=");
    r.add("tiny"); // too short to scrub safely
    expect(r.scrub('{"msg":"key abc/def+ghi= and abc%2Fdef%2Bghi%3D"}')).toBe(
      '{"msg":"key [redacted] and [redacted]"}',
    );
    expect(r.scrub("tiny")).toBe("tiny");
  });
});
