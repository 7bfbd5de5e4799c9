// What buildApp needs: the services and infrastructure main.ts composes (tests pass their own).
import type { FastifyInstance, FastifyServerOptions } from "fastify";
import type { ResponseCacheStats } from "../cache/index.ts";
import type { Config } from "../config/index.ts";
import type { MemoryMonitor } from "../memory/index.ts";
import type { MemoryIndexInfo } from "../rag/index.ts";
import type { ReflexiaMetrics } from "../metrics/index.ts";
import type { Scheduler } from "../scheduler/index.ts";
import type { EmbedService } from "../services/embed-service.ts";
import type { InferenceService } from "../services/inference-service.ts";
import type { ModelService } from "../services/model-service.ts";
import type { RoleCatalog } from "../services/roles.ts";

/** The RAG seam: when present its routes are registered and its stats feed metrics and /api/status. */
export interface RagSeam {
  /** Registers the /api/documents… routes (under the app's auth, limits and error handler). */
  registerRoutes?(app: FastifyInstance): void | Promise<void>;
  /** Stored documents and chunks and the in-memory index (feeds reflexia_rag_* gauges and /api/status). */
  stats?(): RagSeamStats | Promise<RagSeamStats>;
}

export interface RagSeamStats {
  documents: number;
  chunks: number;
  memoryIndex?: MemoryIndexInfo;
}

export interface Readiness {
  ready: boolean;
  /** Why not ready (e.g. "loading reflexia-tiny:q4_0", "draining"). */
  reason?: string;
}

export interface AppDeps {
  config: Config;
  inference: InferenceService;
  embeddings: EmbedService;
  models: ModelService;
  roles: RoleCatalog;
  scheduler: Scheduler;
  metrics: ReflexiaMetrics;
  memory?: MemoryMonitor;
  cacheStats?: () => ResponseCacheStats;
  rag?: RagSeam;
  /** Accepted API keys (loadApiKeys(config)); used only when config.auth.enabled. */
  apiKeys?: readonly string[];
  /** /readyz: 503 until this says ready (main: the default model is loaded). Defaults to always ready. */
  readiness?: () => Readiness;
  /** Reported by /api/version. */
  version: string;
  /** Directory of the web UI served at /; skipped when absent or missing. */
  webDir?: string | null;
  logger?: FastifyServerOptions["logger"];
}
