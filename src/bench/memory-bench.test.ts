// The memory benchmark on the real engine and a synthetic tiny model: structure and what cannot flake (no timings).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type Engine } from "../engine/index.ts";
import { isReflexiaError } from "../errors/index.ts";
import { estimateMemoryBreakdown } from "../gguf/index.ts";
import { analyzeComplexity, COMPLEXITY_LEVELS } from "../policy/index.ts";
import { createModelStore, type ModelStore } from "../registry/index.ts";
import { pickLevelPrompts, runMemoryBenchmark } from "./memory-bench.ts";

let home: string;
let store: ModelStore;
let engine: Engine;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "rfx-membench-"));
  // The store estimates at 4096 tokens; the benchmark loads 2048, so the estimate must follow the real context.
  store = createModelStore({ home, contextSize: 4096 });
  await store.synth({ shape: "tiny", quant: ["f16", "q4_0"], name: "t", seed: 7 });
  engine = createEngine({ threads: 1, logLevel: "error" });
});

afterAll(async () => {
  await engine?.dispose();
  rmSync(home, { recursive: true, force: true });
});

describe("pickLevelPrompts", () => {
  it("takes one labelled fixture per level that the analyzer puts at that level", () => {
    const prompts = pickLevelPrompts();
    expect(prompts.map((p) => p.level)).toEqual([...COMPLEXITY_LEVELS]);
    for (const p of prompts) {
      const r = analyzeComplexity({ prompt: p.text });
      expect(r.level).toBe(p.level);
      expect(r.score).toBeCloseTo(p.score, 10);
    }
    expect(new Set(prompts.map((p) => p.id)).size).toBe(3);
  });
});

describe("runMemoryBenchmark", () => {
  it("measures every variant of a model, lowest precision first, at each complexity level", async () => {
    const lines: string[] = [];
    const r = await runMemoryBenchmark({
      store,
      engine,
      model: "t",
      contextSize: 2048,
      tokens: 16,
      log: (l) => lines.push(l),
    });
    expect(r.variants.map((v) => v.ref)).toEqual(["t:q4_0", "t:f16"]);
    expect(r.tokens).toBe(16);
    expect(r.engine).toBe(engine.name);
    for (const v of r.variants) {
      const details = await store.show(v.ref);
      expect(v.fileSizeBytes).toBe(details.sizeBytes);
      expect(v.contextSize).toBe(2048);
      // The estimate is the registry's formula at the context really loaded (2048), over the real file.
      const b = estimateMemoryBreakdown("tiny", v.quantization, 2048);
      expect(v.estimatedMemory.kvCacheBytes).toBe(b.kvCacheBytes);
      expect(v.estimatedMemory.weightsBytes).toBe(details.sizeBytes);
      expect(v.estimatedMemoryBytes).toBe(
        v.estimatedMemory.weightsBytes +
          v.estimatedMemory.repackBytes +
          v.estimatedMemory.kvCacheBytes +
          v.estimatedMemory.computeBytes,
      );
      expect(v.estimatedMemoryBytes).toBeLessThan(details.estimatedMemoryBytes); // 2048 cells hold less KV than 4096
      expect(v.rssBeforeLoadBytes).toBeGreaterThan(0);
      expect(v.loadDeltaBytes).toBe(v.baseRssBytes - v.rssBeforeLoadBytes);
      expect(v.levels.map((l) => l.level)).toEqual([...COMPLEXITY_LEVELS]);
      for (const l of v.levels) {
        expect(l.peakRssBytes).toBeGreaterThanOrEqual(l.sampledPeakRssBytes);
        // Not ≥ base: RSS can fall after the load (freed heap, reclaimed pages) and the peak window opens per level.
        expect(l.sampledPeakRssBytes).toBeGreaterThanOrEqual(l.rssAtStartBytes);
        expect(l.deltaOverBaseBytes).toBe(l.peakRssBytes - v.baseRssBytes);
        expect(l.completionTokens).toBeGreaterThan(0);
        expect(l.completionTokens).toBeLessThanOrEqual(16);
        expect(l.promptTokens).toBeGreaterThan(0);
      }
      // The high-level fixture is the longest prompt: more tokens evaluated than the low one.
      expect(v.levels[2].promptTokens).toBeGreaterThan(v.levels[0].promptTokens);
      expect(v.measuredPeakBytes).toBe(
        Math.max(v.baseRssBytes, ...v.levels.map((l) => l.peakRssBytes)) - v.rssBeforeLoadBytes,
      );
      expect(v.rssAfterUnloadBytes).toBeGreaterThan(0);
    }
    // The table: a header and one row per variant.
    const header = lines.findIndex((l) => l.startsWith("variant"));
    expect(header).toBeGreaterThanOrEqual(0);
    expect(lines[header + 1]).toMatch(/^t:q4_0\s/);
    expect(lines[header + 2]).toMatch(/^t:f16\s/);
    expect(JSON.parse(JSON.stringify(r)).variants).toHaveLength(2);
  });

  it("takes explicit refs in precision order and refuses bad input with codes", async () => {
    const r = await runMemoryBenchmark({
      store,
      engine,
      refs: ["t:f16", "t:q4_0"],
      contextSize: 2048,
      tokens: 4,
      warmUp: false,
      log: () => {},
    });
    expect(r.variants.map((v) => v.ref)).toEqual(["t:q4_0", "t:f16"]);
    expect(r.rssAfterWarmUpBytes).toBeNull();

    const codeOf = async (p: Promise<unknown>) =>
      p.then(
        () => "resolved",
        (e: unknown) => (isReflexiaError(e) ? e.code : String(e)),
      );
    expect(await codeOf(runMemoryBenchmark({ store, engine, model: "nope", log: () => {} }))).toBe(
      "RFX_MODEL_NOT_FOUND",
    );
    expect(await codeOf(runMemoryBenchmark({ store, engine, refs: ["t:q8_0"], log: () => {} }))).toBe(
      "RFX_MODEL_NOT_FOUND",
    );
    expect(await codeOf(runMemoryBenchmark({ store, engine, model: "t", tokens: 0, log: () => {} }))).toBe(
      "RFX_VALIDATION",
    );
    expect(await codeOf(runMemoryBenchmark({ store, engine, model: "t", sampleIntervalMs: 1, log: () => {} }))).toBe(
      "RFX_VALIDATION",
    );
    expect(await codeOf(runMemoryBenchmark({ store, engine, log: () => {} }))).toBe("RFX_VALIDATION");
    // The tiny vocabulary spells the long high-level prompt in over 1,000 tokens: 256 cells cannot hold it.
    expect(
      await codeOf(
        runMemoryBenchmark({ store, engine, model: "t", contextSize: 256, tokens: 4, warmUp: false, log: () => {} }),
      ),
    ).toBe("RFX_CONTEXT_OVERFLOW");
  });
});
