import { defineConfig } from "vitest/config";

/** Browser tests: the real server on PGlite with the simulators, driven by Debian's Chromium. */
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.e2e.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 1,
    fileParallelism: false,
  },
});
