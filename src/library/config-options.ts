// Generated from src/config/keys.ts by `npm run gen:options` (src/library/render-config-options.ts); do not edit.
// The library's configuration options: every key of the config table, nested as in the config file.
import type { Config } from "../config/index.ts";

/** Configuration keys given in code; each wins over the environment and the config file. */
export interface ReflexiaConfigOptions {
  /**
   * Directory holding the model store, vector database and other data.
   *
   * Defaults to `"~/.reflexia"` (config file `home`, environment `REFLEXIA_HOME`).
   */
  home?: Config["home"];
  /** The `server.*` keys. */
  server?: {
    /**
     * Address the API server listens on.
     *
     * Defaults to `"127.0.0.1"` (config file `server.host`, environment `HOST`).
     */
    host?: Config["server"]["host"];
    /**
     * Port of the OpenAI/Ollama-compatible API and web UI.
     *
     * Defaults to `8000` (config file `server.port`, environment `PORT`).
     */
    port?: Config["server"]["port"];
    /**
     * Port of the separate Prometheus /metrics listener.
     *
     * Defaults to `9090` (config file `server.metrics_port`, environment `METRICS_PORT`).
     */
    metrics_port?: Config["server"]["metrics_port"];
    /**
     * Seconds a SIGTERM/SIGINT waits for running requests before ending them (keep it under the orchestrator's
     * grace period).
     *
     * Defaults to `25` (config file `server.drain_timeout_seconds`, environment `DRAIN_TIMEOUT_SECONDS`).
     */
    drain_timeout_seconds?: Config["server"]["drain_timeout_seconds"];
    /**
     * Largest accepted JSON request body in bytes.
     *
     * Defaults to `4194304` (config file `server.body_limit_bytes`, environment `BODY_LIMIT_BYTES`).
     */
    body_limit_bytes?: Config["server"]["body_limit_bytes"];
    /**
     * Largest accepted document upload in bytes.
     *
     * Defaults to `20971520` (config file `server.upload_limit_bytes`, environment `UPLOAD_LIMIT_BYTES`).
     */
    upload_limit_bytes?: Config["server"]["upload_limit_bytes"];
    /**
     * Largest accepted prompt (or sum of messages) in characters.
     *
     * Defaults to `1000000` (config file `server.max_prompt_chars`, environment `MAX_PROMPT_CHARS`).
     */
    max_prompt_chars?: Config["server"]["max_prompt_chars"];
    /**
     * Allowed CORS origins (comma-separated); empty disables CORS.
     *
     * Defaults to `[]` (config file `server.cors_origins`, environment `CORS_ORIGINS`).
     */
    cors_origins?: Config["server"]["cors_origins"];
    /**
     * Requests per minute per client on API routes; 0 disables rate limiting.
     *
     * Defaults to `0` (config file `server.rate_limit_per_minute`, environment `RATE_LIMIT_PER_MINUTE`).
     */
    rate_limit_per_minute?: Config["server"]["rate_limit_per_minute"];
  };
  /** The `client.*` keys. */
  client?: {
    /**
     * Server the CLI talks to (generate, chat, run, docs, models, ps, …); empty means
     * http://127.0.0.1:<server.port>. When none answers the CLI runs embedded; --local always does.
     *
     * Defaults to `""` (config file `client.host`, environment `REFLEXIA_HOST`).
     */
    host?: Config["client"]["host"];
    /**
     * How long the CLI waits for the server to answer its probe before running embedded.
     *
     * Defaults to `800` (config file `client.connect_timeout_ms`, environment `REFLEXIA_CONNECT_TIMEOUT_MS`).
     */
    connect_timeout_ms?: Config["client"]["connect_timeout_ms"];
  };
  /** The `auth.*` keys. */
  auth?: {
    /**
     * Require an API key (Authorization: Bearer or X-API-Key) on every route but the probes and the web UI's files,
     * and on /metrics.
     *
     * Defaults to `false` (config file `auth.enabled`, environment `ENABLE_AUTH`).
     */
    enabled?: Config["auth"]["enabled"];
    /**
     * The API key accepted when auth is enabled.
     *
     * Defaults to `""` (config file `auth.api_key`, environment `API_KEY`).
     */
    api_key?: Config["auth"]["api_key"];
    /**
     * File with one accepted API key per line, either `name:key` (usage is counted under the name) or a bare key
     * (counted as key-N, its line number).
     *
     * Defaults to `""` (config file `auth.keys_file`, environment `API_KEYS_FILE`).
     */
    keys_file?: Config["auth"]["keys_file"];
    /**
     * Per-key quotas: [{key: <key name>, tokens?, requests?, window_seconds (default 86400)}]; past either limit in
     * the current window the key gets 429 + Retry-After (the window's end) on the routes that run a model
     * (generation and embeddings); other routes stay open.
     *
     * Defaults to `[]` (config file `auth.quotas`, environment `API_KEY_QUOTAS`).
     */
    quotas?: Config["auth"]["quotas"];
  };
  /** The `usage.*` keys. */
  usage?: {
    /**
     * Size at which the per-key usage log ($REFLEXIA_HOME/usage/usage.log, one JSON line per request) is rotated to
     * usage.log.1.
     *
     * Defaults to `16777216` (config file `usage.log_max_bytes`, environment `USAGE_LOG_MAX_BYTES`).
     */
    log_max_bytes?: Config["usage"]["log_max_bytes"];
    /**
     * Rotated usage logs kept (usage.log.1 … usage.log.N); older ones are deleted.
     *
     * Defaults to `5` (config file `usage.log_keep_files`, environment `USAGE_LOG_KEEP_FILES`).
     */
    log_keep_files?: Config["usage"]["log_keep_files"];
    /**
     * Distinct key names the per-key metrics carry; further names are counted under key="other" (bounded label
     * cardinality).
     *
     * Defaults to `50` (config file `usage.max_key_labels`, environment `USAGE_MAX_KEY_LABELS`).
     */
    max_key_labels?: Config["usage"]["max_key_labels"];
  };
  /** The `remote.*` keys. */
  remote?: {
    /**
     * Remote variants declared in config: [{name, tag, urls: [OpenAI-compatible base URLs], upstream_model,
     * quantization?, api_key_file? | api_key_env?, timeout_seconds?, request_timeout_seconds?, max_concurrent?,
     * extra_body? (fields added to every upstream request)}]; listed with the stored models, kind remote.
     *
     * Defaults to `[]` (config file `remote.models`, environment `REFLEXIA_REMOTE_MODELS`).
     */
    models?: Config["remote"]["models"];
    /**
     * Default seconds a remote endpoint may take to send the first byte of its answer; past it the attempt counts
     * as a timeout (and is retried on another endpoint).
     *
     * Defaults to `60` (config file `remote.timeout_seconds`, environment `REMOTE_TIMEOUT`).
     */
    timeout_seconds?: Config["remote"]["timeout_seconds"];
    /**
     * Default seconds a whole request to a remote endpoint may take.
     *
     * Defaults to `600` (config file `remote.request_timeout_seconds`, environment `REMOTE_REQUEST_TIMEOUT`).
     */
    request_timeout_seconds?: Config["remote"]["request_timeout_seconds"];
    /**
     * Default requests in flight per remote endpoint; a remote variant runs endpoints × this at once (beyond,
     * requests queue).
     *
     * Defaults to `8` (config file `remote.max_concurrent`, environment `REMOTE_MAX_CONCURRENT`).
     */
    max_concurrent?: Config["remote"]["max_concurrent"];
    /**
     * Seconds between active health checks (GET <base>/models) of each remote endpoint.
     *
     * Defaults to `5` (config file `remote.health_interval_seconds`, environment `REMOTE_HEALTH_INTERVAL`).
     */
    health_interval_seconds?: Config["remote"]["health_interval_seconds"];
    /**
     * First ejection of a failing endpoint (connection error, 5xx, timeout) lasts this long, doubling on each
     * further failure up to 60× (backoff); a passing health check restores it.
     *
     * Defaults to `1` (config file `remote.eject_base_seconds`, environment `REMOTE_EJECT_SECONDS`).
     */
    eject_base_seconds?: Config["remote"]["eject_base_seconds"];
  };
  /** The `embeddings.*` keys. */
  embeddings?: {
    /**
     * Most texts one embeddings request (/v1/embeddings, /api/embed) may carry; beyond it the request is refused
     * with 413.
     *
     * Defaults to `2048` (config file `embeddings.max_inputs`, environment `EMBED_MAX_INPUTS`).
     */
    max_inputs?: Config["embeddings"]["max_inputs"];
    /**
     * Texts embedded per turn on the engine: a long embeddings request yields between batches, so another request
     * waits at most one batch, and a disconnect stops it at the next batch.
     *
     * Defaults to `8` (config file `embeddings.batch_size`, environment `EMBED_BATCH_SIZE`).
     */
    batch_size?: Config["embeddings"]["batch_size"];
  };
  /** The `registry.*` keys. */
  registry?: {
    /**
     * A model pull fails (keeping its partial file for a resume) when a window of this many seconds brings less
     * than registry.pull_min_bytes_per_second per second: a server that stalls or trickles cannot hold a pull
     * forever.
     *
     * Defaults to `30` (config file `registry.pull_read_timeout_seconds`, environment `PULL_READ_TIMEOUT`).
     */
    pull_read_timeout_seconds?: Config["registry"]["pull_read_timeout_seconds"];
    /**
     * Slowest average rate (bytes/s) over each registry.pull_read_timeout_seconds window that a pull accepts; 0
     * fails only on a full stall.
     *
     * Defaults to `1024` (config file `registry.pull_min_bytes_per_second`, environment `PULL_MIN_SPEED`).
     */
    pull_min_bytes_per_second?: Config["registry"]["pull_min_bytes_per_second"];
    /**
     * Base URL of the Ollama registry that `reflexia pull NAME` and /api/pull use for names without a host
     * (`llama3.2:1b`, `user/model:tag`); speaks the registry protocol (GET /v2/<namespace>/<model>/manifests/<tag>,
     * blobs by digest).
     *
     * Defaults to `"https://registry.ollama.ai"` (config file `registry.ollama_base_url`, environment
     * `OLLAMA_REGISTRY_URL`).
     */
    ollama_base_url?: Config["registry"]["ollama_base_url"];
    /**
     * Base URL that `hf.co/OWNER/REPO:QUANT` (and `huggingface.co/…`) names are pulled from, by the same registry
     * protocol Hugging Face serves for Ollama.
     *
     * Defaults to `"https://hf.co"` (config file `registry.huggingface_base_url`, environment `HF_REGISTRY_URL`).
     */
    huggingface_base_url?: Config["registry"]["huggingface_base_url"];
  };
  /** The `models.*` keys. */
  models?: {
    /**
     * Model used when a request names none.
     *
     * Defaults to `"reflexia-tiny"` (config file `models.default`, environment `DEFAULT_MODEL`).
     */
    default?: Config["models"]["default"];
    /**
     * Variant used when adaptive quantization is off or a request names a model without tag.
     *
     * Defaults to `"q4_0"` (config file `models.default_quantization`, environment `DEFAULT_QUANTIZATION`).
     */
    default_quantization?: Config["models"]["default_quantization"];
    /**
     * Context window (tokens) of each loaded variant: one KV pool shared by its parallel sequences, of which any
     * one request may use all (or its own num_ctx when smaller); when the pool is full new requests wait in the
     * queue.
     *
     * Defaults to `4096` (config file `models.context_size`, environment `CONTEXT_SIZE`).
     */
    context_size?: Config["models"]["context_size"];
    /**
     * A request whose prompt plus max_tokens exceeds its context: truncate drops the oldest non-system chat
     * messages until it fits (as Ollama does), then lowers a max_tokens the client did not set, and says so in the
     * response (`reflexia.context`); error refuses it with a 400 naming the limit.
     *
     * Defaults to `"truncate"` (config file `models.context_overflow`, environment `CONTEXT_OVERFLOW`).
     */
    context_overflow?: Config["models"]["context_overflow"];
    /**
     * Keep a finished sequence's KV cache and reuse the longest common token prefix of the next prompt
     * (llama-server's cache_prompt): a chat's next turn evaluates only its new tokens. Idle cached KV is evicted
     * least recently used before any active request is refused cells.
     *
     * Defaults to `true` (config file `models.prefix_cache`, environment `PREFIX_CACHE`).
     */
    prefix_cache?: Config["models"]["prefix_cache"];
    /**
     * Tokens generated at most when a request sets no limit (max_tokens / num_predict); always capped by the
     * context.
     *
     * Defaults to `1024` (config file `models.default_max_tokens`, environment `DEFAULT_MAX_TOKENS`).
     */
    default_max_tokens?: Config["models"]["default_max_tokens"];
    /**
     * Seconds an idle variant stays loaded; -1 keeps it forever, 0 unloads after each request.
     *
     * Defaults to `300` (config file `models.keep_alive_seconds`, environment `KEEP_ALIVE`).
     */
    keep_alive_seconds?: Config["models"]["keep_alive_seconds"];
  };
  /** The `scheduler.*` keys. */
  scheduler?: {
    /**
     * Sequences decoded together per loaded variant; 0 picks from the available cores.
     *
     * Defaults to `0` (config file `scheduler.parallel`, environment `PARALLEL`).
     */
    parallel?: Config["scheduler"]["parallel"];
    /**
     * Requests that may wait for a sequence; beyond it requests get 503 + Retry-After.
     *
     * Defaults to `64` (config file `scheduler.queue_size`, environment `QUEUE_SIZE`).
     */
    queue_size?: Config["scheduler"]["queue_size"];
    /**
     * Most variants kept loaded at once (LRU eviction beyond).
     *
     * Defaults to `3` (config file `scheduler.max_loaded_variants`, environment `MAX_LOADED_VARIANTS`).
     */
    max_loaded_variants?: Config["scheduler"]["max_loaded_variants"];
    /**
     * Native engine: how many waiting prompts one decode step evaluates. Prompts evaluated together all get their
     * first token when the whole batch is done; auto takes at least half of the waiting prompt rows and leaves the
     * rest to the next step when the measured costs say the requests wait less in sum that way, never leaving a
     * prompt twice (on the CPU a burst goes in two steps: its first half answers sooner, the rest one call later, a
     * few per cent less throughput in bursts), never takes as many as the batch holds (llama-server's way), always
     * one per step.
     *
     * Defaults to `"auto"` (config file `scheduler.prompt_split`, environment `PROMPT_SPLIT`).
     */
    prompt_split?: Config["scheduler"]["prompt_split"];
  };
  /** The `engine.*` keys. */
  engine?: {
    /**
     * Inference backend: the native decode loop (addon built by npm ci), node-llama-cpp's binding, or auto (native
     * when its addon loads).
     *
     * Defaults to `"auto"` (config file `engine.backend`, environment `ENGINE`).
     */
    backend?: Config["engine"]["backend"];
  };
  /** The `gpu.*` keys. */
  gpu?: {
    /**
     * GPU backend of the native engine: auto (CUDA when a CUDA device and driver are present, else Vulkan on a real
     * GPU, else CPU), cuda, vulkan, or off (CPU only). The choice and its reason are in the log, /api/status and
     * `reflexia doctor`.
     *
     * Defaults to `"auto"` (config file `gpu.backend`, environment `GPU`).
     */
    backend?: Config["gpu"]["backend"];
    /**
     * Layers offloaded to the GPU: auto (as many as fit free VRAM with their KV cache, within MAX_VRAM_PERCENT and
     * a safety margin), max (all; refused when they do not fit), or a count (the output layer counts as one, as in
     * llama.cpp's -ngl).
     *
     * Defaults to `"auto"` (config file `gpu.layers`, environment `GPU_LAYERS`).
     */
    layers?: Config["gpu"]["layers"];
  };
  /** The `performance.*` keys. */
  performance?: {
    /**
     * llama.cpp decode threads; 0 picks a measured default from the cores available (cgroup quota included).
     *
     * Defaults to `0` (config file `performance.thread_pool_size`, environment `THREAD_POOL_SIZE`).
     */
    thread_pool_size?: Config["performance"]["thread_pool_size"];
  };
  /** The `adaptive.*` keys. */
  adaptive?: {
    /**
     * Choose the quantization variant per request from prompt complexity and memory pressure.
     *
     * Defaults to `true` (config file `adaptive.enabled`, environment `ENABLE_ADAPTIVE_QUANTIZATION`).
     */
    enabled?: Config["adaptive"]["enabled"];
    /**
     * Complexity margin a score must cross beyond a threshold before the chosen variant changes.
     *
     * Defaults to `0.08` (config file `adaptive.hysteresis`, environment `ADAPTIVE_HYSTERESIS`).
     */
    hysteresis?: Config["adaptive"]["hysteresis"];
    /**
     * Complexity scores separating low|medium and medium|high.
     *
     * Defaults to `[0.3,0.6]` (config file `adaptive.thresholds`, environment `COMPLEXITY_THRESHOLDS`).
     */
    thresholds?: Config["adaptive"]["thresholds"];
    /**
     * Least measured top-1 agreement with the model's reference variant (`reflexia benchmark --test quality`) a
     * variant needs to serve low, medium and high complexity; one measured below it gives way to the next more
     * precise stored variant measured at or above it. Unmeasured variants keep the static order.
     *
     * Defaults to `[0,0.9,0.97]` (config file `adaptive.quality_floor`, environment `ADAPTIVE_QUALITY_FLOOR`).
     */
    quality_floor?: Config["adaptive"]["quality_floor"];
  };
  /** The `memory.*` keys. */
  memory?: {
    /**
     * Memory budget as a percent of the effective limit (cgroup limit or system memory).
     *
     * Defaults to `80` (config file `memory.max_memory_percent`, environment `MAX_MEMORY_PERCENT`).
     */
    max_memory_percent?: Config["memory"]["max_memory_percent"];
    /**
     * VRAM budget as a percent of the GPU devices' total memory: what Reflexia's loaded variants may hold together;
     * a load also never takes more than the devices' free memory minus a safety margin.
     *
     * Defaults to `90` (config file `memory.max_vram_percent`, environment `MAX_VRAM_PERCENT`).
     */
    max_vram_percent?: Config["memory"]["max_vram_percent"];
  };
  /** The `cache.*` keys. */
  cache?: {
    /**
     * Cache responses of deterministic requests.
     *
     * Defaults to `true` (config file `cache.enabled`, environment `ENABLE_RESPONSE_CACHE`).
     */
    enabled?: Config["cache"]["enabled"];
    /**
     * Entries kept in the response cache (LRU).
     *
     * Defaults to `1000` (config file `cache.size`, environment `RESPONSE_CACHE_SIZE`).
     */
    size?: Config["cache"]["size"];
    /**
     * Cache only requests with temperature 0 or an explicit seed.
     *
     * Defaults to `true` (config file `cache.deterministic_only`, environment `CACHE_DETERMINISTIC_ONLY`).
     */
    deterministic_only?: Config["cache"]["deterministic_only"];
  };
  /** The `rag.*` keys. */
  rag?: {
    /**
     * Chunks retrieved per RAG query.
     *
     * Defaults to `3` (config file `rag.similarity_top_k`, environment `RAG_SIMILARITY_TOP_K`).
     */
    similarity_top_k?: Config["rag"]["similarity_top_k"];
    /**
     * Chunk length in tokens.
     *
     * Defaults to `512` (config file `rag.chunk_size`, environment `RAG_CHUNK_SIZE`).
     */
    chunk_size?: Config["rag"]["chunk_size"];
    /**
     * Tokens shared by consecutive chunks.
     *
     * Defaults to `50` (config file `rag.chunk_overlap`, environment `RAG_CHUNK_OVERLAP`).
     */
    chunk_overlap?: Config["rag"]["chunk_overlap"];
    /**
     * How often the server looks for documents another process (reflexia --local docs …) added to or deleted from
     * the store, so it lists, searches and counts them; 0 turns it off.
     *
     * Defaults to `2000` (config file `rag.watch_interval_ms`, environment `RAG_WATCH_INTERVAL_MS`).
     */
    watch_interval_ms?: Config["rag"]["watch_interval_ms"];
    /**
     * Embedder: 'builtin' (offline hashed features) or a model name in the store.
     *
     * Defaults to `"builtin"` (config file `rag.embedding_model`, environment `RAG_EMBEDDING_MODEL`).
     */
    embedding_model?: Config["rag"]["embedding_model"];
    /**
     * Chunk count past which an ANN (HNSW) index is built; exact search below (exact keeps hit@3 higher with the
     * built-in embedder).
     *
     * Defaults to `20000` (config file `rag.ann_threshold`, environment `RAG_ANN_THRESHOLD`).
     */
    ann_threshold?: Config["rag"]["ann_threshold"];
    /**
     * Memory the in-memory search index of the stored chunks may use (vectors, BM25 postings, chunk text; about 7
     * KB per 512-token chunk of 384-d vectors); searches run there while it fits, in LanceDB (exact, or HNSW past
     * rag.ann_threshold) beyond. 0 turns it off. Its size is in /api/status and reflexia_rag_memory_index_bytes.
     *
     * Defaults to `1073741824` (config file `rag.memory_index_max_bytes`, environment
     * `RAG_MEMORY_INDEX_MAX_BYTES`).
     */
    memory_index_max_bytes?: Config["rag"]["memory_index_max_bytes"];
    /**
     * int8: a first pass over an int8 copy of the vectors picks 64 candidates that float32 re-ranks exactly
     * (fastest; 25% more vector memory); none: one float32 pass.
     *
     * Defaults to `"int8"` (config file `rag.memory_index_quantization`, environment
     * `RAG_MEMORY_INDEX_QUANTIZATION`).
     */
    memory_index_quantization?: Config["rag"]["memory_index_quantization"];
    /**
     * Fuse vector and full-text (BM25) results with reciprocal rank fusion.
     *
     * Defaults to `true` (config file `rag.hybrid`, environment `RAG_HYBRID`).
     */
    hybrid?: Config["rag"]["hybrid"];
  };
  /** The `vector_db.*` keys. */
  vector_db?: {
    /**
     * Dimension of the built-in embedder's vectors.
     *
     * Defaults to `384` (config file `vector_db.embedding_dim`, environment `VECTOR_DB_EMBEDDING_DIM`).
     */
    embedding_dim?: Config["vector_db"]["embedding_dim"];
    /**
     * Vector distance: inner product, cosine or L2.
     *
     * Defaults to `"ip"` (config file `vector_db.distance_metric`, environment `VECTOR_DB_DISTANCE_METRIC`).
     */
    distance_metric?: Config["vector_db"]["distance_metric"];
  };
  /** The `roles.*` keys. */
  roles?: {
    /**
     * Extra expert roles: [{id, name, category, system_prompt}].
     *
     * Defaults to `[]` (config file `roles.custom`, environment `REFLEXIA_CUSTOM_ROLES`).
     */
    custom?: Config["roles"]["custom"];
  };
  /** The `ui.*` keys. */
  ui?: {
    /**
     * Grafana dashboard URL the web UI's metrics view links to (http or https); empty hides the link.
     *
     * Defaults to `""` (config file `ui.grafana_url`, environment `GRAFANA_URL`).
     */
    grafana_url?: Config["ui"]["grafana_url"];
  };
  /** The `log.*` keys. */
  log?: {
    /**
     * Server log level.
     *
     * Defaults to `"info"` (config file `log.level`, environment `LOG_LEVEL`).
     */
    level?: Config["log"]["level"];
    /**
     * Print the stack trace of a failed CLI command (it prints only the message otherwise).
     *
     * Defaults to `false` (config file `log.debug`, environment `REFLEXIA_DEBUG`).
     */
    debug?: Config["log"]["debug"];
  };
}
