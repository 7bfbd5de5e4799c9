import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReflexiaError } from "../../errors/index.ts";
import { writeSyntheticModel, type SyntheticModelInfo } from "../../gguf/index.ts";
import { createNodeLlamaCppEngine } from "./node-llama-cpp-engine.ts";
import { createTokenDecoder } from "./nlc-token-decoder.ts";
import type { ChatMessage, Engine, GenerationResult, LoadedModel } from "../types.ts";

// Real llama.cpp on the tiny synthetic model (random weights: gibberish text, but real tokens, sampling and stops).
let dir: string;
let synth: SyntheticModelInfo;
let engine: Engine;
let model: LoadedModel;
const logs: string[] = [];
const GREEDY = { temperature: 0 } as const;

async function rejection(p: Promise<unknown> | (() => unknown)): Promise<ReflexiaError> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(ReflexiaError);
    return e as ReflexiaError;
  }
  throw new Error("expected a ReflexiaError");
}

function expectCompleted(r: GenerationResult, maxTokens: number) {
  // Random weights rarely sample an end-of-generation token; when they do the call ends early with "stop".
  if (r.finishReason === "length") expect(r.completionTokens).toBe(maxTokens);
  else {
    expect(r.finishReason).toBe("stop");
    expect(r.completionTokens).toBeLessThan(maxTokens);
  }
  expect(r.timings.interTokenMs).toHaveLength(Math.max(0, r.completionTokens - 1));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rfx-nlc-"));
  synth = await writeSyntheticModel({ path: join(dir, "tiny.gguf"), shape: "tiny", seed: 7 });
  engine = createNodeLlamaCppEngine({ threads: 1, onLog: (level, message) => logs.push(`${level}: ${message}`) });
  model = await engine.loadModel({ path: synth.path, contextSize: 512 });
});

