import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { useFakeSystemTree } from "./fake-system-tree.ts";
import { ReflexiaError } from "../errors/index.ts";
import { createMemoryMonitor } from "./create-memory-monitor.ts";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

const tree = useFakeSystemTree();

const meminfo = (totalKb: number, availKb: number) =>
  `MemTotal:       ${totalKb} kB\nMemFree:        1 kB\nMemAvailable:   ${availKb} kB\n`;

describe("createMemoryMonitor", () => {
  it("inside a limited cgroup, budgets a percent of the limit and counts the cgroup working set", () => {
    const t = tree({
      "proc/meminfo": meminfo(4 * 1024 * 1024, 3 * 1024 * 1024),
      "proc/self/cgroup": "0::/app\n",
      "cg/cgroup.controllers": "memory",
      "cg/app/memory.max": String(GiB),
      "cg/app/memory.current": String(400 * MiB),
      "cg/app/memory.stat": `inactive_file ${144 * MiB}\n`,
    });
    const m = createMemoryMonitor({ maxMemoryPercent: 50, ...t });
    const s = m.sample();
    expect(s.systemTotalBytes).toBe(4 * GiB);
    expect(s.systemAvailableBytes).toBe(3 * GiB);
    expect(s.cgroupLimitBytes).toBe(GiB);
    expect(s.cgroupUsageBytes).toBe(256 * MiB);
    expect(s.effectiveLimitBytes).toBe(GiB);
    expect(s.budgetBytes).toBe(512 * MiB);
    expect(s.usedSource).toBe("cgroup");
    expect(s.usedBytes).toBe(256 * MiB);
    expect(s.percent).toBeCloseTo(25, 10);
    expect(s.pressure).toBeCloseTo(0.5, 10);
    expect(s.freeBudgetBytes).toBe(256 * MiB);
    expect(s.rssBytes).toBeGreaterThan(0);
    expect(s.heapUsedBytes).toBeGreaterThan(0);
  });

  it("a cgroup limit above system memory leaves system memory as the effective limit", () => {
    const t = tree({
      "proc/meminfo": meminfo(2 * 1024 * 1024, 1024 * 1024),
      "proc/self/cgroup": "4:memory:/c\n",
      "cg/memory/c/memory.limit_in_bytes": String(64 * GiB),
      "cg/memory/c/memory.usage_in_bytes": String(GiB),
    });
    const s = createMemoryMonitor({ maxMemoryPercent: 80, ...t }).sample();
    expect(s.effectiveLimitBytes).toBe(2 * GiB);
    expect(s.budgetBytes).toBe(Math.floor(2 * GiB * 0.8));
    expect(s.usedSource).toBe("cgroup");
    expect(s.pressure).toBeCloseTo(GiB / s.budgetBytes, 12);
    expect(s.pressure).toBeCloseTo(0.625, 6);
  });

  it("without a cgroup limit, counts this process's RSS against a percent of system memory", () => {
    const t = tree({
      "proc/meminfo": meminfo(8 * 1024 * 1024, 6 * 1024 * 1024),
      "proc/self/cgroup": "4:memory:/c\n",
      "cg/memory/c/memory.limit_in_bytes": "9223372036854771712",
      "cg/memory/c/memory.usage_in_bytes": String(5 * GiB),
    });
    const m = createMemoryMonitor({ maxMemoryPercent: 25, ...t });
    const before = process.memoryUsage.rss();
    const s = m.sample();
    const after = process.memoryUsage.rss();
    expect(s.cgroupLimitBytes).toBeNull();
    expect(s.usedSource).toBe("process_rss");
    expect(s.effectiveLimitBytes).toBe(8 * GiB);
    expect(s.budgetBytes).toBe(2 * GiB);
    expect(s.usedBytes).toBe(s.rssBytes);
    // RSS moves a little between calls; it must sit near the process's own figure, not the cgroup's 5 GiB.
    expect(s.usedBytes).toBeGreaterThan(Math.min(before, after) * 0.5);
    expect(s.usedBytes).toBeLessThan(Math.max(before, after) * 2);
    expect(s.pressure).toBeCloseTo(s.usedBytes / (2 * GiB), 10);
  });

  it("reports pressure above 1 and zero free budget when over budget", () => {
    const t = tree({
      "proc/meminfo": meminfo(4 * 1024 * 1024, 1024),
      "proc/self/cgroup": "0::/\n",
      "cg/cgroup.controllers": "memory",
      "cg/memory.max": String(GiB),
      "cg/memory.current": String(900 * MiB),
    });
    const s = createMemoryMonitor({ maxMemoryPercent: 50, ...t }).sample();
    expect(s.pressure).toBeGreaterThan(1);
    expect(s.freeBudgetBytes).toBe(0);
  });

  it("works against the real /proc and /sys of this machine", () => {
    const m = createMemoryMonitor({ maxMemoryPercent: 80 });
    const s = m.sample();
    expect(s.systemTotalBytes).toBeGreaterThan(0);
    expect(s.effectiveLimitBytes).toBeLessThanOrEqual(s.systemTotalBytes);
    expect(s.budgetBytes).toBe(Math.floor(s.effectiveLimitBytes * 0.8));
    expect(s.usedBytes).toBeGreaterThan(0);
    expect(m.latest()).toBe(s);
  });

  it("tracks peak RSS across an allocation and keeps it after the memory is dropped", () => {
    const m = createMemoryMonitor({ maxMemoryPercent: 80 });
    m.resetPeak();
    const base = process.memoryUsage.rss();
    let buf: Buffer | null = Buffer.allocUnsafe(96 * MiB);
    buf.fill(7); // touch every page so it is resident
    const during = m.peakRssBytes;
    expect(during).toBeGreaterThanOrEqual(base + 64 * MiB);
    buf = null;
    expect(m.peakRssBytes).toBeGreaterThanOrEqual(during);
  });

  it("reports the kernel's peak since process start before any reset, and a fresh window after", () => {
    const m = createMemoryMonitor({ maxMemoryPercent: 80 });
    const hwm = Number(/VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))![1]) * 1024;
    expect(m.peakRssBytes).toBeGreaterThanOrEqual(hwm);
    const before = process.memoryUsage.rss();
    m.resetPeak();
    // The window now starts at the RSS of the reset, not at the lifetime high-water mark (GC may free memory in
    // between, hence the max).
    expect(m.peakRssBytes).toBeLessThanOrEqual(Math.max(before, process.memoryUsage.rss()) + 8 * MiB);
  });

  it("samples on a timer and notifies listeners until stopped", async () => {
    const m = createMemoryMonitor({ maxMemoryPercent: 80 });
    const seen: number[] = [];
    const got = new Promise<void>((resolve) => {
      const off = m.onSample((s) => {
        seen.push(s.timestamp);
        if (seen.length >= 2) {
          off();
          resolve();
        }
      });
    });
    m.startSampling(20);
    await got;
    m.stop();
    expect(seen.length).toBe(2);
    expect(m.latest().timestamp).toBeGreaterThanOrEqual(seen[1]!);
  });

  it("rejects invalid options with a config error", () => {
    expect(() => createMemoryMonitor({ maxMemoryPercent: 0 })).toThrow(ReflexiaError);
    expect(() => createMemoryMonitor({ maxMemoryPercent: 101 })).toThrow(ReflexiaError);
    expect(() => createMemoryMonitor({ maxMemoryPercent: Number.NaN })).toThrow(ReflexiaError);
    expect(() => createMemoryMonitor({ maxMemoryPercent: 50 }).startSampling(0)).toThrow(ReflexiaError);
  });
});

