import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os, { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { availableCores, cgroupCpuQuota, resolveThreadPolicy } from "./threads.ts";

describe("thread policy", () => {
  it("counts at least one and at most the schedulable cores", () => {
    const n = availableCores();
    expect(n).toBeGreaterThanOrEqual(1);
    expect(n).toBeLessThanOrEqual(os.availableParallelism());
  });

  it("uses performance.thread_pool_size when set, the measured default otherwise", () => {
    expect(resolveThreadPolicy({ configured: 3, availableCores: 2 }).threads).toBe(3);
    expect(resolveThreadPolicy({ configured: 0, availableCores: 2 }).threads).toBe(
      resolveThreadPolicy({ availableCores: 2 }).threads,
    );
    for (const cores of [1, 2, 4, 16]) {
      const p = resolveThreadPolicy({ availableCores: cores });
      expect(p.threads).toBeGreaterThanOrEqual(1);
      expect(p.threads).toBeLessThanOrEqual(cores);
      expect(p.availableCores).toBe(cores);
      expect(p.poll).toBeGreaterThanOrEqual(0);
      expect(p.poll).toBeLessThanOrEqual(100);
    }
  });
});

describe("cgroup CPU quota", () => {
  const dirs: string[] = [];
  const tree = (files: Record<string, string>) => {
    const base = mkdtempSync(join(tmpdir(), "rfx-threads-"));
    dirs.push(base);
    for (const [rel, content] of Object.entries(files)) {
      mkdirSync(dirname(join(base, rel)), { recursive: true });
      writeFileSync(join(base, rel), content);
    }
    return { cgroupRoot: join(base, "cg"), procRoot: join(base, "proc") };
  };
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it("reads v2 cpu.max on the process's cgroup path, tightest wins", () => {
    const roots = tree({
      "proc/self/cgroup": "0::/app/worker\n",
      "cg/app/cpu.max": "150000 100000\n",
      "cg/app/worker/cpu.max": "max 100000\n",
    });
    expect(cgroupCpuQuota(roots)).toBe(1.5);
    expect(availableCores(roots)).toBe(Math.min(os.availableParallelism(), 2));
  });

  it("reads the v1 CFS quota and ignores -1", () => {
    const roots = tree({
      "proc/self/cgroup": "4:cpu,cpuacct:/docker/abc\n3:memory:/docker/abc\n",
      "cg/cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "100000\n",
      "cg/cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n",
    });
    expect(cgroupCpuQuota(roots)).toBe(1);
    expect(availableCores(roots)).toBe(1);
    const unlimited = tree({
      "proc/self/cgroup": "4:cpu:/x\n",
      "cg/cpu/x/cpu.cfs_quota_us": "-1\n",
      "cg/cpu/x/cpu.cfs_period_us": "100000\n",
    });
    expect(cgroupCpuQuota(unlimited)).toBeUndefined();
    expect(availableCores(unlimited)).toBe(os.availableParallelism());
  });
});
