import { defineConfig } from "vitest/config";

// Model-heavy tests share two cores: run files one at a time so timings-free tests stay deterministic.
export default defineConfig({
  test: {
    // Builds web/dist first, so browser tests always drive the page from the current sources.
    globalSetup: ["test/support/build-web-setup.ts"],
    include: ["src/**/*.test.ts", "test/**/*.test.ts", "web/src/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    pool: "forks",
  },
});
