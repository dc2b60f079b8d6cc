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

describe("SecretRegistry: encoded forms", () => {
  const secret = "LeakT~ilde!(x) S+pace*'q";
  const r = new SecretRegistry();
  r.add(secret);
  const forms = {
    form: new URLSearchParams({ key: secret }).toString().slice(4),
    uriComponent: encodeURIComponent(secret),
    rfc3986: encodeURIComponent(secret).replace(
      /[!'()*~]/g,
      (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
    ),
    lowerHex: encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
    json: JSON.stringify(`${secret}"`).slice(1, -3),
  };
  it.each(Object.entries(forms))("blanks the %s form", (_name, encoded) => {
    expect(r.scrub(`body: key=${encoded}&x=1`)).toBe("body: key=[redacted]&x=1");
  });

  it("blanks what the issue saw: a tilde as %7E and a space as +", () => {
    const s = new SecretRegistry();
    s.add("LeakT~ilde-1234");
    s.add("LeakS pace-1234");
    const out = s.scrub("key=LeakT%7Eilde-1234&other=LeakS+pace-1234 and LeakS%20pace-1234");
    expect(out).toBe("key=[redacted]&other=[redacted] and [redacted]");
  });

  it("leaves text alone that only looks similar", () => {
    const s = new SecretRegistry();
    s.add("abc def ghi");
    expect(s.scrub("abc+def+gh! and abc%20def")).toBe("abc+def+gh! and abc%20def");
  });
});
