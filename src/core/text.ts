/** Characters PostgreSQL cannot store in text or jsonb: NUL, and UTF-16 surrogates without their pair. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what PostgreSQL refuses
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, "g");

/** The text with lone surrogates and NULs replaced by U+FFFD, so the database takes it. */
export function wellFormed(s: string): string {
  if (!UNSTORABLE.test(s)) return s;
  return s.replace(UNSTORABLE_ALL, "\ufffd");
}

/** True when the text holds something the database would refuse (for a 400 naming the field). */
export function hasUnstorable(s: string): boolean {
  return UNSTORABLE.test(s);
}

/**
 * A value with every string in it made storable; objects and arrays are copied only where something
 * changed, so a clean order (nearly all of them) costs one walk and no copies.
 */
export function wellFormedDeep<T>(value: T): T {
  return clean(value) as T;
}

function clean(v: unknown): unknown {
  if (typeof v === "string") return wellFormed(v);
  if (Array.isArray(v)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < v.length; i++) {
      const c = clean(v[i]);
      if (c !== v[i]) {
        out ??= v.slice();
        out[i] = c;
      }
    }
    return out ?? v;
  }
  if (v && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    let out: Record<string, unknown> | null = null;
    for (const [k, x] of Object.entries(v)) {
      const c = clean(x);
      const key = wellFormed(k);
      if (c !== x || key !== k) {
        out ??= { ...(v as Record<string, unknown>) };
        if (key !== k) delete out[k];
        out[key] = c;
      }
    }
    return out ?? v;
  }
  return v;
}
