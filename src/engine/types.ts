// The Engine contract: everything above src/engine/ talks to llama.cpp only through these types.
import type { GpuMode } from "../config/keys.ts";

export const FINISH_REASONS = ["stop", "length", "cancelled"] as const;
export type FinishReason = (typeof FINISH_REASONS)[number];

export const CHAT_ROLES = ["system", "user", "assistant", "tool"] as const;
export type ChatRole = (typeof CHAT_ROLES)[number];

/** A function call the assistant made (OpenAI's shape, arguments already parsed). */
export interface ToolCall {
  id: string;
  name: string;
  arguments: Record<string, unknown>;
}

/** A function the model may call: name, description and a JSON Schema of its arguments. */
export interface ToolDefinition {
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
}

export interface ChatMessage {
  role: ChatRole;
  content: string;
  /** assistant: the calls it made. */
  toolCalls?: ToolCall[];
  /** tool: the call this message answers, and that function's name. */
  toolCallId?: string;
  name?: string;
}

/** auto: the model may call; none: it may not; required: it must call one; {name}: it must call that one. */
export type ToolChoice = "auto" | "none" | "required" | { name: string };

/**
 * What a grammar was made from: a backend with structured output of its own (a remote variant's OpenAI-compatible
 * upstream) asks for the same thing in its terms instead of running the GBNF. Raw GBNF has none.
 */
export type GrammarSource =
  | { kind: "json_schema"; schema: Record<string, unknown> }
  | { kind: "json_object" }
  /** The request's tools (GenerateOptions.tools) with this choice: a forced call, or auto's lazy call grammar. */
  | { kind: "tool_call"; choice: Exclude<ToolChoice, "none"> };

/** GBNF the output must match (llama.cpp's grammar dialect). */
export interface GrammarConstraint {
  gbnf: string;
  /** Start rule. Defaults to "root". */
  root?: string;
  /**
   * Lazy grammar: the output is free until one of these regular expressions (ECMAScript-compatible subset, matched
   * from the start of the output) matches; from its first capture group on, the grammar applies.
   */
  triggers?: string[];
  /**
   * The literal words the triggers wait for (each trigger's capture starts with one of them). When given, the engine
   * watches the output for them and hands the grammar only the text from the word on: llama.cpp matches a trigger
   * over the whole output so far on every token, so without them a long free-text reply costs polynomial time.
   */
  triggerWords?: string[];
  /**
   * The grammar writes JSON (a schema, JSON mode, a forced tool call): as max_tokens nears, sampling prefers tokens
   * that close the open strings, arrays and objects, so an answer cut by the budget still parses. Raw GBNF (the
   * `grammar` field) leaves it unset: closing JSON would only corrupt other languages.
   */
  closeJson?: boolean;
  /** What the grammar was made from; unset for raw GBNF. */
  source?: GrammarSource;
}

/** Most alternatives per token a request may ask for (OpenAI's top_logprobs limit). */
export const MAX_TOP_LOGPROBS = 20;

/** The seed clients send for "random": llama.cpp's LLAMA_DEFAULT_SEED as a signed integer, Ollama's default option. */
export const RANDOM_SEED = -1;

const SEED_MODULUS = 2 ** 32;

/**
 * A client's seed as SamplingOptions.seed takes it: none or RANDOM_SEED is undefined (a random seed per call); any
 * other integer (OpenAI's and Ollama's are 64-bit) is taken modulo 2^32, llama.cpp's seed width, as llama-server
 * does, so seeds 2^32 apart sample alike.
 */
export function fixedSeed(seed: number | null | undefined): number | undefined {
  if (seed === undefined || seed === null || seed === RANDOM_SEED) return undefined;
  return ((seed % SEED_MODULUS) + SEED_MODULUS) % SEED_MODULUS;
}

