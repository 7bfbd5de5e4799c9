// The native Engine: generation runs in Reflexia's C++ addon, whose own thread decodes every running sequence of a
// context in one continuous batch and hands text to JS in chunks; only tokenizing and bookkeeping stay in JS.
import { createSerialQueue } from "./serial-queue.ts";
import { ReflexiaError, isReflexiaError } from "../../errors/index.ts";
import { checkLoadOptions, DEFAULT_BATCH_SIZE } from "../check-load-options.ts";
import type { GpuMode } from "../../config/keys.ts";
import { isSoftwareDevice } from "../gpu/select-gpu-backend.ts";
import {
  BATCH_SPLIT_MODES,
  TILE_FILL_MODES,
  loadNativeAddon,
  modelInfoOf,
  selectNativeGpu,
  type BatchSplitMode,
  type TileFillMode,
  type NativeEvent,
  type NativeGenerator,
  type NativeGeneratorStats,
  type NativeLogprob,
  type NativeModel,
} from "./native-addon.ts";
import { renderNativeChat } from "./native-chat.ts";
import { checkLogitBiasIds, REPEAT_LAST_N, resolveSampling } from "../resolve-sampling.ts";
import { CONFIG_DEFAULTS, PROMPT_SPLIT_MODES, type PromptSplitMode } from "../../config/index.ts";
import { resolveThreadPolicy } from "../threads.ts";
import type {
  ChatMessage,
  EmbedOptions,
  EmbedResult,
  Engine,
  FinishReason,
  GenerateOptions,
  EngineGpu,
  GenerationResult,
  LoadedModel,
  LoadEvaluatorOptions,
  LoadModelOptions,
  LogitsEvaluator,
  ModelInfo,
  ModelOffload,
  TokenLogprob,
  ToolDefinition,
} from "../types.ts";
import { MAX_TOP_LOGPROBS } from "../types.ts";
import { checkGrammar } from "../grammar.ts";

export { BATCH_SPLIT_MODES, type BatchSplitMode, TILE_FILL_MODES, type TileFillMode } from "./native-addon.ts";
export { PROMPT_SPLIT_MODES, type PromptSplitMode } from "../../config/index.ts";

export const NATIVE_LOG_LEVELS = ["silent", "warn", "debug"] as const;
export type NativeLogLevel = (typeof NATIVE_LOG_LEVELS)[number];

export interface NativeEngineOptions {
  /** Decode threads for loads that do not say (performance.thread_pool_size); 0 or undefined uses the thread policy. */
  threads?: number;
  /** ggml threadpool polling level 0–100 (idle workers spin before sleeping). Defaults to the thread policy's (0). */
  poll?: number;
  /** Most tokens per decode step: one per generating sequence plus prompt chunks. Defaults to DEFAULT_BATCH_SIZE (check-load-options.ts). */
  batchSize?: number;
  /**
   * One KV pool shared by all sequences (any one request may use the whole context; admission reserves each request's
   * prompt + maxTokens, so a running request never runs out) instead of contextSize / parallel cells each. Defaults
   * to true (llama.cpp's `kv_unified`).
   */
  kvUnified?: boolean;
  /**
   * Keep a finished sequence's KV and reuse the longest common token prefix of the next prompt (slot affinity, as
   * llama-server's cache_prompt); idle cached KV is evicted least recently used when cells are needed. Defaults to
   * config `models.prefix_cache`.
   */
  prefixCache?: boolean;
  /**
   * Watch decode step times and, while they stay far above their own baseline (another process busy on the same
   * cores), decode on one thread without the spinning pool; the full pool is probed every 16th step and taken back
   * when it is fast again (native/README.md, "Threads under contention"). Defaults to true.
   */
  adaptiveThreads?: boolean;
  /**
   * How a decode step of several generating sequences (and no prompt) reaches llama.cpp: "auto" times one batched
   * call against one call per sequence on the running model and takes the faster (batching wins almost always, but
   * ggml's batched q8_0 kernel can lose to its one-row kernel at 2–4 rows); "never" always batches; "always" gives
   * every llama_decode call a single sequence, prompt chunks included, so each sequence's output is exactly what it
   * would be alone (slower: for tests and reproducibility; idle prefix caches then stay in the pool instead of being
   * parked in host memory, native/README.md). Defaults to "auto".
   */
  batchSplit?: BatchSplitMode;
  /**
   * A prompt batch of fewer than 64 rows on the CPU (a chat's next turn after its cached history) goes through
   * ggml-cpu's flash attention one row at a time; "auto" re-evaluates cached tokens in front of it to fill a 64-row
   * tile when a cost model says that is faster (native/README.md, "Tile fill"); "never" does not; "always" fills
   * whenever the cache allows (tests). Reported as `cachedPromptTokens` lower by the re-evaluated tokens and in
   * stats().tileFills. Defaults to "auto".
   */
  tileFill?: TileFillMode;
  /**
   * How many waiting prompts one decode step evaluates. Prompts evaluated together all reach their first token when
   * the whole batch is done; "auto" takes at least half of the waiting prompt rows and leaves the rest to the next
   * step when a cost model (time per row and per llama_decode call, measured on the running model) says the requests'
   * waits are shorter in sum that way, never leaving a prompt twice — on the CPU a burst goes in two steps, its first
   * half answering sooner (native/README.md, "Prompt split"); "never" takes as many as the batch size allows;
   * "always" one prompt per step (tests).
   * Counted in stats().promptSplits. Defaults to config `scheduler.prompt_split`.
   */
  promptSplit?: PromptSplitMode;
  /**
   * Least milliseconds between two hand-overs of streamed text to JS; a request's first text and its end are handed
   * over at once. Fewer wake-ups of Node's thread leave the cores to the decode threads. Defaults to 16.
   */
  flushIntervalMs?: number;
  /** llama.cpp log lines on stderr. Defaults to "silent" (errors still reach the thrown messages). */
  logLevel?: NativeLogLevel;
  /**
   * GPU backend (config key gpu.backend): "auto" picks CUDA, else a real Vulkan GPU, else the CPU; "cuda" / "vulkan"
   * that backend or the CPU with the reason in `gpu.reason`. Loads put layers on it only when they ask (gpuLayers).
   * Defaults to "off".
   */
  gpu?: GpuMode;
}

