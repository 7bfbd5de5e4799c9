// Response-cache metrics: hits, misses and stored entries.
import { Counter, Gauge, type Registry } from "prom-client";

export interface CacheMetrics {
  hits: Counter;
  misses: Counter;
  entries: Gauge;
  /** Sets the provider the entries gauge reads at scrape time. */
  bindCacheSize(size: () => number): void;
}

export function createCacheMetrics(registry: Registry): CacheMetrics {
  let sizeOf: (() => number) | null = null;
  return {
    hits: new Counter({
      name: "reflexia_cache_hits_total",
      help: "Requests answered from the response cache.",
      registers: [registry],
    }),
    misses: new Counter({
      name: "reflexia_cache_misses_total",
      help: "Cacheable requests not found in the response cache (then generated and stored).",
      registers: [registry],
    }),
    entries: new Gauge({
      name: "reflexia_cache_entries",
      help: "Entries in the response cache.",
      registers: [registry],
      collect() {
        if (sizeOf) this.set(sizeOf());
      },
    }),
    bindCacheSize(size) {
      sizeOf = size;
    },
  };
}
