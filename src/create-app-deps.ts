// The one wiring of the server: config → store → engine → metrics → RAG → services → the deps buildApp takes.
// main.ts starts what this builds; the test fixture builds through it too, swapping only the seams it names.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { packageVersion, type Config } from "./config/index.ts";
import type { Engine } from "./engine/types.ts";
import { assertQuotaKeys, loadNamedApiKeys, type AppDeps, type Readiness } from "./http/index.ts";
import { publishedParameterProblem } from "./http/routes/ollama/check-options.ts";
import type { MemoryMonitor } from "./memory/index.ts";
import { createMetrics } from "./metrics/index.ts";
import { createHashEmbedder } from "./rag/embeddings/hash-embedder.ts";
import { createStoreFromConfig, type ModelStore } from "./registry/index.ts";
import { createServices, type CreateServicesOptions, type Services } from "./services/create-services.ts";
import { ensureDefaultModel } from "./services/default-model.ts";
import { createLiveMetrics } from "./services/live-metrics.ts";
import { openRag, type OpenRag } from "./services/rag/open-rag.ts";

export interface CreateAppDepsOptions {
  /** Defaults to the store under config.home. */
  store?: ModelStore;
  /** Defaults to createEngineFromConfig(config) (engine/index.ts). */
  engine?: Engine;
  /** Create the offline default model when the store is empty. Defaults to true. */
  ensureDefaultModel?: boolean;
  /** Receives the default-model notice. Defaults to stderr. */
  onNotice?: (notice: string) => void;
  /** RAG over the document store under config.home (document routes, `rag` requests). false leaves it out. Defaults to true. */
  rag?: boolean;
  /** Defaults to a monitor with memory.max_memory_percent; null disables the memory budget. */
  memory?: MemoryMonitor | null;
  /** Extra service options (adaptive chooser, embedder, metrics, cpus). */
  services?: Partial<CreateServicesOptions>;
  /** Accepted API keys. Defaults to loadNamedApiKeys(config) when auth.enabled. */
  apiKeys?: AppDeps["apiKeys"];
  /** /readyz. Defaults to always ready. */
  readiness?: () => Readiness;
  /** Reported by /api/version. Defaults to package.json's version. */
  version?: string;
  /** Background benchmarks behind /api/benchmarks, built over the wiring's store and engine; absent without it. */
  benchmarks?: (parts: { store: ModelStore; engine: Engine }) => AppDeps["benchmarks"];
  /** Web UI directory. Defaults to the repository's web/dist (built by `npm ci` / `npm run build:web`); null serves none. */
  webDir?: string | null;
  /** Fastify logger setting. Defaults to {level: log.level}. */
  logger?: AppDeps["logger"];
  /** Aborted at the drain limit (AppDeps.shutdown). Defaults to a signal that never fires. */
  shutdown?: AbortSignal;
}

/** The built web UI (scripts/build-web.mjs); without it the API still serves, and the note says how to build it. */
function defaultWebDir(): string | null {
  const dir = fileURLToPath(new URL("../web/dist", import.meta.url));
  if (existsSync(join(dir, "index.html"))) return dir;
  process.stderr.write(`note: the web UI is not built (${dir} is missing); run: npm run build:web\n`);
  return null;
}

export interface AppWiring {
  deps: AppDeps;
  services: Services;
  store: ModelStore;
  engine: Engine;
  rag?: OpenRag;
  /** Closes RAG and disposes the engine (after the apps using them are closed). */
  close(): Promise<void>;
}

export async function createAppDeps(config: Config, options: CreateAppDepsOptions = {}): Promise<AppWiring> {
  // Keys and quotas first: a bad keys file or a quota on no key is refused before anything opens.
  const apiKeys = options.apiKeys ?? (config.auth.enabled ? loadNamedApiKeys(config) : []);
  if (config.auth.enabled) assertQuotaKeys(config.auth.quotas, apiKeys);
  // A pulled model's params are held to the range a request's options have (routes/ollama/check-options.ts).
  const store = options.store ?? createStoreFromConfig(config, { parameterProblem: publishedParameterProblem });
  if (options.ensureDefaultModel !== false) {
    await ensureDefaultModel(store, config, { onNotice: options.onNotice ?? ((n) => process.stderr.write(n)) });
  }
  // Loaded on first use: native code takes a moment, and tests pass their own engine.
  const engine = options.engine ?? (await import("./engine/index.ts")).createEngineFromConfig(config);
  const metrics = options.services?.metrics ?? createMetrics();
  // RAG opens before the services so inference can answer `rag` requests; a document change drops the
  // RAG-dependent cache entries (onChange only fires after an ingest or delete, once services exists).
  const rag =
    options.rag === false
      ? undefined
      : await openRag(config, {
          getEngine: async () => engine,
          store,
          metrics,
          onChange: () => services.cache?.invalidateTag("rag"),
        });
  const services: Services = createServices({
    config,
    engine,
    store,
    metrics,
    memory: options.memory,
    builtinEmbedder: createHashEmbedder({ dim: config.vector_db.embedding_dim }),
    ragAugmenter: rag?.augmenter,
    ...options.services,
  });
  const deps: AppDeps = {
    config,
    inference: services.inference,
    embeddings: services.embeddings,
    models: services.models,
    roles: services.roles,
    scheduler: services.scheduler,
    metrics: services.metrics,
    memory: services.memory ?? undefined,
    gpu: engine.gpu,
    cacheStats: services.cache ? () => services.cache!.stats() : undefined,
    rag,
    apiKeys,
    usage: services.usage,
    remoteStatus: () => services.remote.status(),
    readiness: options.readiness,
    version: options.version ?? packageVersion(),
    // Sampled from the same registry /metrics exposes; the caller starts and stops the sampling.
    liveMetrics: createLiveMetrics({
      metrics: services.metrics,
      scheduler: services.scheduler,
      memory: services.memory,
    }),
    benchmarks: options.benchmarks?.({ store, engine }),
    webDir: options.webDir === undefined ? defaultWebDir() : options.webDir,
    logger: options.logger ?? { level: config.log.level },
    shutdown: options.shutdown,
  };
  return {
    deps,
    services,
    store,
    engine,
    rag,
    async close() {
      await rag?.close().catch(() => {});
      services.remote.close();
      services.usage.close();
      await engine.dispose().catch(() => {});
    },
  };
}
