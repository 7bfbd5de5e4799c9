// Memory metrics from the memory monitor: RAM and VRAM usage against their budgets, read at scrape time.
import { Gauge, type Registry } from "prom-client";
import type { MemorySample } from "../memory/index.ts";

export interface MemoryMetrics {
  usageBytes: Gauge;
  usagePercent: Gauge;
  budgetBytes: Gauge;
  pressure: Gauge;
  gpuUsageBytes: Gauge<"device">;
  gpuTotalBytes: Gauge<"device">;
  gpuBudgetBytes: Gauge;
  /** Sets the sampler the gauges read at scrape time (the monitor's sample()). */
  bindMemory(sample: () => MemorySample): void;
}

export function createMemoryMetrics(registry: Registry): MemoryMetrics {
  let sampleOf: (() => MemorySample) | null = null;
  // One sample per scrape shared by the gauges, so they describe the same instant.
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
    gpuUsageBytes: new Gauge({
      name: "reflexia_gpu_memory_usage_bytes",
      help: "VRAM in use on each GPU device layers go to (total minus free: every process on the device); absent on the CPU.",
      labelNames: ["device"],
      registers,
      collect() {
        this.reset();
        for (const d of current()?.gpu?.devices ?? []) this.set({ device: d.name }, d.usedBytes);
      },
    }),
    gpuTotalBytes: new Gauge({
      name: "reflexia_gpu_memory_total_bytes",
      help: "VRAM of each GPU device layers go to; absent on the CPU.",
      labelNames: ["device"],
      registers,
      collect() {
        this.reset();
        for (const d of current()?.gpu?.devices ?? []) this.set({ device: d.name }, d.totalBytes);
      },
    }),
    gpuBudgetBytes: new Gauge({
      name: "reflexia_gpu_memory_budget_bytes",
      help: "VRAM budget: MAX_VRAM_PERCENT of the GPU devices' total; absent on the CPU.",
      registers,
      collect() {
        this.reset();
        const g = current()?.gpu;
        if (g) this.set(g.budgetBytes);
      },
    }),
    bindMemory(sample) {
      sampleOf = sample;
    },
  };
}