/** One generated token's log-probability, with the most likely alternatives at that step. */
export interface TokenLogprob {
  token: string;
  /**
   * The token's own UTF-8 bytes, where the engine knows them: a token may hold part of a character, which `token`
   * shows as U+FFFD. Absent: the bytes of `token`.
   */
  bytes?: number[];
  logprob: number;
  top: { token: string; bytes?: number[]; logprob: number }[];
}

export interface SamplingOptions {
  /** Tokens to generate at most. Defaults to 256. */
  maxTokens?: number;
  /** 0 means greedy. Defaults to 0.8. */
  temperature?: number;
  /** Defaults to 0.95. */
  topP?: number;
  /** Defaults to 40. */
  topK?: number;
  /** Fixed seed in [0, 2^32) for reproducible sampling (a client's RANDOM_SEED: see fixedSeed). Defaults to random. */
  seed?: number;
  /** Penalty for repeating recent tokens; 1 disables. Defaults to 1.1. */
  repeatPenalty?: number;
  /**
   * OpenAI's frequency_penalty with llama.cpp's semantics: a token in the repeat window (REPEAT_LAST_N, prompt
   * included) loses count × this from its logit, after the repeat penalty. Defaults to 0 (off).
   */
  frequencyPenalty?: number;
  /** OpenAI's presence_penalty: a token in the repeat window loses this once from its logit. Defaults to 0 (off). */
  presencePenalty?: number;
  /**
   * OpenAI's logit_bias: [token id, bias] pairs added to those tokens' logits before the penalties (-100 all but
   * bans a token, +100 all but forces it). Ids must be in the model's vocabulary. Defaults to none.
   */
  logitBias?: ReadonlyArray<readonly [number, number]>;
  /** Generation stops before any of these strings; they are not part of the output. */
  stop?: string[];
  /** Constrains the output to a grammar. Defaults to none. */
  grammar?: GrammarConstraint;
  /**
   * Log-probabilities of the generated tokens: 0 the sampled token's only, k (≤ 20) also the k most likely ones.
   * Computed from the logits after the repeat penalty, before grammar, top-k, top-p and temperature. Defaults to none.
   */
  logprobs?: number;
}

export interface GenerateOptions extends SamplingOptions {
  /** Receives text as it is produced (already free of stop strings), and the log-probabilities of its tokens when asked. */
  onText?: (text: string, logprobs?: TokenLogprob[]) => void;
  /** chat(): functions the template presents to the model. Defaults to none. */
  tools?: ToolDefinition[];
  /** Aborting ends generation with finishReason "cancelled" and frees the sequence. */
  signal?: AbortSignal;
  /**
   * Most tokens (prompt + generated) this request may use, when smaller than the engine's limit for one request
   * (Ollama's num_ctx). Defaults to that limit (LoadedModel.sequenceContextSize).
   */
  contextSize?: number;
  /**
   * Token ids evaluated before the prompt (Ollama's `context`: a previous prompt and answer). generate() only; the
   * prompt is then tokenized without a BOS. Defaults to none.
   */
  contextTokens?: number[];
  /** Return the prompt's and the answer's token ids (GenerationResult.tokens). Defaults to false. */
  returnTokens?: boolean;
  /**
   * false: take no cached prefix for this request (llama-server's `cache_prompt: false`): its whole prompt is
   * evaluated; what it leaves in the cache serves later requests as usual. Defaults to true (the engine's prefix
   * cache decides; an engine without one evaluates every prompt whole anyway).
   */
  cachePrompt?: boolean;
}

export interface GenerationTimings {
  /** Waiting for a free sequence, ms. */
  queueMs: number;
  /** Prompt evaluation, ms. */
  promptEvalMs: number;
  /** From call to first generated token, ms (queue included). */
  ttftMs: number;
  /** Generation after the first token, ms. */
  evalMs: number;
  /** Whole call, ms. */
  totalMs: number;
  /** Time between consecutive generated tokens, ms (length = completionTokens - 1). */
  interTokenMs: number[];
}

