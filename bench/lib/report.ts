/**
 * What every benchmark shares: its options (documented sizes by default, small ones with `--quick`)
 * and the figures it records, each with the goal it is measured against, into its JSON summary in
 * `bench/results/` — and, under `npm run bench`, into the runner's report (`BENCH_REPORT`), from
 * which `bench/RESULTS.md` is written. The goals live here, beside the code that measures them.
 */
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";

/** `--quick` on the command line (or from `npm run bench -- --quick`): small sizes for a smoke check. */
export const quick = process.argv.includes("--quick");

/**
 * The benchmark's options: `spec` maps each option to [documented default, quick default];
 * `--name value` on the command line wins over both.
 */
export function options<K extends string>(spec: Record<K, readonly [string, string]>): Record<K, string> {
  const args = process.argv.slice(2);
  const out = {} as Record<K, string>;
  for (const name of Object.keys(spec) as K[]) {
    const i = args.indexOf(`--${name}`);
    out[name] = i >= 0 && args[i + 1] ? args[i + 1]! : spec[name][quick ? 1 : 0];
  }
  return out;
}

/** A numeric goal: the figure compared with `target`; `near` allows `tolerance` either side. */
export type Goal =
  | { op: "<" | "<=" | ">" | ">=" | "="; target: number; note?: string }
  | { op: "≈"; target: number; tolerance: number; note?: string };

export const below = (target: number, note?: string): Goal => ({ op: "<", target, note });
export const atLeast = (target: number, note?: string): Goal => ({ op: ">=", target, note });
export const exactly = (target: number, note?: string): Goal => ({ op: "=", target, note });
export const near = (target: number, tolerance: number, note?: string): Goal => ({
  op: "≈",
  target,
  tolerance,
  note,
});

export interface Figure {
  /** What was measured, e.g. "push → API p95". */
  name: string;
  value: number;
  /** "ms", "orders/s", "MB", "calls", "" for a plain ratio. */
  unit: string;
  /** What the number is made of, e.g. "102 calls, minimum 101". */
  detail?: string;
  goal?: Goal;
}

export interface RecordedFigure extends Figure {
  /** The goal as text, e.g. "< 2000 ms"; absent where the figure has no goal. */
  goalText?: string;
  /** Whether the figure meets its goal; absent where it has none. */
  met?: boolean;
}

/** One run of one benchmark on one database: what `npm run bench` tabulates. */
export interface Section {
  bench: string;
  /** "pglite", "postgres", or absent where the benchmark uses one database only by design. */
  db?: "pglite" | "postgres";
  /** The sizes used, in words ("10,000 orders × 20 lines"). */
  sizes: string;
  quick: boolean;
  figures: RecordedFigure[];
}

const num = (n: number) =>
  Number.isInteger(n) ? n.toLocaleString("en") : n.toLocaleString("en", { maximumFractionDigits: 4 });

export function goalText(goal: Goal, unit: string): string {
  const u = unit ? ` ${unit}` : "";
  const base =
    goal.op === "≈"
      ? `≈ ${num(goal.target)}${u} (± ${num(goal.tolerance)})`
      : `${goal.op === ">=" ? "≥" : goal.op === "<=" ? "≤" : goal.op} ${num(goal.target)}${u}`;
  return goal.note ? `${base}, ${goal.note}` : base;
}

export function meets(value: number, goal: Goal): boolean {
  switch (goal.op) {
    case "<":
      return value < goal.target;
    case "<=":
      return value <= goal.target;
    case ">":
      return value > goal.target;
    case ">=":
      return value >= goal.target;
    case "=":
      return value === goal.target;
    case "≈":
      return Math.abs(value - goal.target) <= goal.tolerance;
  }
}

/**
 * Writes the benchmark's JSON summary to `bench/results/<file>.json` with its figures (and their goals)
 * under `report`, and hands the figures to `npm run bench` when it is the one running this benchmark.
 */
export function writeSummary(
  file: string,
  summary: object,
  section: { bench: string; db?: "pglite" | "postgres"; sizes: string },
  figures: Figure[],
): Section {
  const report: Section = {
    ...section,
    quick,
    figures: figures.map((f) =>
      f.goal ? { ...f, goalText: goalText(f.goal, f.unit), met: meets(f.value, f.goal) } : { ...f },
    ),
  };
  mkdirSync("bench/results", { recursive: true });
  writeFileSync(`bench/results/${file}.json`, JSON.stringify({ ...summary, report }, null, 2));
  if (process.env.BENCH_REPORT) appendFileSync(process.env.BENCH_REPORT, `${JSON.stringify(report)}\n`);
  return report;
}
