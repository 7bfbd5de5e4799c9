// Maps configuration keys (rag.*, vector_db.*, server.upload_limit_bytes, home) to createRagService options.
import { join } from "node:path";
import type { Config } from "../../config/index.ts";
import { createHashEmbedder, type RagServiceOptions } from "../../rag/index.ts";

/** Where the embedded vector database lives under REFLEXIA_HOME. */
export function ragStoreDir(home: string): string {
  return join(home, "rag", "lancedb");
}

/**
 * Options from config. The embedder is the built-in one when `rag.embedding_model` is "builtin"; for a model
 * name the caller loads that model (embedding: true) and passes `createLlamaEmbedder(model)` instead, since
 * loading models is the scheduler's job, not the RAG layer's.
 */
export function ragOptionsFromConfig(
  config: Pick<Config, "home" | "rag" | "vector_db" | "server">,
): RagServiceOptions & { embeddingModel: string } {
  return {
    dir: ragStoreDir(config.home),
    chunkSize: config.rag.chunk_size,
    chunkOverlap: config.rag.chunk_overlap,
    topK: config.rag.similarity_top_k,
    hybrid: config.rag.hybrid,
    annThreshold: config.rag.ann_threshold,
    memoryIndex: { maxBytes: config.rag.memory_index_max_bytes, quantization: config.rag.memory_index_quantization },
    distance: config.vector_db.distance_metric,
    maxBytes: config.server.upload_limit_bytes,
    watchIntervalMs: config.rag.watch_interval_ms,
    embeddingModel: config.rag.embedding_model,
    ...(config.rag.embedding_model === "builtin"
      ? { embedder: createHashEmbedder({ dim: config.vector_db.embedding_dim }) }
      : {}),
  };
}