afterAll(async () => {
  await engine?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("node-llama-cpp engine on the tiny synthetic model", () => {
  it("reports model info from the GGUF", () => {
    expect(engine.name).toBe("node-llama-cpp");
    expect(engine.defaultThreads).toBe(1);
    expect(model.info).toEqual({
      architecture: "llama",
      parameterCount: synth.parameterCount,
      trainContextSize: synth.dims.nCtx,
      fileType: "f16",
      sizeBytes: statSync(synth.path).size,
      embeddingSize: synth.dims.nEmbd,
      vocabSize: synth.dims.nVocab,
    });
    expect(model.contextSize).toBeGreaterThanOrEqual(512);
    expect(model.parallel).toBe(1);
  });

  it("loads without tokenizer warnings, and text round-trips through the tokenizer", () => {
    expect(logs.filter((l) => /detokenize|tokeniz/i.test(l))).toEqual([]);
    const text = "Hello, wörld! 日本語 — tabs\tand\nnewlines";
    const tokens = model.tokenize(text);
    expect(tokens.length).toBeGreaterThan(0);
    expect(model.detokenize(tokens)).toBe(text);
  });

  it("decodes byte-fallback tokens of multi-byte characters without emitting partial characters", () => {
    const text = "日本語 ünïcödé 🙂";
    const tokens = model.tokenize(text);
    expect(tokens.length).toBeGreaterThan([...text].length); // byte tokens: several per character
    // What node-llama-cpp does with lastTokens: decode with the preceding tokens, keep only the new suffix.
    const decoder = createTokenDecoder((t, last) =>
      model.detokenize([...last, ...t]).slice(model.detokenize([...last]).length),
    );
    const chunks = tokens.map((t) => decoder.push(t));
    chunks.push(decoder.flush());
    for (const c of chunks) expect(c).not.toContain("\uFFFD");
    expect(chunks.join("")).toBe(text);
  });

  it("generates exactly maxTokens tokens, with timings and token counts", async () => {
    const r = await model.generate("Once upon a time", { maxTokens: 16, ...GREEDY });
    expectCompleted(r, 16);
    expect(r.promptTokens).toBe(model.tokenize("Once upon a time").length + 1); // + BOS
    const t = r.timings;
    for (const v of [t.queueMs, t.promptEvalMs, t.ttftMs, t.evalMs, t.totalMs, ...t.interTokenMs])
      expect(v).toBeGreaterThanOrEqual(0);
    expect(t.ttftMs).toBeGreaterThanOrEqual(t.queueMs + t.promptEvalMs - 1e-6);
    expect(t.totalMs).toBeGreaterThanOrEqual(t.ttftMs + t.evalMs - 1e-6);
  });

  it("streams chunks that concatenate to the final text", async () => {
    const chunks: string[] = [];
    const r = await model.generate("The weather today", { maxTokens: 24, seed: 3, onText: (c) => chunks.push(c) });
    expectCompleted(r, 24);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.join("")).toBe(r.text);
  });

  it("is deterministic for greedy decoding and for a fixed seed", async () => {
    const a = await model.generate("Deterministic", { maxTokens: 24, ...GREEDY });
    const b = await model.generate("Deterministic", { maxTokens: 24, ...GREEDY });
    expect(b.text).toBe(a.text);
    const s1 = await model.generate("Seeded", { maxTokens: 24, temperature: 1, seed: 1234 });
    const s2 = await model.generate("Seeded", { maxTokens: 24, temperature: 1, seed: 1234 });
    const s3 = await model.generate("Seeded", { maxTokens: 24, temperature: 1, seed: 4321 });
    expect(s2.text).toBe(s1.text);
    expect(s3.text).not.toBe(s1.text);
  });

  it("stops before a stop sequence, which never reaches the text or the stream", async () => {
    const free = await model.generate("Stop test", { maxTokens: 40, ...GREEDY });
    // Take a stop string from the middle of the greedy output, so the same run must hit it.
    const chars = [...free.text];
    let stop = "";
    for (let i = Math.floor(chars.length / 2); i < chars.length - 2 && !stop; i++) {
      const candidate = chars.slice(i, i + 2).join("");
      if (!candidate.includes("\uFFFD") && candidate.trim().length === 2) stop = candidate;
    }
    expect(stop).not.toBe("");
    const chunks: string[] = [];
    const r = await model.generate("Stop test", {
      maxTokens: 40,
      ...GREEDY,
      stop: [stop],
      onText: (c) => chunks.push(c),
    });
    expect(r.finishReason).toBe("stop");
    expect(r.text).toBe(free.text.slice(0, free.text.indexOf(stop)));
    expect(r.text).not.toContain(stop);
    expect(chunks.join("")).toBe(r.text);
    expect(r.completionTokens).toBeLessThan(free.completionTokens);
  });

  it("cancels mid-generation, frees the sequence, and the sequence is reusable", async () => {
    const reference = await model.generate("Cancel me", { maxTokens: 12, ...GREEDY });
    const ac = new AbortController();
    let seen = 0;
    const r = await model.generate("Cancel me", {
      maxTokens: 200,
      ...GREEDY,
      signal: ac.signal,
      onText: () => {
        if (++seen === 3) ac.abort();
      },
    });
    expect(r.finishReason).toBe("cancelled");
    expect(r.completionTokens).toBeGreaterThanOrEqual(3);
    expect(r.completionTokens).toBeLessThan(200);
    expect(model.activeSequences()).toBe(0);
    const again = await model.generate("Cancel me", { maxTokens: 12, ...GREEDY });
    expect(again.text).toBe(reference.text);
    const pre = await model.generate("never runs", { signal: AbortSignal.abort() });
    expect(pre).toMatchObject({ finishReason: "cancelled", completionTokens: 0, text: "" });
  });

  it("queues callers while every sequence is busy and lets a queued caller cancel", async () => {
    let maxActive = 0;
    const onText = () => (maxActive = Math.max(maxActive, model.activeSequences()));
    const ac = new AbortController();
    const first = model.generate("first", { maxTokens: 32, ...GREEDY, onText });
    const queued = model.generate("queued", { maxTokens: 32, signal: ac.signal });
    const second = model.generate("second", { maxTokens: 8, ...GREEDY, onText });
    ac.abort();
    const [a, q, b] = await Promise.all([first, queued, second]);
    expectCompleted(a, 32);
    expectCompleted(b, 8);
    expect(q).toMatchObject({ finishReason: "cancelled", completionTokens: 0 });
    expect(maxActive).toBe(1);
    expect(model.activeSequences()).toBe(0);
  });

  it("chats through the model's ChatML template with system and user messages", async () => {
    const messages: ChatMessage[] = [
      { role: "system", content: "You are terse." },
      { role: "user", content: "Say hi." },
    ];
    const rendered = model.formatChat(messages);
    expect(rendered).toContain("<|im_start|>system\nYou are terse.<|im_end|>");
    expect(rendered).toContain("<|im_start|>user\nSay hi.<|im_end|>");
    expect(rendered.endsWith("<|im_start|>assistant\n")).toBe(true);
    const chat = await model.chat(messages, { maxTokens: 16, ...GREEDY });
    expectCompleted(chat, 16);
    expect(chat.promptTokens).toBe(model.tokenize(rendered).length + (rendered.startsWith("<s>") ? 0 : 1));
    // The raw prompt evaluates the same tokens; only chat() stops at the template's end-of-turn token.
    const raw = await model.generate(rendered, { maxTokens: 16, ...GREEDY });
    expect(raw.promptTokens).toBe(chat.promptTokens);
    expect(raw.text.startsWith(chat.text)).toBe(true);
    await expect(rejection(model.chat([], {}))).resolves.toMatchObject({ code: "RFX_VALIDATION" });
  });

  it("rejects a prompt longer than the context with RFX_CONTEXT_OVERFLOW", async () => {
    const small = await engine.loadModel({ path: synth.path, contextSize: 64 });
    try {
      const err = await rejection(small.generate("lorem ipsum dolor sit amet ".repeat(40)));
      expect(err.code).toBe("RFX_CONTEXT_OVERFLOW");
      expect(small.activeSequences()).toBe(0);
      // A prompt that fits still generates, capped by the room left in the context.
      const r = await small.generate("short", { maxTokens: 500, ...GREEDY });
      expect(r.promptTokens + r.completionTokens).toBeLessThanOrEqual(small.contextSize);
    } finally {
      await small.dispose();
    }
  });

  it("rejects invalid sampling options and missing or non-GGUF files", async () => {
    expect((await rejection(model.generate("x", { temperature: -1 }))).code).toBe("RFX_VALIDATION");
    expect((await rejection(model.generate("x", { maxTokens: 1.5 }))).code).toBe("RFX_VALIDATION");
    expect((await rejection(engine.loadModel({ path: join(dir, "missing.gguf") }))).code).toBe("RFX_MODEL_NOT_FOUND");
    const junk = join(dir, "junk.gguf");
    await writeFile(junk, "this is not a gguf file at all, just text padding ".repeat(20));
    expect((await rejection(engine.loadModel({ path: junk }))).code).toBe("RFX_INVALID_GGUF");
    expect((await rejection(model.embed(["x"]))).code).toBe("RFX_BAD_REQUEST");
  });
});

describe("batching, embeddings and dispose", () => {
  it("batchGenerate runs prompts concurrently as sequences of one context", async () => {
    const batched = await engine.loadModel({ path: synth.path, contextSize: 1024, parallel: 4 });
    try {
      expect(batched.parallel).toBe(4);
      const prompts = ["alpha", "beta gamma", "delta epsilon zeta", "eta"];
      const pending = batched.batchGenerate(prompts, { maxTokens: 24, ...GREEDY });
      await new Promise((r) => setImmediate(r));
      expect(batched.activeSequences()).toBe(4);
      const results = await pending;
      expect(results).toHaveLength(4);
      results.forEach((r, i) => {
        expectCompleted(r, 24);
        expect(r.promptTokens).toBe(batched.tokenize(prompts[i]).length + 1);
      });
      expect(batched.activeSequences()).toBe(0);
    } finally {
      await batched.dispose();
    }
  });

  it("embeds texts mean-pooled and L2-normalised when loaded for embeddings", async () => {
    const emb = await engine.loadModel({ path: synth.path, contextSize: 256, embedding: true });
    try {
      const texts = ["the cat sat on the mat", "the cat sat on the mat", "quantum field theory"];
      const {
        embeddings: [a, b, c],
        promptTokens,
      } = await emb.embed(texts);
      expect(promptTokens).toBe(texts.reduce((n, t) => n + emb.tokenize(t).length + 1, 0));
      expect(a).toHaveLength(synth.dims.nEmbd);
      const dot = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * y[i], 0);
      expect(dot(a, a)).toBeCloseTo(1, 6);
      expect(dot(c, c)).toBeCloseTo(1, 6);
      expect(dot(a, b)).toBeCloseTo(1, 6);
      expect(dot(a, c)).toBeLessThan(0.999);
      expect((await rejection(emb.generate("x"))).code).toBe("RFX_BAD_REQUEST");

      // Longer than the context: refused, or with truncate cut from the end to what the context takes (the BOS it
      // adds counted), so texts that differ only past the cut embed alike.
      const long = Array.from({ length: 200 }, (_, i) => `word${i}`).join(" ");
      expect((await rejection(emb.embed([long]))).code).toBe("RFX_CONTEXT_OVERFLOW");
      const cut = await emb.embed([long, `${long} and a different ending`], { truncate: true });
      expect(cut.promptTokens).toBe(2 * 255);
      expect(dot(cut.embeddings[0], cut.embeddings[1])).toBeCloseTo(1, 6);
    } finally {
      await emb.dispose();
    }
  });

  it("disposes safely with a generation in flight and refuses work afterwards", async () => {
    const doomed = await engine.loadModel({ path: synth.path, contextSize: 2048 });
    let disposing: Promise<void> | undefined;
    const r = await doomed.generate("keep going", {
      maxTokens: 1500,
      onText: () => {
        disposing ??= doomed.dispose();
      },
    });
    await disposing;
    expect(r.finishReason).toBe("cancelled");
    expect(r.completionTokens).toBeLessThan(1500);
    expect((await rejection(doomed.generate("again"))).code).toBe("RFX_NOT_READY");
    await doomed.dispose(); // idempotent
  });
});
