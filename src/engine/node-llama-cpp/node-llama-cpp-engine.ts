// The Engine backed by node-llama-cpp: loads GGUF variants into contexts and runs a JS-driven token loop on their sequences.
import {
  getLlama,
  LlamaLogLevel,
  readGgufFileInfo,
  TokenBias,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaEmbeddingContext,
  type LlamaModel,
  type SequenceEvaluateOptions,
  type Token,
} from "node-llama-cpp";
import { ReflexiaError, isReflexiaError } from "../../errors/index.ts";
import { foldToolsIntoMessages, needsToolRendering } from "../tool-chat.ts";
import { checkLoadOptions, DEFAULT_BATCH_SIZE } from "../check-load-options.ts";
import { createChatRenderer, type ChatRenderer } from "./nlc-chat.ts";
import { readModelInfo } from "./nlc-model-info.ts";
import { checkLogitBiasIds, REPEAT_LAST_N, resolveSampling } from "../resolve-sampling.ts";
import { createSequencePool } from "./nlc-sequence-pool.ts";
import { createStopMatcher } from "./nlc-stop-matcher.ts";
import { createTokenDecoder } from "./nlc-token-decoder.ts";
import { availableCores } from "../threads.ts";
import type {
  ChatMessage,
  EmbedOptions,
  EmbedResult,
  Engine,
  FinishReason,
  GenerateOptions,
  GenerationResult,
  LoadModelOptions,
  LoadedModel,
} from "../types.ts";

export const NLC_LOG_LEVELS = ["disabled", "fatal", "error", "warn", "info", "log", "debug"] as const;
export type NlcLogLevel = (typeof NLC_LOG_LEVELS)[number];

export interface NodeLlamaCppEngineOptions {
  /** Decode threads for loads that do not say; 0 or undefined picks the measured default. */
  threads?: number;
  /** GPU offload: false keeps everything on the CPU. Defaults to false. */
  gpu?: false | "auto";
  /** Least severe llama.cpp / node-llama-cpp log level passed on. Defaults to "warn". */
  logLevel?: NlcLogLevel;
  /** Receives each log line instead of stderr (tests use it to assert no tokenizer warnings). Defaults to stderr. */
  onLog?: (level: NlcLogLevel, message: string) => void;
}

// The penalty looks at this many most recent tokens, prompt included (shared with the native engine).
const REPEAT_WINDOW = REPEAT_LAST_N;

/**
 * Default decode threads for this engine: one less than the usable cores (cgroup quota included, from threads.ts).
 * Unlike the native loop, node-llama-cpp's token loop runs on Node's main thread between decodes, so a compute
 * thread on every core makes llama.cpp's workers fight it: on 2 busy cores the tiny model decoded ~2,600-3,000 tok/s
 * with 1 thread and 7-9 tok/s with 2 (`createNodeLlamaCppEngine({threads})`, 128 greedy tokens, load average ~6).
 */
export function defaultDecodeThreads(): number {
  return Math.max(1, availableCores() - 1);
}

export function createNodeLlamaCppEngine(options: NodeLlamaCppEngineOptions = {}): Engine {
  const defaultThreads = options.threads && options.threads > 0 ? Math.floor(options.threads) : defaultDecodeThreads();
  const logLevel = options.logLevel ?? "warn";
  const loaded = new Set<LoadedModel>();
  let llamaPromise: Promise<Llama> | undefined;
  let disposed = false;

  function log(level: LlamaLogLevel, message: string): void {
    const text = message.trimEnd();
    if (text.length === 0) return;
    if (options.onLog) options.onLog(level as NlcLogLevel, text);
    else process.stderr.write(`[llama ${level}] ${text}\n`);
  }

  function llama(): Promise<Llama> {
    // One Llama instance per engine, created on first load: it loads the native backend (hundreds of ms).
    llamaPromise ??= getLlama({
      gpu: options.gpu ?? false,
      build: "never",
      skipDownload: true,
      progressLogs: false,
      logLevel: logLevel as LlamaLogLevel,
      logger: log,
      // 0 lifts node-llama-cpp's shared thread cap so each context gets exactly the threads it asks for.
      maxThreads: 0,
    }).catch((e: unknown) => {
      llamaPromise = undefined;
      throw new ReflexiaError(
        "RFX_ENGINE",
        `cannot start llama.cpp: ${e instanceof Error ? e.message : String(e)}`,
        undefined,
        { cause: e },
      );
    });
    return llamaPromise;
  }

  return {
    name: "node-llama-cpp",
    defaultThreads,
    async loadModel(load: LoadModelOptions): Promise<LoadedModel> {
      if (disposed) throw new ReflexiaError("RFX_NOT_READY", "engine has been disposed");
      const lm = await loadNodeLlamaCppModel(await llama(), load, defaultThreads, options.gpu ?? false);
      loaded.add(lm);
      const dispose = lm.dispose.bind(lm);
      lm.dispose = async () => {
        loaded.delete(lm);
        await dispose();
      };
      return lm;
    },
    async dispose(): Promise<void> {
      if (disposed) return;
      disposed = true;
      await Promise.allSettled([...loaded].map((m) => m.dispose()));
      if (llamaPromise) {
        const l = await llamaPromise.catch(() => undefined);
        await l?.dispose();
      }
    },
  };
}