export interface NativeGenerateOptions extends GenerateOptions {
  /** Keep generating past end-of-generation tokens (benchmarks need exactly maxTokens). Defaults to false. */
  ignoreEos?: boolean;
}

/** Decode-loop counters of one context since load or the last resetStats(). */
export type NativeEngineStats = NativeGeneratorStats;

export interface NativeLoadedModel extends LoadedModel {
  readonly offload: ModelOffload;
  /** Decode threads of this context. */
  readonly threads: number;
  generate(prompt: string, options?: NativeGenerateOptions): Promise<GenerationResult>;
  batchGenerate(prompts: string[], options?: NativeGenerateOptions): Promise<GenerationResult[]>;
  stats(): NativeEngineStats;
  resetStats(): void;
}

export interface NativeEngine extends Engine {
  /** The ggml CPU backend variant in use (its description). */
  readonly cpuBackend: string;
  readonly gpu: EngineGpu;
  /** Threadpool polling level of this engine's contexts. */
  readonly poll: number;
  loadModel(options: LoadModelOptions): Promise<NativeLoadedModel>;
  loadEvaluator(options: LoadEvaluatorOptions): Promise<LogitsEvaluator>;
}

// One frame at 60 Hz: streaming looks continuous, and at ~200 tok/s Node wakes once per ~3 tokens instead of each.
const DEFAULT_FLUSH_MS = 16;
/** Longest a submission waits for others arriving with it (see gathered() in createGenerationModel). */
const GATHER_MAX_MS = 20;
/** On an idle decode loop, a submission waits at least this share of the last prompt batch's time for others. */
const GATHER_IDLE_SHARE = 0.02;
// Texts whose token ids a generation model keeps (see tokenizeText): a few requests in flight at once.
const RECENT_TOKENIZED = 8;

/** `value` when it is one of `modes`; otherwise RFX_VALIDATION naming the option and its modes. */
function checkMode<M extends string>(name: string, modes: readonly M[], value: M): M {
  if (!modes.includes(value))
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `${name} must be one of ${modes.join(", ")} (got ${JSON.stringify(value)})`,
    );
  return value;
}

