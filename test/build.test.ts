import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..");
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A checkout of its own (scripts/build.js, package.json, tsconfig.json, the dependencies), with `src`. */
function checkout(src: Record<string, string> | "all", extra: string[] = []): string {
  const root = mkdtempSync(join(tmpdir(), "orderhub-build-"));
  roots.push(root);
  for (const f of ["package.json", "tsconfig.json", "scripts/build.js", ...extra])
    cpSync(join(ROOT, f), join(root, f), { recursive: true });
  symlinkSync(join(ROOT, "node_modules"), join(root, "node_modules"));
  if (src === "all") cpSync(join(ROOT, "src"), join(root, "src"), { recursive: true });
  else
    for (const [name, text] of Object.entries(src)) {
      mkdirSync(join(root, "src", name, ".."), { recursive: true });
      writeFileSync(join(root, "src", name), text);
    }
  return root;
}

function node(root: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const { NODE_ENV: _e, ORDERHUB_PRELOAD: _p, ...base } = process.env;
  const r = spawnSync(process.execPath, args, {
    cwd: root,
    env: { ...base, ...env },
    encoding: "utf8",
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const build = (root: string, ...flags: string[]) => node(root, ["scripts/build.js", ...flags]);
const fresh = (root: string) =>
  node(root, [
    "--input-type=module",
    "-e",
    "const m = await import('./scripts/build.js'); process.stdout.write(String(m.isFresh()));",
  ]).stdout;

describe("scripts/build.js", () => {
  it("compiles each module on its own, with .js specifiers, and the output runs", () => {
    const root = checkout({
      "a.ts": 'import { b } from "./lib/b.ts";\nexport const a: string = "a+" + b;\n',
      "lib/b.ts":
        'import type { Settings } from "../a-type.ts";\nexport const b = "b";\nexport const lazy = () => import("./c.ts");\n',
      "lib/c.ts": 'export const where = new URL("../../drizzle", import.meta.url).pathname;\n',
      "a-type.ts": "export interface Settings { x: number }\n",
      "lib/b.test.ts": "this is not compiled\n",
    });
    const r = build(root);
    expect(r.code, r.stderr).toBe(0);
    const a = readFileSync(join(root, "build", "a.js"), "utf8");
    expect(a).toContain('from "./lib/b.js"');
    expect(a).not.toContain("lib/b.ts");
    // Each file stays its own module: b's code is not copied into a.
    expect(a).not.toContain('"b"');
    expect(readFileSync(join(root, "build", "lib", "b.js"), "utf8")).toContain('import("./c.js")');
    expect(existsSync(join(root, "build", "lib", "b.test.js"))).toBe(false);
    const run = node(root, [
      "--input-type=module",
      "-e",
      "const m = await import('./build/a.js'); const c = await (await import('./build/lib/b.js')).lazy(); console.log(m.a, c.where);",
    ]);
    expect(run.code, run.stderr).toBe(0);
    // The same depth below the checkout as src/: paths relative to a module point where they did.
    expect(run.stdout.trim()).toBe(`a+b ${join(root, "drizzle")}`);
  });

  it("is stale after a source is edited, added or removed, and a removed source's output goes", () => {
    const root = checkout({ "a.ts": "export const a = 1;\n", "b.ts": "export const b = 2;\n" });
    expect(fresh(root)).toBe("false");
    expect(build(root).code).toBe(0);
    expect(fresh(root)).toBe("true");
    // Nothing changed: no work, no output.
    expect(build(root).stdout).toBe("");

    // Same size, new content: the modification time tells.
    writeFileSync(join(root, "src", "a.ts"), "export const a = 3;\n");
    utimesSync(join(root, "src", "a.ts"), new Date(), new Date(Date.now() + 5_000));
    expect(fresh(root)).toBe("false");
    expect(build(root).code).toBe(0);
    expect(readFileSync(join(root, "build", "a.js"), "utf8")).toContain("a = 3");

    // An older file copied in (its time in the past) is still a change.
    writeFileSync(join(root, "src", "a.ts"), "export const a = 44;\n");
    utimesSync(join(root, "src", "a.ts"), new Date(0), new Date(0));
    expect(fresh(root)).toBe("false");
    expect(build(root).code).toBe(0);

    writeFileSync(join(root, "src", "c.ts"), "export const c = 5;\n");
    expect(fresh(root)).toBe("false");
    expect(build(root).code).toBe(0);
    expect(existsSync(join(root, "build", "c.js"))).toBe(true);

    rmSync(join(root, "src", "b.ts"));
    expect(fresh(root)).toBe("false");
    expect(build(root).code).toBe(0);
    expect(existsSync(join(root, "build", "b.js"))).toBe(false);
    expect(existsSync(join(root, "build", "b.js.map"))).toBe(false);
    expect(fresh(root)).toBe("true");
  });

  it("names the file and line when a source does not compile", () => {
    const root = checkout({ "a.ts": "export const a = ;\n" });
    const r = build(root);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/build failed: src\/a\.ts:1: /);
  });
});

describe("bin/orderhub.js", () => {
  const root = checkout("all", ["bin/orderhub.js"]);
  const help = () => node(root, ["bin/orderhub.js", "--help"]);
  const setDescription = (text: string) => {
    const file = join(root, "src", "cli", "main.ts");
    const src = readFileSync(file, "utf8");
    writeFileSync(file, src.replace(/\.description\("[^"]*"\)/, `.description(${JSON.stringify(text)})`));
  };

  it("compiles a missing or stale build before it runs, so it always runs today's sources", () => {
    expect(existsSync(join(root, "build"))).toBe(false);
    const first = help();
    expect(first.code, first.stderr).toBe(0);
    expect(existsSync(join(root, "build", "cli", "main.js"))).toBe(true);

    setDescription("Edited since the last build.");
    const again = help();
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("Edited since the last build.");
    expect(readFileSync(join(root, "build", "cli", "main.js"), "utf8")).toContain(
      "Edited since the last build.",
    );
  });

  it("runs the sources through tsx where it cannot write build/", () => {
    setDescription("Run from the sources.");
    rmSync(join(root, "build"), { recursive: true, force: true });
    // A file where the folder should be: compiling fails as on a read-only checkout.
    writeFileSync(join(root, "build"), "");
    const r = help();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("Run from the sources.");
    rmSync(join(root, "build"));
  });

  it("loads ORDERHUB_PRELOAD only under NODE_ENV=test, and only modules under src/", () => {
    const elsewhere = join(root, "outside.ts");
    writeFileSync(elsewhere, "console.log('should not load');\n");
    const ignored = node(root, ["bin/orderhub.js", "--help"], { ORDERHUB_PRELOAD: elsewhere });
    expect(ignored.code, ignored.stderr).toBe(0);
    expect(ignored.stdout).not.toContain("should not load");

    const refused = node(root, ["bin/orderhub.js", "--help"], {
      NODE_ENV: "test",
      ORDERHUB_PRELOAD: elsewhere,
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`ORDERHUB_PRELOAD: ${elsewhere} is not a .ts file under src/`);

    writeFileSync(join(root, "src", "preload-probe.ts"), 'process.stdout.write("probe loaded\\n");\n');
    const loaded = node(root, ["bin/orderhub.js", "--help"], {
      NODE_ENV: "test",
      ORDERHUB_PRELOAD: join(root, "src", "preload-probe.ts"),
    });
    expect(loaded.code, loaded.stderr).toBe(0);
    expect(loaded.stdout).toMatch(/^probe loaded\n/);
  });
});