describe("createMemoryMonitor: GPU devices", () => {
  it("reports each device's VRAM, the total and the MAX_VRAM_PERCENT budget; null without devices", () => {
    const t = tree({ "proc/meminfo": meminfo(4 * 1024 * 1024, 3 * 1024 * 1024) });
    let free = 20 * GiB;
    const m = createMemoryMonitor({
      maxMemoryPercent: 80,
      maxVramPercent: 50,
      gpuDevices: () => [
        { name: "CUDA0", description: "NVIDIA A10", freeBytes: free, totalBytes: 24 * GiB },
        { name: "CUDA1", description: "NVIDIA A10", freeBytes: 24 * GiB, totalBytes: 24 * GiB },
      ],
      ...t,
    });
    const s = m.sample().gpu!;
    expect(s.devices.map((d) => [d.name, d.usedBytes])).toEqual([
      ["CUDA0", 4 * GiB],
      ["CUDA1", 0],
    ]);
    expect(s).toMatchObject({ totalBytes: 48 * GiB, freeBytes: 44 * GiB, budgetBytes: 24 * GiB, maxVramPercent: 50 });
    free = 10 * GiB;
    expect(m.sample().gpu!.devices[0]!.usedBytes).toBe(14 * GiB);
    expect(createMemoryMonitor({ maxMemoryPercent: 80, ...t }).sample().gpu).toBeNull();
  });

  it("a device that cannot answer reads as absent; the RAM figures still come", () => {
    const t = tree({ "proc/meminfo": meminfo(4 * 1024 * 1024, 3 * 1024 * 1024) });
    const s = createMemoryMonitor({
      maxMemoryPercent: 80,
      gpuDevices: () => {
        throw new Error("device lost");
      },
      ...t,
    }).sample();
    expect(s.gpu).toBeNull();
    expect(s.systemTotalBytes).toBe(4 * GiB);
  });

  it("refuses a VRAM percent outside (0, 100]", () => {
    expect(() => createMemoryMonitor({ maxMemoryPercent: 80, maxVramPercent: 0 })).toThrow(ReflexiaError);
    expect(() => createMemoryMonitor({ maxMemoryPercent: 80, maxVramPercent: 101 })).toThrow(
      /maxVramPercent must be in \(0, 100\]/,
    );
  });
});
