// The public shapes of the library API (createReflexia): options, requests and results. Results are the services'
// own types, so a library caller and an HTTP client read the same fields (the variant, its reason, cache, sources).
import type { Config, Quantization } from "../config/index.ts";
import type { ChatMessage, SamplingOptions } from "../engine/types.ts";
import type { ReflexiaError } from "../errors/index.ts";
import type {
  IngestInput,
  IngestManyItem,
  IngestStatus,
  RagDocument,
  RagQueryOptions,
  RagQueryResult,
  RagStats,
} from "../rag/index.ts";
import type {
  ModelDetails,
  ModelListing,
  ModelManifest,
  PullResult,
  QuantizeResult,
  SynthProgress,
  SynthResult,
  PullOptions,
} from "../registry/index.ts";
import type { BenchmarkOutcome } from "../services/benchmark-jobs.ts";
import type { EmbedOutcome } from "../services/embed-service.ts";
import type { InferenceOutcome } from "../services/inference-service.ts";
import type { VariantStatus } from "../scheduler/index.ts";
import type { ReflexiaConfigOptions } from "./config-options.ts";
import type { TextStream } from "./text-stream.ts";

export interface ReflexiaOptions extends ReflexiaConfigOptions {
  /**
   * Environment read for the keys not given here (REFLEXIA_HOME, DEFAULT_MODEL, PARALLEL…); `{}` reads none.
   * Defaults to `process.env`.
   */
  env?: Record<string, string | undefined>;
  /** Config file read for the keys given neither here nor in the environment. Defaults to `$REFLEXIA_CONFIG`, then `./reflexia.config.json` when it exists. */
  configFile?: string;
  /**
   * Write the offline default model (`models.default`, synthetic tiny weights) when the store has no model, as the
   * server and the CLI do. Defaults to `true`.
   */
  ensureDefaultModel?: boolean;
  /**
   * Open the document store under `home` (RAG): `documents`, and `rag` on generate/chat. `false` skips it (faster
   * start); `documents` then throws RFX_VALIDATION. Defaults to `true`.
   */
  documentStore?: boolean;
  /** Receives one-off notices (the default model being written). Defaults to writing them to stderr. */
  onNotice?: (notice: string) => void;
}

/** Retrieval for one request: `true` uses the configured top-k and hybrid setting. */
export type RagOption = boolean | { topK?: number; hybrid?: boolean };

/** What generate, chat and batchGenerate share. */
export interface InferenceOptions extends Omit<SamplingOptions, "maxTokens"> {
  /**
   * `name` lets adaptive quantization pick the variant from the prompt's complexity and memory pressure; `name:tag`
   * pins one. Defaults to `models.default`.
   */
  model?: string;
  /** Tokens generated at most. Defaults to `models.default_max_tokens`, capped at one sequence's share of the context. */
  maxTokens?: number;
  /** Expert role id (built-in or `roles.custom`); its system prompt is prepended. Defaults to none. */
  role?: string;
  /** Answer from the stored documents, citing them (`meta.sources`). Defaults to `false`. */
  rag?: RagOption;
  /** Seconds the variant stays loaded after this request. Defaults to `models.keep_alive_seconds`. */
  keepAliveSeconds?: number;
  /** Aborting stops the request: while it waits it rejects with RFX_CANCELLED, while it generates it ends with finishReason "cancelled". */
  signal?: AbortSignal;
}

export interface GenerateRequest extends InferenceOptions {
  prompt: string;
  /** A system message sent before the prompt (chat template only). Defaults to none. */
  system?: string;
  /** Continue the prompt as is, without the model's chat template. Defaults to `false`. */
  raw?: boolean;
}

export interface ChatRequest extends InferenceOptions {
  messages: ChatMessage[];
}

/** One generation's outcome: text, finish reason, token counts, timings and `meta` (variant, reason, cache, sources). */
export type GenerateResult = InferenceOutcome;

