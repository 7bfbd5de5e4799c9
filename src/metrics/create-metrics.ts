// Assembles Reflexia's Prometheus registry: every metric family plus the process/Node default metrics.
import { collectDefaultMetrics, Registry } from "prom-client";
import { createCacheMetrics, type CacheMetrics } from "./cache-metrics.ts";
import { createHttpMetrics, type HttpMetrics } from "./http-metrics.ts";
import { createInferenceMetrics, type InferenceMetrics } from "./inference-metrics.ts";
import { createMemoryMetrics, type MemoryMetrics } from "./memory-metrics.ts";
import { createPolicyMetrics, type PolicyMetrics } from "./policy-metrics.ts";
import { createRagMetrics, type RagMetrics } from "./rag-metrics.ts";
import { createUpstreamMetrics, type UpstreamMetrics } from "./upstream-metrics.ts";
import { createUsageMetrics, type UsageMetrics } from "./usage-metrics.ts";

export interface CreateMetricsOptions {
  /**
   * Register prom-client's default metrics under their standard names (`process_*`, `nodejs_*`, no prefix) so
   * stock Node.js dashboards and alerts work. Defaults to true.
   */
  defaultMetrics?: boolean;
}

export interface ReflexiaMetrics {
  registry: Registry;
  http: HttpMetrics;
  inference: InferenceMetrics;
  memory: MemoryMetrics;
  rag: RagMetrics;
  cache: CacheMetrics;
  policy: PolicyMetrics;
  upstream: UpstreamMetrics;
  usage: UsageMetrics;
}

/** A fresh registry per call, so tests and several apps in one process never share counters. */
export function createMetrics(options: CreateMetricsOptions = {}): ReflexiaMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry });
    // These three are gauges with a counter's _total suffix (promtool lint fails on them); the same values
    // stay available per type as nodejs_active_handles / _requests / _resources.
    for (const name of ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"])
      registry.removeSingleMetric(name);
  }
  return {
    registry,
    http: createHttpMetrics(registry),
    inference: createInferenceMetrics(registry),
    memory: createMemoryMetrics(registry),
    rag: createRagMetrics(registry),
    cache: createCacheMetrics(registry),
    policy: createPolicyMetrics(registry),
    upstream: createUpstreamMetrics(registry),
    usage: createUsageMetrics(registry),
  };
}