/** Creates the native engine; RFX_ENGINE when the addon is not built (`node native/build.mjs`). */
export function createNativeEngine(options: NativeEngineOptions = {}): NativeEngine {
  const { addon, cpuBackend } = loadNativeAddon(NATIVE_LOG_LEVELS.indexOf(options.logLevel ?? "silent"));
  const policy = resolveThreadPolicy({ configured: options.threads });
  const poll = options.poll ?? policy.poll;
  if (!Number.isInteger(poll) || poll < 0 || poll > 100)
    throw new ReflexiaError("RFX_VALIDATION", `poll must be an integer in [0, 100] (got ${poll})`);
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new ReflexiaError("RFX_VALIDATION", `batchSize must be a positive integer (got ${batchSize})`);
  const batchSplit = checkMode("batchSplit", BATCH_SPLIT_MODES, options.batchSplit ?? "auto");
  const tileFill = checkMode("tileFill", TILE_FILL_MODES, options.tileFill ?? "auto");
  const promptSplit = checkMode(
    "promptSplit",
    PROMPT_SPLIT_MODES,
    options.promptSplit ?? CONFIG_DEFAULTS.scheduler.prompt_split,
  );
  const loaded = new Set<LoadedModel>();
  let disposed = false;
  const selection = selectNativeGpu(options.gpu ?? "off", NATIVE_LOG_LEVELS.indexOf(options.logLevel ?? "silent"));
  const deviceIndices = selection.devices.map((d) => d.index);
  const gpu: EngineGpu = {
    requested: selection.requested,
    backend: selection.backend,
    reason: selection.reason,
    devices: selection.devices,
    memory: () =>
      addon
        .devices()
        .filter((d) => deviceIndices.includes(d.index))
        .map((d) => ({ ...d, software: isSoftwareDevice(d.description) })),
  };

  return {
    name: "native",
    defaultThreads: policy.threads,
    cpuBackend,
    poll,
    gpu,
    async loadModel(load: LoadModelOptions): Promise<NativeLoadedModel> {
      if (disposed) throw new ReflexiaError("RFX_NOT_READY", "engine has been disposed");
      const { parallel, requestedContext } = checkLoadOptions(load);
      const threads = load.threads && load.threads > 0 ? load.threads : policy.threads;
      const gpuLayers = load.gpuLayers ?? 0;
      if (!Number.isInteger(gpuLayers) || gpuLayers < -1)
        throw new ReflexiaError(
          "RFX_VALIDATION",
          `gpuLayers must be -1 (all) or a whole number of layers (got ${gpuLayers})`,
        );
      if (gpuLayers !== 0 && deviceIndices.length === 0)
        throw new ReflexiaError(
          "RFX_VALIDATION",
          `gpuLayers ${gpuLayers} asks for a GPU, but this engine runs on the CPU (${selection.reason})`,
        );
      let model: NativeModel;
      try {
        model = await addon.loadModel(load.path, {
          useMmap: true,
          gpuLayers,
          devices: gpuLayers === 0 ? [] : deviceIndices,
        });
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        const code = /gguf|magic|invalid|truncat|unexpected end|failed to (load|read)/i.test(msg)
          ? "RFX_INVALID_GGUF"
          : "RFX_ENGINE";
        throw new ReflexiaError(code, `cannot load ${load.path}: ${msg}`, { path: load.path }, { cause: e });
      }
      try {
        const native = model.info();
        const info = modelInfoOf(native, load.path);
        const contextSize = Math.min(requestedContext, Math.max(16, native.trainContextSize || requestedContext));
        const offload: ModelOffload = {
          gpuLayers: native.gpuLayers,
          totalLayers: native.layers + 1,
          weightBuffers: native.weightBuffers,
        };
        const lm = load.embedding
          ? createEmbeddingModel(addon, load.path, info, model, contextSize, threads, poll, offload)
          : await createGenerationModel(addon, load.path, info, model, offload, {
              contextSize,
              parallel,
              threads,
              poll,
              batchSize: Math.max(batchSize, parallel),
              kvUnified: options.kvUnified ?? true,
              prefixCache: options.prefixCache ?? CONFIG_DEFAULTS.models.prefix_cache,
              adaptiveThreads: options.adaptiveThreads ?? true,
              batchSplit,
              tileFill,
              promptSplit,
              flushIntervalMs: options.flushIntervalMs ?? DEFAULT_FLUSH_MS,
            });
        loaded.add(lm);
        const inner = lm.dispose;
        lm.dispose = async () => {
          loaded.delete(lm);
          await inner();
        };
        return lm;
      } catch (e) {
        model.dispose();
        if (isReflexiaError(e)) throw e;
        throw new ReflexiaError(
          "RFX_ENGINE",
          `cannot create a context for ${load.path}: ${e instanceof Error ? e.message : String(e)}`,
          { path: load.path },
          { cause: e },
        );
      }
    },
    async loadEvaluator(load) {
      if (disposed) throw new ReflexiaError("RFX_NOT_READY", "engine has been disposed");
      const { loadNativeEvaluator } = await import("./native-evaluator.ts");
      const threads = load.threads && load.threads > 0 ? load.threads : policy.threads;
      return loadNativeEvaluator(addon, load, threads, poll);
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await Promise.allSettled([...loaded].map((m) => m.dispose()));
    },
  };
}