function l2normalise(v: readonly number[]): number[] {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum);
  return norm > 0 ? v.map((x) => x / norm) : v.slice();
}

/** Combines the caller's signal with the model's lifetime signal (aborted by dispose). */
function linkSignals(a: AbortSignal | undefined, b: AbortSignal): AbortSignal {
  return a ? AbortSignal.any([a, b]) : b;
}

async function loadNodeLlamaCppModel(
  llama: Llama,
  load: LoadModelOptions,
  defaultThreads: number,
  gpu: false | "auto",
): Promise<LoadedModel> {
  const { parallel, requestedContext } = checkLoadOptions(load);
  const threads = load.threads && load.threads > 0 ? load.threads : defaultThreads;
  const embedding = load.embedding ?? false;
  // GPU layers are placed by the native engine (GPU=…); this backend offloads only with its own gpu: "auto".
  if ((load.gpuLayers ?? 0) !== 0)
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `gpuLayers ${load.gpuLayers} needs the native engine (ENGINE=native); the node-llama-cpp engine does not place GPU layers`,
    );

  let model: LlamaModel;
  try {
    model = await llama.loadModel({
      modelPath: load.path,
      gpuLayers: gpu === false ? 0 : "auto",
      // llama-architecture GGUFs rarely declare a pooling type, and llama.cpp then embeds with the last token only;
      // mean pooling is what Reflexia promises. Files that declare a pooling type keep theirs.
      ...(embedding ? { metadataOverrides: await meanPoolingOverride(load.path) } : {}),
    });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const code = /gguf|magic|invalid|truncat|unexpected end/i.test(msg) ? "RFX_INVALID_GGUF" : "RFX_ENGINE";
    throw new ReflexiaError(code, `cannot load ${load.path}: ${msg}`, { path: load.path }, { cause: e });
  }

  try {
    const info = readModelInfo(model, load.path);
    // The context is shared by the sequences (as in llama.cpp's server): each gets contextSize / parallel tokens.
    const totalContext = Math.min(requestedContext, Math.max(16, model.trainContextSize || requestedContext));
    const perSequence = Math.floor(totalContext / parallel);
    if (perSequence < 16)
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `contextSize ${totalContext} leaves fewer than 16 tokens for each of ${parallel} sequences`,
        { field: "contextSize" },
      );

    if (embedding) {
      const embeddingContext = await model.createEmbeddingContext({
        contextSize: totalContext,
        // Pooling needs the whole input in one batch.
        batchSize: totalContext,
        threads,
      });
      return createEmbeddingModel(load.path, info, model, embeddingContext, totalContext);
    }

    const context = await model.createContext({
      contextSize: perSequence,
      sequences: parallel,
      threads,
      batchSize: Math.min(DEFAULT_BATCH_SIZE, perSequence * parallel),
    });
    return createGenerationModel(load.path, info, model, context, parallel);
  } catch (e) {
    await model.dispose().catch(() => undefined);
    if (isReflexiaError(e)) throw e;
    throw new ReflexiaError(
      "RFX_ENGINE",
      `cannot create a context for ${load.path}: ${e instanceof Error ? e.message : String(e)}`,
      { path: load.path },
      { cause: e },
    );
  }
}

