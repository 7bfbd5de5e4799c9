// Reflexia's own routes: expert roles, the server status, liveness and readiness.
import type { FastifyInstance } from "fastify";
import type { GpuMemorySample } from "../../memory/index.ts";
import type { FeatureRegistry } from "../features.ts";
import { PUBLIC_ROUTE } from "../route-access.ts";
import type { AppDeps } from "../types.ts";
import { memoryIndexJson } from "./documents.ts";

/** The backend that runs the layers and why (GPU=…), its devices' VRAM now, and the VRAM budget. */
function gpuStatus(deps: AppDeps, sample: GpuMemorySample | null, loadedVramBytes: number) {
  const gpu = deps.gpu;
  const devices = sample?.devices ?? (gpu && gpu.backend !== "cpu" ? gpu.memory() : []);
  return {
    requested: gpu?.requested ?? deps.config.gpu.backend,
    backend: gpu?.backend ?? "cpu",
    reason:
      gpu?.reason ?? `the ${deps.config.engine.backend} engine runs on the CPU (GPU offload needs the native engine)`,
    layers: deps.config.gpu.layers,
    devices: devices.map((d) => ({
      name: d.name,
      description: d.description,
      total_bytes: d.totalBytes,
      free_bytes: d.freeBytes,
      used_bytes: Math.max(0, d.totalBytes - d.freeBytes),
    })),
    max_vram_percent: deps.config.memory.max_vram_percent,
    budget_bytes: sample?.budgetBytes ?? null,
    estimated_loaded_vram_bytes: loadedVramBytes,
  };
}

/** GET /api/roles: the expert roles and their categories. */
export function rolesBody(deps: Pick<AppDeps, "roles">) {
  return {
    roles: deps.roles.list().map((r) => ({
      id: r.id,
      name: r.name,
      category: r.category,
      description: r.description,
      builtin: r.builtin,
      system_prompt: r.systemPrompt,
    })),
    categories: deps.roles.categories(),
  };
}

export type RolesBody = ReturnType<typeof rolesBody>;

/** GET /api/status: readiness, queue, loaded variants, memory, GPU, cache, documents, limits and features. */
export async function statusBody(deps: AppDeps, features: FeatureRegistry, startedAt: number) {
  const s = deps.scheduler.status();
  const mem = deps.memory?.latest();
  const cache = deps.cacheStats?.();
  const readiness = deps.readiness?.() ?? { ready: true };
  const rag = deps.rag ? deps.rag.counts() : null;
  const limits = deps.inference.limits();
  return {
    version: deps.version,
    uptime_seconds: Math.round((Date.now() - startedAt) / 1000),
    ready: readiness.ready,
    ready_reason: readiness.reason ?? null,
    draining: s.draining,
    default_model: deps.config.models.default,
    adaptive_quantization: deps.config.adaptive.enabled,
    // What a client may send and use: the web UI sizes its fields and shows its controls from these.
    limits: {
      max_tokens: limits.maxTokens,
      default_max_tokens: limits.defaultMaxTokens,
      max_prompt_chars: limits.maxPromptChars,
      context_size: deps.config.models.context_size,
      parallel: s.parallel,
      upload_bytes: deps.config.server.upload_limit_bytes,
    },
    features: features.features(),
    grafana_url: deps.config.ui.grafana_url || null,
    queue: {
      running: s.running,
      queued: s.queued,
      queue_size: s.queueSize,
      parallel: s.parallel,
      peak_running: s.peakRunning,
      peak_queued: s.peakQueued,
    },
    active_sequences: s.variants.reduce((a, v) => a + v.activeSequences, 0),
    loading: s.loading,
    // Endpoint health of every remote variant used since start (routing state: in flight, ejection, last error).
    remote: (deps.remoteStatus?.() ?? []).map((r) => ({
      variant: r.variant,
      upstream_model: r.upstreamModel,
      endpoints: r.endpoints.map((e) => ({
        endpoint: e.endpoint,
        healthy: e.healthy,
        in_flight: e.inFlight,
        max_concurrent: e.maxConcurrent,
        consecutive_failures: e.consecutiveFailures,
        ejected_until: e.ejectedUntil,
        last_error: e.lastError,
        last_check_at: e.lastCheckAt,
      })),
    })),
    loaded: s.variants.map((v) => ({
      variant: `${v.name}:${v.tag}`,
      name: v.name,
      tag: v.tag,
      quantization: v.quantization,
      kind: v.path.startsWith("remote://") ? "remote" : "local",
      embedding: v.embedding,
      size_bytes: v.sizeBytes,
      estimated_memory_bytes: v.estimatedBytes,
      size_vram: v.vramBytes,
      gpu_layers: v.gpuLayers,
      total_layers: v.totalLayers,
      context_size: v.contextSize,
      parallel: v.parallel,
      running: v.running,
      queued: v.queued,
      active_sequences: v.activeSequences,
      load_ms: v.loadMs,
      loaded_at: v.loadedAt,
      last_used_at: v.lastUsedAt,
      expires_at: v.expiresAt,
    })),
    memory: mem
      ? {
          used_bytes: mem.usedBytes,
          used_source: mem.usedSource,
          rss_bytes: mem.rssBytes,
          peak_rss_bytes: mem.peakRssBytes,
          percent: Math.round(mem.percent * 100) / 100,
          budget_bytes: mem.budgetBytes,
          effective_limit_bytes: mem.effectiveLimitBytes,
          cgroup_limit_bytes: mem.cgroupLimitBytes,
          pressure: Math.round(mem.pressure * 1000) / 1000,
          max_memory_percent: deps.config.memory.max_memory_percent,
          estimated_loaded_bytes: s.estimatedLoadedBytes,
        }
      : null,
    gpu: gpuStatus(deps, mem?.gpu ?? null, s.estimatedLoadedVramBytes),
    cache: cache
      ? {
          enabled: deps.config.cache.enabled,
          size: cache.size,
          max_entries: cache.maxEntries,
          hits: cache.hits,
          misses: cache.misses,
          hit_rate: Math.round(cache.hitRate * 10000) / 10000,
          evictions: cache.evictions,
        }
      : { enabled: false, size: 0, max_entries: 0, hits: 0, misses: 0, hit_rate: 0, evictions: 0 },
    rag: rag
      ? {
          enabled: true,
          documents: rag.documents,
          chunks: rag.chunks,
          memory_index: rag.memoryIndex ? memoryIndexJson(rag.memoryIndex) : null,
        }
      : { enabled: false, documents: 0, chunks: 0, memory_index: null },
  };
}

export type StatusBody = Awaited<ReturnType<typeof statusBody>>;

export function registerReflexiaRoutes(app: FastifyInstance, deps: AppDeps, features: FeatureRegistry): void {
  const startedAt = Date.now();

  app.get("/api/roles", async () => rolesBody(deps));

  app.get("/api/status", async () => statusBody(deps, features, startedAt));

  app.get("/healthz", { config: PUBLIC_ROUTE }, async () => ({ status: "ok" }));

  app.get("/readyz", { config: PUBLIC_ROUTE }, async (_request, reply) => {
    const r = deps.readiness?.() ?? { ready: true };
    if (r.draining || deps.scheduler.status().draining)
      return reply.status(503).send({ status: "draining", ready: false });
    return reply
      .status(r.ready ? 200 : 503)
      .send({ status: r.ready ? "ready" : r.failed ? "failed" : "starting", ready: r.ready, reason: r.reason ?? null });
  });
}