export interface GenerationResult {
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  /** Prompt tokens whose KV came from the prefix cache: only promptTokens - cachedPromptTokens were evaluated. Absent: 0. */
  cachedPromptTokens?: number;
  completionTokens: number;
  timings: GenerationTimings;
  /** The prompt's then the answer's token ids, when asked (returnTokens). */
  tokens?: number[];
  /** When asked (options.logprobs): one entry per generated token. */
  logprobs?: TokenLogprob[];
}

export interface ModelInfo {
  architecture: string;
  parameterCount: number;
  trainContextSize: number;
  fileType: string;
  sizeBytes: number;
  embeddingSize: number;
  vocabSize: number;
}

export interface LoadModelOptions {
  /** Path of the GGUF file. */
  path: string;
  /** Context size in tokens shared by all sequences, capped at the model's train context. Defaults to config `models.context_size`. */
  contextSize?: number;
  /** Sequences decoded together in one batch. Defaults to 1. */
  parallel?: number;
  /** Decode threads; 0 or undefined picks the measured default. */
  threads?: number;
  /** Load for embeddings instead of generation. Defaults to false. */
  embedding?: boolean;
  /**
   * Layers to put on the engine's GPU devices, llama.cpp's n_gpu_layers: the last N of the n_layer + 1 layers (the
   * output layer counts as one); -1 offloads all. Defaults to 0 (CPU). Refused by an engine without GPU devices.
   */
  gpuLayers?: number;
}

/** Where a loaded model's layers went (engines with GPU support report it). */
export interface ModelOffload {
  /** Layers on GPU devices, the output layer counted as one (llama.cpp's "offloaded N/M layers"). */
  gpuLayers: number;
  /** n_layer + 1: what gpuLayers counts up to. */
  totalLayers: number;
  /** Each weight buffer llama.cpp allocated, by its name ("CPU_Mapped", "CPU_REPACK", "CUDA0", "Vulkan0", ...). */
  weightBuffers: { name: string; bytes: number }[];
}

export const COMPUTE_BACKENDS = ["cpu", "cuda", "vulkan"] as const;
/** What runs the layers: the CPU alone, or a GPU backend next to it. */
export type ComputeBackend = (typeof COMPUTE_BACKENDS)[number];

export interface GpuDeviceInfo {
  /** ggml's global device index (what a load's device list names). */
  index: number;
  /** ggml's name: "CUDA0", "Vulkan0", ... (the `device` label of reflexia_gpu_memory_usage_bytes). */
  name: string;
  /** The driver's name of the device, e.g. "NVIDIA H100 80GB HBM3" or "llvmpipe (LLVM 15.0.6, 256 bits)". */
  description: string;
  /** ggml backend: "CUDA", "Vulkan". */
  backend: string;
  /** ggml device type: "gpu" or "igpu" (integrated, shares host memory). */
  type: string;
  /** PCI bus id when the backend knows it. */
  deviceId: string | null;
  freeBytes: number;
  totalBytes: number;
  /** A CPU rendering the device in software (Mesa llvmpipe/lavapipe, SwiftShader): never picked by GPU=auto. */
  software: boolean;
}

/** The GPU decision of an engine: what GPU=… asked, what runs, why, and on which devices. */
export interface EngineGpu {
  requested: GpuMode;
  backend: ComputeBackend;
  /** One sentence a person can act on: why this backend (and why not the others). */
  reason: string;
  /** The devices layers go to; empty on CPU. */
  devices: readonly GpuDeviceInfo[];
  /** Free / total memory of those devices now. */
  memory(): GpuDeviceInfo[];
}

export interface EmbedOptions {
  /** Cut a text's tokens from the end to the embedding context instead of refusing it. Defaults to false. */
  truncate?: boolean;
}

