// Every remote variant's endpoint pool, kept across loads and unloads so endpoint health outlives a keep-alive:
// the scheduler loads a remote variant through here as it loads a local one through the engine. A variant deleted or
// replaced is forgotten: its pool's health checks stop and its metric series and /api/status entry go.
import type { LoadedModel } from "../engine/types.ts";
import { createEndpointPool, normalizeBaseUrl, type EndpointPool } from "./endpoint-pool.ts";
import { createRemoteModel } from "./remote-model.ts";
import type { EndpointHealth, RemoteSpec, UpstreamLabels, UpstreamMetricsSink } from "./types.ts";

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
  /** Endpoint health of every variant used since start (and not deleted or replaced since). */
  status(): RemoteVariantHealth[];
  /**
   * The variant `name:tag` was deleted or its spec replaced: its pool stops its health checks and leaves status(),
   * and its endpoints' metric series are removed (a model still holding the pool finishes its requests unreported).
   * The next load of a variant of that name makes a fresh pool.
   */
  forget(key: string): void;
  /** The pool of a variant, once used (tests and /api/status). */
  poolOf(key: string): EndpointPool | undefined;
  close(): void;
}

export function createRemoteBackend(options: RemoteBackendOptions): RemoteBackend {
  const { defaults, metrics } = options;
  /** Whether a pool still reports, and every series label set it reported under (removed when it is forgotten). */
  interface Reporting {
    live: boolean;
    labels: Map<string, UpstreamLabels>;
  }
  interface PoolEntry {
    digest: string;
    pool: EndpointPool;
    spec: RemoteSpec;
    apiKey?: string;
    /** The pool's metrics: silent once the variant is forgotten, so a late report cannot bring a series back. */
    sink?: UpstreamMetricsSink;
    reporting: Reporting;
  }
  const pools = new Map<string, PoolEntry>();
  const capOf = (spec: RemoteSpec): number => spec.maxConcurrent ?? defaults.maxConcurrent;

  const sinkOf = (r: Reporting, m: UpstreamMetricsSink): UpstreamMetricsSink => {
    const seen = (l: UpstreamLabels): boolean => {
      if (r.live) r.labels.set(l.endpoint, l);
      return r.live;
    };
    return {
      observeAttempt: (l, outcome, seconds, ttft) => seen(l) && m.observeAttempt(l, outcome, seconds, ttft),
      setInFlight: (l, n) => seen(l) && m.setInFlight(l, n),
      setHealthy: (l, healthy) => seen(l) && m.setHealthy(l, healthy),
      forget: (l) => m.forget(l),
    };
  };

  const drop = (key: string, entry: PoolEntry, how: "close" | "retire"): void => {
    if (pools.get(key) === entry) pools.delete(key);
    entry.reporting.live = false;
    if (how === "close") entry.pool.close();
    else entry.pool.retire();
    for (const l of entry.reporting.labels.values()) metrics?.forget(l);
  };

  const poolFor = (v: RemoteVariantRef): PoolEntry => {
    const key = `${v.name}:${v.tag}`;
    const existing = pools.get(key);
    if (existing && existing.digest === v.digest) return existing;
    if (existing) drop(key, existing, "close");
    const apiKey = options.readApiKey(v.remote, key);
    const reporting: Reporting = { live: true, labels: new Map() };
    const sink = metrics && sinkOf(reporting, metrics);
    const entry: PoolEntry = {
      digest: v.digest,
      spec: v.remote,
      apiKey,
      sink,
      reporting,
      pool: createEndpointPool({
        endpoints: v.remote.endpoints.map(normalizeBaseUrl),
        maxConcurrent: capOf(v.remote),
        apiKey,
        healthIntervalMs: defaults.healthIntervalSeconds * 1000,
        ejectBaseMs: defaults.ejectBaseSeconds * 1000,
        labels: { model: v.name, quantization: v.quantization },
        metrics: sink,
      }),
    };
    pools.set(key, entry);
    return entry;
  };

  return {
    parallelOf: (spec) => spec.endpoints.length * capOf(spec),
    load(v) {
      const { pool, spec, apiKey, sink } = poolFor(v);
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
        metrics: sink,
      });
    },
    status: () =>
      [...pools.entries()].map(([variant, e]) => ({
        variant,
        upstreamModel: e.spec.upstreamModel,
        endpoints: e.pool.status(),
      })),
    poolOf: (key) => pools.get(key)?.pool,
    forget(key) {
      const entry = pools.get(key);
      if (entry) drop(key, entry, "retire");
    },
    close() {
      for (const e of pools.values()) e.pool.close();
      pools.clear();
    },
  };
}