function notForMode(what: string, mode: string): never {
  throw new ReflexiaError("RFX_BAD_REQUEST", `${what} is not available on a model loaded for ${mode}`);
}

function toTokens(model: NativeModel, tokens: number[]): Int32Array {
  if (!Array.isArray(tokens) || tokens.some((t) => !Number.isInteger(t)))
    throw new ReflexiaError("RFX_VALIDATION", "tokens must be an array of integers");
  const vocab = model.info().vocabSize;
  if (tokens.some((t) => t < 0 || t >= vocab))
    throw new ReflexiaError("RFX_VALIDATION", `token ids must be in [0, ${vocab})`);
  return Int32Array.from(tokens);
}

type DoneEvent = Extract<NativeEvent, { kind: "done" }>;

interface Finished {
  event: DoneEvent;
  text: string;
  logprobs?: TokenLogprob[];
  /** What the caller's onText threw, if it did; the request was cancelled then. */
  callbackError?: unknown;
}

interface Pending {
  text: string;
  logprobs?: TokenLogprob[];
  onText?: (text: string, logprobs?: TokenLogprob[]) => void;
  callbackError?: unknown;
  resolve: (f: Finished) => void;
}

interface GenerationSetup {
  contextSize: number;
  parallel: number;
  threads: number;
  poll: number;
  batchSize: number;
  kvUnified: boolean;
  prefixCache: boolean;
  adaptiveThreads: boolean;
  batchSplit: BatchSplitMode;
  tileFill: TileFillMode;
  promptSplit: PromptSplitMode;
  flushIntervalMs: number;
}

