// The memory monitor: samples process, system, cgroup and GPU memory and turns them into budgets and a pressure.
import { readFileSync, writeFileSync } from "node:fs";
import { freemem, totalmem } from "node:os";
import { join } from "node:path";
import { ReflexiaError } from "../errors/index.ts";
import { readCgroup, type CgroupInfo } from "./read-cgroup.ts";

export const USED_SOURCES = ["cgroup", "process_rss"] as const;
/** What usedBytes measured: the cgroup's working set (a limit is set) or this process's RSS (no limit). */
export type UsedSource = (typeof USED_SOURCES)[number];

export interface MemoryMonitorOptions {
  /** Budget as a percent (1..100) of the effective limit; config key memory.max_memory_percent. */
  maxMemoryPercent: number;
  /** Defaults to "/sys/fs/cgroup". */
  cgroupRoot?: string;
  /** Defaults to "/proc"; `<procRoot>/meminfo` gives system memory, `<procRoot>/self/*` the process's cgroup and peak. */
  procRoot?: string;
  /** The GPU devices layers go to, with their memory now (the engine's gpu.memory()); absent or empty on the CPU. */
  gpuDevices?: () => readonly GpuDeviceMemory[];
  /** VRAM budget as a percent (1..100) of the devices' total; config key memory.max_vram_percent. Defaults to 90. */
  maxVramPercent?: number;
}

/** A GPU device's memory as the engine reports it. */
export interface GpuDeviceMemory {
  /** ggml's device name ("CUDA0", "Vulkan0"). */
  name: string;
  description: string;
  freeBytes: number;
  totalBytes: number;
}

export interface GpuDeviceSample extends GpuDeviceMemory {
  /** totalBytes - freeBytes: what every process on the device holds, this one included. */
  usedBytes: number;
}

export interface GpuMemorySample {
  devices: GpuDeviceSample[];
  totalBytes: number;
  freeBytes: number;
  /** maxVramPercent % of totalBytes: what Reflexia's loaded variants may hold together. */
  budgetBytes: number;
  maxVramPercent: number;
}

export interface MemorySample {
  /** Date.now() when sampled. */
  timestamp: number;
  rssBytes: number;
  heapUsedBytes: number;
  systemTotalBytes: number;
  /** MemAvailable (free + reclaimable cache), not MemFree. */
  systemAvailableBytes: number;
  cgroupLimitBytes: number | null;
  /** The cgroup's working set (usage minus inactive file cache); null outside a readable cgroup. */
  cgroupUsageBytes: number | null;
  /** min(cgroup limit, system total). */
  effectiveLimitBytes: number;
  /** maxMemoryPercent % of effectiveLimitBytes. */
  budgetBytes: number;
  /** What counts against the budget; see usedSource. */
  usedBytes: number;
  usedSource: UsedSource;
  /** usedBytes / effectiveLimitBytes * 100. */
  percent: number;
  /** usedBytes / budgetBytes (may exceed 1 when over budget). */
  pressure: number;
  /** max(0, budgetBytes - usedBytes): what a new load may still take. */
  freeBudgetBytes: number;
  /** Peak RSS since the process started or the last resetPeak() (see MemoryMonitor.peakRssBytes). */
  peakRssBytes: number;
  /** VRAM of the GPU devices in use; null on the CPU. */
  gpu: GpuMemorySample | null;
}

export interface MemoryMonitor {
  /** Reads everything now; also updates latest() and the peak. */
  sample(): MemorySample;
  /** Last sample taken (by sample() or the sampler); takes one when none exists yet. */
  latest(): MemorySample;
  /** Samples every intervalMs on an unref'd timer (it never keeps the process alive); restarts if running. */
  startSampling(intervalMs: number): void;
  stop(): void;
  /** Calls the listener after every sample; returns the unsubscribe function. */
  onSample(listener: (sample: MemorySample) => void): () => void;
  /** Starts a new peak window (e.g. before a benchmark's long generation); process-wide on Linux. */
  resetPeak(): void;
  /**
   * Peak RSS since the process started or the last resetPeak(): the kernel's high-water mark (VmHWM) where
   * readable and resettable, else the highest sampled RSS.
   */
  readonly peakRssBytes: number;
  readonly maxMemoryPercent: number;
  readonly maxVramPercent: number;
}