/** The text of a chat as it is generated, and its outcome (`result`). */
export type ChatStream = TextStream<GenerateResult>;

export interface BatchOptions extends InferenceOptions {
  /**
   * Requests in flight at once; the scheduler decodes them together, in one batch per step. Defaults to the
   * scheduler's parallel sequences per variant (`scheduler.parallel`, or the count picked from the cores).
   */
  concurrency?: number;
  /** Called as each item settles, in completion order. Defaults to none. */
  onItem?: (index: number, item: BatchItem) => void;
}

/** One batch entry's outcome, at its input's index: a failed item does not fail the batch. */
export type BatchItem = { ok: true; result: GenerateResult } | { ok: false; error: ReflexiaError };

export interface EmbedOptions {
  /** A stored model (`name[:tag]`) or `builtin` (offline hashed features). Defaults to `models.default`. */
  model?: string;
  signal?: AbortSignal;
}

export type EmbedResult = EmbedOutcome;

/** A pull's options; the stall limits come from the `registry.*` keys. */
export type PullModelOptions = Omit<PullOptions, "readTimeoutSeconds" | "minBytesPerSecond">;

export interface SynthModelOptions {
  name: string;
  /** Named synthetic shape: tiny, small, 1b, 3b, 7b. Defaults to `"tiny"`. */
  shape?: string;
  /** Variants to write. Defaults to `[models.default_quantization]`. */
  quant?: Config["models"]["default_quantization"][];
  /** Same seed, same weights. Defaults to a random seed. */
  seed?: number;
  /** Replace existing variants. Defaults to `false`. */
  force?: boolean;
  onProgress?: (p: SynthProgress) => void;
}

export interface ReflexiaModels {
  list(): Promise<ModelListing[]>;
  /** Architecture, parameters, context, quantization, size and estimated memory of `name[:tag]`. */
  show(ref: string): Promise<ModelDetails>;
  /** Variants loaded now, with their sequences and memory. */
  running(): VariantStatus[];
  /** Validates a GGUF file and copies it into the store. */
  add(path: string, options: { name: string; tag?: string; force?: boolean }): Promise<ModelManifest>;
  /** Downloads a GGUF over http(s), resuming an interrupted download, with `registry.*` stall limits. */
  pull(url: string, options: PullModelOptions): Promise<PullResult>;
  /**
   * New variants of `ref` with llama.cpp's quantizer (from its most precise variant unless `ref` names a tag); names
   * in any case, as the CLI and the HTTP API take them (`Q4_K_M` is `q4_k_m`).
   */
  quantize(
    ref: string,
    to: readonly (Quantization | Uppercase<Quantization>)[],
    options?: { onProgress?: (p: SynthProgress) => void },
  ): Promise<QuantizeResult>;
  /** Writes a synthetic random-weights model (for benchmarks and wiring; its output is gibberish). */
  synth(options: SynthModelOptions): Promise<SynthResult>;
  /** Unloads (waiting for in-flight requests) and removes a model or one variant. */
  remove(ref: string): Promise<ModelManifest[]>;
}

/** A document given from memory rather than by path: content, file name (type and title hint), title, source. */
export type DocumentInput = IngestInput;

export interface ReflexiaDocuments {
  /**
   * Ingests files and folders (every file below, recursively) or in-memory inputs, committed in batches. One item
   * per file or input, in order; a file that fails (unsupported, empty, over `server.upload_limit_bytes`: refused
   * by its size before it is read) does not stop the others.
   */
  add(
    items: string | readonly (string | DocumentInput)[],
    options?: { onProgress?: (p: { done: number; total: number }) => void },
  ): Promise<(IngestManyItem & { source: string })[]>;
  list(options?: {
    offset?: number;
    limit?: number;
  }): Promise<{ documents: RagDocument[]; total: number; offset: number; limit: number }>;
  /** Throws RFX_DOCUMENT_NOT_FOUND for an unknown id. */
  remove(id: string): Promise<RagDocument>;
  /** The chunks most similar to `text` (hybrid vector + BM25 by default). */
  query(text: string, options?: RagQueryOptions): Promise<RagQueryResult>;
  stats(): Promise<RagStats>;
}