async function createGenerationModel(
  addon: ReturnType<typeof loadNativeAddon>["addon"],
  path: string,
  info: ModelInfo,
  model: NativeModel,
  offload: ModelOffload,
  setup: GenerationSetup,
): Promise<NativeLoadedModel> {
  const nativeInfo = model.info();
  const pending = new Map<number, Pending>();
  let onReady: (e: NativeEvent) => void = () => {};
  let onClosed: () => void = () => {};
  const ready = new Promise<NativeEvent>((r) => (onReady = r));
  const closed = new Promise<void>((r) => (onClosed = r));

  const generator: NativeGenerator = new addon.Generator(
    model,
    {
      contextSize: setup.contextSize,
      parallel: setup.parallel,
      batchSize: setup.batchSize,
      threads: setup.threads,
      poll: setup.poll,
      kvUnified: setup.kvUnified,
      prefixCache: setup.prefixCache,
      adaptiveThreads: setup.adaptiveThreads,
      batchSplit: setup.batchSplit,
      tileFill: setup.tileFill,
      promptSplit: setup.promptSplit,
      flushIntervalMs: setup.flushIntervalMs,
    },
    (events) => {
      for (const e of events) {
        if (e.kind === "text") {
          const p = pending.get(e.id);
          if (p) deliver(p, e.id, e.text, e.logprobs);
        } else if (e.kind === "done") {
          const p = pending.get(e.id);
          if (!p) continue;
          pending.delete(e.id);
          if (e.text || e.logprobs) deliver(p, e.id, e.text ?? "", e.logprobs);
          p.resolve({ event: e, text: p.text, logprobs: p.logprobs, callbackError: p.callbackError });
        } else if (e.kind === "ready" || e.kind === "fatal") {
          onReady(e);
        } else if (e.kind === "closed") {
          onClosed();
        }
      }
    },
  );

  function deliver(p: Pending, id: number, text: string, native?: NativeLogprob[]): void {
    p.text += text;
    const logprobs = native?.map((l): TokenLogprob => ({
      token: l.text,
      bytes: Array.from(l.bytes),
      logprob: l.logprob,
      top: l.top.map((t) => ({ token: t.text, bytes: Array.from(t.bytes), logprob: t.logprob })),
    }));
    if (logprobs && p.logprobs) p.logprobs.push(...logprobs);
    if (!p.onText || p.callbackError !== undefined) return;
    try {
      p.onText(text, logprobs);
    } catch (err) {
      // A throwing onText ends its own generation; the error reaches the caller, not the event loop.
      p.callbackError = err;
      generator.cancel(id);
    }
  }

  const r = await ready;
  if (r.kind === "fatal") {
    generator.close();
    await closed;
    throw new ReflexiaError("RFX_ENGINE", `cannot create a context for ${path}: ${r.error}`, { path });
  }
  if (r.kind !== "ready") throw new ReflexiaError("RFX_ENGINE", "native generator did not start");
  const sequenceContextSize = r.sequenceContextSize;
  const contextSize = r.contextSize;

  // A request's own limit (num_ctx) when smaller than what one request may hold.
  const contextLimit = (requested: number | undefined): number => {
    if (requested === undefined) return sequenceContextSize;
    if (!Number.isInteger(requested) || requested < 1)
      throw new ReflexiaError("RFX_VALIDATION", `contextSize must be a positive integer (got ${String(requested)})`, {
        field: "contextSize",
      });
    return Math.min(requested, sequenceContextSize);
  };

  let nextId = 1;
  let disposed = false;
  let disposing: Promise<void> | undefined;
  const ensureOpen = () => {
    if (disposed) throw new ReflexiaError("RFX_NOT_READY", `model ${path} has been unloaded`);
  };

  async function run(
    prompt: Int32Array,
    options: NativeGenerateOptions,
    extraStops: string[],
  ): Promise<GenerationResult> {
    const t0 = performance.now();
    ensureOpen();
    const s = resolveSampling(options);
    checkLogitBiasIds(s.logitBias, info.vocabSize);
    if (prompt.length === 0)
      throw new ReflexiaError("RFX_VALIDATION", "prompt is empty and the model has no BOS token to start from");
    const limit = contextLimit(options.contextSize);
    // At least one cell must stay free for a generated token.
    if (prompt.length >= limit)
      throw new ReflexiaError(
        "RFX_CONTEXT_OVERFLOW",
        `prompt of ${prompt.length} tokens does not fit the ${limit}-token context of a request`,
        { promptTokens: prompt.length, contextSize: limit },
      );
    const empty = (finishReason: FinishReason): GenerationResult => {
      const totalMs = performance.now() - t0;
      return {
        text: "",
        finishReason,
        promptTokens: prompt.length,
        cachedPromptTokens: 0,
        completionTokens: 0,
        ...(options.returnTokens ? { tokens: Array.from(prompt) } : {}),
        timings: { queueMs: 0, promptEvalMs: 0, ttftMs: totalMs, evalMs: 0, totalMs, interTokenMs: [] },
      };
    };
    const signal = options.signal;
    if (signal?.aborted) return empty("cancelled");
    if (s.maxTokens === 0) return empty("length");

    const id = nextId++;
    if (options.grammar) {
      checkGrammar(options.grammar);
      // A finished grammar allows only end-of-generation; sampling on past it has no valid token.
      if (options.ignoreEos) throw new ReflexiaError("RFX_VALIDATION", "ignoreEos cannot be combined with a grammar");
    }
    const logprobs = options.logprobs;
    if (logprobs !== undefined && (!Number.isInteger(logprobs) || logprobs < 0 || logprobs > MAX_TOP_LOGPROBS))
      throw new ReflexiaError("RFX_VALIDATION", `logprobs must be an integer in [0, ${MAX_TOP_LOGPROBS}]`);
    const done = new Promise<Finished>((resolve) =>
      pending.set(id, {
        text: "",
        logprobs: logprobs === undefined ? undefined : [],
        onText: options.onText,
        resolve,
      }),
    );
    const onAbort = () => generator.cancel(id);
    signal?.addEventListener("abort", onAbort, { once: true });
    let tSubmitted = performance.now();
    try {
      await gathered();
      generator.submit(id, prompt, {
        // The request's own cells end it "length" at its limit; admission reserves prompt + maxTokens in the pool.
        maxTokens: Math.min(s.maxTokens, limit - prompt.length),
        contextLimit: limit,
        wantTokens: options.returnTokens === true,
        reusePrefix: options.cachePrompt !== false,
        temperature: s.temperature,
        topP: s.topP,
        topK: s.topK,
        seed: s.seed,
        repeatPenalty: s.repeatPenalty,
        frequencyPenalty: s.frequencyPenalty,
        presencePenalty: s.presencePenalty,
        repeatLastN: REPEAT_LAST_N,
        ...(s.logitBias.length > 0 ? { logitBias: s.logitBias.flat() } : {}),
        stop: [...s.stop.filter((x) => x.length > 0), ...extraStops],
        ignoreEos: options.ignoreEos ?? false,
        // Text is only streamed to a listener; otherwise Node is not woken per token at all.
        stream: options.onText !== undefined,
        ...(options.grammar
          ? {
              grammar: options.grammar.gbnf,
              grammarRoot: options.grammar.root ?? "root",
              grammarCloseJson: options.grammar.closeJson === true,
              ...(options.grammar.triggers?.length ? { grammarTriggers: options.grammar.triggers } : {}),
              ...(options.grammar.triggerWords?.length ? { grammarTriggerWords: options.grammar.triggerWords } : {}),
            }
          : {}),
        ...(logprobs !== undefined ? { logprobs } : {}),
      });
      // Aborted while it waited to be submitted: the cancel above found nothing to cancel.
      if (signal?.aborted) generator.cancel(id);
      tSubmitted = performance.now();
    } catch (e) {
      pending.delete(id);
      signal?.removeEventListener("abort", onAbort);
      ensureOpen();
      throw new ReflexiaError(
        "RFX_ENGINE",
        `generation failed: ${e instanceof Error ? e.message : String(e)}`,
        undefined,
        { cause: e },
      );
    }
    const finished = await done;
    signal?.removeEventListener("abort", onAbort);
    if (finished.callbackError !== undefined) throw finished.callbackError;
    const e = finished.event;
    if (e.finish === "error") {
      if (e.error === "context_overflow")
        throw new ReflexiaError(
          "RFX_CONTEXT_OVERFLOW",
          `prompt of ${e.promptTokens} tokens does not fit the ${limit}-token context of a request`,
          { promptTokens: e.promptTokens, contextSize: limit },
        );
      throw new ReflexiaError("RFX_ENGINE", `generation failed in llama.cpp (${e.error ?? "unknown"})`);
    }
    const times = e.tokenTimes;
    const inter: number[] = [];
    for (let i = 1; i < times.length; i++) inter.push(times[i] - times[i - 1]);
    const pre = tSubmitted - t0;
    const admitted = e.tAdmit > 0 ? e.tAdmit : e.tEnd;
    const promptEvalMs = e.tPromptDone > 0 ? e.tPromptDone - admitted : 0;
    if (e.promptTokens > e.cachedTokens && promptEvalMs > 0) lastPromptMs = promptEvalMs;
    const firstToken = times.length > 0 ? times[0] : e.tPromptDone > 0 ? e.tPromptDone : e.tEnd;
    return {
      ...(finished.logprobs ? { logprobs: finished.logprobs } : {}),
      text: finished.text,
      finishReason: e.finish,
      promptTokens: e.promptTokens,
      cachedPromptTokens: e.cachedTokens,
      completionTokens: e.completionTokens,
      ...(options.returnTokens ? { tokens: [...prompt, ...(e.tokens ?? [])] } : {}),
      timings: {
        queueMs: pre + (admitted - e.tSubmit),
        promptEvalMs,
        ttftMs: pre + (firstToken - e.tSubmit),
        evalMs: times.length > 1 ? times[times.length - 1] - times[0] : 0,
        totalMs: performance.now() - t0,
        interTokenMs: inter,
      },
    };
  }

  // Submissions are gathered until the event loop has gone round once with nothing new to submit, and, when the
  // decode loop is idle, for at least GATHER_IDLE_SHARE of a prompt batch. A client's burst of requests reaches this
  // thread within a few ms, but each takes ~1-3 ms of it to prepare (parse, template, tokenize), more once the decode
  // threads run beside it: the first used to be submitted alone, its prompt batch started at once, and the others got
  // their first token a whole prompt batch later (seen: 4 requests at once, TTFT 300 ms for one, 650 ms for three;
  // llama-server's C++ front has all four in its first batch). Gathered, they share it. A lone request on an idle loop
  // waits that share (~3 ms on a 150 ms prompt batch), on a busy one two turns of the event loop; a steady stream of
  // arrivals never more than GATHER_MAX_MS.
  let gate: { waiters: (() => void)[]; since: number; size: number; minMs: number } | null = null;
  let lastPromptMs = 0;
  const gathered = (): Promise<void> =>
    new Promise<void>((resolve) => {
      if (gate) {
        gate.waiters.push(resolve);
        return;
      }
      const idle = generator.activeCount() === 0;
      const g = {
        waiters: [resolve],
        since: performance.now(),
        size: 0,
        minMs: idle ? Math.min(GATHER_MAX_MS, lastPromptMs * GATHER_IDLE_SHARE) : 0,
      };
      gate = g;
      const turn = () => {
        const waited = performance.now() - g.since;
        if (waited < GATHER_MAX_MS) {
          if (g.waiters.length > g.size) {
            g.size = g.waiters.length;
            setImmediate(turn);
            return;
          }
          // Nothing new this turn: wait out the idle minimum on a timer, not by spinning the event loop.
          if (waited < g.minMs) {
            setTimeout(turn, g.minMs - waited);
            return;
          }
        }
        gate = null;
        // Several: the decode loop takes them in one admission (it wakes at the first submission otherwise).
        const several = g.waiters.length > 1;
        if (several) generator.holdAdmission(true);
        for (const w of g.waiters) w();
        if (several) setImmediate(() => generator.holdAdmission(false));
      };
      setImmediate(turn);
    });

  const inflight = new Set<Promise<unknown>>();
  function track<T>(p: Promise<T>): Promise<T> {
    inflight.add(p);
    const drop = () => inflight.delete(p);
    p.then(drop, drop);
    return p;
  }

  // A request's prompt is tokenized twice in a row: the service counts it for the context check (tokenize()), then
  // the engine evaluates it. The last few texts' ids are kept, so the second time is free (a 1,700-token chat takes
  // 2-7 ms on the JS thread). Special-token text is parsed, as llama.cpp's server does for raw prompts, so a prompt
  // rendered by formatChat() evaluates exactly as chat() would.
  const recent: { text: string; ids: Int32Array }[] = [];
  const tokenizeText = (text: string): Int32Array => {
    let hit = recent.find((r) => r.text === text);
    if (!hit) {
      hit = { text, ids: model.tokenize(text, false, true) };
      recent.unshift(hit);
      recent.length = Math.min(recent.length, RECENT_TOKENIZED);
    }
    return hit.ids;
  };
  const tokenizePrompt = (text: string): Int32Array => {
    if (typeof text !== "string") throw new ReflexiaError("RFX_VALIDATION", "prompt must be a string");
    // BOS as the vocabulary asks. With BOS and no EOS added, llama.cpp's tokenizers give BOS + the text's tokens
    // (test: native-engine.test.ts); a vocabulary that adds more (BERT's SEP, T5's EOS) is tokenized as it says.
    if (!nativeInfo.addBos || nativeInfo.addEos) return model.tokenize(text, true, true);
    const ids = tokenizeText(text);
    const all = new Int32Array(ids.length + 1);
    all[0] = nativeInfo.bos;
    all.set(ids, 1);
    return all;
  };

  // A continuation (Ollama's `context`) is the previous prompt and answer, then this prompt without a second BOS.
  const promptTokens = (text: string, context: number[] | undefined): Int32Array => {
    if (context === undefined) return tokenizePrompt(text);
    const before = toTokens(model, context);
    if (typeof text !== "string") throw new ReflexiaError("RFX_VALIDATION", "prompt must be a string");
    const after = tokenizeText(text);
    const all = new Int32Array(before.length + after.length);
    all.set(before);
    all.set(after, before.length);
    return all;
  };

  let maxTokenChars: number | undefined;
  const lm: NativeLoadedModel = {
    path,
    info,
    offload,
    contextSize,
    parallel: setup.parallel,
    threads: setup.threads,
    sequenceContextSize,
    // Read once, on first use: one detokenize per vocabulary entry (tens of milliseconds for 32,000).
    get maxTokenChars() {
      if (maxTokenChars === undefined) {
        ensureOpen();
        let most = 1;
        for (let id = 0; id < info.vocabSize; id++)
          most = Math.max(most, model.detokenize(Int32Array.of(id), false, true).length);
        maxTokenChars = most;
      }
      return maxTokenChars;
    },
    activeSequences: () => (disposed ? 0 : generator.activeCount()),
    generate(prompt: string, options: NativeGenerateOptions = {}) {
      return track((async () => (ensureOpen(), run(promptTokens(prompt, options.contextTokens), options, [])))());
    },
    chat(messages: ChatMessage[], options: NativeGenerateOptions = {}) {
      return track(
        (async () => {
          ensureOpen();
          const rendered = renderNativeChat(model, messages, options.tools);
          return run(promptTokens(rendered.text, options.contextTokens), options, rendered.stopStrings);
        })(),
      );
    },
    async batchGenerate(prompts: string[], options: NativeGenerateOptions = {}) {
      if (!Array.isArray(prompts) || prompts.some((p) => typeof p !== "string"))
        throw new ReflexiaError("RFX_VALIDATION", "prompts must be an array of strings");
      // One onText would interleave several streams; batch callers read each result instead.
      const { onText: _ignored, ...rest } = options;
      return Promise.all(prompts.map((p) => lm.generate(p, rest)));
    },
    formatChat(messages: ChatMessage[], tools?: ToolDefinition[]) {
      ensureOpen();
      return renderNativeChat(model, messages, tools).text;
    },
    fillInMiddlePrompt(prefix: string, suffix: string) {
      ensureOpen();
      const fim = model.fimTokens();
      if (fim.prefix < 0 || fim.suffix < 0 || fim.middle < 0) return null;
      const text = (id: number) => model.detokenize(Int32Array.of(id), false, true);
      // The prefix-suffix-middle order llama.cpp's server uses for /infill.
      return `${text(fim.prefix)}${prefix}${text(fim.suffix)}${suffix}${text(fim.middle)}`;
    },
    tokenize(text: string) {
      ensureOpen();
      if (typeof text !== "string") throw new ReflexiaError("RFX_VALIDATION", "text must be a string");
      return Array.from(tokenizeText(text));
    },
    detokenize(tokens: number[]) {
      ensureOpen();
      return model.detokenize(toTokens(model, tokens), false, true);
    },
    embed: async () => notForMode("embed", "generation (load with embedding: true)"),
    stats: () => generator.stats(),
    resetStats: () => generator.resetStats(),
    dispose() {
      disposing ??= (async () => {
        disposed = true;
        // Queued and running requests end "cancelled" (their promises resolve) before the context is freed.
        generator.close();
        await closed;
        await Promise.allSettled([...inflight]);
        model.dispose();
      })();
      return disposing;
    },
  };

  return lm;
}

