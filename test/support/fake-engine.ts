// A deterministic in-process Engine for scheduler and HTTP tests: paced token output, honest sequence accounting.
// The real engine cannot be paused mid-generation; this one can, so queueing and cancellation are observable.
import { createHash } from "node:crypto";
import type {
  ChatMessage,
  Engine,
  GenerateOptions,
  GenerationResult,
  LoadedModel,
  LoadModelOptions,
} from "../../src/engine/types.ts";

export interface FakeEngineOptions {
  /** Delay between generated tokens, ms. Defaults to 1. */
  tokenDelayMs?: number;
  /** Delay of loadModel, ms. Defaults to 5. */
  loadDelayMs?: number;
  /** Paths whose load fails. */
  failPaths?: string[];
}

export interface FakeEngine extends Engine {
  /** Every loadModel call, in order. */
  readonly loads: LoadModelOptions[];
  /** Paths disposed, in order. */
  readonly disposed: string[];
  /** Most generate/chat calls running at once on any one model, since creation. */
  readonly peakConcurrent: number;
  /** Generations running now across all models. */
  running(): number;
  /** Generations currently parked by hold(). */
  held(): number;
  /** Parks every generation before its next token until resume(). */
  hold(): void;
  resume(): void;
}

const WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu"];

function tokenize(text: string): number[] {
  return text
    .split(/(\s+)/)
    .filter((t) => t.length > 0)
    .map((t) => createHash("sha1").update(t).digest().readUInt16BE(0));
}

/** The context the fake models were "trained" on. */
const FAKE_TRAIN_CONTEXT = 4096;

export function createFakeEngine(options: FakeEngineOptions = {}): FakeEngine {
  const tokenDelayMs = options.tokenDelayMs ?? 1;
  const loadDelayMs = options.loadDelayMs ?? 5;
  const loads: LoadModelOptions[] = [];
  const disposed: string[] = [];
  let peakConcurrent = 0;
  let runningTotal = 0;
  let holding = false;
  let heldResolvers: (() => void)[] = [];

  const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  const gate = async (): Promise<void> => {
    if (!holding) return;
    await new Promise<void>((r) => heldResolvers.push(r));
  };

  const makeModel = (load: LoadModelOptions): LoadedModel => {
    let active = 0;
    let disposedFlag = false;
    const parallel = load.parallel ?? 1;
    // Capped at the trained context (info.trainContextSize below), as the native engine caps a load.
    const contextSize = Math.min(load.contextSize ?? FAKE_TRAIN_CONTEXT, FAKE_TRAIN_CONTEXT);

    const generate = async (prompt: string, o: GenerateOptions = {}): Promise<GenerationResult> => {
      if (disposedFlag) throw new Error("model disposed");
      const t0 = performance.now();
      active++;
      runningTotal++;
      if (active > peakConcurrent) peakConcurrent = active;
      try {
        const promptTokens = tokenize(prompt).length;
        const maxTokens = o.maxTokens ?? 256;
        // Seeded output so deterministic requests are reproducible and different prompts differ.
        const seed = createHash("sha1")
          .update(`${prompt}|${o.seed ?? 0}|${o.temperature ?? 0.8}`)
          .digest();
        let text = "";
        let completionTokens = 0;
        let finishReason: GenerationResult["finishReason"] = "length";
        let tFirst = 0;
        const inter: number[] = [];
        let tLast = 0;
        for (let i = 0; i < maxTokens; i++) {
          await gate();
          await pause(tokenDelayMs);
          if (o.signal?.aborted) {
            finishReason = "cancelled";
            break;
          }
          const piece = (i === 0 ? "" : " ") + WORDS[seed[i % seed.length] % WORDS.length];
          const candidate = text + piece;
          const stopAt = (o.stop ?? []).map((s) => candidate.indexOf(s)).filter((x) => x >= 0);
          completionTokens++;
          const t = performance.now();
          if (i === 0) tFirst = t;
          else inter.push(t - tLast);
          tLast = t;
          if (stopAt.length > 0) {
            const cut = candidate.slice(0, Math.min(...stopAt));
            if (cut.length > text.length) o.onText?.(cut.slice(text.length));
            text = cut;
            finishReason = "stop";
            break;
          }
          text = candidate;
          o.onText?.(piece);
        }
        const t1 = performance.now();
        return {
          text,
          finishReason,
          promptTokens,
          completionTokens,
          timings: {
            queueMs: 0,
            promptEvalMs: 0.5,
            ttftMs: tFirst ? tFirst - t0 : t1 - t0,
            evalMs: tFirst ? t1 - tFirst : 0,
            totalMs: t1 - t0,
            interTokenMs: inter,
          },
        };
      } finally {
        active--;
        runningTotal--;
      }
    };

    const formatChat = (messages: ChatMessage[]): string =>
      messages.map((m) => `<|${m.role}|>${m.content}`).join("\n") + "\n<|assistant|>";

    return {
      path: load.path,
      contextSize,
      parallel,
      sequenceContextSize: contextSize,
      // As a 32-layer model would report it: the layers the load asked for (-1 = all 33).
      offload: {
        gpuLayers: load.gpuLayers === -1 ? 33 : Math.min(load.gpuLayers ?? 0, 33),
        totalLayers: 33,
        weightBuffers: [],
      },
      info: {
        architecture: "llama",
        parameterCount: 1_000_000,
        trainContextSize: FAKE_TRAIN_CONTEXT,
        fileType: "q4_0",
        sizeBytes: 1024,
        embeddingSize: 16,
        vocabSize: 512,
      },
      activeSequences: () => active,
      generate,
      chat: (messages, o) => generate(formatChat(messages), o),
      batchGenerate: (prompts, o) => Promise.all(prompts.map((p) => generate(p, o))),
      formatChat,
      tokenize,
      detokenize: (tokens) => tokens.map((t) => WORDS[t % WORDS.length]).join(" "),
      async embed(texts) {
        if (!load.embedding) throw new Error("model not loaded for embeddings");
        const embeddings = texts.map((t) => {
          const h = createHash("sha256").update(t).digest();
          const v = Array.from({ length: 16 }, (_, i) => h[i] - 128);
          const n = Math.hypot(...v) || 1;
          return v.map((x) => x / n);
        });
        return { embeddings, promptTokens: texts.reduce((n, t) => n + tokenize(t).length, 0) };
      },
      async dispose() {
        if (disposedFlag) return;
        disposedFlag = true;
        disposed.push(load.path);
      },
    };
  };

  return {
    name: "fake",
    defaultThreads: 1,
    loads,
    disposed,
    get peakConcurrent() {
      return peakConcurrent;
    },
    running: () => runningTotal,
    held: () => heldResolvers.length,
    hold() {
      holding = true;
    },
    resume() {
      holding = false;
      const rs = heldResolvers;
      heldResolvers = [];
      for (const r of rs) r();
    },
    async loadModel(load) {
      loads.push(load);
      await pause(loadDelayMs);
      if (options.failPaths?.includes(load.path)) throw new Error(`cannot load ${load.path}`);
      return makeModel(load);
    },
    async dispose() {},
  };
}
