import { describe, expect, it } from "vitest";
import type { LoadedModel, ModelInfo } from "../../engine/types.ts";
import { isReflexiaError } from "../../errors/index.ts";
import { registerEmbedderConformance } from "./embedder-conformance.ts";
import { createLlamaEmbedder, type EmbeddingModel } from "./llama-embedder.ts";

/**
 * A stand-in for a LoadedModel loaded with embedding: true: mean-pools pseudo-random token vectors (what a
 * mean-pooling model does, minus the transformer), returns unnormalised vectors and records its batches.
 */
function fakeEmbeddingModel(dim = 48): EmbeddingModel & { batches: number[]; disposed: boolean } {
  const tokenVec = (tok: string) => {
    let h = 2166136261;
    for (const ch of tok) h = Math.imul(h ^ ch.codePointAt(0)!, 16777619);
    const v: number[] = [];
    for (let i = 0; i < dim; i++) {
      h = Math.imul(h ^ (h >>> 15), 2246822507) ^ i;
      v.push(((h >>> 0) / 2 ** 32) * 2 - 1);
    }
    return v;
  };
  const info: ModelInfo = {
    architecture: "fake",
    parameterCount: 0,
    trainContextSize: 512,
    fileType: "f32",
    sizeBytes: 0,
    embeddingSize: dim,
    vocabSize: 0,
  };
  const m = {
    path: "/models/fake-embed.gguf",
    info,
    batches: [] as number[],
    disposed: false,
    async embed(texts: string[]) {
      m.batches.push(texts.length);
      const embeddings = texts.map((t) => {
        const toks = t.toLowerCase().split(/\s+/).filter(Boolean);
        if (toks.length === 0) throw new Error("cannot embed an empty sequence");
        const acc = new Array(dim).fill(0);
        for (const tok of toks) tokenVec(tok).forEach((x, i) => (acc[i] += x * 3));
        return acc;
      });
      return { embeddings, promptTokens: 0 };
    },
    async dispose() {
      m.disposed = true;
    },
  };
  return m;
}

registerEmbedderConformance("llama adapter over a fake LoadedModel", async () =>
  createLlamaEmbedder(fakeEmbeddingModel(), { batchSize: 3 }),
);

describe("createLlamaEmbedder", () => {
  it("takes its dimension from the model, names itself after the file and batches calls", async () => {
    const model = fakeEmbeddingModel(32);
    const e = createLlamaEmbedder(model, { batchSize: 4 });
    expect(e.dim).toBe(32);
    expect(e.id).toBe("gguf:fake-embed.gguf");
    await e.embed(Array.from({ length: 10 }, (_, i) => `text ${i}`));
    expect(model.batches).toEqual([4, 4, 2]);
  });

  it("never sends empty texts to the model", async () => {
    const model = fakeEmbeddingModel();
    const vs = await createLlamaEmbedder(model).embed(["", "hello world", " "]);
    expect(model.batches).toEqual([1]);
    expect(vs).toHaveLength(3);
  });

  it("wraps model failures and wrong shapes as RFX_ENGINE", async () => {
    const model = fakeEmbeddingModel(8);
    const broken: EmbeddingModel = {
      ...model,
      embed: async (t) => ({ embeddings: t.map(() => [1, 2, 3]), promptTokens: 0 }),
    };
    await expect(createLlamaEmbedder(broken).embed(["x"])).rejects.toSatisfy(
      (e) => isReflexiaError(e) && e.code === "RFX_ENGINE",
    );
    const failing: EmbeddingModel = {
      ...model,
      embed: async () => {
        throw new Error("boom");
      },
    };
    await expect(createLlamaEmbedder(failing).embed(["x"])).rejects.toSatisfy(
      (e) => isReflexiaError(e) && e.code === "RFX_ENGINE" && /boom/.test(e.message),
    );
  });

  it("disposes the model only when it owns it", async () => {
    const a = fakeEmbeddingModel();
    await createLlamaEmbedder(a).dispose!();
    expect(a.disposed).toBe(false);
    const b = fakeEmbeddingModel();
    await createLlamaEmbedder(b, { ownsModel: true }).dispose!();
    expect(b.disposed).toBe(true);
  });
});

// Type-level check that a real LoadedModel is accepted.
export const acceptsLoadedModel = (m: LoadedModel) => createLlamaEmbedder(m);
