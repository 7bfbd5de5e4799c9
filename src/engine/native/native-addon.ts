// Loads Reflexia's native decode addon (native/build/Release/reflexia_native.node) and types its surface.
import { existsSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { ReflexiaError } from "../../errors/index.ts";
import { fileTypeName } from "../../gguf/index.ts";
import type { ModelInfo } from "../types.ts";
import type { GpuMode, PromptSplitMode } from "../../config/keys.ts";
import { selectGpuBackend, type GpuSelection, type RawDevice } from "../gpu/select-gpu-backend.ts";
import { resolveLlamaLibraryPath } from "../llama-library.ts";

export interface NativeModelInfo {
  description: string;
  architecture: string;
  fileType: number | null;
  parameterCount: number;
  tensorBytes: number;
  trainContextSize: number;
  embeddingSize: number;
  layers: number;
  vocabSize: number;
  bos: number;
  eos: number;
  addBos: boolean;
  addEos: boolean;
  /** Layers llama.cpp put on the load's devices (the output layer counts as one). */
  gpuLayers: number;
  /** Weight buffers llama.cpp allocated ("CPU_Mapped", "CPU_REPACK", "Vulkan0", ...), from its load log. */
  weightBuffers: { name: string; bytes: number }[];
}

/** The engine's ModelInfo of a loaded native model (`path` is the GGUF it came from, for its size). */
export function modelInfoOf(native: NativeModelInfo, path: string): ModelInfo {
  return {
    architecture: native.architecture || "unknown",
    parameterCount: native.parameterCount,
    trainContextSize: native.trainContextSize,
    fileType: native.fileType === null ? "unknown" : fileTypeName(native.fileType),
    sizeBytes: statSync(path).size,
    embeddingSize: native.embeddingSize,
    vocabSize: native.vocabSize,
  };
}

export interface NativeModel {
  info(): NativeModelInfo;
  meta(key: string): string | null;
  tokenize(text: string, addSpecial: boolean, parseSpecial: boolean): Int32Array;
  detokenize(tokens: Int32Array, removeSpecial: boolean, unparseSpecial: boolean): string;
  chatTemplate(): string | null;
  /** The vocabulary's fill-in-the-middle token ids, -1 where it has none. */
  fimTokens(): { prefix: number; suffix: number; middle: number };
  /** null when llama.cpp does not recognise the template. */
  applyChatTemplate(template: string | null, roles: string[], contents: string[], addAssistant: boolean): string | null;
  dispose(): void;
}

export interface NativeSubmitParams {
  maxTokens: number;
  temperature: number;
  topP: number;
  topK: number;
  seed: number;
  repeatPenalty: number;
  /** Off when absent (0). */
  frequencyPenalty?: number;
  presencePenalty?: number;
  repeatLastN: number;
  /** Flattened [token, bias, token, bias, …]; added to the logits before the penalties. */
  logitBias?: number[];
  stop: string[];
  ignoreEos?: boolean;
  /** false: no text events, the whole text arrives with "done". Defaults to true. */
  stream?: boolean;
  /** Most tokens (prompt + generated) the request may hold; 0 or absent: the context of a sequence. */
  contextLimit?: number;
  /** "done" carries the generated token ids. Defaults to false. */
  wantTokens?: boolean;
  /** false: no cached or running sequence's prefix is taken, the whole prompt is evaluated. Defaults to true. */
  reusePrefix?: boolean;
  /** GBNF the output must match; grammarTriggers make it lazy (see GrammarConstraint). */
  grammar?: string;
  grammarRoot?: string;
  /** The grammar writes JSON: close open strings, arrays and objects as max_tokens nears (GrammarConstraint.closeJson). */
  grammarCloseJson?: boolean;
  grammarTriggers?: string[];
  /** The literal words of grammarTriggers, watched for natively (GrammarConstraint.triggerWords). */
  grammarTriggerWords?: string[];
  /** Log-probabilities per token: 0 the sampled token's, k (≤ 20) also the top k. */
  logprobs?: number;
}

export interface NativeLogprob {
  text: string;
  /** The token's own bytes (`text` shows U+FFFD for a part of a character). */
  bytes: Uint8Array;
  logprob: number;
  top: { text: string; bytes: Uint8Array; logprob: number }[];
}

export type NativeEvent =
  | { kind: "ready"; id: number; contextSize: number; sequenceContextSize: number; batchSize: number }
  | { kind: "fatal"; id: number; error: string }
  | { kind: "closed"; id: number }
  | { kind: "text"; id: number; text: string; logprobs?: NativeLogprob[] }
  | {
      kind: "done";
      id: number;
      text?: string;
      logprobs?: NativeLogprob[];
      finish: "stop" | "length" | "cancelled" | "error";
      error?: string;
      promptTokens: number;
      /** Prompt tokens taken from the prefix cache (not evaluated). */
      cachedTokens: number;
      completionTokens: number;
      /** Generated token ids, when the request asked (wantTokens). */
      tokens?: Int32Array;
      tSubmit: number;
      tAdmit: number;
      tPromptDone: number;
      tEnd: number;
      tokenTimes: Float64Array;
    };

export interface NativeGeneratorStats {
  decodeMs: number;
  busyMs: number;
  sampleMs: number;
  decodeCalls: number;
  /** Loop steps that decoded (one batched call, or one call per sequence when split). */
  decodeSteps: number;
  /** Part of decodeMs spent on one-token batches, and their count: llama.cpp's own per-token decode time. */
  singleTokenDecodeMs: number;
  singleTokenDecodeCalls: number;
  batchTokens: number;
  generatedTokens: number;
  promptTokens: number;
  /** Prompt tokens whose KV came from the prefix cache instead of being evaluated. */
  cachedPromptTokens: number;
  /** Idle cached sequences dropped to make room. */
  prefixCacheEvictions: number;
  /** Prompts that took a running request's prefix (n > 1 choices, a shared system prompt) instead of evaluating it. */
  sharedPrefixes: number;
  maxBatchSequences: number;
  /** Decode steps run as one one-token llama_decode per sequence instead of one batch (see batchSplit). */
  splitSteps: number;
  /** llama_decode calls run on one thread because step times showed CPU contention (adaptiveThreads). */
  reducedThreadCalls: number;
  /** Times the decode loop left the full threadpool for one thread. */
  contentionEvents: number;
  /** Prompt batches filled to a flash-attention tile with re-evaluated cached tokens (see tileFill). */
  tileFills: number;
  /** Idle cached sequences copied to host memory (and their cells freed) while other requests ran. */
  cacheParks: number;
  /** Parked caches put back into the pool for a request that reused their prefix. */
  cacheRestores: number;
  /** Steps that left a waiting prompt to the next step so that the ones before it reach their first token sooner (see promptSplit). */
  promptSplits: number;
  /** Times the unified pool held no sequence's cells as new prompts started, and its placement went back to cell 0. */
  poolResets: number;
  llamaEvalMs: number;
  llamaEvalCount: number;
  llamaPromptEvalMs: number;
  llamaPromptEvalTokens: number;
  /** Decode graphs llama.cpp reused instead of rebuilding (same batch shape as the step before). */
  llamaGraphsReused: number;
}

export const BATCH_SPLIT_MODES = ["auto", "never", "always"] as const;
export type BatchSplitMode = (typeof BATCH_SPLIT_MODES)[number];
export const TILE_FILL_MODES = ["auto", "never", "always"] as const;
export type TileFillMode = (typeof TILE_FILL_MODES)[number];

/** Every field but ubatchSize is required: the addon restates no default (they live in native-engine.ts). */
export interface NativeGeneratorOptions {
  contextSize: number;
  parallel: number;
  batchSize: number;
  /** Tokens per llama.cpp micro-batch. Defaults to the batch size, at most 512. */
  ubatchSize?: number;
  threads: number;
  poll: number;
  kvUnified: boolean;
  /** Keep finished sequences' KV for the next request's common prefix. */
  prefixCache: boolean;
  /** Decode on one thread without the spinning pool while step times show CPU contention. */
  adaptiveThreads: boolean;
  batchSplit: BatchSplitMode;
  tileFill: TileFillMode;
  promptSplit: PromptSplitMode;
  /** Least ms between two hand-overs of streamed text to JS (0 = after every decode step). */
  flushIntervalMs: number;
}

export interface NativeGenerator {
  submit(id: number, prompt: Int32Array, params: NativeSubmitParams): void;
  /** While held, submissions wait; released, the decode loop admits them together. */
  holdAdmission(on: boolean): void;
  cancel(id: number): void;
  close(): void;
  stats(): NativeGeneratorStats;
  resetStats(): void;
  activeCount(): number;
}

export interface NativeEmbedder {
  embed(inputs: Int32Array[]): Promise<Float32Array[]>;
  close(): void;
  contextSize(): number;
}

export interface NativeEvaluator {
  /** tokens.length × n_vocab logits, row i predicting the token after tokens[i]. */
  evaluate(tokens: Int32Array): Promise<Float32Array>;
  close(): void;
  contextSize(): number;
}

export interface NativeAddon {
  init(backendDir: string, options: { logLevel: number }): { cpuBackend: string; cpuBackendName: string };
  /** Registers a ggml backend module (libggml-cuda.so / libggml-vulkan.so); never call twice for one path. */
  loadBackend(path: string): { name: string; devices: number } | { error: string };
  /** Every device in ggml's registry, CPU included, with its memory now. */
  devices(): RawDevice[];
  /** JSON Schema (as JSON text) → GBNF with llama.cpp common's converter; `error` names what it cannot convert. */
  jsonSchemaToGrammar(schemaJson: string): { grammar: string } | { error: string };
  /** null when the GBNF parses and has rule `root`, else llama.cpp's reason. */
  checkGrammar(gbnf: string, root: string): string | null;
  /** Times a ggml copy of `bytes` on a device: `passes` timed passes after one warm-up. */
  deviceBandwidth(
    index: number,
    options: { bytes: number; passes: number; threads: number },
  ): Promise<{ bytes: number; passSeconds: number[] }>;
  /** gpuLayers go to `devices` (ggml indices); none listed means CPU only. */
  loadModel(path: string, options: { useMmap?: boolean; gpuLayers?: number; devices?: number[] }): Promise<NativeModel>;
  Generator: new (
    model: NativeModel,
    options: NativeGeneratorOptions,
    onEvents: (events: NativeEvent[]) => void,
  ) => NativeGenerator;
  Embedder: new (model: NativeModel, options: { contextSize: number; threads: number; poll: number }) => NativeEmbedder;
  /** Query rows from which ggml-cpu's flash attention goes in tiles (GGML_FA_TILE_Q), not one row at a time. */
  attentionTileRows: number;
  Evaluator: new (
    model: NativeModel,
    options: { contextSize: number; batchSize: number; threads: number; poll: number },
  ) => NativeEvaluator;
}

/** Where `node native/build.mjs` (run by npm install) puts the addon. */
export const NATIVE_ADDON_PATH = fileURLToPath(
  new URL("../../../native/build/Release/reflexia_native.node", import.meta.url),
);

let loaded: { addon: NativeAddon; cpuBackend: string } | undefined;
// A backend module registers its devices again each time ggml loads it: one load per path per process.
const backendLoads = new Map<string, ReturnType<NativeAddon["loadBackend"]>>();
const selections = new Map<GpuMode, GpuSelection>();

/**
 * The GPU decision for this process and mode, made once (modules stay registered for the life of the process; each
 * engine gives layers only to its own selection's devices).
 */
export function selectNativeGpu(requested: GpuMode, logLevel = 0): GpuSelection {
  const { addon } = loadNativeAddon(logLevel);
  let s = selections.get(requested);
  if (!s) {
    const once = (path: string) => {
      let r = backendLoads.get(path);
      if (!r) backendLoads.set(path, (r = addon.loadBackend(path)));
      return r;
    };
    s = selectGpuBackend({ loadBackend: once, devices: () => addon.devices() }, requested);
    selections.set(requested, s);
  }
  return s;
}

/** The addon, initialised once per process; RFX_ENGINE when it was not built or cannot load its libraries. */
export function loadNativeAddon(logLevel = 0): { addon: NativeAddon; cpuBackend: string } {
  if (loaded) return loaded;
  if (!existsSync(NATIVE_ADDON_PATH)) {
    throw new ReflexiaError(
      "RFX_ENGINE",
      `native engine not built (${NATIVE_ADDON_PATH} missing); run \`node native/build.mjs\``,
    );
  }
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as NativeAddon;
  } catch (e) {
    throw new ReflexiaError(
      "RFX_ENGINE",
      `native engine failed to load: ${e instanceof Error ? e.message : String(e)}`,
      undefined,
      { cause: e },
    );
  }
  // ggml picks the best CPU variant (libggml-cpu-<arch>.so) from the directory of the prebuilt libllama.
  const info = addon.init(dirname(resolveLlamaLibraryPath()), { logLevel });
  loaded = { addon, cpuBackend: info.cpuBackend };
  return loaded;
}