function readKb(text: string | null, field: string): number | null {
  if (text === null) return null;
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s*kB`, "m").exec(text);
  return m ? Number(m[1]) * 1024 : null;
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return null;
  }
}

/**
 * Creates a monitor. The budget is maxMemoryPercent of the effective limit, the smaller of the cgroup limit and
 * system memory. What counts against it depends on where the limit comes from:
 * - inside a cgroup with a memory limit, the cgroup's working set: the kernel OOM-kills on the cgroup's total,
 *   including child processes and mmap'd weights, so the process's own RSS would under-count;
 * - without a limit, this process's RSS: other programs on the host are not ours to budget, and counting them
 *   would let an unrelated browser make Reflexia refuse loads.
 */
export function createMemoryMonitor(options: MemoryMonitorOptions): MemoryMonitor {
  const { maxMemoryPercent } = options;
  const maxVramPercent = options.maxVramPercent ?? 90;
  for (const [name, v] of [
    ["maxMemoryPercent", maxMemoryPercent],
    ["maxVramPercent", maxVramPercent],
  ] as const) {
    if (!Number.isFinite(v) || v <= 0 || v > 100)
      throw new ReflexiaError("RFX_CONFIG_INVALID", `${name} must be in (0, 100], got ${String(v)}`);
  }
  const procRoot = options.procRoot ?? "/proc";
  const cgroupOptions = { cgroupRoot: options.cgroupRoot, procRoot };
  let sampledPeak = process.memoryUsage.rss();
  // The kernel's VmHWM is the true peak since the process started (it catches spikes between samples). Writing
  // "5" to clear_refs restarts it; where that write fails, a reset window can only use sampled values. Note the
  // reset is process-wide: it also restarts process.resourceUsage().maxRSS.
  let kernelPeak = true;
  let last: MemorySample | null = null;
  let timer: NodeJS.Timeout | null = null;
  const listeners = new Set<(s: MemorySample) => void>();

  const kernelHwm = (): number | null =>
    kernelPeak ? readKb(readText(join(procRoot, "self", "status")), "VmHWM") : null;

  const resetPeak = (): void => {
    sampledPeak = process.memoryUsage.rss();
    try {
      // "r+" never creates the file, so a test procRoot without clear_refs falls back to sampling.
      writeFileSync(join(procRoot, "self", "clear_refs"), "5", { flag: "r+" });
      kernelPeak = true;
    } catch {
      kernelPeak = false;
    }
  };

  const peak = (): number => Math.max(sampledPeak, kernelHwm() ?? 0);

  const sampleGpu = (): GpuMemorySample | null => {
    let raw: readonly GpuDeviceMemory[] = [];
    try {
      raw = options.gpuDevices?.() ?? [];
    } catch {
      // A device that cannot answer reads as absent rather than stopping the RAM figures.
      raw = [];
    }
    if (raw.length === 0) return null;
    const devices = raw.map((d) => ({
      name: d.name,
      description: d.description,
      freeBytes: d.freeBytes,
      totalBytes: d.totalBytes,
      usedBytes: Math.max(0, d.totalBytes - d.freeBytes),
    }));
    const totalBytes = devices.reduce((a, d) => a + d.totalBytes, 0);
    return {
      devices,
      totalBytes,
      freeBytes: devices.reduce((a, d) => a + d.freeBytes, 0),
      budgetBytes: Math.floor((totalBytes * maxVramPercent) / 100),
      maxVramPercent,
    };
  };

  const sample = (): MemorySample => {
    const mem = process.memoryUsage();
    const rss = mem.rss;
    if (rss > sampledPeak) sampledPeak = rss;
    const meminfo = readText(join(procRoot, "meminfo"));
    const systemTotal = readKb(meminfo, "MemTotal") ?? totalmem();
    const systemAvailable = readKb(meminfo, "MemAvailable") ?? freemem();
    const cg: CgroupInfo = readCgroup(cgroupOptions);
    const cgLimit = cg.memory.limitBytes;
    const cgUsage = cg.memory.workingSetBytes;
    const effective = cgLimit !== null ? Math.min(cgLimit, systemTotal) : systemTotal;
    const budget = Math.floor((effective * maxMemoryPercent) / 100);
    const useCgroup = cgLimit !== null && cgUsage !== null;
    const used = useCgroup ? cgUsage : rss;
    const s: MemorySample = {
      timestamp: Date.now(),
      rssBytes: rss,
      heapUsedBytes: mem.heapUsed,
      systemTotalBytes: systemTotal,
      systemAvailableBytes: systemAvailable,
      cgroupLimitBytes: cgLimit,
      cgroupUsageBytes: cgUsage,
      effectiveLimitBytes: effective,
      budgetBytes: budget,
      usedBytes: used,
      usedSource: useCgroup ? "cgroup" : "process_rss",
      percent: effective > 0 ? (used / effective) * 100 : 0,
      pressure: budget > 0 ? used / budget : 1,
      freeBudgetBytes: Math.max(0, budget - used),
      peakRssBytes: peak(),
      gpu: sampleGpu(),
    };
    last = s;
    for (const l of listeners) {
      try {
        l(s);
      } catch {
        // A failing listener (e.g. a metrics exporter) must not stop sampling for the others.
      }
    }
    return s;
  };

  return {
    maxMemoryPercent,
    maxVramPercent,
    sample,
    latest: () => last ?? sample(),
    startSampling(intervalMs) {
      if (!Number.isFinite(intervalMs) || intervalMs < 10) {
        throw new ReflexiaError(
          "RFX_CONFIG_INVALID",
          `sampling interval must be at least 10 ms, got ${String(intervalMs)}`,
        );
      }
      if (timer) clearInterval(timer);
      timer = setInterval(sample, intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
    onSample(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    resetPeak,
    get peakRssBytes() {
      const rss = process.memoryUsage.rss();
      if (rss > sampledPeak) sampledPeak = rss;
      return peak();
    },
  };
}
