// The table of every configuration key: config-file path, environment variable, schema, default and description.
import { z } from "zod";

export const QUANTIZATIONS = ["q4_0", "q4_k_m", "q5_k_m", "q8_0", "f16"] as const;
export type Quantization = (typeof QUANTIZATIONS)[number];

/** How the in-memory RAG index stores vectors (see src/rag/store/memory-index.ts). */
export const MEMORY_INDEX_QUANTIZATIONS = ["int8", "none"] as const;
export type MemoryIndexQuantization = (typeof MEMORY_INDEX_QUANTIZATIONS)[number];

const bool = z.preprocess((v) => {
  if (typeof v === "string") {
    const s = v.trim().toLowerCase();
    if (["true", "1", "yes", "on"].includes(s)) return true;
    if (["false", "0", "no", "off"].includes(s)) return false;
  }
  return v;
}, z.boolean());
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const num = (min: number, max: number) => z.coerce.number().min(min).max(max);
const str = z.string();
const strList = z.preprocess(
  (v) => (typeof v === "string" ? v.split(",").map((s) => s.trim()).filter(Boolean) : v),
  z.array(z.string()),
);

export interface KeyDef {
  /** Dotted path in the config file and in the frozen Config object. */
  key: string;
  /** Environment variable overriding the file. */
  env: string;
  schema: z.ZodType;
  default: unknown;
  description: string;
}

