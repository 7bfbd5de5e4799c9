// The table of every configuration key: one zod object whose leaves carry the key's environment variable, default
// and description. The Config type, the key list, the defaults and the allowed-value lists all come from here.
import { homedir } from "node:os";
import { resolve } from "node:path";
import { z } from "zod";

export const QUANTIZATIONS = ["q4_0", "q4_k_m", "q5_k_m", "q8_0", "f16"] as const;
export type Quantization = (typeof QUANTIZATIONS)[number];
export const ENGINE_BACKENDS = ["auto", "native", "node-llama-cpp"] as const;
export type EngineBackend = (typeof ENGINE_BACKENDS)[number];
export const DISTANCE_METRICS = ["ip", "cosine", "l2"] as const;
export type DistanceMetric = (typeof DISTANCE_METRICS)[number];
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** How the in-memory RAG index stores vectors (see src/rag/store/memory-index.ts). */
export const MEMORY_INDEX_QUANTIZATIONS = ["int8", "none"] as const;
export type MemoryIndexQuantization = (typeof MEMORY_INDEX_QUANTIZATIONS)[number];
/** GPU=…: which compute backend runs the layers (the native engine; see src/engine/gpu). */
export const GPU_MODES = ["auto", "cuda", "vulkan", "off"] as const;
export type GpuMode = (typeof GPU_MODES)[number];
/** GPU_LAYERS=…: "auto" fits layers to free VRAM, "max" offloads every layer, or an exact count. */
export const GPU_LAYER_MODES = ["auto", "max"] as const;
export type GpuLayersSetting = (typeof GPU_LAYER_MODES)[number] | number;
/** CONTEXT_OVERFLOW=…: what a request whose prompt plus max_tokens exceeds its context gets. */
export const CONTEXT_OVERFLOW_POLICIES = ["truncate", "error"] as const;
export type ContextOverflowPolicy = (typeof CONTEXT_OVERFLOW_POLICIES)[number];
/** How many waiting prompts one decode step of the native engine evaluates (scheduler.prompt_split). */
export const PROMPT_SPLIT_MODES = ["auto", "never", "always"] as const;
export type PromptSplitMode = (typeof PROMPT_SPLIT_MODES)[number];

// Each helper returns a fresh schema: a key's metadata is registered on its own schema instance.
const bool = () =>
  z.preprocess((v) => {
    if (typeof v === "string") {
      const s = v.trim().toLowerCase();
      if (["true", "1", "yes", "on"].includes(s)) return true;
      if (["false", "0", "no", "off"].includes(s)) return false;
    }
    return v;
  }, z.boolean());
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const num = (min: number, max: number) => z.coerce.number().min(min).max(max);
const str = () => z.string();
const httpUrl = () => str().refine((s) => /^https?:\/\//i.test(s) && URL.canParse(s), "must be an http(s) URL");
const strList = () =>
  z.preprocess(
    (v) =>
      typeof v === "string"
        ? v
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean)
        : v,
    z.array(z.string()),
  );
/** A comma-separated env value becomes numbers; `[0.3,0.6]`, the way `reflexia config` prints it, is read too. */
const numList = <S extends z.ZodType>(schema: S) =>
  z.preprocess(
    (v) =>
      typeof v === "string"
        ? v
            .trim()
            .replace(/^\[(.*)\]$/s, "$1")
            .split(",")
            .map(Number)
        : v,
    schema,
  );
/** An env value holds JSON; text that is not JSON stays a string, so the schema refuses it with a message. */
const jsonList = <S extends z.ZodType>(item: S) =>
  z.preprocess((v) => {
    if (typeof v !== "string") return v;
    try {
      return JSON.parse(v) as unknown;
    } catch {
      return v;
    }
  }, z.array(item));

/** GPU_LAYERS: "auto", "max" or a whole number (from the environment as text). */
const gpuLayers = () =>
  z.preprocess(
    (v) =>
      typeof v === "string" && /^\s*\d+\s*$/.test(v) ? Number(v) : typeof v === "string" ? v.trim().toLowerCase() : v,
    z.union([z.enum(GPU_LAYER_MODES), z.number().int().min(0).max(100_000)], {
      error: 'expected "auto", "max" or a whole number of layers (0 or more)',
    }),
  );

