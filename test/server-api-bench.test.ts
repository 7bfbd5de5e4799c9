// The API benchmark command runs end to end on the tiny model and reports every figure (values are not asserted:
// timings belong to the benchmark's output, not to tests).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runApiBenchmark } from "../src/bench/api-bench.ts";
import { loadConfig } from "../src/config/index.ts";
import { createTinyHome, TINY, type TinyHome } from "./support/server-fixture.ts";

let home: TinyHome;
beforeAll(async () => {
  home = await createTinyHome(["q4_0"]);
});
afterAll(async () => {
  await home?.cleanup();
});

describe("runApiBenchmark", () => {
  it("measures HTTP vs raw decode, aggregate per concurrency and cache-hit latency", async () => {
    const lines: string[] = [];
    const r = await runApiBenchmark({
      loaded: loadConfig({ env: {}, overrides: { home: home.home, "models.default": TINY } }),
      tokens: 16,
      concurrency: [1, 2],
      repetitions: 1,
      cacheRequests: 5,
      log: (l) => lines.push(l),
    });
    expect(r.model).toBe(`${TINY}:q4_0`);
    for (const v of [
      r.httpDecodeTokensPerSecond,
      r.rawDecodeTokensPerSecond,
      r.httpServerDecodeTokensPerSecond,
      r.cache.hitP50Ms,
      r.cache.hitP99Ms,
      r.cache.fetchHitP50Ms,
      r.cache.fetchHitP99Ms,
      r.cache.keyDerivationUs,
    ]) {
      expect(Number.isFinite(v) && v > 0).toBe(true);
    }
    expect(r.concurrency.map((c) => c.concurrency)).toEqual([1, 2]);
    expect(r.concurrency.every((c) => c.httpAggregateTokensPerSecond > 0 && c.rawAggregateTokensPerSecond > 0)).toBe(
      true,
    );
    expect(r.cache.requests).toBe(5);
    expect(lines.some((l) => l.startsWith("single stream decode: HTTP"))).toBe(true);
    expect(lines.some((l) => l.startsWith("cache hit over HTTP"))).toBe(true);
  });
});
