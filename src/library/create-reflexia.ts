// createReflexia: Reflexia in-process. It builds the server's own wiring (create-app-deps.ts), so generate, chat,
// batchGenerate and embed run through the same inference and embedding services as the HTTP routes (adaptive
// variant choice with its reason, response cache, roles, RAG with sources), and serve() listens over them.
import { basename, resolve } from "node:path";
import { createBenchmarkHistory } from "../bench/history.ts";
import { createServerBenchmarks } from "../bench/server-benchmarks.ts";
import { flattenConfigKeys, loadConfig } from "../config/index.ts";
import { createAppDeps } from "../create-app-deps.ts";
import { CHAT_ROLES, type ChatMessage, type SamplingOptions } from "../engine/types.ts";
import { ReflexiaError, toReflexiaError } from "../errors/index.ts";
import { startServer, type RunningServer } from "../main.ts";
import type { IngestInput } from "../rag/index.ts";
import { createBenchmarkJobs } from "../services/benchmark-jobs.ts";
import type { InferenceRequest } from "../services/inference-service.ts";
import { expandPaths } from "../services/rag/expand-paths.ts";
import { readDocumentFile } from "../services/rag/read-document-file.ts";
import type { RagRequestOptions } from "../services/rag/rag-augment.ts";
import type { ReflexiaConfigOptions } from "./config-options.ts";
import { createTextStream } from "./text-stream.ts";
import {
  LIBRARY_BENCHMARK_KINDS,
  type BatchItem,
  type ChatRequest,
  type GenerateRequest,
  type InferenceOptions,
  type RagOption,
  type Reflexia,
  type ReflexiaOptions,
} from "./types.ts";

/** The options that are not configuration keys; the type check below keeps the list complete. */
const LIBRARY_OPTION_NAMES = ["env", "configFile", "ensureDefaultModel", "documentStore", "onNotice"] as const;
type LibraryOnlyOption = Exclude<keyof ReflexiaOptions, keyof ReflexiaConfigOptions>;
const _everyLibraryOption: Record<LibraryOnlyOption, true> = Object.fromEntries(
  LIBRARY_OPTION_NAMES.map((n) => [n, true]),
) as { [K in (typeof LIBRARY_OPTION_NAMES)[number]]: true };

function ragOf(rag: RagOption | undefined): RagRequestOptions | undefined {
  if (rag === undefined || rag === false) return undefined;
  return rag === true ? {} : { topK: rag.topK, hybrid: rag.hybrid };
}

/** The request fields every inference takes, as the service reads them. */
function baseRequest(o: InferenceOptions): Omit<InferenceRequest, "kind"> {
  // Every sampling option, spelt out so that one added to SamplingOptions and not passed on fails to compile.
  const sampling = {
    maxTokens: o.maxTokens,
    temperature: o.temperature,
    topP: o.topP,
    topK: o.topK,
    seed: o.seed,
    repeatPenalty: o.repeatPenalty,
    frequencyPenalty: o.frequencyPenalty,
    presencePenalty: o.presencePenalty,
    logitBias: o.logitBias,
    stop: o.stop,
    grammar: o.grammar,
    logprobs: o.logprobs,
  } satisfies { [K in keyof Required<SamplingOptions>]: SamplingOptions[K] };
  return {
    model: o.model,
    role: o.role,
    rag: ragOf(o.rag),
    keepAliveSeconds: o.keepAliveSeconds,
    signal: o.signal,
    sampling,
  };
}

function generateRequest(r: GenerateRequest): InferenceRequest {
  if (typeof r?.prompt !== "string") throw new ReflexiaError("RFX_VALIDATION", "prompt must be a string");
  if (r.raw) return { ...baseRequest(r), kind: "completion", prompt: r.prompt };
  return {
    ...baseRequest(r),
    kind: "chat",
    messages: [
      ...(r.system ? [{ role: "system" as const, content: r.system }] : []),
      { role: "user", content: r.prompt },
    ],
  };
}

/** Options given as undefined fall back to the defaults rather than erasing them. */
function withDefaults<T extends object>(defaults: object, item: T): T {
  const out: Record<string, unknown> = { ...defaults };
  for (const [k, v] of Object.entries(item)) if (v !== undefined) out[k] = v;
  return out as T;
}

