// Composes the server's use-cases over the lower layers: scheduler (with the memory budget hook), variant
// selector, response cache, inference, embeddings and model administration.
import { availableParallelism } from "node:os";
import { createResponseCache, type ResponseCache } from "../cache/index.ts";
import { readSecret, type Config } from "../config/index.ts";
import type { Engine } from "../engine/types.ts";
import { ReflexiaError } from "../errors/index.ts";
import { availableCpus, createMemoryMonitor, type MemoryMonitor } from "../memory/index.ts";
import { createMetrics, type ReflexiaMetrics } from "../metrics/index.ts";
import type { ModelStore } from "../registry/index.ts";
import { createScheduler, defaultParallel, type SchedulableVariant, type Scheduler } from "../scheduler/index.ts";
import { createEmbedService, type BuiltinEmbedder, type EmbedService } from "./embed-service.ts";
import { createGpuPlacer, type GpuPlacer } from "./gpu-placement.ts";
import { createInferenceService, type CachedGeneration, type InferenceService } from "./inference-service.ts";
import { createModelService, type ModelService } from "./model-service.ts";
import type { RagAugmenter } from "./rag/rag-augment.ts";
import { createRoleCatalog, type RoleCatalog } from "./roles.ts";
import { createVariantSelector, type SelectableVariant, type VariantSelector } from "./select-variant.ts";
import { createUsageLedger, type UsageLedger } from "./usage-ledger.ts";
import { createRemoteBackend, type RemoteBackend } from "../upstream/index.ts";

export interface CreateServicesOptions {
  config: Config;
  engine: Engine;
  store: ModelStore;
  /** Defaults to a fresh registry. */
  metrics?: ReflexiaMetrics;
  /** Defaults to a monitor with config.memory.max_memory_percent; null disables the memory budget. */
  memory?: MemoryMonitor | null;
  /** Offline embedder served for model "builtin" (src/rag's hash embedder). */
  builtinEmbedder?: BuiltinEmbedder;
  /** Serves `rag: true` requests (openRag); without it they are refused. */
  ragAugmenter?: RagAugmenter;
  /** CPUs used to pick the default parallelism. Defaults to the cgroup-aware count. */
  cpus?: number;
}

export interface Services {
  config: Config;
  engine: Engine;
  store: ModelStore;
  scheduler: Scheduler;
  selector: VariantSelector;
  inference: InferenceService;
  embeddings: EmbedService;
  models: ModelService;
  roles: RoleCatalog;
  metrics: ReflexiaMetrics;
  memory: MemoryMonitor | null;
  cache: ResponseCache<CachedGeneration> | undefined;
  /** VRAM placement of variants (inactive on the CPU). */
  gpu: GpuPlacer;
  /** Endpoint pools of the remote variants (routing, health). */
  remote: RemoteBackend;
  /** Per-key usage: metrics, the usage log, quotas. */
  usage: UsageLedger;
  /** Resolves a reference to a variant with its memory estimate (cached per blob digest). */
  resolveVariant(ref: string): Promise<SelectableVariant>;
}

function cpuCount(): number {
  try {
    return availableCpus();
  } catch {
    return availableParallelism();
  }
}

