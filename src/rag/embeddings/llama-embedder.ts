// Adapts a GGUF embedding model loaded through the Engine contract (LoadedModel with embedding: true) to Embedder.
import { ReflexiaError } from "../../errors/index.ts";
import type { LoadedModel } from "../../engine/types.ts";
import { l2Normalize, type Embedder } from "./embedder.ts";

export interface LlamaEmbedderOptions {
  /** Identity of the vector space; defaults to "gguf:<file name>". Use the model's name and tag when known. */
  id?: string;
  /** Texts sent to the model per call. Defaults to 16. */
  batchSize?: number;
  /** Dispose the model when the embedder is disposed. Defaults to false (the caller owns the model). */
  ownsModel?: boolean;
}

/** The parts of LoadedModel an embedder needs; a LoadedModel loaded with `embedding: true` satisfies it. */
export type EmbeddingModel = Pick<LoadedModel, "path" | "info" | "embed" | "dispose">;

export function createLlamaEmbedder(model: EmbeddingModel, options: LlamaEmbedderOptions = {}): Embedder {
  const dim = model.info.embeddingSize;
  if (!Number.isInteger(dim) || dim <= 0)
    throw new ReflexiaError("RFX_ENGINE", `model ${model.path} reports no embedding size`);
  const batchSize = Math.max(1, options.batchSize ?? 16);
  const fileName = model.path.split(/[\\/]/).pop() ?? model.path;
  return {
    id: options.id ?? `gguf:${fileName}`,
    dim,
    async embed(texts: string[]): Promise<Float32Array[]> {
      const out: Float32Array[] = new Array(texts.length);
      // Empty texts never reach the model: they have no tokens to pool and get the zero vector instead.
      const pending: number[] = [];
      texts.forEach((t, i) => {
        if (t.trim() === "") out[i] = new Float32Array(dim);
        else pending.push(i);
      });
      for (let b = 0; b < pending.length; b += batchSize) {
        const idx = pending.slice(b, b + batchSize);
        let vectors: number[][];
        try {
          vectors = (await model.embed(idx.map((i) => texts[i]))).embeddings;
        } catch (e) {
          throw new ReflexiaError(
            "RFX_ENGINE",
            `embedding with ${fileName} failed: ${(e as Error).message}`,
            undefined,
            { cause: e },
          );
        }
        if (vectors.length !== idx.length)
          throw new ReflexiaError("RFX_ENGINE", `model returned ${vectors.length} embeddings for ${idx.length} texts`);
        vectors.forEach((v, k) => {
          if (v.length !== dim)
            throw new ReflexiaError("RFX_ENGINE", `model returned a ${v.length}-d embedding, expected ${dim}`);
          // Re-normalised here so every Embedder honours the contract whatever pooling the engine used.
          out[idx[k]] = l2Normalize(Float32Array.from(v));
        });
      }
      return out;
    },
    async dispose() {
      if (options.ownsModel) await model.dispose();
    },
  };
}