export const CONFIG_KEYS: readonly KeyDef[] = [
  { key: "home", env: "REFLEXIA_HOME", schema: str, default: "~/.reflexia", description: "Directory holding the model store, vector database and other data." },
  { key: "server.host", env: "HOST", schema: str, default: "127.0.0.1", description: "Address the API server listens on." },
  { key: "server.port", env: "PORT", schema: int(0, 65535), default: 8000, description: "Port of the OpenAI/Ollama-compatible API and web UI." },
  { key: "server.metrics_port", env: "METRICS_PORT", schema: int(0, 65535), default: 9090, description: "Port of the separate Prometheus /metrics listener." },
  { key: "server.body_limit_bytes", env: "BODY_LIMIT_BYTES", schema: int(1024, 1 << 30), default: 4 * 1024 * 1024, description: "Largest accepted JSON request body in bytes." },
  { key: "server.upload_limit_bytes", env: "UPLOAD_LIMIT_BYTES", schema: int(1024, 1 << 30), default: 20 * 1024 * 1024, description: "Largest accepted document upload in bytes." },
  { key: "server.max_prompt_chars", env: "MAX_PROMPT_CHARS", schema: int(1, 1 << 30), default: 1_000_000, description: "Largest accepted prompt (or sum of messages) in characters." },
  { key: "server.cors_origins", env: "CORS_ORIGINS", schema: strList, default: [], description: "Allowed CORS origins (comma-separated); empty disables CORS." },
  { key: "server.rate_limit_per_minute", env: "RATE_LIMIT_PER_MINUTE", schema: int(0, 1_000_000), default: 0, description: "Requests per minute per client on API routes; 0 disables rate limiting." },
  { key: "auth.enabled", env: "ENABLE_AUTH", schema: bool, default: false, description: "Require an API key (Authorization: Bearer or X-API-Key) on API routes." },
  { key: "auth.api_key", env: "API_KEY", schema: str, default: "", description: "The API key accepted when auth is enabled." },
  { key: "auth.keys_file", env: "API_KEYS_FILE", schema: str, default: "", description: "File with one accepted API key per line." },
  { key: "models.default", env: "DEFAULT_MODEL", schema: str, default: "reflexia-tiny", description: "Model used when a request names none." },
  { key: "models.default_quantization", env: "DEFAULT_QUANTIZATION", schema: z.enum(QUANTIZATIONS), default: "q4_0", description: "Variant used when adaptive quantization is off or a request names a model without tag." },
  { key: "models.context_size", env: "CONTEXT_SIZE", schema: int(128, 1 << 20), default: 4096, description: "Context window (tokens) of each loaded variant, shared by its parallel sequences." },
  { key: "models.default_max_tokens", env: "DEFAULT_MAX_TOKENS", schema: int(1, 1 << 20), default: 1024, description: "Tokens generated at most when a request sets no limit (max_tokens / num_predict); always capped by the context." },
  { key: "models.keep_alive_seconds", env: "KEEP_ALIVE", schema: int(-1, 1 << 30), default: 300, description: "Seconds an idle variant stays loaded; -1 keeps it forever, 0 unloads after each request." },
  { key: "scheduler.parallel", env: "PARALLEL", schema: int(0, 256), default: 0, description: "Sequences decoded together per loaded variant; 0 picks from the available cores." },
  { key: "scheduler.queue_size", env: "QUEUE_SIZE", schema: int(0, 100_000), default: 64, description: "Requests that may wait for a sequence; beyond it requests get 503 + Retry-After." },
  { key: "scheduler.max_loaded_variants", env: "MAX_LOADED_VARIANTS", schema: int(1, 64), default: 3, description: "Most variants kept loaded at once (LRU eviction beyond)." },
  { key: "engine.backend", env: "ENGINE", schema: z.enum(["auto", "native", "node-llama-cpp"]), default: "auto", description: "Inference backend: the native decode loop (addon built by npm ci), node-llama-cpp's binding, or auto (native when its addon loads)." },
  { key: "performance.thread_pool_size", env: "THREAD_POOL_SIZE", schema: int(0, 1024), default: 0, description: "llama.cpp decode threads; 0 picks a measured default from the cores available (cgroup quota included)." },
  { key: "adaptive.enabled", env: "ENABLE_ADAPTIVE_QUANTIZATION", schema: bool, default: true, description: "Choose the quantization variant per request from prompt complexity and memory pressure." },
  { key: "adaptive.hysteresis", env: "ADAPTIVE_HYSTERESIS", schema: num(0, 1), default: 0.08, description: "Complexity margin a score must cross beyond a threshold before the chosen variant changes." },
  { key: "adaptive.thresholds", env: "COMPLEXITY_THRESHOLDS", schema: z.preprocess((v) => (typeof v === "string" ? v.split(",").map(Number) : v), z.tuple([num(0, 1), num(0, 1)])), default: [0.3, 0.6], description: "Complexity scores separating low|medium and medium|high." },
  { key: "memory.max_memory_percent", env: "MAX_MEMORY_PERCENT", schema: num(1, 100), default: 80, description: "Memory budget as a percent of the effective limit (cgroup limit or system memory)." },
  { key: "cache.enabled", env: "ENABLE_RESPONSE_CACHE", schema: bool, default: true, description: "Cache responses of deterministic requests." },
  { key: "cache.size", env: "RESPONSE_CACHE_SIZE", schema: int(0, 10_000_000), default: 1000, description: "Entries kept in the response cache (LRU)." },
  { key: "cache.deterministic_only", env: "CACHE_DETERMINISTIC_ONLY", schema: bool, default: true, description: "Cache only requests with temperature 0 or an explicit seed." },
  { key: "rag.similarity_top_k", env: "RAG_SIMILARITY_TOP_K", schema: int(1, 100), default: 3, description: "Chunks retrieved per RAG query." },
  { key: "rag.chunk_size", env: "RAG_CHUNK_SIZE", schema: int(16, 8192), default: 512, description: "Chunk length in tokens." },
  { key: "rag.chunk_overlap", env: "RAG_CHUNK_OVERLAP", schema: int(0, 4096), default: 50, description: "Tokens shared by consecutive chunks." },
  { key: "rag.embedding_model", env: "RAG_EMBEDDING_MODEL", schema: str, default: "builtin", description: "Embedder: 'builtin' (offline hashed features) or a model name in the store." },
  { key: "rag.ann_threshold", env: "RAG_ANN_THRESHOLD", schema: int(0, 1 << 30), default: 20000, description: "Chunk count past which an ANN (HNSW) index is built; exact search below (exact keeps hit@3 higher with the built-in embedder)." },
  { key: "rag.memory_index_max_bytes", env: "RAG_MEMORY_INDEX_MAX_BYTES", schema: int(0, 2 ** 50), default: 1 << 30, description: "Memory the in-memory search index of the stored chunks may use (vectors, BM25 postings, chunk text; about 7 KB per 512-token chunk of 384-d vectors); searches run there while it fits, in LanceDB (exact, or HNSW past rag.ann_threshold) beyond. 0 turns it off. Its size is in /api/status and reflexia_rag_memory_index_bytes." },
  { key: "rag.memory_index_quantization", env: "RAG_MEMORY_INDEX_QUANTIZATION", schema: z.enum(MEMORY_INDEX_QUANTIZATIONS), default: "int8", description: "int8: a first pass over an int8 copy of the vectors picks 64 candidates that float32 re-ranks exactly (fastest; 25% more vector memory); none: one float32 pass." },
  { key: "rag.hybrid", env: "RAG_HYBRID", schema: bool, default: true, description: "Fuse vector and full-text (BM25) results with reciprocal rank fusion." },
  { key: "vector_db.embedding_dim", env: "VECTOR_DB_EMBEDDING_DIM", schema: int(8, 8192), default: 384, description: "Dimension of the built-in embedder's vectors." },
  { key: "vector_db.distance_metric", env: "VECTOR_DB_DISTANCE_METRIC", schema: z.enum(["ip", "cosine", "l2"]), default: "ip", description: "Vector distance: inner product, cosine or L2." },
  { key: "roles.custom", env: "REFLEXIA_CUSTOM_ROLES", schema: z.preprocess((v) => (typeof v === "string" ? JSON.parse(v) : v), z.array(z.object({ id: z.string().min(1), name: z.string().min(1), category: z.string().default("custom"), system_prompt: z.string().min(1) }))), default: [], description: "Extra expert roles: [{id, name, category, system_prompt}]." },
  { key: "log.level", env: "LOG_LEVEL", schema: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]), default: "info", description: "Server log level." },
];