export function createServices(options: CreateServicesOptions): Services {
  const { config, engine, store } = options;
  const metrics = options.metrics ?? createMetrics();
  const engineGpu = engine.gpu && engine.gpu.backend !== "cpu" ? engine.gpu : undefined;
  const memory =
    options.memory === undefined
      ? createMemoryMonitor({
          maxMemoryPercent: config.memory.max_memory_percent,
          maxVramPercent: config.memory.max_vram_percent,
          gpuDevices: engineGpu ? () => engineGpu.memory() : undefined,
        })
      : options.memory;
  const gpu = createGpuPlacer({ config, gpu: engine.gpu, memory });
  const parallel =
    config.scheduler.parallel > 0 ? config.scheduler.parallel : defaultParallel(options.cpus ?? cpuCount());

  // show() reads the GGUF header; the estimate only changes with the blob, so cache it by digest.
  const estimates = new Map<string, number>();
  const resolveVariant = async (ref: string): Promise<SelectableVariant> => {
    const r = await store.resolve(ref);
    let est = estimates.get(r.manifest.digest);
    if (est === undefined) {
      est = (await store.show(`${r.name}:${r.tag}`)).estimatedMemoryBytes;
      estimates.set(r.manifest.digest, est);
    }
    if (!r.remote) await gpu.prepare(r);
    return { ...r, estimatedBytes: est };
  };

  const remote = createRemoteBackend({
    defaults: {
      timeoutSeconds: config.remote.timeout_seconds,
      requestTimeoutSeconds: config.remote.request_timeout_seconds,
      maxConcurrent: config.remote.max_concurrent,
      healthIntervalSeconds: config.remote.health_interval_seconds,
      ejectBaseSeconds: config.remote.eject_base_seconds,
      contextSize: config.models.context_size,
    },
    // A key that cannot be read is the server's configuration, not the request's fault: a 500 that says what to fix
    // (RFX_CONFIG_INVALID is a 400, which would send the client looking at its own request).
    readApiKey: (spec, variant) => {
      try {
        return readSecret({ file: spec.apiKeyFile, env: spec.apiKeyEnv }, `remote variant ${variant}`);
      } catch (e) {
        if (!(e instanceof ReflexiaError) || e.code !== "RFX_CONFIG_INVALID") throw e;
        throw new ReflexiaError("RFX_ENGINE", `${e.message} on the server, so its upstream key cannot be sent`, {
          variant,
        });
      }
    },
    metrics: metrics.upstream.sink,
  });

  const scheduler = createScheduler({
    engine,
    remote,
    resolveModel: resolveVariant,
    contextSize: config.models.context_size,
    parallel,
    queueSize: config.scheduler.queue_size,
    keepAliveSeconds: config.models.keep_alive_seconds,
    maxLoadedVariants: config.scheduler.max_loaded_variants,
    threads: config.performance.thread_pool_size > 0 ? config.performance.thread_pool_size : undefined,
    metrics: metrics.inference.schedulerSink,
    memory: memory
      ? {
          // The registry's estimate covers weights, repacked copies, KV cache and compute buffers.
          estimateBytes: (v: SchedulableVariant & { estimatedBytes?: number }) =>
            v.estimatedBytes ?? Math.round(v.sizeBytes * 1.3),
          budgetBytes: () => memory.latest().budgetBytes,
          usedBytes: () => memory.sample().usedBytes,
          ...(gpu.active
            ? {
                placeOnGpu: (
                  v: SchedulableVariant,
                  load: { contextSize: number; parallel: number },
                  available: number,
                ) => gpu.place(v, load, available),
                availableVramBytes: (held: number) => gpu.availableVramBytes(held),
              }
            : {}),
        }
      : undefined,
  });
  metrics.inference.bindScheduler(() => scheduler.status());
  if (memory) metrics.memory.bindMemory(() => memory.sample());

  const cache =
    config.cache.enabled && config.cache.size > 0
      ? createResponseCache<CachedGeneration>({ maxEntries: config.cache.size })
      : undefined;
  if (cache) metrics.cache.bindCacheSize(() => cache.stats().size);

  // A remote variant may be chosen while any endpoint may be tried: not ejected, or its backoff ran out (a trial).
  const remoteAvailable = (v: SelectableVariant): boolean => {
    const health = remote.status().find((h) => h.variant === `${v.name}:${v.tag}`);
    return !health || health.endpoints.some((e) => e.ejectedUntil === null || Date.parse(e.ejectedUntil) <= Date.now());
  };
  const selector = createVariantSelector({
    config,
    store,
    scheduler,
    resolveVariant,
    memory,
    metrics,
    gpu,
    remoteAvailable,
  });
  const roles = createRoleCatalog(config.roles.custom);
  const inference = createInferenceService({
    config,
    scheduler,
    selector,
    roles,
    metrics,
    cache,
    rag: options.ragAugmenter,
  });
  const embeddings = createEmbedService({
    config,
    scheduler,
    builtin: options.builtinEmbedder,
    resolveRef: async (ref) => {
      const v = await resolveVariant(ref);
      return { name: v.name, tag: v.tag };
    },
  });
  const models = createModelService({
    store,
    // A delete, or a create/copy/add over a variant with other contents, unloads it through here: a remote
    // variant's endpoint pool goes with it (health checks, metric series, /api/status entry).
    scheduler: {
      ...scheduler,
      unload: async (ref) => {
        const n = await scheduler.unload(ref);
        remote.forget(ref);
        return n;
      },
    },
    registry: config.registry,
    onRemoved: (name, quantizations) => metrics.inference.forgetModel(name, quantizations),
  });
  const usage = createUsageLedger({ config, metrics: metrics.usage });
  return {
    config,
    engine,
    store,
    scheduler,
    selector,
    inference,
    embeddings,
    models,
    roles,
    metrics,
    memory,
    cache,
    gpu,
    remote,
    usage,
    resolveVariant,
  };
}
