// Memory metrics from the memory monitor: usage against the budget, read at scrape time.
import { Gauge, type Registry } from "prom-client";
import type { MemorySample } from "../memory/index.ts";

export interface MemoryMetrics {
  usageBytes: Gauge;
  usagePercent: Gauge;
  budgetBytes: Gauge;
  pressure: Gauge;
  /** Sets the sampler the gauges read at scrape time (the monitor's sample()). */
  bindMemory(sample: () => MemorySample): void;
}

export function createMemoryMetrics(registry: Registry): MemoryMetrics {
  let sampleOf: (() => MemorySample) | null = null;
  // One sample per scrape shared by the four gauges, so they describe the same instant.
  let scrapeSample: { at: number; s: MemorySample } | null = null;
  const current = (): MemorySample | null => {
    if (!sampleOf) return null;
    const now = Date.now();
    if (!scrapeSample || now - scrapeSample.at > 250) scrapeSample = { at: now, s: sampleOf() };
    return scrapeSample.s;
  };
  const registers = [registry];
  return {
    usageBytes: new Gauge({
      name: "reflexia_memory_usage_bytes",
      help: "Memory counted against the budget: the cgroup working set inside a memory-limited cgroup, else process RSS.",
      registers,
      collect() {
        const s = current();
        if (s) this.set(s.usedBytes);
      },
    }),
    usagePercent: new Gauge({
      name: "reflexia_memory_usage_percent",
      help: "reflexia_memory_usage_bytes as a percent of the effective limit (min of cgroup limit and system memory).",
      registers,
      collect() {
        const s = current();
        if (s) this.set(s.percent);
      },
    }),
    budgetBytes: new Gauge({
      name: "reflexia_memory_budget_bytes",
      help: "Memory budget: MAX_MEMORY_PERCENT of the effective limit.",
      registers,
      collect() {
        const s = current();
        if (s) this.set(s.budgetBytes);
      },
    }),
    pressure: new Gauge({
      name: "reflexia_memory_pressure_ratio",
      help: "Used memory divided by the budget (1 = at budget).",
      registers,
      collect() {
        const s = current();
        if (s) this.set(s.pressure);
      },
    }),
    bindMemory(sample) {
      sampleOf = sample;
    },
  };
}