function createEmbeddingModel(
  addon: ReturnType<typeof loadNativeAddon>["addon"],
  path: string,
  info: ModelInfo,
  model: NativeModel,
  contextSize: number,
  threads: number,
  poll: number,
  offload: ModelOffload,
): NativeLoadedModel {
  const embedder = new addon.Embedder(model, { contextSize, threads, poll });
  let disposed = false;
  const queue = createSerialQueue();
  const ensureOpen = () => {
    if (disposed) throw new ReflexiaError("RFX_NOT_READY", `model ${path} has been unloaded`);
  };
  const mode = "embeddings";
  return {
    path,
    info,
    offload,
    contextSize,
    parallel: 1,
    threads,
    sequenceContextSize: contextSize,
    activeSequences: () => 0,
    generate: async () => notForMode("generate", mode),
    chat: async () => notForMode("chat", mode),
    batchGenerate: async () => notForMode("batchGenerate", mode),
    formatChat: () => notForMode("formatChat", mode),
    tokenize: (text) => (ensureOpen(), Array.from(model.tokenize(text, false, true))),
    detokenize: (tokens) => (ensureOpen(), model.detokenize(toTokens(model, tokens), false, true)),
    stats: () => notForMode("stats", mode),
    resetStats: () => notForMode("resetStats", mode),
    async embed(texts: string[], options: EmbedOptions = {}): Promise<EmbedResult> {
      ensureOpen();
      if (!Array.isArray(texts) || texts.some((t) => typeof t !== "string"))
        throw new ReflexiaError("RFX_VALIDATION", "texts must be an array of strings");
      const inputs = texts.map((t) => {
        if (t.length === 0) return null;
        const tokens = model.tokenize(t, true, true);
        return options.truncate && tokens.length > contextSize ? tokens.subarray(0, contextSize) : tokens;
      });
      for (const t of inputs)
        if (t && t.length > contextSize)
          throw new ReflexiaError(
            "RFX_CONTEXT_OVERFLOW",
            `text of ${t.length} tokens does not fit the ${contextSize}-token embedding context`,
            {
              tokens: t.length,
              contextSize,
            },
          );
      const run = async () => {
        ensureOpen();
        const vectors = await embedder.embed(inputs.filter((t): t is Int32Array => t !== null));
        let k = 0;
        // An empty text has no tokens to pool: it embeds as the zero vector, as in the node-llama-cpp engine.
        return {
          embeddings: inputs.map((t) =>
            t === null ? new Array<number>(info.embeddingSize).fill(0) : Array.from(vectors[k++]),
          ),
          promptTokens: inputs.reduce((n, t) => n + (t?.length ?? 0), 0),
        };
      };
      // One at a time: the embedding context has one sequence.
      return queue.run(run);
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await queue.idle();
      embedder.close();
      model.dispose();
    },
  };
}
