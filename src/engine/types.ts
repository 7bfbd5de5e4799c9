// The Engine contract: everything above src/engine/ talks to llama.cpp only through these types.

export const FINISH_REASONS = ["stop", "length", "cancelled"] as const;
export type FinishReason = (typeof FINISH_REASONS)[number];

export const CHAT_ROLES = ["system", "user", "assistant"] as const;
export type ChatRole = (typeof CHAT_ROLES)[number];
export interface ChatMessage {
  role: ChatRole;
  content: string;
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
  /** Fixed seed for reproducible sampling. Defaults to a random seed. */
  seed?: number;
  /** Penalty for repeating recent tokens; 1 disables. Defaults to 1.1. */
  repeatPenalty?: number;
  /** Generation stops before any of these strings; they are not part of the output. */
  stop?: string[];
}

export interface GenerateOptions extends SamplingOptions {
  /** Receives text as it is produced (already free of stop strings). */
  onText?: (text: string) => void;
  /** Aborting ends generation with finishReason "cancelled" and frees the sequence. */
  signal?: AbortSignal;
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
  completionTokens: number;
  timings: GenerationTimings;
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
}

/** A loaded variant with its context; holds native memory until dispose(). */
export interface LoadedModel {
  readonly path: string;
  readonly info: ModelInfo;
  readonly contextSize: number;
  readonly parallel: number;
  /** Sequences currently generating. */
  activeSequences(): number;
  /** Generates a continuation of a raw prompt. Waits for a free sequence when all are busy. */
  generate(prompt: string, options?: GenerateOptions): Promise<GenerationResult>;
  /** Applies the model's chat template, then generates the assistant turn. */
  chat(messages: ChatMessage[], options?: GenerateOptions): Promise<GenerationResult>;
  /** Runs prompts concurrently as sequences of the one context. */
  batchGenerate(prompts: string[], options?: GenerateOptions): Promise<GenerationResult[]>;
  /** Renders messages with the model's chat template (what chat() evaluates). */
  formatChat(messages: ChatMessage[]): string;
  tokenize(text: string): number[];
  detokenize(tokens: number[]): string;
  /** Embeds texts (mean-pooled, L2-normalised). Requires a model loaded with embedding: true. */
  embed(texts: string[]): Promise<number[][]>;
  dispose(): Promise<void>;
}

export interface Engine {
  /** A short name of the backend, e.g. "node-llama-cpp" or "native". */
  readonly name: string;
  /** Decode threads used when a load does not say. */
  readonly defaultThreads: number;
  loadModel(options: LoadModelOptions): Promise<LoadedModel>;
  dispose(): Promise<void>;
}
