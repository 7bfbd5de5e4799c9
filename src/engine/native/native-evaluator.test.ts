import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeSyntheticModel } from "../../gguf/index.ts";
import type { LogitsEvaluator } from "../types.ts";
import { createNativeEngine, type NativeEngine } from "./native-engine.ts";

let dir: string;
let engine: NativeEngine;
let ev: LogitsEvaluator;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "rfx-evaluator-"));
  const path = join(dir, "tiny.gguf");
  await writeSyntheticModel({ path, shape: "tiny", seed: 42 });
  engine = createNativeEngine({ threads: 1 });
  ev = await engine.loadEvaluator({ path, contextSize: 64 });
});
afterAll(async () => {
  await ev?.dispose();
  await engine?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe("native engine: logits evaluator", () => {
  it("returns one row of vocabulary logits per token, each depending only on the tokens before it", async () => {
    const tokens = ev.tokenize("the quick brown fox jumps over the lazy dog", true);
    const vocab = ev.info.vocabSize;
    const full = await ev.evaluate(tokens);
    expect(full.length).toBe(tokens.length * vocab);
    const half = Math.floor(tokens.length / 2);
    const prefix = await ev.evaluate(tokens.slice(0, half));
    // Causal attention: the prefix's rows are the full sequence's first rows (batch shapes may round differently).
    let maxDiff = 0;
    for (let i = 0; i < half * vocab; i++) maxDiff = Math.max(maxDiff, Math.abs(prefix[i] - full[i]));
    expect(maxDiff).toBeLessThan(1e-3);
    // ...and the last row sees the whole sequence: changing the last token changes it.
    const other = [...tokens.slice(0, -1), (tokens.at(-1)! + 1) % vocab];
    const changed = await ev.evaluate(other);
    let lastDiff = 0;
    for (let i = (tokens.length - 1) * vocab; i < tokens.length * vocab; i++)
      lastDiff = Math.max(lastDiff, Math.abs(changed[i] - full[i]));
    expect(lastDiff).toBeGreaterThan(1e-3);
  });

  it("refuses token ids outside the vocabulary and sequences longer than its context", async () => {
    await expect(ev.evaluate([1, ev.info.vocabSize])).rejects.toMatchObject({ code: "RFX_VALIDATION" });
    await expect(ev.evaluate(new Array(65).fill(1))).rejects.toMatchObject({ code: "RFX_CONTEXT_OVERFLOW" });
    await expect(ev.evaluate([])).rejects.toMatchObject({ code: "RFX_CONTEXT_OVERFLOW" });
  });
});
