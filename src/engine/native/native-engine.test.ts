import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isReflexiaError } from "../../errors/index.ts";
import { writeSyntheticModel } from "../../gguf/index.ts";
import { loadNativeAddon } from "./native-addon.ts";
import { createNativeEngine, type NativeEngine, type NativeLoadedModel } from "./native-engine.ts";

let dir: string;
let modelPath: string;
let engine: NativeEngine;
let model: NativeLoadedModel;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "rfx-native-"));
  modelPath = join(dir, "tiny-f16.gguf");
  await writeSyntheticModel({ path: modelPath, shape: "tiny", seed: 42 });
  engine = createNativeEngine({ threads: 1 });
  model = await engine.loadModel({ path: modelPath, parallel: 4, contextSize: 2048 });
});

afterAll(async () => {
  await engine?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

describe("native engine: generation", () => {
  it("streams exactly the returned text and stops at maxTokens", async () => {
    const chunks: string[] = [];
    // Pieces that reach JS together are handed over in one call, so a JS thread starved for the whole generation saw
    // one chunk (seen once with 24 tokens of the tiny model, other tests running): 96 tokens make that implausible.
    const r = await model.generate("Once upon a time", {
      maxTokens: 96,
      seed: 3,
      ignoreEos: true,
      onText: (t) => chunks.push(t),
    });
    expect(r.finishReason).toBe("length");
    expect(r.completionTokens).toBe(96);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.join("")).toBe(r.text);
    expect(r.promptTokens).toBe(model.tokenize("Once upon a time").length + 1); // + BOS
    expect(r.timings.interTokenMs).toHaveLength(95);
    expect(r.timings.totalMs).toBeGreaterThanOrEqual(r.timings.ttftMs);
  });

  it("is deterministic for a fixed seed, sampled and greedy", async () => {
    const opts = { maxTokens: 32, seed: 1234, temperature: 0.9, ignoreEos: true };
    const a = await model.generate("The weather today", opts);
    const b = await model.generate("The weather today", opts);
    expect(b.text).toBe(a.text);
    const g1 = await model.generate("The weather today", { maxTokens: 32, temperature: 0, ignoreEos: true });
    const g2 = await model.generate("The weather today", { maxTokens: 32, temperature: 0, seed: 99, ignoreEos: true });
    expect(g2.text).toBe(g1.text);
  });

  it("samples from the top-k: top-k 1 is greedy whatever the seed; top-k 0 samples the whole vocabulary", async () => {
    const greedy = await model.generate("Top k check", { maxTokens: 32, temperature: 0, ignoreEos: true });
    for (const seed of [1, 2]) {
      const top1 = await model.generate("Top k check", {
        maxTokens: 32,
        temperature: 1.5,
        topK: 1,
        seed,
        ignoreEos: true,
      });
      expect(top1.text).toBe(greedy.text);
    }
    const all = await model.generate("Top k check", {
      maxTokens: 32,
      temperature: 1.5,
      topK: 0,
      topP: 1,
      seed: 1,
      ignoreEos: true,
    });
    expect(all.completionTokens).toBe(32);
  });

  it("applies logit_bias before the penalties, and frequency / presence penalties as llama.cpp does", async () => {
    const prompt = "the cat and the dog and the cat";
    const greedy = { maxTokens: 12, temperature: 0, repeatPenalty: 1, ignoreEos: true, returnTokens: true };
    const base = await model.generate(prompt, greedy);
    const promptIds = base.tokens!.slice(0, base.promptTokens);
    const answer = base.tokens!.slice(base.promptTokens);
    // -100 on every token the plain answer used: none of them comes back.
    const banned = [...new Set(answer)].map((id): [number, number] => [id, -100]);
    const avoid = await model.generate(prompt, { ...greedy, logitBias: banned });
    expect(avoid.tokens!.slice(avoid.promptTokens).filter((id) => answer.includes(id))).toEqual([]);
    // +100 on one token: it is every pick.
    const forced = answer[0] === promptIds[1] ? promptIds[2] : promptIds[1];
    const only = await model.generate(prompt, { ...greedy, logitBias: [[forced, 100]] });
    expect(only.tokens!.slice(only.promptTokens)).toEqual(new Array(12).fill(forced));
    // On the first step the window is the prompt: a frequency penalty f and a presence penalty p are exactly a bias
    // of -(count * f + p) on each prompt token (the same log-probabilities, the same pick).
    const counts = new Map<number, number>();
    for (const id of promptIds) counts.set(id, (counts.get(id) ?? 0) + 1);
    const first = { maxTokens: 1, temperature: 0, repeatPenalty: 1, logprobs: 5 };
    const penalized = await model.generate(prompt, { ...first, frequencyPenalty: 0.5, presencePenalty: 1.5 });
    const biased = await model.generate(prompt, {
      ...first,
      logitBias: [...counts].map(([id, n]): [number, number] => [id, -(n * 0.5 + 1.5)]),
    });
    expect(penalized.logprobs).toEqual(biased.logprobs);
    const plain = await model.generate(prompt, first);
    expect(plain.logprobs).not.toEqual(penalized.logprobs);
    // Ids outside the vocabulary are refused by name.
    const vocab = model.info.vocabSize;
    expect(await rejection(model.generate(prompt, { ...greedy, logitBias: [[vocab, 1]] }))).toMatchObject({
      code: "RFX_VALIDATION",
      message: expect.stringContaining(`logit_bias names token ${vocab}`),
    });
    expect(await rejection(model.generate(prompt, { ...greedy, logitBias: [[1, 101]] }))).toMatchObject({
      code: "RFX_VALIDATION",
    });
  });

  it("ends before a stop string and never streams any part of it", async () => {
    const base = await model.generate("Tell me a story", { maxTokens: 48, temperature: 0, ignoreEos: true });
    // A stop string taken from the middle of the greedy output, spanning several characters.
    const start = Math.floor(base.text.length / 2);
    const stop = base.text.slice(start, start + 4);
    expect(stop.length).toBe(4);
    const cut = base.text.indexOf(stop);
    const chunks: string[] = [];
    const r = await model.generate("Tell me a story", {
      maxTokens: 48,
      temperature: 0,
      ignoreEos: true,
      stop: [stop],
      onText: (t) => chunks.push(t),
    });
    expect(r.finishReason).toBe("stop");
    expect(r.text).toBe(base.text.slice(0, cut));
    expect(chunks.join("")).toBe(r.text);
    expect(r.completionTokens).toBeLessThan(48);
  });

  it("cancels through an AbortSignal", async () => {
    const ac = new AbortController();
    let seen = 0;
    const r = await model.generate("Count with me", {
      maxTokens: 400,
      ignoreEos: true,
      signal: ac.signal,
      onText: () => {
        if (++seen === 2) ac.abort();
      },
    });
    expect(r.finishReason).toBe("cancelled");
    expect(r.completionTokens).toBeLessThan(400);
    const pre = new AbortController();
    pre.abort();
    expect((await model.generate("x", { signal: pre.signal })).finishReason).toBe("cancelled");
  });

  it("runs batchGenerate prompts as concurrent sequences", async () => {
    const prompts = ["alpha", "beta gamma", "delta", "epsilon zeta eta", "theta", "iota"];
    const rs = await model.batchGenerate(prompts, { maxTokens: 12, temperature: 0, ignoreEos: true });
    expect(rs).toHaveLength(6);
    rs.forEach((r, i) => {
      expect(r.finishReason).toBe("length");
      expect(r.completionTokens).toBe(12);
      expect(r.promptTokens).toBe(model.tokenize(prompts[i]).length + 1);
    });
    expect(model.stats().maxBatchSequences).toBeGreaterThan(1);
  });

  it("renders chat with the model's ChatML template", async () => {
    const text = model.formatChat([
      { role: "system", content: "be brief" },
      { role: "user", content: "hi" },
    ]);
    expect(text).toBe(
      "<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
    );
    const r = await model.chat([{ role: "user", content: "hi" }], { maxTokens: 16, seed: 5 });
    expect(["stop", "length"]).toContain(r.finishReason);
    expect(r.text).not.toContain("<|im_end|>");
    await expect(model.chat([{ role: "wizard" as "user", content: "x" }])).rejects.toMatchObject({
      code: "RFX_VALIDATION",
    });
  });

  it("round-trips text through tokenize and detokenize", () => {
    const s = "Grüße, 世界! naïve café";
    expect(model.detokenize(model.tokenize(s))).toBe(s);
    expect(() => model.detokenize([1e9])).toThrow();
  });

  it("rejects bad sampling options and a throwing onText with clear errors", async () => {
    expect(await rejection(model.generate("x", { topP: 2 }))).toMatchObject({ code: "RFX_VALIDATION" });
    expect(await rejection(model.generate("x", { maxTokens: -1 }))).toMatchObject({ code: "RFX_VALIDATION" });
    const boom = new Error("consumer failed");
    expect(
      await rejection(
        model.generate("x", {
          maxTokens: 50,
          ignoreEos: true,
          onText: () => {
            throw boom;
          },
        }),
      ),
    ).toBe(boom);
    expect(model.activeSequences()).toBe(0);
  });
});

describe("native engine: prompt tokens", () => {
  it("tokenizes a prompt as llama.cpp does with BOS (BOS + the text's tokens, kept for the second request)", async () => {
    const { addon } = loadNativeAddon();
    const raw = await addon.loadModel(modelPath, { useMmap: true, gpuLayers: 0, devices: [] });
    try {
      const info = raw.info();
      expect(info.addBos && !info.addEos).toBe(true);
      for (const text of [
        "",
        " leading space",
        "Hello, world!",
        "  two\n\nlines\t",
        "naïve café 日本語",
        "<s>special</s>",
      ]) {
        const direct = Array.from(raw.tokenize(text, true, true));
        expect(direct).toEqual([info.bos, ...Array.from(raw.tokenize(text, false, true))]);
        // What the engine evaluates: the same ids, whether or not the service counted the prompt first.
        const counted = model.tokenize(text);
        const r = await model.generate(text, { maxTokens: 1, temperature: 0 });
        expect(r.promptTokens).toBe(direct.length);
        expect(counted.length + 1).toBe(direct.length);
      }
    } finally {
      raw.dispose();
    }
  });
});

describe("native engine: robustness", () => {
  it("fails a prompt longer than the context with RFX_CONTEXT_OVERFLOW and keeps working", async () => {
    const long = "word ".repeat(model.sequenceContextSize + 10);
    const e = await rejection(model.generate(long, { maxTokens: 4 }));
    expect(isReflexiaError(e)).toBe(true);
    expect(e).toMatchObject({ code: "RFX_CONTEXT_OVERFLOW" });
    const ok = await model.generate("still fine", { maxTokens: 4, ignoreEos: true });
    expect(ok.completionTokens).toBe(4);
  });

  it("cancels mid-prompt without crashing and frees the sequence", async () => {
    // Small decode batches make the prompt span many steps, so the abort lands while it is being evaluated.
    const small = createNativeEngine({ threads: 1, batchSize: 32 });
    const m = await small.loadModel({ path: modelPath, parallel: 1, contextSize: 2048 });
    try {
      const prompt = "lorem ipsum dolor sit amet ".repeat(60);
      const ac = new AbortController();
      const p = m.generate(prompt, { maxTokens: 16, signal: ac.signal });
      setImmediate(() => ac.abort());
      const r = await p;
      expect(r.finishReason).toBe("cancelled");
      expect(r.completionTokens).toBe(0);
      const again = await m.generate(prompt, { maxTokens: 3, ignoreEos: true });
      expect(again.completionTokens).toBe(3);
      expect(m.activeSequences()).toBe(0);
    } finally {
      await small.dispose();
    }
  });

  it("requests arriving a few event-loop turns apart share their first prompt batch", async () => {
    // As HTTP requests do: each is prepared in a turn of its own. Submitted as they came, the first would start its
    // prompt batch alone and the others would follow a batch later.
    const m = await engine.loadModel({ path: modelPath, parallel: 4, contextSize: 1024 });
    try {
      m.resetStats();
      const runs: Promise<unknown>[] = [];
      for (let i = 0; i < 4; i++) {
        // Prompts that differ from their first word: none waits to take another's prefix.
        const word = ["North", "South", "East", "West"][i];
        runs.push(m.generate(`${word} harbour at dawn, ships and gulls`, { maxTokens: 1, temperature: 0 }));
        await new Promise((r) => setImmediate(r));
      }
      await Promise.all(runs);
      const st = m.stats();
      expect(st.promptTokens).toBeGreaterThan(4 * 8);
      expect(st.decodeCalls).toBe(1);
      expect(st.maxBatchSequences).toBe(4);
    } finally {
      await m.dispose();
    }
  });

  it("serves 64 concurrent generations on a context with 8 sequences (default thread policy)", async () => {
    const defaults = createNativeEngine();
    const m = await defaults.loadModel({ path: modelPath, parallel: 8, contextSize: 2048 });
    expect(m.threads).toBe(defaults.defaultThreads);
    try {
      let maxActive = 0;
      const rs = await Promise.all(
        Array.from({ length: 64 }, (_, i) =>
          m.generate(`request number ${i}`, {
            maxTokens: 6,
            seed: i,
            ignoreEos: true,
            onText: () => {
              maxActive = Math.max(maxActive, m.activeSequences());
            },
          }),
        ),
      );
      expect(rs.every((r) => r.finishReason === "length" && r.completionTokens === 6)).toBe(true);
      expect(maxActive).toBeLessThanOrEqual(8);
      expect(maxActive).toBeGreaterThan(1);
      // Requests beyond the 8 sequences waited in the queue.
      expect(Math.max(...rs.map((r) => r.timings.queueMs))).toBeGreaterThan(0);
      expect(m.activeSequences()).toBe(0);
    } finally {
      await defaults.dispose();
    }
  });

  it("disposes with sequences in flight: they end cancelled, later calls fail cleanly", async () => {
    const m = await engine.loadModel({ path: modelPath, parallel: 2, contextSize: 1024 });
    let started!: () => void;
    const firstText = new Promise<void>((r) => (started = r));
    const calls = Array.from({ length: 6 }, (_, i) =>
      m.generate(`in flight ${i}`, { maxTokens: 300, ignoreEos: true, onText: () => started() }),
    );
    await firstText;
    await m.dispose();
    const rs = await Promise.all(calls);
    expect(rs.every((r) => r.finishReason === "cancelled")).toBe(true);
    expect(await rejection(m.generate("after", { maxTokens: 2 }))).toMatchObject({ code: "RFX_NOT_READY" });
    await m.dispose(); // idempotent
  });

  it("runs two loaded contexts at once, each giving what it gives alone", async () => {
    // Both contexts use one shared threadpool: without the decode lock their graphs would run on it at once.
    const defaults = createNativeEngine();
    try {
      const [a, b] = await Promise.all(
        [1, 2].map(() => defaults.loadModel({ path: modelPath, parallel: 2, contextSize: 1024 })),
      );
      const opts = { maxTokens: 40, seed: 11, ignoreEos: true };
      const aloneA = await a.generate("first context", opts);
      const aloneB = await b.generate("second context", opts);
      const [togetherA, togetherB] = await Promise.all([
        a.generate("first context", opts),
        b.generate("second context", opts),
      ]);
      expect(togetherA.text).toBe(aloneA.text);
      expect(togetherB.text).toBe(aloneB.text);
    } finally {
      await defaults.dispose();
    }
  });

  it("exits cleanly when the process exits with a generation in flight", async () => {
    // process.exit() skips Node's env cleanup: the addon's at-exit hook must stop the loop thread before ggml's
    // statics are destroyed (without it the `small` model crashed with SIGSEGV in about a third of such exits).
    const script = join(dir, "exit-in-flight.mts");
    const engineUrl = new URL("./native-engine.ts", import.meta.url).href;
    writeFileSync(
      script,
      `import { createNativeEngine } from ${JSON.stringify(engineUrl)};\n` +
        `const m = await createNativeEngine().loadModel({ path: ${JSON.stringify(modelPath)}, contextSize: 4096 });\n` +
        `m.generate("go", { maxTokens: 4000, ignoreEos: true, onText: () => process.exit(0) });\n`,
    );
    for (let i = 0; i < 3; i++) {
      const r = spawnSync(process.execPath, ["--import", "tsx", script], { encoding: "utf8", timeout: 60_000 });
      expect({ status: r.status, signal: r.signal, stderr: r.stderr.slice(-300) }).toEqual({
        status: 0,
        signal: null,
        stderr: "",
      });
    }
  });

  it("reports a missing file and a non-GGUF file as domain errors", async () => {
    expect(await rejection(engine.loadModel({ path: join(dir, "nope.gguf") }))).toMatchObject({
      code: "RFX_MODEL_NOT_FOUND",
    });
    const bad = join(dir, "bad.gguf");
    writeFileSync(bad, "not a model at all");
    const e = await rejection(engine.loadModel({ path: bad }));
    expect(isReflexiaError(e)).toBe(true);
    expect(["RFX_INVALID_GGUF", "RFX_ENGINE"]).toContain((e as { code: string }).code);
  });
});

describe("native engine: batch splitting", () => {
  const prompts = ["split one", "split two two", "split three", "split four four four"];
  const opts = { maxTokens: 24, temperature: 0.9, ignoreEos: true };

  it("always: every sequence of a concurrent step gives exactly what it gives alone", async () => {
    const split = createNativeEngine({ threads: 1, batchSplit: "always" });
    try {
      const m = await split.loadModel({ path: modelPath, parallel: 4, contextSize: 1024 });
      const alone: string[] = [];
      for (const [i, p] of prompts.entries()) alone.push((await m.generate(p, { ...opts, seed: i + 7 })).text);
      m.resetStats();
      const together = await Promise.all(prompts.map((p, i) => m.generate(p, { ...opts, seed: i + 7 })));
      expect(together.map((r) => r.text)).toEqual(alone);
      const st = m.stats();
      expect(st.splitSteps).toBeGreaterThan(0);
      // A split step makes one call per generating sequence, each a one-token batch.
      expect(st.decodeCalls).toBeGreaterThan(st.decodeSteps);
      expect(st.singleTokenDecodeCalls).toBeGreaterThan(st.splitSteps);
    } finally {
      await split.dispose();
    }
  });

  it("never: concurrent sequences always share one batched call", async () => {
    const batched = createNativeEngine({ threads: 1, batchSplit: "never" });
    try {
      const m = await batched.loadModel({ path: modelPath, parallel: 4, contextSize: 1024 });
      const rs = await Promise.all(prompts.map((p, i) => m.generate(p, { ...opts, seed: i + 7 })));
      expect(rs.every((r) => r.completionTokens === 24)).toBe(true);
      const st = m.stats();
      expect(st.splitSteps).toBe(0);
      expect(st.decodeCalls).toBe(st.decodeSteps);
      expect(st.maxBatchSequences).toBe(4);
    } finally {
      await batched.dispose();
    }
  });

  it("always: queued, cancelled and disposed-in-flight sequences end cleanly", async () => {
    const split = createNativeEngine({ threads: 1, batchSplit: "always" });
    try {
      const m = await split.loadModel({ path: modelPath, parallel: 4, contextSize: 1024 });
      const cancel = new AbortController();
      let texts = 0;
      const calls = Array.from({ length: 16 }, (_, i) =>
        m.generate(`queued ${i}`, {
          maxTokens: i === 3 ? 200 : 10,
          seed: i,
          ignoreEos: true,
          signal: i === 3 ? cancel.signal : undefined,
          onText: () => {
            if (i === 3 && ++texts === 3) cancel.abort();
          },
        }),
      );
      const rs = await Promise.all(calls);
      expect(rs[3].finishReason).toBe("cancelled");
      expect(rs.filter((_, i) => i !== 3).every((r) => r.finishReason === "length" && r.completionTokens === 10)).toBe(
        true,
      );
      expect(m.activeSequences()).toBe(0);
      const inFlight = Array.from({ length: 6 }, (_, i) =>
        m.generate(`late ${i}`, { maxTokens: 300, ignoreEos: true }),
      );
      await new Promise((r) => setTimeout(r, 30));
      await m.dispose();
      const ended = await Promise.all(inFlight);
      expect(ended.every((r) => r.finishReason === "cancelled" || r.finishReason === "length")).toBe(true);
      expect(ended.some((r) => r.finishReason === "cancelled")).toBe(true);
    } finally {
      await split.dispose();
    }
  });

  it("rejects an unknown mode", () => {
    expect(() => createNativeEngine({ batchSplit: "sometimes" as "auto" })).toThrow(
      expect.objectContaining({ code: "RFX_VALIDATION" }),
    );
    expect(() => createNativeEngine({ tileFill: "sometimes" as "auto" })).toThrow(
      expect.objectContaining({ code: "RFX_VALIDATION" }),
    );
    expect(() => createNativeEngine({ promptSplit: "sometimes" as "auto" })).toThrow(
      expect.objectContaining({ code: "RFX_VALIDATION", message: expect.stringContaining("promptSplit") }),
    );
  });
});

describe("native engine: prompt split", () => {
  // Submitted in one turn of the event loop: admitted together, in this order.
  const burst = (m: NativeLoadedModel) =>
    Promise.all(
      ["North", "South", "East", "West"].map((w) =>
        m.generate(`${w} harbour at dawn, ships and gulls`, { maxTokens: 4, temperature: 0, ignoreEos: true }),
      ),
    );

  it("always: a burst's prompts go one per step, each reaching its first token a step before the next", async () => {
    const e = createNativeEngine({ threads: 1, promptSplit: "always" });
    try {
      const m = await e.loadModel({ path: modelPath, parallel: 4, contextSize: 1024 });
      const rs = await burst(m);
      const st = m.stats();
      expect(st.promptSplits).toBe(3);
      // Four prompt steps (the later ones with the earlier sequences' tokens), then the last one's three tokens.
      expect(st.decodeSteps).toBe(4 + 3);
      const ttft = rs.map((r) => r.timings.ttftMs);
      for (let i = 1; i < ttft.length; i++) expect(ttft[i]).toBeGreaterThan(ttft[i - 1]);
      expect(rs.every((r) => r.completionTokens === 4)).toBe(true);
    } finally {
      await e.dispose();
    }
  });

  it("auto: a burst goes in at most two prompt steps, the first half first", async () => {
    const e = createNativeEngine({ threads: 1, promptSplit: "auto" });
    try {
      const m = await e.loadModel({ path: modelPath, parallel: 4, contextSize: 4096 });
      let splitBursts = 0;
      // The first bursts measure the costs (until then a step takes every prompt); each burst's prompts are new
      // (~128 tokens, where one prompt's rows cost more than a call, so the cost rule alone would go one per step).
      for (let i = 0; i < 8; i++) {
        m.resetStats();
        const rs = await Promise.all(
          ["North", "South", "East", "West"].map((w) =>
            m.generate(`${i} ${w} harbour at dawn, ${"ships and gulls over the grey water, ".repeat(4)}`, {
              maxTokens: 4,
              temperature: 0,
              ignoreEos: true,
            }),
          ),
        );
        const st = m.stats();
        expect(st.promptSplits).toBeLessThanOrEqual(1);
        // One prompt step, or two (the second with the first half's tokens) and the second half's extra token.
        expect(st.decodeSteps).toBe(4 + st.promptSplits);
        expect(rs.every((r) => r.completionTokens === 4)).toBe(true);
        if (st.promptSplits === 1) {
          splitBursts++;
          const ttft = rs.map((r) => r.timings.ttftMs);
          expect(Math.max(ttft[0], ttft[1])).toBeLessThan(Math.min(ttft[2], ttft[3]));
        }
      }
      expect(splitBursts).toBeGreaterThan(0);
    } finally {
      await e.dispose();
    }
  });

  it("never: a burst's prompts share the first step", async () => {
    const e = createNativeEngine({ threads: 1, promptSplit: "never" });
    try {
      const m = await e.loadModel({ path: modelPath, parallel: 4, contextSize: 1024 });
      for (let i = 0; i < 2; i++) {
        m.resetStats();
        const rs = await burst(m);
        const st = m.stats();
        expect(st.promptSplits).toBe(0);
        expect(st.decodeSteps).toBe(4); // one prompt step, then three decode steps of all four
        expect(rs.every((r) => r.completionTokens === 4)).toBe(true);
      }
    } finally {
      await e.dispose();
    }
  });
});

describe("native engine: empty pool placement", () => {
  it("goes back to cell 0 when no sequence holds cells as a prompt starts, never while one does", async () => {
    const e = createNativeEngine({ threads: 1 });
    try {
      const m = await e.loadModel({ path: modelPath, parallel: 2, contextSize: 2048 });
      const text = (w: string) => `${w} harbour at dawn, ${"ships and gulls over the grey water, ".repeat(6)}`;
      await m.generate(text("North"), { maxTokens: 2, temperature: 0 });
      const first = m.stats().poolResets;
      expect(first).toBe(1); // the pool was empty
      // The next conversation: the first one's cache is parked, so nothing is left in the pool.
      await m.generate(text("South"), { maxTokens: 2, temperature: 0 });
      expect(m.stats().poolResets).toBe(2);
      // A long answer holds its cells while another request starts beside it: no reset then.
      let started!: () => void;
      const firstText = new Promise<void>((r) => (started = r));
      const long = m.generate(text("East"), {
        maxTokens: 48,
        temperature: 0,
        ignoreEos: true,
        onText: () => started(),
      });
      await firstText;
      const beside = await m.generate(text("West"), { maxTokens: 4, temperature: 0, ignoreEos: true });
      const r = await long;
      expect(r.completionTokens).toBe(48);
      // East took the least recently used cache (North's), sharing only its first tokens, below a tenth of the
      // prompt: nothing of it is kept (those cells would have stayed where North's cache was in the pool).
      expect(r.cachedPromptTokens).toBe(0);
      expect(beside.completionTokens).toBe(4);
      expect(m.stats().poolResets).toBe(3); // East's start only
    } finally {
      await e.dispose();
    }
  });
});

describe("native engine: embeddings", () => {
  it("returns L2-normalised mean-pooled vectors, identical for identical text", async () => {
    const m = await engine.loadModel({ path: modelPath, embedding: true, contextSize: 512 });
    try {
      const texts = ["the cat sat", "the cat sat", "a different sentence", ""];
      const { embeddings, promptTokens } = await m.embed(texts);
      const [a, b, c, empty] = embeddings;
      // Every token evaluated, the BOS included; the empty text none.
      expect(promptTokens).toBe(texts.slice(0, 3).reduce((n, t) => n + m.tokenize(t).length + 1, 0));
      expect(a).toHaveLength(m.info.embeddingSize);
      expect(Math.hypot(...a)).toBeCloseTo(1, 5);
      expect(b).toEqual(a);
      expect(c).not.toEqual(a);
      expect(empty.every((x) => x === 0)).toBe(true);
      expect(await rejection(m.generate("x"))).toMatchObject({ code: "RFX_BAD_REQUEST" });

      const long = Array.from({ length: 400 }, (_, i) => `word${i}`).join(" ");
      expect(await rejection(m.embed([long]))).toMatchObject({ code: "RFX_CONTEXT_OVERFLOW" });
      const cut = await m.embed([long, `${long} and a different ending`], { truncate: true });
      expect(cut.promptTokens).toBe(2 * 512);
      expect(cut.embeddings[1]).toEqual(cut.embeddings[0]);
    } finally {
      await m.dispose();
    }
  });
});