/** What LoadedModel.embed returns. */
export interface EmbedResult {
  /** One mean-pooled, L2-normalised vector per text, in order; an empty text gets the zero vector. */
  embeddings: number[][];
  /** Tokens the model evaluated over all texts: after truncation, with the BOS it adds (Ollama's prompt_eval_count). */
  promptTokens: number;
}

/** A loaded variant with its context; holds native memory until dispose(). */
export interface LoadedModel {
  readonly path: string;
  readonly info: ModelInfo;
  readonly contextSize: number;
  readonly parallel: number;
  /** Most tokens (prompt + generated) one request may use: the whole context with a unified KV pool. */
  readonly sequenceContextSize: number;
  /** Where the layers went; undefined for engines without GPU support (all on the CPU). */
  readonly offload?: ModelOffload;
  /** Sequences currently generating. */
  activeSequences(): number;
  /** Generates a continuation of a raw prompt. Waits for a free sequence when all are busy. */
  generate(prompt: string, options?: GenerateOptions): Promise<GenerationResult>;
  /** Applies the model's chat template, then generates the assistant turn. */
  chat(messages: ChatMessage[], options?: GenerateOptions): Promise<GenerationResult>;
  /** Runs prompts concurrently as sequences of the one context. */
  batchGenerate(prompts: string[], options?: GenerateOptions): Promise<GenerationResult[]>;
  /** Renders messages with the model's chat template (what chat() evaluates). */
  formatChat(messages: ChatMessage[], tools?: ToolDefinition[]): string;
  /** Fill-in-the-middle prompt for `prefix` … `suffix`; null when the vocabulary has no FIM tokens. */
  fillInMiddlePrompt?(prefix: string, suffix: string): string | null;
  tokenize(text: string): number[];
  detokenize(tokens: number[]): string;
  /**
   * The most characters (UTF-16 units) one token's text has: a text of n characters is at least n / this tokens,
   * known without tokenizing it (which can take minutes for some long texts). Absent: unknown.
   */
  readonly maxTokenChars?: number;
  /**
   * Embeds texts (mean-pooled, L2-normalised). Requires a model loaded with embedding: true. A text longer than the
   * embedding context is RFX_CONTEXT_OVERFLOW, or with `truncate` cut from its end to fit (Ollama's /api/embed).
   */
  embed(texts: string[], options?: EmbedOptions): Promise<EmbedResult>;
  dispose(): Promise<void>;
}

export interface Engine {
  /** A short name of the backend, e.g. "node-llama-cpp" or "native". */
  readonly name: string;
  /** Decode threads used when a load does not say. */
  readonly defaultThreads: number;
  /** The GPU backend decision; undefined for engines that run on the CPU only. */
  readonly gpu?: EngineGpu;
  loadModel(options: LoadModelOptions): Promise<LoadedModel>;
  /**
   * Loads a model for evaluation: next-token logits at every position of a token sequence (quality benchmarks).
   * Undefined on engines that cannot return them (node-llama-cpp).
   */
  loadEvaluator?(options: LoadEvaluatorOptions): Promise<LogitsEvaluator>;
  dispose(): Promise<void>;
}

export interface LoadEvaluatorOptions {
  /** Path of the GGUF file. */
  path: string;
  /** Most tokens one evaluate() takes (capped at the model's train context). */
  contextSize: number;
  /** Decode threads; 0 or undefined picks the measured default. */
  threads?: number;
}

/** A model with a context whose every position keeps its logits; holds native memory until dispose(). */
export interface LogitsEvaluator {
  readonly info: ModelInfo;
  readonly contextSize: number;
  /** Token ids of `text`, with the model's BOS first when addBos (as llama-perplexity tokenizes). */
  tokenize(text: string, addBos: boolean): number[];
  detokenize(tokens: number[]): string;
  /**
   * Evaluates `tokens` from position 0 on an empty cache and returns tokens.length × vocabSize logits: row i is the
   * distribution over the token after tokens[i].
   */
  evaluate(tokens: number[]): Promise<Float32Array>;
  dispose(): Promise<void>;
}
