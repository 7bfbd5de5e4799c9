// Retrieval-augmented generation: extraction, chunking, embeddings, vector store, ingest and retrieval.
export * from "./types.ts";
export * from "./extract/index.ts";
export * from "./chunking/index.ts";
export { type Embedder, l2Normalize, toFloat32, dot } from "./embeddings/embedder.ts";
export { createHashEmbedder, type HashEmbedderOptions } from "./embeddings/hash-embedder.ts";
export { createLlamaEmbedder, type LlamaEmbedderOptions, type EmbeddingModel } from "./embeddings/llama-embedder.ts";
export * from "./store/vector-store.ts";
export { openLanceDbStore, type LanceDbStoreOptions } from "./store/lancedb-store.ts";
export { createMemoryStore, type MemoryStoreOptions } from "./store/memory-store.ts";
export * from "./retrieve/index.ts";
export {
  createRagService,
  INGEST_STATUSES,
  type IngestManyItem,
  type IngestManyOptions,
  type IngestInput,
  type IngestResult,
  type IngestStatus,
  type RagObserver,
  type RagQueryOptions,
  type RagQueryResult,
  type RagResult,
  type RagService,
  type RagServiceOptions,
  type RagStats,
} from "./create-rag-service.ts";