async function meanPoolingOverride(path: string): Promise<Record<string, unknown>> {
  const fileInfo = await readGgufFileInfo(path, { readTensorInfo: false });
  const arch = String((fileInfo.metadata as { general?: { architecture?: string } }).general?.architecture ?? "llama");
  const archMeta = (fileInfo.metadata as unknown as Record<string, Record<string, unknown> | undefined>)[arch];
  if (archMeta?.pooling_type !== undefined) return {};
  // 1 = LLAMA_POOLING_TYPE_MEAN.
  return { [arch]: { pooling_type: 1 } };
}

function notForMode(what: string, mode: string): never {
  throw new ReflexiaError("RFX_BAD_REQUEST", `${what} is not available on a model loaded for ${mode}`);
}

function createEmbeddingModel(
  path: string,
  info: LoadedModel["info"],
  model: LlamaModel,
  embeddingContext: LlamaEmbeddingContext,
  contextSize: number,
): LoadedModel {
  let disposed = false;
  let inflight: Promise<unknown> = Promise.resolve();
  const ensureOpen = () => {
    if (disposed) throw new ReflexiaError("RFX_NOT_READY", `model ${path} has been unloaded`);
  };
  return {
    path,
    info,
    contextSize,
    parallel: 1,
    sequenceContextSize: contextSize,
    activeSequences: () => 0,
    generate: async () => notForMode("generate", "embeddings"),
    chat: async () => notForMode("chat", "embeddings"),
    batchGenerate: async () => notForMode("batchGenerate", "embeddings"),
    formatChat: () => notForMode("formatChat", "embeddings"),
    tokenize: (text) => (ensureOpen(), model.tokenize(text, true)),
    detokenize: (tokens) => (ensureOpen(), model.detokenize(tokens as Token[], true)),
    async embed(texts: string[], options: EmbedOptions = {}): Promise<EmbedResult> {
      ensureOpen();
      if (!Array.isArray(texts) || texts.some((t) => typeof t !== "string"))
        throw new ReflexiaError("RFX_VALIDATION", "texts must be an array of strings");
      const run = async () => {
        const out: number[][] = [];
        let promptTokens = 0;
        for (const text of texts) {
          ensureOpen();
          if (text.length === 0) {
            out.push(new Array<number>(info.embeddingSize).fill(0));
            continue;
          }
          // What the embedding context evaluates: the text tokenized as it does (no special tokens), plus the BOS /
          // EOS it adds, which must stay one short of the context.
          const n = embeddingContext.calculateInputLength(text);
          if (n >= contextSize && options.truncate) {
            const tokens = model.tokenize(text, false);
            const added = n - tokens.length;
            const cut = tokens.slice(0, contextSize - 1 - added);
            out.push(l2normalise((await embeddingContext.getEmbeddingFor(cut)).vector));
            promptTokens += cut.length + added;
            continue;
          }
          if (n >= contextSize)
            throw new ReflexiaError(
              "RFX_CONTEXT_OVERFLOW",
              `text of ${n} tokens does not fit the ${contextSize}-token embedding context`,
              { tokens: n, contextSize },
            );
          const e = await embeddingContext.getEmbeddingFor(text);
          out.push(l2normalise(e.vector));
          promptTokens += n;
        }
        return { embeddings: out, promptTokens };
      };
      // Calls are serialised: the embedding context has one sequence.
      const p = inflight.then(run, run);
      inflight = p.catch(() => undefined);
      return p;
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await inflight;
      await embeddingContext.dispose().catch(() => undefined);
      await model.dispose().catch(() => undefined);
    },
  };
}

interface RunInput {
  tokens: Token[];
  stopTokens?: readonly Token[];
  stopStrings?: readonly string[];
}