/**
 * Opens Reflexia in this process: resolves the configuration (these options over the environment over the config
 * file over the table's defaults), opens the model store (writing the offline default model when it is empty) and
 * the document store, and creates the engine. Call close() when done: it holds native memory and open files.
 */
export async function createReflexia(options: ReflexiaOptions = {}): Promise<Reflexia> {
  const configOptions: Record<string, unknown> = { ...options };
  for (const name of LIBRARY_OPTION_NAMES) delete configOptions[name];
  const loaded = loadConfig({
    env: options.env,
    file: options.configFile,
    overrides: flattenConfigKeys(configOptions),
  });
  const config = loaded.config;
  const wiring = await createAppDeps(config, {
    ensureDefaultModel: options.ensureDefaultModel,
    onNotice: options.onNotice,
    rag: options.documentStore,
    // The library writes nothing to stdout unless asked: the served app logs warnings only.
    logger: { level: "warn" },
    benchmarks: ({ store, engine }) => {
      const history = createBenchmarkHistory({ home: config.home });
      return {
        jobs: createBenchmarkJobs({ kinds: createServerBenchmarks({ loaded, store, engine }), store: history }),
        history,
      };
    },
  });
  const { services, store } = wiring;
  const servers = new Set<RunningServer>();
  let closing: Promise<void> | undefined;
  const open = (): void => {
    if (closing) throw new ReflexiaError("RFX_NOT_READY", "this Reflexia instance is closed");
  };
  const rag = () => {
    open();
    if (!wiring.rag)
      throw new ReflexiaError(
        "RFX_VALIDATION",
        "documents need the document store: create Reflexia without documentStore: false",
      );
    return wiring.rag.service;
  };
  const run = (req: InferenceRequest, onText?: (t: string) => void) => {
    open();
    return services.inference.run(req, { onText });
  };
  const benchmarkKinds = createServerBenchmarks({ loaded, store, engine: wiring.engine });

  const reflexia: Reflexia = {
    config,
    async generate(request) {
      return run(generateRequest(typeof request === "string" ? { prompt: request } : request));
    },
    chat(request: ChatRequest) {
      return createTextStream(async (onText) => {
        const messages: unknown = request?.messages;
        if (
          !Array.isArray(messages) ||
          !messages.every(
            (m: Partial<ChatMessage> | null) =>
              typeof m?.content === "string" && (CHAT_ROLES as readonly unknown[]).includes(m.role),
          )
        )
          throw new ReflexiaError(
            "RFX_VALIDATION",
            `messages must be an array of {role, content} with role one of ${CHAT_ROLES.join(", ")}`,
          );
        return run({ ...baseRequest(request), kind: "chat", messages: request.messages }, onText);
      });
    },
    async batchGenerate(items, batchOptions = {}) {
      open();
      if (!Array.isArray(items))
        throw new ReflexiaError("RFX_VALIDATION", "batchGenerate takes an array of prompts or requests");
      const { concurrency = services.scheduler.parallel, onItem, ...defaults } = batchOptions;
      if (!Number.isInteger(concurrency) || concurrency < 1)
        throw new ReflexiaError("RFX_VALIDATION", `concurrency must be a positive integer, got ${String(concurrency)}`);
      const results = new Array<BatchItem>(items.length);
      let next = 0;
      // A pool of `concurrency` workers: each holds one scheduler sequence at a time, so a batch larger than the
      // queue never overflows it (RFX_QUEUE_FULL), and the sequences it holds are decoded together.
      const worker = async (): Promise<void> => {
        while (next < items.length) {
          const index = next++;
          const item = items[index];
          let settled: BatchItem;
          try {
            const request = withDefaults<GenerateRequest>(
              defaults,
              typeof item === "string" ? { prompt: item } : (item ?? ({} as GenerateRequest)),
            );
            settled = { ok: true, result: await run(generateRequest(request)) };
          } catch (e) {
            settled = { ok: false, error: toReflexiaError(e) };
          }
          results[index] = settled;
          onItem?.(index, settled);
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
      return results;
    },
    async embed(input, embedOptions = {}) {
      open();
      const texts = typeof input === "string" ? [input] : input;
      if (!Array.isArray(texts) || texts.some((t) => typeof t !== "string"))
        throw new ReflexiaError("RFX_VALIDATION", "embed takes a string or an array of strings");
      return services.embeddings.embed({ model: embedOptions.model, input: [...texts], signal: embedOptions.signal });
    },
    models: {
      list: () => services.models.list(),
      show: (ref) => services.models.show(ref),
      running: () => services.models.running(),
      add: (path, o) => store.add(path, o),
      pull: (url, o) =>
        store.pull(url, {
          ...o,
          readTimeoutSeconds: config.registry.pull_read_timeout_seconds,
          minBytesPerSecond: config.registry.pull_min_bytes_per_second,
        }),
      quantize: (ref, to, o = {}) => store.quantize(ref, to, { onProgress: o.onProgress }),
      synth: (o) =>
        store.synth({
          shape: o.shape ?? "tiny",
          quant: o.quant ?? [config.models.default_quantization],
          name: o.name,
          seed: o.seed,
          force: o.force,
          onProgress: o.onProgress,
        }),
      remove: (ref) => services.models.remove(ref),
    },
    documents: {
      async add(items, addOptions = {}) {
        const service = rag();
        const list = typeof items === "string" ? [items] : items;
        const inputs: (IngestInput & { source: string })[] = [];
        // A file refused before it is read (not regular, over the upload limit) is a failed item in its place.
        const refused = new Map<number, ReflexiaError>();
        const maxBytes = config.server.upload_limit_bytes;
        for (const item of list) {
          if (typeof item !== "string") {
            inputs.push({ ...item, source: item.source ?? item.filename ?? "" });
            continue;
          }
          // A path names a file or a folder; the absolute path is the source, as `reflexia docs add` records it.
          for (const file of await expandPaths([item])) {
            const source = resolve(file);
            try {
              inputs.push({ content: await readDocumentFile(file, maxBytes), filename: basename(file), source });
            } catch (e) {
              refused.set(inputs.length, toReflexiaError(e));
              inputs.push({ content: "", filename: basename(file), source });
            }
          }
        }
        const read = inputs.filter((_, i) => !refused.has(i));
        const total = inputs.length;
        let done = refused.size;
        const settled = await service.ingestMany(
          read.map((i) => (i.source ? i : { ...i, source: undefined })),
          { onProgress: () => addOptions.onProgress?.({ done: ++done, total }) },
        );
        let next = 0;
        return inputs.map((input, i) => {
          const error = refused.get(i);
          if (error) return { ok: false as const, error, source: input.source };
          const s = settled[next++];
          return { ...s, source: s.ok ? s.result.document.source : input.source };
        });
      },
      list: async (o) => rag().list(o),
      remove: async (id) => rag().delete(id),
      query: async (text, o) => rag().query(text, o),
      stats: async () => rag().stats(),
    },
    async benchmark(kind, o = {}) {
      open();
      if (!(LIBRARY_BENCHMARK_KINDS as readonly string[]).includes(kind))
        throw new ReflexiaError(
          "RFX_VALIDATION",
          `unknown benchmark ${JSON.stringify(kind)}; one of ${LIBRARY_BENCHMARK_KINDS.join(", ")}`,
        );
      const k = benchmarkKinds[kind]!;
      const request = {
        kind,
        models: o.models,
        tokens: o.tokens,
        repetitions: o.repetitions,
        concurrency: o.concurrency,
        sizes: o.sizes,
      };
      await k.check(request);
      return k.run(request, {
        signal: o.signal ?? new AbortController().signal,
        log: (line) => o.onLog?.(line),
        progress: (completed, total) => o.onProgress?.(completed, total),
      });
    },
    async serve(serveOptions = {}) {
      open();
      const server = await startServer({
        loaded,
        wiring,
        overrides: { port: serveOptions.port, metricsPort: serveOptions.metricsPort, host: serveOptions.host },
        warmUp: serveOptions.warmUp,
        drainTimeoutSeconds: serveOptions.drainTimeoutSeconds,
      });
      servers.add(server);
      void server.closed.then(() => servers.delete(server));
      return {
        url: server.url,
        metricsUrl: server.metricsUrl,
        ready: server.ready,
        closed: server.closed,
        close: server.close,
      };
    },
    close() {
      closing ??= (async () => {
        await Promise.all([...servers].map((s) => s.close()));
        await services.scheduler.drain();
        services.memory?.stop();
        await wiring.close();
      })();
      return closing;
    },
  };
  return reflexia;
}
