// Prometheus metrics: the registry and every metric family (the /metrics listener is http/metrics-server.ts).
export { createMetrics, type CreateMetricsOptions, type ReflexiaMetrics } from "./create-metrics.ts";
export { UNMATCHED_ENDPOINT, type HttpMetrics } from "./http-metrics.ts";
export type { InferenceMetrics } from "./inference-metrics.ts";
export type { MemoryMetrics } from "./memory-metrics.ts";
export type { RagMetrics, RagStatsSnapshot } from "./rag-metrics.ts";
export type { CacheMetrics } from "./cache-metrics.ts";
export type { PolicyMetrics } from "./policy-metrics.ts";
export type { UpstreamMetrics } from "./upstream-metrics.ts";
export type { UsageMetrics } from "./usage-metrics.ts";
export {
  bucketDelta,
  counterTotals,
  histogramBuckets,
  histogramQuantile,
  type BucketSnapshot,
} from "./histogram-snapshot.ts";
