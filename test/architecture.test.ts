import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The dependency direction of DESIGN §3 / STYLE: core ← db ← marketplaces ← sync / inventory /
 * fulfilment / documents ← http ← cli, with no cycle between folders. Files at the top of src/ are
 * the composition root (context, server, worker, demo) and may use anything. Type-only imports do
 * not count: they vanish from the running program.
 */
const RANK: Record<string, number> = {
  core: 0,
  auth: 1,
  db: 1,
  jobs: 2,
  marketplaces: 2,
  sync: 3,
  inventory: 3,
  fulfillment: 3,
  documents: 3,
  automation: 3,
  http: 4,
  cli: 5,
};

const SRC = resolve("src");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return f === "testing" || f === "simulator" ? [] : files(p);
    // Test support (fixtures builders) is not part of the program.
    return /\.tsx?$/.test(f) && !/\.test\.tsx?$/.test(f) && f !== "testing.ts" ? [p] : [];
  });
}

/** Runtime imports (static and dynamic) of a file, resolved to paths under src/. */
function imports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*import\s+(?!type\s)(?:[^"';]*?\sfrom\s+)?["']([^"']+)["']/gm)) {
    // `import { type A, type B } from` is type-only too.
    const clause = m[0];
    const names = /\{([^}]*)\}/.exec(clause)?.[1];
    if (
      names &&
      !/^\s*import\s+\w/.test(clause.replace(/\{[^}]*\}/, "")) &&
      names.split(",").every((n) => /^\s*type\s/.test(n) || !n.trim())
    )
      continue;
    out.push(m[1]!);
  }
  for (const m of text.matchAll(/import\(\s*["']([^"']+)["']\s*\)/g)) out.push(m[1]!);
  return out
    .filter((s) => s.startsWith("."))
    .map((s) => resolve(dirname(file), s))
    .filter((p) => p.startsWith(SRC));
}

const folderOf = (p: string) => {
  const parts = relative(SRC, p).split("/");
  return parts.length > 1 ? parts[0]! : null;
};

describe("architecture", () => {
  const all = files(SRC);
  const edges = all.flatMap((f) => imports(f).map((to) => ({ from: f, to })));

  it("dependencies point one way between folders", () => {
    const wrong: string[] = [];
    for (const { from, to } of edges) {
      const a = folderOf(from);
      const b = folderOf(to);
      if (a === null) continue; // the composition root
      if (b === null) {
        // The command line starts the program: it alone sits above the composition root.
        if (a === "cli") continue;
        wrong.push(`${relative(SRC, from)} → ${relative(SRC, to)} (a folder uses the composition root)`);
        continue;
      }
      if (a === b) continue;
      if ((RANK[b] ?? 99) >= (RANK[a] ?? 99) && !(RANK[a] === 3 && RANK[b] === 3))
        wrong.push(`${relative(SRC, from)} → ${relative(SRC, to)}`);
    }
    expect(wrong).toEqual([]);
  });

  it("no import cycle between folders", () => {
    const graph = new Map<string, Set<string>>();
    for (const { from, to } of edges) {
      const a = folderOf(from);
      const b = folderOf(to);
      if (!a || !b || a === b) continue;
      if (!graph.has(a)) graph.set(a, new Set());
      graph.get(a)!.add(b);
    }
    const cycles: string[] = [];
    const reach = (start: string, at: string, seen: Set<string>, path: string[]) => {
      for (const next of graph.get(at) ?? []) {
        if (next === start) cycles.push([...path, next].join(" → "));
        else if (!seen.has(next)) {
          seen.add(next);
          reach(start, next, seen, [...path, next]);
        }
      }
    };
    for (const f of graph.keys()) reach(f, f, new Set(), [f]);
    expect(cycles).toEqual([]);
  });

  it("a marketplace folder imports neither the engine nor the schema, and names no other marketplace", () => {
    const wrong: string[] = [];
    for (const { from, to } of edges) {
      const rel = relative(SRC, from);
      if (!rel.startsWith("marketplaces/")) continue;
      const target = relative(SRC, to);
      if (target === "db/schema.ts" || target.startsWith("sync/") || target.startsWith("db/repos/"))
        wrong.push(`${rel} → ${target}`);
      const own = rel.split("/")[1];
      const other = target.split("/")[1];
      if (
        target.startsWith("marketplaces/") &&
        own !== other &&
        rel.split("/").length > 2 &&
        target.split("/").length > 2
      )
        wrong.push(`${rel} → ${target}`);
    }
    expect(wrong).toEqual([]);
  });

  it("outside its folder, no code names a marketplace", () => {
    const ids = ["bricklink", "brickowl", "amazon", "ebay", "etsy", "letzshop", "codeswholesale"];
    const wrong: string[] = [];
    for (const f of [...all, ...files(resolve("web/src"))]) {
      const rel = relative(SRC, f);
      if (rel.startsWith("marketplaces/") || rel === "core/marketplace-ids.ts") continue;
      const code = readFileSync(f, "utf8")
        .split("\n")
        .filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l));
      code.forEach((line, i) => {
        for (const id of ids)
          if (new RegExp(`["'\`]${id}["'\`:]`).test(line)) wrong.push(`${rel}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(wrong).toEqual([]);
  });
});
