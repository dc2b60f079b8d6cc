#!/usr/bin/env node
// Dependency audit: `npm audit --omit=dev --json`, failing on any finding that docs/security.md
// does not explain. A finding is explained by a line under "## Audit findings explained" that
// names its advisory (GHSA-…, or the npm advisory number) or, for a whole package, `package:<name>`.
// Exit codes: 0 clean or all explained, 1 unexplained findings, 2 the audit could not run.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const doc = readFileSync(join(root, "docs/security.md"), "utf8");
const section = doc.split(/^## Audit findings explained\s*$/m)[1]?.split(/^## /m)[0] ?? "";
const explained = new Set(
  [...section.matchAll(/\b(GHSA-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}|package:[@\w./-]+|\d{4,})\b/gi)].map(
    (m) => m[1].toLowerCase(),
  ),
);

const run = spawnSync("npm", ["audit", "--omit=dev", "--json"], { cwd: root, encoding: "utf8" });
let report;
try {
  report = JSON.parse(run.stdout || "{}");
} catch {
  report = {};
}
if (!report.vulnerabilities) {
  const why = report.error?.summary || report.message || run.stderr.trim().split("\n").pop() || "no answer";
  console.error(`audit: npm audit could not run (${why}); the dependencies were NOT checked`);
  process.exit(2);
}

const findings = [];
for (const [name, v] of Object.entries(report.vulnerabilities)) {
  for (const via of v.via) {
    if (typeof via === "string") continue; // reported under the package it comes through
    const ghsa = /GHSA-[\w-]+/i.exec(via.url ?? "")?.[0]?.toLowerCase() ?? null;
    findings.push({
      package: name,
      severity: via.severity ?? v.severity,
      title: via.title ?? "",
      ids: [ghsa, via.source ? String(via.source) : null, `package:${name}`.toLowerCase()].filter(Boolean),
      url: via.url ?? "",
    });
  }
}
const open = findings.filter((f) => !f.ids.some((id) => explained.has(id)));
for (const f of findings) {
  const mark = open.includes(f) ? "UNEXPLAINED" : "explained";
  console.log(`${mark}: ${f.package} (${f.severity}) ${f.title} ${f.url}`);
}
const total = report.metadata?.vulnerabilities?.total ?? findings.length;
console.log(
  `audit: ${total} finding(s) in production dependencies, ${open.length} not explained in docs/security.md`,
);
process.exit(open.length ? 1 : 0);
