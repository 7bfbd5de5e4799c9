import { describe, expect, it } from "vitest";
import { estimateMemoryBreakdown, estimateModelBytes, plannedTensorType } from "./estimate-size.ts";
import { GGML_TYPE } from "./ggml-types.ts";
import { MODEL_SHAPES, countParameters } from "./shapes.ts";

const GiB = 2 ** 30;

describe("estimateModelBytes", () => {
  it("puts a 7B q4_0 within 5 % of the 3.56 GiB llama.cpp reports", () => {
    const size = estimateModelBytes("7b", "q4_0");
    expect(Math.abs(size / GiB - 3.56) / 3.56).toBeLessThan(0.05);
  });

  it("puts a 7B q4_k_m near the 3.80 GiB of published LLaMA-2-7B Q4_K_M files", () => {
    expect(Math.abs(estimateModelBytes("7b", "q4_k_m") / GiB - 3.8) / 3.8).toBeLessThan(0.05);
  });

  it("orders sizes by bits per weight", () => {
    const s = (q: string) => estimateModelBytes("small", q);
    expect(s("q4_0")).toBeLessThan(s("q4_k_m"));
    expect(s("q4_k_m")).toBeLessThan(s("q5_k_m"));
    expect(s("q5_k_m")).toBeLessThan(s("q8_0"));
    expect(s("q8_0")).toBeLessThan(s("f16"));
    expect(s("f16")).toBeGreaterThan(2 * countParameters(MODEL_SHAPES.small));
  });

  it("rejects unknown quantizations with RFX_VALIDATION", () => {
    expect(() => estimateModelBytes("tiny", "q3_weird")).toThrow(expect.objectContaining({ code: "RFX_VALIDATION" }));
  });
});

describe("plannedTensorType (llama.cpp llama_tensor_get_type)", () => {
  const d = MODEL_SHAPES["7b"];
  it("gives output.weight q6_K for q4_0 and keeps q8_0 for q8_0", () => {
    expect(plannedTensorType("output.weight", [4096, 32000], d, "q4_0")).toBe(GGML_TYPE.Q6_K);
    expect(plannedTensorType("output.weight", [4096, 32000], d, "q8_0")).toBe(GGML_TYPE.Q8_0);
    expect(plannedTensorType("token_embd.weight", [4096, 32000], d, "q4_0")).toBe(GGML_TYPE.Q4_0);
  });
  it("bumps attn_v and ffn_down of the first, last and every third layer to q6_K for q4_k_m", () => {
    const types = Array.from({ length: 32 }, (_, i) =>
      plannedTensorType(`blk.${i}.ffn_down.weight`, [11008, 4096], d, "q4_k_m"),
    );
    const bumped = types.flatMap((t, i) => (t === GGML_TYPE.Q6_K ? [i] : []));
    expect(bumped).toEqual([0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31]);
    expect(plannedTensorType("blk.5.attn_q.weight", [4096, 4096], d, "q4_k_m")).toBe(GGML_TYPE.Q4_K);
  });
  it("falls back when rows are not whole 256-blocks (OpenLLaMA-3B's n_embd 3200)", () => {
    const d3 = MODEL_SHAPES["3b"];
    expect(plannedTensorType("blk.5.attn_q.weight", [3200, 3200], d3, "q4_k_m")).toBe(GGML_TYPE.Q5_0);
    expect(plannedTensorType("output.weight", [3200, 32000], d3, "q4_0")).toBe(GGML_TYPE.Q8_0);
  });
});

describe("estimateMemoryBreakdown", () => {
  it("counts an f16 KV cache of 2·n_layer·n_ctx·n_embd_kv·2 bytes", () => {
    const m = estimateMemoryBreakdown("7b", "q4_0", 4096);
    expect(m.kvCacheBytes).toBe(2 * 32 * 4096 * 4096 * 2);
    expect(m.weightsBytes).toBe(estimateModelBytes("7b", "q4_0"));
    expect(m.totalBytes).toBe(m.weightsBytes + m.repackBytes + m.kvCacheBytes + m.computeBytes);
    // grouped-query attention shrinks the cache: TinyLlama has 4 of 32 KV heads
    expect(estimateMemoryBreakdown("1b", "q4_0", 2048).kvCacheBytes).toBe(2 * 22 * 2048 * 256 * 2);
  });
  it("matches the buffers node-llama-cpp 3.21.1 reported for the small shape at q4_0, 4096 cells", () => {
    const MiB = 2 ** 20;
    const m = estimateMemoryBreakdown("small", "q4_0", 4096);
    expect(m.kvCacheBytes / MiB).toBe(192);
    expect(Math.abs(m.repackBytes / MiB - 77.62)).toBeLessThan(0.5);
    expect(Math.abs(m.computeBytes / MiB - (66.5 + 0.12))).toBeLessThan(3);
    expect(estimateMemoryBreakdown("small", "f16", 4096).repackBytes).toBe(0);
  });
  it("rejects a non-positive context size", () => {
    expect(() => estimateMemoryBreakdown("tiny", "q4_0", 0)).toThrow(
      expect.objectContaining({ code: "RFX_VALIDATION" }),
    );
  });
});
