// What buildApp needs: the services and infrastructure main.ts composes (tests pass their own).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyBaseLogger, FastifyInstance, FastifyServerOptions, RawServerDefault } from "fastify";
import type { ResponseCacheStats } from "../cache/index.ts";
import type { Config } from "../config/index.ts";
import type { EngineGpu } from "../engine/types.ts";
import type { MemoryMonitor } from "../memory/index.ts";
import type { ReflexiaMetrics } from "../metrics/index.ts";
import type { MemoryIndexInfo, RagService } from "../rag/index.ts";
import type { Scheduler } from "../scheduler/index.ts";
import type { EmbedService } from "../services/embed-service.ts";
import type { InferenceService } from "../services/inference-service.ts";
import type { BenchmarkHistoryReader, BenchmarkJobs } from "../services/benchmark-jobs.ts";
import type { LiveMetrics } from "../services/live-metrics.ts";
import type { ModelService } from "../services/model-service.ts";
import type { RoleCatalog } from "../services/roles.ts";
import type { UsageLedger } from "../services/usage-ledger.ts";
import type { RemoteVariantHealth } from "../upstream/index.ts";
import type { NamedApiKey } from "./auth.ts";

/** The app as route files see it: bodies, params and query strings are typed from their TypeBox schemas. */
export type RouteApp = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** RAG as the app sees it: when present the /api/documents… routes are registered over the service. */
export interface AppRag {
  service: RagService;
  /** Stored documents and chunks and the in-memory index (feeds reflexia_rag_* series and /api/status); cheap, no store access. */
  counts(): RagCounts;
}

export interface RagCounts {
  documents: number;
  chunks: number;
  memoryIndex?: MemoryIndexInfo;
}

export interface Readiness {
  ready: boolean;
  /** Why not ready (e.g. "loading reflexia-tiny:q4_0", "draining"). */
  reason?: string;
  /** Getting ready failed (the default model did not load): it will not become ready without a restart. */
  failed?: boolean;
  /** The server is shutting down: new requests are refused (503) while the running ones finish. */
  draining?: boolean;
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
  /** The engine's GPU decision (backend, reason, devices) for /api/status; absent for CPU-only engines. */
  gpu?: EngineGpu;
  cacheStats?: () => ResponseCacheStats;
  rag?: AppRag;
  /** The live metrics ring behind GET /api/metrics/live (the web UI's charts); the route is absent without it. */
  liveMetrics?: LiveMetrics;
  /** Background benchmark runs and the stored history behind /api/benchmarks; the routes are absent without it. */
  benchmarks?: { jobs: BenchmarkJobs; history: BenchmarkHistoryReader };
  /** Accepted API keys (loadNamedApiKeys(config)); bare strings are named key-1, key-2, …; used only when config.auth.enabled. */
  apiKeys?: readonly (string | NamedApiKey)[];
  /** Per-key usage (metrics, log, quotas); requests are not accounted without it. */
  usage?: UsageLedger;
  /** Endpoint health of remote variants for /api/status; absent without remote variants. */
  remoteStatus?: () => RemoteVariantHealth[];
  /** /readyz: 503 until this says ready (main: the default model is loaded). Defaults to always ready. */
  readiness?: () => Readiness;
  /** Reported by /api/version. */
  version: string;
  /** Directory of the web UI served at /; skipped when absent or missing. */
  webDir?: string | null;
  logger?: FastifyServerOptions["logger"];
  /**
   * Aborted (with shutdownReason()) when the server stops waiting for in-flight requests: their generations are
   * cancelled and open streams end with a final error event. Defaults to a signal that never fires.
   */
  shutdown?: AbortSignal;
}
