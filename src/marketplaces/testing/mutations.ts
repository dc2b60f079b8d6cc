import fc from "fast-check";

/**
 * Random mutations of JSON payloads for the property tests of the marketplace mappings: delete a
 * field, null it, change its type, or put something odd in its place (empty, huge, unknown enum
 * values, bad dates, control characters).
 */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Path = (string | number)[];

/** Every path into a JSON value (object keys and array indices), the root excluded. */
export function paths(v: Json, at: Path = []): Path[] {
  const out: Path[] = [];
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) out.push([...at, i], ...paths(x, [...at, i]));
  } else if (v && typeof v === "object")
    for (const [k, x] of Object.entries(v)) out.push([...at, k], ...paths(x, [...at, k]));
  return out;
}

export const DELETE: unique symbol = Symbol("delete");
const replacement: fc.Arbitrary<Json | typeof DELETE> = fc.oneof(
  fc.constant<Json | typeof DELETE>(DELETE),
  fc.constant(null),
  fc.constant(""),
  fc.constant("   "),
  fc.constantFrom("BOGUS", "SOMETHING-NEW", "eur", "XXX", "€", "1", "0", "true", "N/A"),
  fc.constantFrom("not a date", "2026-13-45T99:99:99Z", "0000-00-00", "1e400", "-0", "NaN", "Infinity"),
  fc.constantFrom(-1, -7, 0, 1.5, 1e21, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 31),
  fc.constantFrom("-1", "99999999999999999999.9999", "1.23456", "12,50", "0x10"),
  fc.constantFrom("Łukasz Żółć 🧱", "\u202eevil", "&#0;&#x110000;&amp;", "<b>x</b>", "a".repeat(5000)),
  fc.constantFrom<Json>({}, [], [[]], { a: 1 }, true, false),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
);

/** Type changes of the value that is there: string ↔ number ↔ object ↔ array. */
function retype(v: Json): Json[] {
  if (typeof v === "string") return [Number(v) || 0, [v], { value: v }];
  if (typeof v === "number") return [String(v), [v], { value: v }, -v];
  if (typeof v === "boolean") return [String(v), Number(v)];
  if (Array.isArray(v)) return [v.length, JSON.stringify(v), { 0: v[0] ?? null }];
  if (v && typeof v === "object") return [JSON.stringify(v), [v], 1];
  return [0];
}

export interface Mutation {
  path: Path;
  value: Json | typeof DELETE;
}

function getAt(root: Json, path: Path): Json {
  let v: Json = root;
  for (const k of path) v = (v as Record<string | number, Json>)[k] as Json;
  return v;
}

function apply(root: Json, m: Mutation): void {
  const parent = getAt(root, m.path.slice(0, -1)) as Record<string | number, Json> | Json[];
  const key = m.path.at(-1)!;
  if (m.value === DELETE) {
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete (parent as Record<string, Json>)[key];
  } else (parent as Record<string | number, Json>)[key] = m.value;
}

/**
 * 1–3 mutations of a copy of `base`, each at a path that still exists when it is applied and at
 * least `minDepth` deep (2 keeps whole payloads of an {order, items} pair in place).
 */
export function mutated(base: Json, minDepth = 1): fc.Arbitrary<{ value: Json; mutations: Mutation[] }> {
  return fc
    .array(fc.tuple(fc.nat(), fc.nat(), replacement, fc.boolean()), { minLength: 1, maxLength: 3 })
    .map((steps) => {
      const value = structuredClone(base);
      const mutations: Mutation[] = [];
      for (const [p, t, r, useRetype] of steps) {
        const all = paths(value).filter((p) => p.length >= minDepth);
        if (all.length === 0) break;
        const path = all[p % all.length]!;
        const options = retype(getAt(value, path));
        const m: Mutation = { path, value: useRetype ? options[t % options.length]! : r };
        apply(value, m);
        mutations.push(m);
      }
      return { value, mutations };
    });
}

export const describePath = (ms: Mutation[]) =>
  ms.map(
    (m) => `${m.path.join(".")}=${m.value === DELETE ? "<deleted>" : JSON.stringify(m.value)?.slice(0, 60)}`,
  );
