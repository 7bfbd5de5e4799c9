import { defineConfig } from "vitest/config";

// Model-heavy tests share two cores: run files one at a time so timings-free tests stay deterministic.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    pool: "forks",
  },
});