/** The benchmark kinds the library runs: the same as POST /api/benchmarks. */
export const LIBRARY_BENCHMARK_KINDS = ["inference", "throughput", "rag"] as const;
export type LibraryBenchmarkKind = (typeof LIBRARY_BENCHMARK_KINDS)[number];

export interface BenchmarkOptions {
  /** `name:tag` variants to measure (inference, throughput). Defaults to `models.default:models.default_quantization`. */
  models?: string[];
  /** Tokens generated per run. Defaults to 128 (inference) and 64 (throughput). */
  tokens?: number;
  /** Measured runs per variant (inference). Defaults to 3. */
  repetitions?: number;
  /** Concurrency levels (throughput). Defaults to `[1, 4, 8]`. */
  concurrency?: number[];
  /** Document counts (rag). Defaults to `[100, 1000]`. */
  sizes?: number[];
  /** Aborting stops the run at its next step with RFX_CANCELLED. */
  signal?: AbortSignal;
  /** Receives the run's log lines. Defaults to none. */
  onLog?: (line: string) => void;
  onProgress?: (completed: number, total: number) => void;
}

export type BenchmarkResult = BenchmarkOutcome;

export interface ServeOptions {
  /** Defaults to `server.port`; 0 picks a free port. */
  port?: number;
  /** Defaults to `server.metrics_port`; 0 picks a free port. */
  metricsPort?: number;
  /** Defaults to `server.host`. */
  host?: string;
  /** Load the default model before `ready` resolves. Defaults to `true`. */
  warmUp?: boolean;
  /** Seconds close() waits for in-flight requests. Defaults to `server.drain_timeout_seconds` (25). */
  drainTimeoutSeconds?: number;
}

/** A listening HTTP server over the library's own services; close() stops it and leaves the library open. */
export interface ReflexiaServer {
  /** http://host:port of the API (OpenAI `/v1`, Ollama `/api`, the web UI). */
  url: string;
  /** http://host:port of the metrics listener (scrape `${metricsUrl}/metrics`). */
  metricsUrl: string;
  /** Resolves once the default model is loaded (rejects when the warm-up failed). */
  ready: Promise<void>;
  /** Resolves after close() finished. */
  closed: Promise<void>;
  /** Stops admitting, waits for in-flight requests (up to the drain timeout), closes both listeners. */
  close(): Promise<void>;
}

export interface Reflexia {
  /** The resolved configuration (options over environment over config file over defaults), frozen. */
  readonly config: Readonly<Config>;
  /** One answer to a prompt (chat template unless `raw`). */
  generate(request: string | GenerateRequest): Promise<GenerateResult>;
  /** A chat turn, streamed: iterate for the text, await `result` for the outcome. */
  chat(request: ChatRequest): ChatStream;
  /**
   * Many prompts at once, run concurrently through the scheduler (decoded together), results in input order;
   * options are the defaults of every item, and a failed item does not fail the batch.
   */
  batchGenerate(items: readonly (string | GenerateRequest)[], options?: BatchOptions): Promise<BatchItem[]>;
  embed(input: string | readonly string[], options?: EmbedOptions): Promise<EmbedResult>;
  readonly models: ReflexiaModels;
  readonly documents: ReflexiaDocuments;
  /** Runs a benchmark kind in-process (the runs POST /api/benchmarks starts). */
  benchmark(kind: LibraryBenchmarkKind, options?: BenchmarkOptions): Promise<BenchmarkResult>;
  /** Starts the HTTP server (OpenAI/Ollama APIs, web UI, /metrics) in this process, over these services. */
  serve(options?: ServeOptions): Promise<ReflexiaServer>;
  /** Stops servers started by serve(), waits for running requests, unloads models and closes the document store. */
  close(): Promise<void>;
}

export type { IngestStatus };
