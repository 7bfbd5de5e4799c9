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

/**
 * Period of the event-loop delay sampler behind nodejs_eventloop_lag_* (prom-client's default is 10 ms). Each sample
 * is a timer that wakes Node's thread, on the cores the decode threads compute on: at 10 ms an idle server's thread
 * woke 100 times a second and used 1.3 % of a core doing it, and a 64-token answer at 1 concurrent (~0.7 s) met ~70 of those
 * wake-ups land in its decode steps. At 100 ms a stall of the loop is still caught (the next sample is late by it).
 */
export const EVENT_LOOP_SAMPLE_MS = 100;

/** A fresh registry per call, so tests and several apps in one process never share counters. */
export function createMetrics(options: CreateMetricsOptions = {}): ReflexiaMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
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