function expandHome(p: string): string {
  return p === "~" || p.startsWith("~/") ? resolve(homedir(), p.slice(2)) : resolve(p);
}

export interface KeyMeta {
  /** Environment variable overriding the file. */
  env: string;
  default: unknown;
  description: string;
}

const keyMeta = z.registry<KeyMeta>();

/** Marks `schema` as a configuration key; the default is checked against what the schema produces. */
function key<S extends z.ZodType>(schema: S, env: string, dflt: z.output<S>, description: string): S {
  const registered: z.ZodType = schema;
  keyMeta.add(registered, { env, default: dflt, description });
  return schema;
}

/** Every key, nested as in the config file and the Config object. */
export const CONFIG_SCHEMA = z.object({
  home: key(
    str().transform(expandHome),
    "REFLEXIA_HOME",
    "~/.reflexia",
    "Directory holding the model store, vector database and other data.",
  ),
  server: z.object({
    host: key(str(), "HOST", "127.0.0.1", "Address the API server listens on."),
    port: key(int(0, 65535), "PORT", 8000, "Port of the OpenAI/Ollama-compatible API and web UI."),
    metrics_port: key(int(0, 65535), "METRICS_PORT", 9090, "Port of the separate Prometheus /metrics listener."),
    drain_timeout_seconds: key(
      int(0, 3600),
      "DRAIN_TIMEOUT_SECONDS",
      25,
      "Seconds a SIGTERM/SIGINT waits for running requests before ending them (keep it under the orchestrator's grace period).",
    ),
    body_limit_bytes: key(
      int(1024, 1 << 30),
      "BODY_LIMIT_BYTES",
      4 * 1024 * 1024,
      "Largest accepted JSON request body in bytes.",
    ),
    upload_limit_bytes: key(
      int(1024, 1 << 30),
      "UPLOAD_LIMIT_BYTES",
      20 * 1024 * 1024,
      "Largest accepted document upload in bytes.",
    ),
    max_prompt_chars: key(
      int(1, 1 << 30),
      "MAX_PROMPT_CHARS",
      1_000_000,
      "Largest accepted prompt (or sum of messages) in characters.",
    ),
    cors_origins: key(strList(), "CORS_ORIGINS", [], "Allowed CORS origins (comma-separated); empty disables CORS."),
    rate_limit_per_minute: key(
      int(0, 1_000_000),
      "RATE_LIMIT_PER_MINUTE",
      0,
      "Requests per minute per client on API routes; 0 disables rate limiting.",
    ),
  }),
  client: z.object({
    host: key(
      str().refine((s) => s === "" || (/^https?:\/\//i.test(s) && URL.canParse(s)), "must be an http(s) URL or empty"),
      "REFLEXIA_HOST",
      "",
      "Server the CLI talks to (generate, chat, run, docs, models, ps, …); empty means http://127.0.0.1:<server.port>. When none answers the CLI runs embedded; --local always does.",
    ),
    connect_timeout_ms: key(
      int(50, 60_000),
      "REFLEXIA_CONNECT_TIMEOUT_MS",
      800,
      "How long the CLI waits for the server to answer its probe before running embedded.",
    ),
  }),
  auth: z.object({
    enabled: key(
      bool(),
      "ENABLE_AUTH",
      false,
      "Require an API key (Authorization: Bearer or X-API-Key) on every route but the probes and the web UI's files, and on /metrics.",
    ),
    api_key: key(str(), "API_KEY", "", "The API key accepted when auth is enabled."),
    keys_file: key(
      str(),
      "API_KEYS_FILE",
      "",
      "File with one accepted API key per line, either `name:key` (usage is counted under the name) or a bare key (counted as key-N, its line number).",
    ),
    quotas: key(
      jsonList(
        z.strictObject({
          key: z.string().min(1),
          tokens: z.number().int().min(1).optional(),
          requests: z.number().int().min(1).optional(),
          window_seconds: z
            .number()
            .int()
            .min(1)
            .max(31 * 86_400)
            .default(86_400),
        }),
      ),
      "API_KEY_QUOTAS",
      [],
      "Per-key quotas: [{key: <key name>, tokens?, requests?, window_seconds (default 86400)}]; past either limit in the current window the key gets 429 + Retry-After (the window's end) on the routes that run a model (generation and embeddings); other routes stay open.",
    ),
  }),
  usage: z.object({
    log_max_bytes: key(
      int(1024, 1 << 30),
      "USAGE_LOG_MAX_BYTES",
      16 * 1024 * 1024,
      "Size at which the per-key usage log ($REFLEXIA_HOME/usage/usage.log, one JSON line per request) is rotated to usage.log.1.",
    ),
    log_keep_files: key(
      int(0, 1000),
      "USAGE_LOG_KEEP_FILES",
      5,
      "Rotated usage logs kept (usage.log.1 … usage.log.N); older ones are deleted.",
    ),
    max_key_labels: key(
      int(1, 10_000),
      "USAGE_MAX_KEY_LABELS",
      50,
      'Distinct key names the per-key metrics carry; further names are counted under key="other" (bounded label cardinality).',
    ),
  }),
  remote: z.object({
    models: key(
      jsonList(
        z.strictObject({
          name: z.string().min(1),
          tag: z.string().min(1),
          urls: z.array(z.string().url()).min(1),
          upstream_model: z.string().min(1),
          quantization: z.string().optional(),
          api_key_file: z.string().optional(),
          api_key_env: z.string().optional(),
          timeout_seconds: z.number().min(0.1).max(3600).optional(),
          request_timeout_seconds: z.number().min(1).max(86_400).optional(),
          max_concurrent: z.number().int().min(1).max(4096).optional(),
          extra_body: z.record(z.string(), z.unknown()).optional(),
        }),
      ),
      "REFLEXIA_REMOTE_MODELS",
      [],
      "Remote variants declared in config: [{name, tag, urls: [OpenAI-compatible base URLs], upstream_model, quantization?, api_key_file? | api_key_env?, timeout_seconds?, request_timeout_seconds?, max_concurrent?, extra_body? (fields added to every upstream request)}]; listed with the stored models, kind remote.",
    ),
    timeout_seconds: key(
      num(0.1, 3600),
      "REMOTE_TIMEOUT",
      60,
      "Default seconds a remote endpoint may take to send the first byte of its answer; past it the attempt counts as a timeout (and is retried on another endpoint).",
    ),
    request_timeout_seconds: key(
      num(1, 86_400),
      "REMOTE_REQUEST_TIMEOUT",
      600,
      "Default seconds a whole request to a remote endpoint may take.",
    ),
    max_concurrent: key(
      int(1, 4096),
      "REMOTE_MAX_CONCURRENT",
      8,
      "Default requests in flight per remote endpoint; a remote variant runs endpoints × this at once (beyond, requests queue).",
    ),
    health_interval_seconds: key(
      num(0.05, 3600),
      "REMOTE_HEALTH_INTERVAL",
      5,
      "Seconds between active health checks (GET <base>/models) of each remote endpoint.",
    ),
    eject_base_seconds: key(
      num(0.01, 3600),
      "REMOTE_EJECT_SECONDS",
      1,
      "First ejection of a failing endpoint (connection error, 5xx, timeout) lasts this long, doubling on each further failure up to 60× (backoff); a passing health check restores it.",
    ),
  }),
  embeddings: z.object({
    max_inputs: key(
      int(1, 1_000_000),
      "EMBED_MAX_INPUTS",
      2048,
      "Most texts one embeddings request (/v1/embeddings, /api/embed) may carry; beyond it the request is refused with 413.",
    ),
    batch_size: key(
      int(1, 4096),
      "EMBED_BATCH_SIZE",
      8,
      "Texts embedded per turn on the engine: a long embeddings request yields between batches, so another request waits at most one batch, and a disconnect stops it at the next batch.",
    ),
  }),
  registry: z.object({
    pull_read_timeout_seconds: key(
      num(1, 86_400),
      "PULL_READ_TIMEOUT",
      30,
      "A model pull fails (keeping its partial file for a resume) when a window of this many seconds brings less than registry.pull_min_bytes_per_second per second: a server that stalls or trickles cannot hold a pull forever.",
    ),
    pull_min_bytes_per_second: key(
      int(0, 1 << 30),
      "PULL_MIN_SPEED",
      1024,
      "Slowest average rate (bytes/s) over each registry.pull_read_timeout_seconds window that a pull accepts; 0 fails only on a full stall.",
    ),
    ollama_base_url: key(
      httpUrl(),
      "OLLAMA_REGISTRY_URL",
      "https://registry.ollama.ai",
      "Base URL of the Ollama registry that `reflexia pull NAME` and /api/pull use for names without a host (`llama3.2:1b`, `user/model:tag`); speaks the registry protocol (GET /v2/<namespace>/<model>/manifests/<tag>, blobs by digest).",
    ),
    huggingface_base_url: key(
      httpUrl(),
      "HF_REGISTRY_URL",
      "https://hf.co",
      "Base URL that `hf.co/OWNER/REPO:QUANT` (and `huggingface.co/…`) names are pulled from, by the same registry protocol Hugging Face serves for Ollama.",
    ),
  }),
  models: z.object({
    default: key(str(), "DEFAULT_MODEL", "reflexia-tiny", "Model used when a request names none."),
    default_quantization: key(
      z.enum(QUANTIZATIONS),
      "DEFAULT_QUANTIZATION",
      "q4_0",
      "Variant used when adaptive quantization is off or a request names a model without tag.",
    ),
    context_size: key(
      int(128, 1 << 20),
      "CONTEXT_SIZE",
      4096,
      "Context window (tokens) of each loaded variant: one KV pool shared by its parallel sequences, of which any one request may use all (or its own num_ctx when smaller); when the pool is full new requests wait in the queue.",
    ),
    context_overflow: key(
      z.enum(CONTEXT_OVERFLOW_POLICIES),
      "CONTEXT_OVERFLOW",
      "truncate",
      "A request whose prompt plus max_tokens exceeds its context: truncate drops the oldest non-system chat messages until it fits (as Ollama does), then lowers a max_tokens the client did not set, and says so in the response (`reflexia.context`); error refuses it with a 400 naming the limit.",
    ),
    prefix_cache: key(
      bool(),
      "PREFIX_CACHE",
      true,
      "Keep a finished sequence's KV cache and reuse the longest common token prefix of the next prompt (llama-server's cache_prompt): a chat's next turn evaluates only its new tokens. Idle cached KV is evicted least recently used before any active request is refused cells.",
    ),
    default_max_tokens: key(
      int(1, 1 << 20),
      "DEFAULT_MAX_TOKENS",
      1024,
      "Tokens generated at most when a request sets no limit (max_tokens / num_predict); always capped by the context.",
    ),
    keep_alive_seconds: key(
      int(-1, 1 << 30),
      "KEEP_ALIVE",
      300,
      "Seconds an idle variant stays loaded; -1 keeps it forever, 0 unloads after each request.",
    ),
  }),
  scheduler: z.object({
    parallel: key(
      int(0, 256),
      "PARALLEL",
      0,
      "Sequences decoded together per loaded variant; 0 picks from the available cores.",
    ),
    queue_size: key(
      int(0, 100_000),
      "QUEUE_SIZE",
      64,
      "Requests that may wait for a sequence; beyond it requests get 503 + Retry-After.",
    ),
    max_loaded_variants: key(
      int(1, 64),
      "MAX_LOADED_VARIANTS",
      3,
      "Most variants kept loaded at once (LRU eviction beyond).",
    ),
    prompt_split: key(
      z.enum(PROMPT_SPLIT_MODES),
      "PROMPT_SPLIT",
      "auto",
      "Native engine: how many waiting prompts one decode step evaluates. Prompts evaluated together all get their first token when the whole batch is done; auto takes at least half of the waiting prompt rows and leaves the rest to the next step when the measured costs say the requests wait less in sum that way, never leaving a prompt twice (on the CPU a burst goes in two steps: its first half answers sooner, the rest one call later, a few per cent less throughput in bursts), never takes as many as the batch holds (llama-server's way), always one per step.",
    ),
  }),
  engine: z.object({
    backend: key(
      z.enum(ENGINE_BACKENDS),
      "ENGINE",
      "auto",
      "Inference backend: the native decode loop (addon built by npm ci), node-llama-cpp's binding, or auto (native when its addon loads).",
    ),
  }),
  gpu: z.object({
    backend: key(
      z.enum(GPU_MODES),
      "GPU",
      "auto",
      "GPU backend of the native engine: auto (CUDA when a CUDA device and driver are present, else Vulkan on a real GPU, else CPU), cuda, vulkan, or off (CPU only). The choice and its reason are in the log, /api/status and `reflexia doctor`.",
    ),
    layers: key(
      gpuLayers(),
      "GPU_LAYERS",
      "auto",
      "Layers offloaded to the GPU: auto (as many as fit free VRAM with their KV cache, within MAX_VRAM_PERCENT and a safety margin), max (all; refused when they do not fit), or a count (the output layer counts as one, as in llama.cpp's -ngl).",
    ),
  }),
  performance: z.object({
    thread_pool_size: key(
      int(0, 1024),
      "THREAD_POOL_SIZE",
      0,
      "llama.cpp decode threads; 0 picks a measured default from the cores available (cgroup quota included).",
    ),
  }),
  adaptive: z.object({
    enabled: key(
      bool(),
      "ENABLE_ADAPTIVE_QUANTIZATION",
      true,
      "Choose the quantization variant per request from prompt complexity and memory pressure.",
    ),
    hysteresis: key(
      num(0, 1),
      "ADAPTIVE_HYSTERESIS",
      0.08,
      "Complexity margin a score must cross beyond a threshold before the chosen variant changes.",
    ),
    thresholds: key(
      numList(z.tuple([num(0, 1), num(0, 1)])),
      "COMPLEXITY_THRESHOLDS",
      [0.3, 0.6],
      "Complexity scores separating low|medium and medium|high.",
    ),
    quality_floor: key(
      numList(z.tuple([num(0, 1), num(0, 1), num(0, 1)])),
      "ADAPTIVE_QUALITY_FLOOR",
      [0, 0.9, 0.97],
      "Least measured top-1 agreement with the model's reference variant (`reflexia benchmark --test quality`) a variant needs to serve low, medium and high complexity; one measured below it gives way to the next more precise stored variant measured at or above it. Unmeasured variants keep the static order.",
    ),
  }),
  memory: z.object({
    max_memory_percent: key(
      num(1, 100),
      "MAX_MEMORY_PERCENT",
      80,
      "Memory budget as a percent of the effective limit (cgroup limit or system memory).",
    ),
    max_vram_percent: key(
      num(1, 100),
      "MAX_VRAM_PERCENT",
      90,
      "VRAM budget as a percent of the GPU devices' total memory: what Reflexia's loaded variants may hold together; a load also never takes more than the devices' free memory minus a safety margin.",
    ),
  }),
  cache: z.object({
    enabled: key(bool(), "ENABLE_RESPONSE_CACHE", true, "Cache responses of deterministic requests."),
    size: key(int(0, 10_000_000), "RESPONSE_CACHE_SIZE", 1000, "Entries kept in the response cache (LRU)."),
    deterministic_only: key(
      bool(),
      "CACHE_DETERMINISTIC_ONLY",
      true,
      "Cache only requests with temperature 0 or an explicit seed.",
    ),
  }),
  rag: z.object({
    similarity_top_k: key(int(1, 100), "RAG_SIMILARITY_TOP_K", 3, "Chunks retrieved per RAG query."),
    chunk_size: key(int(16, 8192), "RAG_CHUNK_SIZE", 512, "Chunk length in tokens."),
    chunk_overlap: key(int(0, 4096), "RAG_CHUNK_OVERLAP", 50, "Tokens shared by consecutive chunks."),
    watch_interval_ms: key(
      int(0, 3_600_000),
      "RAG_WATCH_INTERVAL_MS",
      2000,
      "How often the server looks for documents another process (reflexia --local docs …) added to or deleted from the store, so it lists, searches and counts them; 0 turns it off.",
    ),
    embedding_model: key(
      str(),
      "RAG_EMBEDDING_MODEL",
      "builtin",
      "Embedder: 'builtin' (offline hashed features) or a model name in the store.",
    ),
    ann_threshold: key(
      int(0, 1 << 30),
      "RAG_ANN_THRESHOLD",
      20000,
      "Chunk count past which an ANN (HNSW) index is built; exact search below (exact keeps hit@3 higher with the built-in embedder).",
    ),
    memory_index_max_bytes: key(
      int(0, 2 ** 50),
      "RAG_MEMORY_INDEX_MAX_BYTES",
      1 << 30,
      "Memory the in-memory search index of the stored chunks may use (vectors, BM25 postings, chunk text; about 7 KB per 512-token chunk of 384-d vectors); searches run there while it fits, in LanceDB (exact, or HNSW past rag.ann_threshold) beyond. 0 turns it off. Its size is in /api/status and reflexia_rag_memory_index_bytes.",
    ),
    memory_index_quantization: key(
      z.enum(MEMORY_INDEX_QUANTIZATIONS),
      "RAG_MEMORY_INDEX_QUANTIZATION",
      "int8",
      "int8: a first pass over an int8 copy of the vectors picks 64 candidates that float32 re-ranks exactly (fastest; 25% more vector memory); none: one float32 pass.",
    ),
    hybrid: key(bool(), "RAG_HYBRID", true, "Fuse vector and full-text (BM25) results with reciprocal rank fusion."),
  }),
  vector_db: z.object({
    embedding_dim: key(int(8, 8192), "VECTOR_DB_EMBEDDING_DIM", 384, "Dimension of the built-in embedder's vectors."),
    distance_metric: key(
      z.enum(DISTANCE_METRICS),
      "VECTOR_DB_DISTANCE_METRIC",
      "ip",
      "Vector distance: inner product, cosine or L2.",
    ),
  }),
  roles: z.object({
    custom: key(
      jsonList(
        z.object({
          id: z.string().min(1),
          name: z.string().min(1),
          category: z.string().default("custom"),
          system_prompt: z.string().min(1),
        }),
      ),
      "REFLEXIA_CUSTOM_ROLES",
      [],
      "Extra expert roles: [{id, name, category, system_prompt}].",
    ),
  }),
  ui: z.object({
    grafana_url: key(
      str().refine((s) => s === "" || (/^https?:\/\//i.test(s) && URL.canParse(s)), "must be an http(s) URL or empty"),
      "GRAFANA_URL",
      "",
      "Grafana dashboard URL the web UI's metrics view links to (http or https); empty hides the link.",
    ),
  }),
  log: z.object({
    level: key(z.enum(LOG_LEVELS), "LOG_LEVEL", "info", "Server log level."),
    debug: key(
      bool(),
      "REFLEXIA_DEBUG",
      false,
      "Print the stack trace of a failed CLI command (it prints only the message otherwise).",
    ),
  }),
});

/** The validated, frozen configuration every layer reads. */
export type Config = z.output<typeof CONFIG_SCHEMA>;

export interface KeyDef extends KeyMeta {
  /** Dotted path in the config file and in the frozen Config object. */
  key: string;
  schema: z.ZodType;
}

function collectKeys(shape: Record<string, z.ZodType>, prefix: string): KeyDef[] {
  return Object.entries(shape).flatMap(([name, schema]) => {
    const path = prefix + name;
    const meta = keyMeta.get(schema);
    if (meta) return [{ key: path, schema, ...meta }];
    if (schema instanceof z.ZodObject) return collectKeys(schema.shape, `${path}.`);
    throw new Error(`config: ${path} is neither a key nor a section`);
  });
}

/** Every key flat, in table order: dotted path, env name, schema, default, description. */
export const CONFIG_KEYS: readonly KeyDef[] = Object.freeze(collectKeys(CONFIG_SCHEMA.shape, ""));
