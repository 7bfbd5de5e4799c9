import { createHash } from "node:crypto";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getLlama, LlamaCompletion, LlamaLogLevel } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { estimateModelBytes } from "./estimate-size.ts";
import { readGgufHeader } from "./read-gguf.ts";
import { countParameters, MODEL_SHAPES, type ModelDims } from "./shapes.ts";
import { TOKEN_TYPE } from "./synthetic-vocab.ts";
import { writeSyntheticModel } from "./write-synthetic-model.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rfx-synth-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha = async (p: string) =>
  createHash("sha256")
    .update(await readFile(p))
    .digest("hex");

describe("writeSyntheticModel", () => {
  it("is deterministic for a seed and differs across seeds", async () => {
    const a = await writeSyntheticModel({ path: join(dir, "a.gguf"), shape: "tiny", seed: 7 });
    const b = await writeSyntheticModel({ path: join(dir, "b.gguf"), shape: "tiny", seed: 7 });
    const c = await writeSyntheticModel({ path: join(dir, "c.gguf"), shape: "tiny", seed: 8 });
    expect(await sha(a.path)).toBe(await sha(b.path));
    expect(await sha(a.path)).not.toBe(await sha(c.path));
    expect((await readdir(dir)).filter((f) => f.includes(".partial-"))).toEqual([]);
  });

  it("writes exactly the bytes the estimator predicts, in f16 and f32", async () => {
    for (const dtype of ["f16", "f32"] as const) {
      const info = await writeSyntheticModel({ path: join(dir, `t-${dtype}.gguf`), shape: "tiny", dtype });
      const h = await readGgufHeader(info.path);
      expect(h.fileSizeBytes).toBe(info.sizeBytes);
      expect(h.fileType).toBe(dtype);
      expect(h.parameterCount).toBe(countParameters(MODEL_SHAPES.tiny));
      expect(h.tensors.filter((t) => t.dims.length === 2).every((t) => t.typeName === dtype)).toBe(true);
      if (dtype === "f16") expect(info.sizeBytes).toBe(estimateModelBytes("tiny", "f16"));
    }
  });

  it("stores small random weights and unit norms", async () => {
    const info = await writeSyntheticModel({ path: join(dir, "w.gguf"), shape: "tiny", dtype: "f32" });
    const h = await readGgufHeader(info.path);
    const file = await readFile(info.path);
    const at = (name: string) => {
      const t = h.tensors.find((x) => x.name === name)!;
      const start = h.dataOffset + t.offset;
      return new Float32Array(file.buffer.slice(file.byteOffset + start, file.byteOffset + start + t.sizeBytes));
    };
    expect([...at("blk.0.attn_norm.weight")].every((v) => v === 1)).toBe(true);
    const w = at("blk.1.ffn_up.weight");
    const mean = w.reduce((s, v) => s + v, 0) / w.length;
    const std = Math.sqrt(w.reduce((s, v) => s + (v - mean) ** 2, 0) / w.length);
    expect(Math.abs(mean)).toBeLessThan(0.002);
    expect(std).toBeGreaterThan(0.018);
    expect(std).toBeLessThan(0.022);
  });

  it("writes the SPM vocabulary llama.cpp needs: <unk>, <s>, </s>, 256 byte tokens, ▁", async () => {
    const info = await writeSyntheticModel({ path: join(dir, "v.gguf"), shape: "tiny" });
    const h = await readGgufHeader(info.path, { maxArrayLength: 1e6 });
    const tokens = h.metadata["tokenizer.ggml.tokens"] as string[];
    const types = h.metadata["tokenizer.ggml.token_type"] as number[];
    expect(tokens).toHaveLength(MODEL_SHAPES.tiny.nVocab);
    expect(new Set(tokens).size).toBe(tokens.length);
    expect(types.slice(0, 3)).toEqual([TOKEN_TYPE.UNKNOWN, TOKEN_TYPE.CONTROL, TOKEN_TYPE.CONTROL]);
    const bytes = tokens.flatMap((t, i) => (types[i] === TOKEN_TYPE.BYTE ? [t] : []));
    expect(bytes).toHaveLength(256);
    expect(bytes[0]).toBe("<0x00>");
    expect(bytes[255]).toBe("<0xFF>");
    expect(types[tokens.indexOf("\u2581")]).toBe(TOKEN_TYPE.NORMAL);
    expect(h.metadata["tokenizer.chat_template"]).toContain("<|im_start|>");
    expect(h.metadata["tokenizer.ggml.fim_pre_token_id"]).toBeUndefined();
  });

  it("with fim, names the last three pieces as FIM tokens and makes them control tokens; nothing else changes", async () => {
    const n = MODEL_SHAPES.tiny.nVocab;
    const plain = await readGgufHeader((await writeSyntheticModel({ path: join(dir, "p.gguf") })).path, {
      maxArrayLength: 1e6,
    });
    const h = await readGgufHeader((await writeSyntheticModel({ path: join(dir, "f.gguf"), fim: true })).path, {
      maxArrayLength: 1e6,
    });
    expect(["pre", "suf", "mid"].map((k) => h.metadata[`tokenizer.ggml.fim_${k}_token_id`])).toEqual([
      n - 3,
      n - 2,
      n - 1,
    ]);
    const types = h.metadata["tokenizer.ggml.token_type"] as number[];
    const plainTypes = plain.metadata["tokenizer.ggml.token_type"] as number[];
    expect(types.slice(n - 3)).toEqual([TOKEN_TYPE.CONTROL, TOKEN_TYPE.CONTROL, TOKEN_TYPE.CONTROL]);
    expect(types.slice(0, n - 3)).toEqual(plainTypes.slice(0, n - 3));
    expect(h.metadata["tokenizer.ggml.tokens"]).toEqual(plain.metadata["tokenizer.ggml.tokens"]);
  });

  it("rejects impossible dims with RFX_VALIDATION", async () => {
    const bad: ModelDims = { ...MODEL_SHAPES.tiny, nHead: 3 };
    await expect(writeSyntheticModel({ path: join(dir, "bad.gguf"), shape: bad })).rejects.toMatchObject({
      code: "RFX_VALIDATION",
    });
    await expect(
      writeSyntheticModel({ path: join(dir, "bad.gguf"), shape: { ...MODEL_SHAPES.tiny, nVocab: 100 } }),
    ).rejects.toThrow("nVocab");
  });

  it("loads and generates in node-llama-cpp with no warnings, and text round-trips through the tokenizer", async () => {
    const info = await writeSyntheticModel({ path: join(dir, "gen.gguf"), shape: "tiny" });
    const warnings: string[] = [];
    const llama = await getLlama({
      gpu: false,
      logLevel: LlamaLogLevel.warn,
      logger: (level, message) => {
        if (level === LlamaLogLevel.warn || level === LlamaLogLevel.error) warnings.push(message);
      },
    });
    const model = await llama.loadModel({ modelPath: info.path });
    try {
      expect(model.getWarnings()).toEqual([]);
      for (const s of ["Hello world", " leading space", "héllo wörld ✓ 日本語\n\ttabs", "<|im_start|> as text"]) {
        expect(model.detokenize(model.tokenize(s))).toBe(s);
      }
      const context = await model.createContext({ contextSize: 256 });
      const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
      let generated = 0;
      await completion.generateCompletion("Hello world", {
        maxTokens: 8,
        temperature: 0,
        onToken: (t) => (generated += t.length),
      });
      expect(generated).toBeGreaterThan(0);
      await context.dispose();
      expect(warnings).toEqual([]);
    } finally {
      await model.dispose();
      await llama.dispose();
    }
  });
});