function createGenerationModel(
  path: string,
  info: LoadedModel["info"],
  model: LlamaModel,
  context: LlamaContext,
  parallel: number,
): LoadedModel {
  const sequences: LlamaContextSequence[] = [];
  for (let i = 0; i < parallel; i++) sequences.push(context.getSequence());
  const pool = createSequencePool(sequences);
  const perSequence = context.contextSize;
  const lifetime = new AbortController();
  const inflight = new Set<Promise<unknown>>();
  let renderer: ChatRenderer | undefined;
  let disposed = false;

  const ensureOpen = () => {
    if (disposed) throw new ReflexiaError("RFX_NOT_READY", `model ${path} has been unloaded`);
  };
  const chatRenderer = () => (renderer ??= createChatRenderer(model));
  const detok = (tokens: readonly number[], last: readonly number[]) =>
    model.detokenize(tokens as Token[], false, last as Token[]);

  function withBos(tokens: Token[]): Token[] {
    const bos = model.tokens.bos;
    if (bos != null && model.tokens.shouldPrependBosToken && tokens[0] !== bos) return [bos, ...tokens];
    return tokens;
  }

  async function run(input: RunInput, options: GenerateOptions): Promise<GenerationResult> {
    const t0 = performance.now();
    ensureOpen();
    // Constrained sampling and log-probabilities live in the native engine's sampler chain.
    if (options.grammar || options.logprobs !== undefined)
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `${options.grammar ? "grammar-constrained output (response_format, format, grammar, forced tool calls)" : "logprobs"} needs the native engine (ENGINE=native); this server runs node-llama-cpp`,
      );
    const s = resolveSampling(options);
    checkLogitBiasIds(s.logitBias, info.vocabSize);
    const prompt = input.tokens;
    if (options.contextTokens !== undefined)
      throw new ReflexiaError(
        "RFX_VALIDATION",
        "context (token ids to continue from) needs the native engine; the node-llama-cpp engine does not support it",
        { field: "context" },
      );
    if (prompt.length === 0)
      throw new ReflexiaError("RFX_VALIDATION", "prompt is empty and the model has no BOS token to start from");
    const limit = Math.min(perSequence, options.contextSize ?? perSequence);
    // At least one cell must stay free for a generated token.
    if (prompt.length >= limit)
      throw new ReflexiaError(
        "RFX_CONTEXT_OVERFLOW",
        `prompt of ${prompt.length} tokens does not fit the ${limit}-token context of a sequence`,
        { promptTokens: prompt.length, contextSize: limit },
      );

    const signal = linkSignals(options.signal, lifetime.signal);
    const sequence = await pool.acquire(signal);
    const tAcquired = performance.now();
    const result = (
      text: string,
      finishReason: FinishReason,
      completionTokens: number,
      t: Partial<Record<"firstYield" | "first" | "last", number>>,
      inter: number[],
    ): GenerationResult => {
      const end = performance.now();
      return {
        text,
        finishReason,
        promptTokens: prompt.length,
        completionTokens,
        timings: {
          queueMs: tAcquired - t0,
          promptEvalMs: t.firstYield !== undefined ? t.firstYield - tAcquired : 0,
          ttftMs: (t.first ?? t.firstYield ?? end) - t0,
          evalMs: t.first !== undefined && t.last !== undefined ? t.last - t.first : 0,
          totalMs: end - t0,
          interTokenMs: inter,
        },
      };
    };
    if (sequence === null) return result("", "cancelled", 0, {}, []);

    let text = "";
    const emit = (chunk: string) => {
      if (chunk.length === 0) return;
      text += chunk;
      options.onText?.(chunk);
    };
    const stopTokens = new Set(input.stopTokens ?? []);
    const matcher = createStopMatcher([...s.stop, ...(input.stopStrings ?? [])]);
    const decoder = createTokenDecoder(detok, prompt);
    const recent = prompt.slice(-REPEAT_WINDOW);
    const budget = Math.min(s.maxTokens, limit - prompt.length);
    const t: Partial<Record<"firstYield" | "first" | "last", number>> = {};
    const inter: number[] = [];
    let completion = 0;
    let finish: FinishReason = "stop";

    try {
      if (budget === 0) return result("", "length", 0, {}, []);
      // Each call starts from an empty sequence: reusing a cached prefix would change the batch shapes and with
      // them the floating-point logits, and identical requests must give identical output (response cache, seeds).
      await sequence.clearHistory();
      const evaluateOptions: SequenceEvaluateOptions = {
        temperature: s.temperature,
        topK: s.topK,
        topP: s.topP,
        seed: s.seed,
        yieldEogToken: true,
        repeatPenalty:
          s.repeatPenalty === 1 && s.frequencyPenalty === 0 && s.presencePenalty === 0
            ? undefined
            : {
                punishTokens: () => recent,
                penalty: s.repeatPenalty,
                frequencyPenalty: s.frequencyPenalty,
                presencePenalty: s.presencePenalty,
                maxPunishTokens: REPEAT_WINDOW,
              },
        tokenBias:
          s.logitBias.length === 0
            ? undefined
            : s.logitBias.reduce((b, [id, v]) => b.set(id as Token, { logit: v }), new TokenBias(model.tokenizer)),
      };
      let ended = true;
      for await (const token of sequence.evaluate(prompt, evaluateOptions)) {
        const now = performance.now();
        t.firstYield ??= now;
        if (signal.aborted) {
          finish = "cancelled";
          ended = false;
          break;
        }
        if (model.isEogToken(token) || stopTokens.has(token)) {
          finish = "stop";
          ended = false;
          break;
        }
        completion++;
        if (t.first === undefined) t.first = now;
        else inter.push(now - (t.last ?? now));
        t.last = now;
        recent.push(token);
        if (recent.length > REPEAT_WINDOW) recent.shift();
        emit(matcher.push(decoder.push(token)));
        if (matcher.stopped) {
          finish = "stop";
          ended = false;
          break;
        }
        if (completion >= budget) {
          finish = "length";
          ended = false;
          break;
        }
      }
      if (ended) finish = "stop";
      emit(matcher.push(decoder.flush()));
      emit(matcher.flush());
      return result(text, finish, completion, t, inter);
    } catch (e) {
      // Dispose tears the context down under a running loop; that ends the call as cancelled, not as an error.
      if (signal.aborted) return result(text, "cancelled", completion, t, inter);
      if (isReflexiaError(e)) throw e;
      throw new ReflexiaError(
        "RFX_ENGINE",
        `generation failed: ${e instanceof Error ? e.message : String(e)}`,
        undefined,
        { cause: e },
      );
    } finally {
      pool.release(sequence);
    }
  }

  function track<T>(p: Promise<T>): Promise<T> {
    inflight.add(p);
    const done = () => inflight.delete(p);
    p.then(done, done);
    return p;
  }

  const lm: LoadedModel = {
    path,
    info,
    contextSize: perSequence * parallel,
    sequenceContextSize: perSequence,
    parallel,
    activeSequences: () => pool.busy(),
    generate(prompt: string, options: GenerateOptions = {}) {
      return track(
        (async () => {
          ensureOpen();
          if (typeof prompt !== "string") throw new ReflexiaError("RFX_VALIDATION", "prompt must be a string");
          // Special-token text is parsed (as llama.cpp's server does for raw prompts), so a prompt rendered by
          // formatChat() evaluates exactly as chat() would.
          return run({ tokens: withBos(model.tokenize(prompt, true)) }, options);
        })(),
      );
    },
    chat(messages: ChatMessage[], options: GenerateOptions = {}) {
      return track(
        (async () => {
          ensureOpen();
          if (!Array.isArray(messages)) throw new ReflexiaError("RFX_VALIDATION", "messages must be an array");
          // Tools reach this engine's templates through the documented fallback (tool-chat.ts).
          const rendered = chatRenderer().render(
            needsToolRendering(messages, options.tools) ? foldToolsIntoMessages(messages, options.tools) : messages,
          );
          return run(
            { tokens: withBos(rendered.tokens), stopTokens: rendered.stopTokens, stopStrings: rendered.stopStrings },
            options,
          );
        })(),
      );
    },
    async batchGenerate(prompts: string[], options: GenerateOptions = {}) {
      if (!Array.isArray(prompts)) throw new ReflexiaError("RFX_VALIDATION", "prompts must be an array of strings");
      // One onText would interleave several streams; batch callers read each result instead.
      const { onText: _ignored, ...rest } = options;
      // Started in the same tick, the sequences' evaluations land in the same llama.cpp batches.
      return Promise.all(prompts.map((p) => lm.generate(p, rest)));
    },
    formatChat(messages: ChatMessage[]) {
      ensureOpen();
      if (!Array.isArray(messages)) throw new ReflexiaError("RFX_VALIDATION", "messages must be an array");
      return chatRenderer().render(messages).text;
    },
    tokenize(text: string) {
      ensureOpen();
      return model.tokenize(text, true);
    },
    detokenize(tokens: number[]) {
      ensureOpen();
      return model.detokenize(tokens as Token[], true);
    },
    embed: async () => notForMode("embed", "generation (load with embedding: true)"),
    async dispose() {
      if (disposed) return;
      disposed = true;
      lifetime.abort();
      pool.close();
      // Running loops see the abort at their next token; wait for them so no evaluate() outlives the context.
      await Promise.allSettled([...inflight]);
      await context.dispose().catch(() => undefined);
      await model.dispose().catch(() => undefined);
    },
  };
  return lm;
}
