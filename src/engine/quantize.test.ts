import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getLlama, LlamaCompletion, LlamaLogLevel } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QUANTIZATIONS } from "../config/index.ts";
import { estimateModelBytes, readGgufHeader, writeSyntheticModel } from "../gguf/index.ts";
import { quantizeModel } from "./quantize.ts";

let dir: string;
let f16: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rfx-quantize-"));
  f16 = join(dir, "tiny-f16.gguf");
  await writeSyntheticModel({ path: f16, shape: "tiny" });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const leftovers = async () => (await readdir(dir)).filter((f) => f.includes(".partial-"));

describe("quantizeModel", () => {
  it.each(QUANTIZATIONS)(
    "writes a %s file that reads back with that file type, at the estimated size",
    async (type) => {
      const output = join(dir, `tiny-${type}.gguf`);
      const progress: number[] = [];
      await quantizeModel({ input: f16, output, type, threads: 1, onProgress: (n) => progress.push(n) });
      const h = await readGgufHeader(output);
      expect(h.fileType).toBe(type);
      expect(h.fileSizeBytes).toBe(estimateModelBytes("tiny", type));
      expect(progress.at(-1)).toBe(h.tensorCount);
      if (type === "q4_0") expect(h.tensors.find((t) => t.name === "output.weight")?.typeName).toBe("q6_K");
      if (type === "q4_k_m")
        expect(new Set(h.tensors.map((t) => t.typeName))).toEqual(new Set(["f32", "q4_K", "q6_K"]));
      expect(await leftovers()).toEqual([]);
    },
  );

  it("keeps the event loop running while llama.cpp works", async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    try {
      await quantizeModel({ input: f16, output: join(dir, "tick.gguf"), type: "q8_0", threads: 1 });
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(0);
  });

  it("produces a q4_0 model that loads and generates in node-llama-cpp", async () => {
    const output = join(dir, "gen-q4_0.gguf");
    await quantizeModel({ input: f16, output, type: "q4_0" });
    const warnings: string[] = [];
    const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.warn, logger: (_l, m) => warnings.push(m) });
    const model = await llama.loadModel({ modelPath: output });
    try {
      const context = await model.createContext({ contextSize: 256 });
      const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
      let tokens = 0;
      await completion.generateCompletion("Hello world", {
        maxTokens: 6,
        temperature: 0,
        onToken: (t) => (tokens += t.length),
      });
      expect(tokens).toBeGreaterThan(0);
      await context.dispose();
      expect(warnings).toEqual([]);
    } finally {
      await model.dispose();
      await llama.dispose();
    }
  });

  it("rejects bad input with a code before any native call", async () => {
    const out = join(dir, "never.gguf");
    await expect(quantizeModel({ input: join(dir, "missing.gguf"), output: out, type: "q4_0" })).rejects.toMatchObject({
      code: "RFX_NOT_FOUND",
    });
    const text = join(dir, "text.gguf");
    await writeFile(text, "not a model at all\n");
    await expect(quantizeModel({ input: text, output: out, type: "q4_0" })).rejects.toMatchObject({
      code: "RFX_INVALID_GGUF",
    });
    await expect(quantizeModel({ input: f16, output: out, type: "q3_bogus" as never })).rejects.toMatchObject({
      code: "RFX_VALIDATION",
    });
    await expect(
      quantizeModel({ input: f16, output: join(dir, "no-such-dir", "x.gguf"), type: "q4_0" }),
    ).rejects.toMatchObject({ code: "RFX_VALIDATION" });
    const q = join(dir, "src-q4_0.gguf");
    await quantizeModel({ input: f16, output: q, type: "q4_0" });
    await expect(quantizeModel({ input: q, output: out, type: "q8_0" })).rejects.toThrow("already q4_0");
    expect((await readdir(dir)).includes("never.gguf")).toBe(false);
  });

  it("stops on abort and leaves no partial file", async () => {
    const ac = new AbortController();
    const p = quantizeModel({ input: f16, output: join(dir, "aborted.gguf"), type: "q4_0", signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: "RFX_CANCELLED" });
    expect(await leftovers()).toEqual([]);
    expect((await readdir(dir)).includes("aborted.gguf")).toBe(false);
  });
});
