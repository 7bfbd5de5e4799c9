// The native engine's unified KV pool and prefix cache on a real (tiny synthetic) model: reuse must not change
// output, must count what it saved, and must survive concurrency, eviction and cancellation.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isReflexiaError } from "../src/errors/index.ts";
import { writeSyntheticModel } from "../src/gguf/index.ts";
import { createNativeEngine, type NativeEngine, type NativeLoadedModel } from "../src/engine/native/native-engine.ts";

let dir: string;
let modelPath: string;
let cached: NativeEngine;
let plain: NativeEngine;

const SYSTEM = "You are a careful assistant who answers questions about the weather in short sentences. ".repeat(6);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "rfx-prefix-"));
  modelPath = join(dir, "tiny-f16.gguf");
  await writeSyntheticModel({ path: modelPath, shape: "tiny", seed: 7 });
  // "always": every llama_decode holds one sequence, so a sequence's numbers never depend on its neighbours and the
  // only difference between the two engines is the reuse itself.
  cached = createNativeEngine({ threads: 1, prefixCache: true, batchSplit: "always" });
  plain = createNativeEngine({ threads: 1, prefixCache: false, batchSplit: "always" });
});

afterAll(async () => {
  await cached?.dispose();
  await plain?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function load(engine: NativeEngine, parallel: number, contextSize: number): Promise<NativeLoadedModel> {
  return engine.loadModel({ path: modelPath, parallel, contextSize });
}

describe("prefix cache", () => {
  it("cachePrompt false (llama-server's cache_prompt: false) evaluates the whole prompt, same output", async () => {
    const on = await load(cached, 2, 1024);
    try {
      const prompt = `${SYSTEM}\nUser: Is it windy?\nAssistant:`;
      const opts = { maxTokens: 8, temperature: 0, ignoreEos: true };
      const first = await on.generate(prompt, opts);
      const whole = await on.generate(prompt, { ...opts, cachePrompt: false });
      expect(whole.cachedPromptTokens).toBe(0);
      expect(whole.text).toBe(first.text);
      // Two at once: the second takes no prefix from the running first one either.
      const [a, b] = await Promise.all([
        on.generate(`${prompt} Yes`, opts),
        on.generate(`${prompt} No`, { ...opts, cachePrompt: false }),
      ]);
      expect(a.cachedPromptTokens).toBeGreaterThan(0);
      expect(b.cachedPromptTokens).toBe(0);
      // What it left in the cache serves the next request as usual.
      const after = await on.generate(prompt, opts);
      expect(after.cachedPromptTokens).toBe(after.promptTokens - 1);
      expect(after.text).toBe(first.text);
    } finally {
      await on.dispose();
    }
  });

  it("gives the same fixed-seed output with reuse on and off, and evaluates only the new tokens", async () => {
    const on = await load(cached, 2, 1024);
    const off = await load(plain, 2, 1024);
    try {
      const turns = ["What is the weather like?", "And tomorrow?", "Will it rain on Sunday?"];
      let history = SYSTEM;
      for (const [i, q] of turns.entries()) {
        history += `\nUser: ${q}\nAssistant:`;
        for (const temperature of [0, 0.9]) {
          const opts = { maxTokens: 12, seed: 99 + i, temperature, ignoreEos: true };
          const a = await on.generate(history, opts);
          const b = await off.generate(history, opts);
          expect(a.text).toBe(b.text);
          expect(b.cachedPromptTokens).toBe(0);
          // Turn 1 at temperature 0 is the first sight of the prompt; everything after reuses a prefix.
          if (i > 0 || temperature > 0) expect(a.cachedPromptTokens).toBeGreaterThan(0);
          expect(a.cachedPromptTokens).toBeLessThan(a.promptTokens);
        }
        history += (await off.generate(history, { maxTokens: 12, seed: 1, temperature: 0, ignoreEos: true })).text;
      }
      // The same prompt twice: the second time all but its last token come from the cache.
      await on.generate(history, { maxTokens: 4, temperature: 0, ignoreEos: true });
      const again = await on.generate(history, { maxTokens: 4, temperature: 0, ignoreEos: true });
      expect(again.cachedPromptTokens).toBe(again.promptTokens - 1);
      const stats = on.stats();
      expect(stats.cachedPromptTokens).toBeGreaterThan(0);
    } finally {
      await on.dispose();
      await off.dispose();
    }
  });

  it("fills a flash-attention tile with cached tokens: same fixed-seed output, the refilled tokens not counted as cached", async () => {
    // "always" fills whenever the cache allows ("auto" only where its cost model expects a gain, deep caches); the
    // other engine never fills. A turn of fewer than 64 new tokens after a long history: the filled batch holds 64.
    const filling = createNativeEngine({ threads: 1, prefixCache: true, batchSplit: "always", tileFill: "always" });
    const never = createNativeEngine({ threads: 1, prefixCache: true, batchSplit: "always", tileFill: "never" });
    const a = await filling.loadModel({ path: modelPath, parallel: 2, contextSize: 1024 });
    const b = await never.loadModel({ path: modelPath, parallel: 2, contextSize: 1024 });
    try {
      let history = `${SYSTEM}\nUser: What is the weather like?\nAssistant:`;
      for (const m of [a, b]) await m.generate(history, { maxTokens: 4, seed: 5, temperature: 0, ignoreEos: true });
      history += "\nUser: And?\nAssistant:";
      for (const temperature of [0, 0.9]) {
        const opts = { maxTokens: 12, seed: 11, temperature, ignoreEos: true };
        const filled = await a.generate(history, opts);
        const plainTurn = await b.generate(history, opts);
        expect(filled.text).toBe(plainTurn.text);
        const fresh = plainTurn.promptTokens - (plainTurn.cachedPromptTokens ?? 0);
        expect(fresh).toBeLessThan(64);
        // The new turn's tokens; at temperature 0.9 (the same prompt again) only the last prompt token.
        if (temperature === 0) expect(fresh).toBeGreaterThan(4);
        expect(filled.promptTokens - (filled.cachedPromptTokens ?? 0)).toBe(64);
      }
      expect(a.stats().tileFills).toBe(2);
      expect(b.stats().tileFills).toBe(0);
    } finally {
      await a.dispose();
      await b.dispose();
      await filling.dispose();
      await never.dispose();
    }
  });

  it("parks an idle cache in host memory while another conversation runs, and restores it for its next turn", async () => {
    // Greedy, without tile fill: the restored cells may sit in another order in the pool than a fresh evaluation's,
    // and ggml's flash attention sums cells in pool order (per-row path: f16 accumulators), so sampled output may
    // differ in the last bits' consequences; a KV that came back wrong changes the greedy text.
    // Not batchSplit "always": that mode keeps idle caches in place (it promises each sequence its output alone).
    const parking = createNativeEngine({ threads: 1, prefixCache: true, tileFill: "never" });
    const on = await load(parking, 2, 1024);
    const off = await load(plain, 2, 1024);
    try {
      const a = `${SYSTEM}\nUser: What is the weather like in Oslo?\nAssistant:`;
      const b = `Another conversation entirely. ${SYSTEM}\nUser: And in Rome?\nAssistant:`;
      const opts = { maxTokens: 8, temperature: 0, ignoreEos: true };
      const run = async (m: NativeLoadedModel) => {
        const a1 = await m.generate(a, opts);
        const b1 = await m.generate(b, opts); // A's cache is parked while B runs
        const a2 = await m.generate(`${a}${a1.text}\nUser: And tomorrow?\nAssistant:`, opts); // restored
        const b2 = await m.generate(`${b}${b1.text}\nUser: Sunny?\nAssistant:`, opts);
        return [a1, b1, a2, b2];
      };
      const before = on.stats();
      const [withParking, plainRuns] = [await run(on), await run(off)];
      expect(withParking.map((r) => r.text)).toEqual(plainRuns.map((r) => r.text));
      const after = on.stats();
      expect(after.cacheParks - before.cacheParks).toBeGreaterThanOrEqual(2);
      expect(after.cacheRestores - before.cacheRestores).toBe(2);
      // The restored turns evaluated only what follows their conversation's cached prefix.
      for (const r of [withParking[2], withParking[3]])
        expect(r.cachedPromptTokens).toBeGreaterThan(r.promptTokens / 2);
    } finally {
      await on.dispose();
      await off.dispose();
      await parking.dispose();
    }
  });

  it("lets one request use the whole context of a unified pool: 3,000-token prompt + 1,000 tokens, 4096 / 4", async () => {
    const m = await load(cached, 4, 4096);
    try {
      expect(m.sequenceContextSize).toBe(4096);
      let prompt = "";
      while (m.tokenize(prompt).length < 2999) prompt += "the quick brown fox jumps over the lazy dog ";
      const ids = m.tokenize(prompt).slice(0, 2999);
      prompt = m.detokenize(ids);
      const promptTokens = m.tokenize(prompt).length + 1;
      expect(promptTokens).toBeGreaterThanOrEqual(2990);
      const r = await m.generate(prompt, { maxTokens: 1000, temperature: 0, ignoreEos: true });
      expect(r.finishReason).toBe("length");
      expect(r.completionTokens).toBe(1000);
      // A request that can never fit fails by name, and a smaller per-request limit (num_ctx) is honoured.
      const e = await m.generate(prompt + prompt, { maxTokens: 4 }).catch((x: unknown) => x);
      expect(isReflexiaError(e) && e.code).toBe("RFX_CONTEXT_OVERFLOW");
      const small = await m.generate("Once upon a time", { maxTokens: 100, contextSize: 20, ignoreEos: true });
      expect(small.promptTokens + small.completionTokens).toBe(20);
      expect(small.finishReason).toBe("length");
    } finally {
      await m.dispose();
    }
  }, 300_000);

  it("survives reuse while another sequence decodes, eviction mid-queue and cancellation during a reused prompt", async () => {
    // 3 sequences in a 256-token pool and ~100-token prompts that share nothing: a prompt waits while others hold
    // the cells, and a cached prompt's KV is evicted (LRU) for another while its own next request is still queued.
    const m = await load(cached, 3, 256);
    try {
      const long = (k: number) => m.detokenize(m.tokenize(`${"abcdefgh"[k]} ${k} ${SYSTEM}`).slice(0, 100));
      const runner = m.generate("A long story begins", { maxTokens: 120, ignoreEos: true, temperature: 0.7 });
      const reused: Promise<unknown>[] = [];
      for (let k = 0; k < 6; k++) reused.push(m.generate(long(k % 3), { maxTokens: 16, ignoreEos: true }));
      // Cancel one whose prompt is mostly cached, while it waits or runs.
      const ac = new AbortController();
      const cancelled = m.generate(long(1), { maxTokens: 64, ignoreEos: true, signal: ac.signal });
      setTimeout(() => ac.abort(), 5);
      const results = await Promise.all([runner, cancelled, ...reused]);
      expect((results[0] as { completionTokens: number }).completionTokens).toBe(120);
      expect(["cancelled", "length"]).toContain((results[1] as { finishReason: string }).finishReason);
      for (const r of results.slice(2)) expect((r as { completionTokens: number }).completionTokens).toBe(16);
      expect(m.stats().prefixCacheEvictions).toBeGreaterThan(0);
      // The engine still answers correctly after all that.
      const after = await m.generate(long(2), { maxTokens: 8, temperature: 0, ignoreEos: true });
      expect(after.completionTokens).toBe(8);
    } finally {
      await m.dispose();
    }
  }, 120_000);

  it("serves 64 requests sharing one system prompt on 8 sequences", async () => {
    const m = await load(cached, 8, 4096);
    try {
      const rs = await Promise.all(
        Array.from({ length: 64 }, (_, i) =>
          m.generate(`${SYSTEM}\nUser: question number ${i}?\nAssistant:`, { maxTokens: 6, ignoreEos: true, seed: i }),
        ),
      );
      for (const r of rs) expect(r.completionTokens).toBe(6);
      const reusedCount = rs.filter((r) => (r.cachedPromptTokens ?? 0) > 0).length;
      expect(reusedCount).toBeGreaterThanOrEqual(56);
    } finally {
      await m.dispose();
    }
  }, 300_000);

  it("evaluates a prompt once for concurrent requests that share it (n > 1), with the same fixed-seed output", async () => {
    const on = await load(cached, 4, 2048);
    const off = await load(plain, 4, 2048);
    try {
      const prompt = `${SYSTEM}\nUser: Describe the sky.\nAssistant:`;
      const run = (m: NativeLoadedModel) =>
        Promise.all(
          [0, 1, 2, 3].map((i) =>
            m.generate(prompt, { maxTokens: 10, seed: 40 + i, temperature: 0.9, ignoreEos: true }),
          ),
        );
      const before = on.stats().sharedPrefixes;
      const [shared, alone] = [await run(on), await run(off)];
      expect(shared.map((r) => r.text)).toEqual(alone.map((r) => r.text));
      // The first evaluates the prompt; the other three take all of it but the last token from its sequence.
      const cachedCounts = shared.map((r) => r.cachedPromptTokens ?? 0).sort((a, b) => a - b);
      expect(cachedCounts).toEqual([
        0,
        shared[0].promptTokens - 1,
        shared[0].promptTokens - 1,
        shared[0].promptTokens - 1,
      ]);
      expect(on.stats().sharedPrefixes - before).toBe(3);
      // A leader cancelled mid-prompt: its followers evaluate the prompt themselves and still answer.
      const ac = new AbortController();
      const other = `${SYSTEM.repeat(3)}\nUser: and the sea?\nAssistant:`;
      const lead = on.generate(other, { maxTokens: 10, ignoreEos: true, signal: ac.signal });
      const followers = [1, 2].map((i) => on.generate(other, { maxTokens: 10, seed: i, ignoreEos: true }));
      setTimeout(() => ac.abort(), 1);
      const [l, ...f] = await Promise.all([lead, ...followers]);
      expect(["cancelled", "length"]).toContain(l.finishReason);
      for (const r of f) expect(r.completionTokens).toBe(10);
    } finally {
      await on.dispose();
      await off.dispose();
    }
  }, 120_000);
});
