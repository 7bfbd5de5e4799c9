// Every remote variant's endpoint pool, kept across loads and unloads so endpoint health outlives a keep-alive:
// the scheduler loads a remote variant through here as it loads a local one through the engine.
import type { LoadedModel } from "../engine/types.ts";
import { createEndpointPool, normalizeBaseUrl, type EndpointPool } from "./endpoint-pool.ts";
import { createRemoteModel } from "./remote-model.ts";
import type { EndpointHealth, RemoteSpec, UpstreamMetricsSink } from "./types.ts";

export interface RemoteDefaults {
  timeoutSeconds: number;
  requestTimeoutSeconds: number;
  maxConcurrent: number;
  healthIntervalSeconds: number;
  ejectBaseSeconds: number;
  /** Context tokens reported for remote variants (RAG budgets). */
  contextSize: number;
}

export interface RemoteVariantRef {
  name: string;
  tag: string;
  quantization: string;
  /** Identity of the spec (manifest digest): a changed spec gets a fresh pool. */
  digest: string;
  remote: RemoteSpec;
}

export interface RemoteVariantHealth {
  variant: string;
  upstreamModel: string;
  endpoints: EndpointHealth[];
}

export interface RemoteBackendOptions {
  defaults: RemoteDefaults;
  /** The variant's API key (read from its file or env var when the pool is made); never stored elsewhere. */
  readApiKey: (spec: RemoteSpec, variant: string) => string | undefined;
  metrics?: UpstreamMetricsSink;
}

export interface RemoteBackend {
  /** Requests the variant may run at once: endpoints × per-endpoint cap. */
  parallelOf(spec: RemoteSpec): number;
  /** A LoadedModel over the variant's pool (created on first use). */
  load(variant: RemoteVariantRef): LoadedModel;
  /** Endpoint health of every variant used since start. */
  status(): RemoteVariantHealth[];
  /** The pool of a variant, once used (tests and /api/status). */
  poolOf(key: string): EndpointPool | undefined;
  close(): void;
}

export function createRemoteBackend(options: RemoteBackendOptions): RemoteBackend {
  const { defaults, metrics } = options;
  const pools = new Map<string, { digest: string; pool: EndpointPool; spec: RemoteSpec; apiKey?: string }>();
  const capOf = (spec: RemoteSpec): number => spec.maxConcurrent ?? defaults.maxConcurrent;

  const poolFor = (v: RemoteVariantRef) => {
    const key = `${v.name}:${v.tag}`;
    const existing = pools.get(key);
    if (existing && existing.digest === v.digest) return existing;
    existing?.pool.close();
    const apiKey = options.readApiKey(v.remote, key);
    const entry = {
      digest: v.digest,
      spec: v.remote,
      apiKey,
      pool: createEndpointPool({
        endpoints: v.remote.endpoints.map(normalizeBaseUrl),
        maxConcurrent: capOf(v.remote),
        apiKey,
        healthIntervalMs: defaults.healthIntervalSeconds * 1000,
        ejectBaseMs: defaults.ejectBaseSeconds * 1000,
        labels: { model: v.name, quantization: v.quantization },
        metrics,
      }),
    };
    pools.set(key, entry);
    return entry;
  };

  return {
    parallelOf: (spec) => spec.endpoints.length * capOf(spec),
    load(v) {
      const { pool, spec, apiKey } = poolFor(v);
      return createRemoteModel({
        path: `remote://${v.name}:${v.tag}`,
        upstreamModel: spec.upstreamModel,
        pool,
        apiKey,
        timeoutMs: (spec.timeoutSeconds ?? defaults.timeoutSeconds) * 1000,
        requestTimeoutMs: (spec.requestTimeoutSeconds ?? defaults.requestTimeoutSeconds) * 1000,
        parallel: spec.endpoints.length * capOf(spec),
        contextSize: defaults.contextSize,
        extraBody: spec.extraBody,
        metrics,
      });
    },
    status: () =>
      [...pools.entries()].map(([variant, e]) => ({
        variant,
        upstreamModel: e.spec.upstreamModel,
        endpoints: e.pool.status(),
      })),
    poolOf: (key) => pools.get(key)?.pool,
    close() {
      for (const e of pools.values()) e.pool.close();
      pools.clear();
    },
  };
}
