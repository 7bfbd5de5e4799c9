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
  /** Whether threads came from performance.thread_pool_size or the measured default. */
  source: "configured" | "default";
}

export interface ResolveThreadPolicyOptions {
  /** performance.thread_pool_size; 0 or undefined picks the measured default. */
  configured?: number;
  /** Overrides the detected core count (tests, benchmarks). */
  availableCores?: number;
}

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

/*
 * Measured on this project's machine (2 vCPU AMD EPYC, zen4 ggml variant, no cgroup CPU quota), native engine,
 * 210 M-param `small` synthetic model, q4_0, 128 tokens per request, two alternating rounds, machine otherwise idle:
 *   npx tsx src/bench/engine-bench.ts --model small-q4_0.gguf --threads T --poll P --tokens 128 --concurrency 4,8
 *
 *                        single-stream decode   4 concurrent (aggregate)   8 concurrent (aggregate)
 *   threads 2, poll 50   225 / 215 tok/s        268 / 306 tok/s            307 / 344 tok/s
 *   threads 2, poll 0    213 / 229              274 / 295                  299 / 341
 *   threads 1            143 / 144              159 / 157                  182 / 182
 *
 * Two threads beat one by ~1.5x when the cores are free, so the default uses every available core. Idle-machine
 * runs do not separate poll 0 from 50; on a loaded machine (other processes busy on both cores) a sleeping worker
 * is woken late for every token: llama-bench --poll 0 fell to 4-20 tok/s where --poll 50 kept 199, so multi-thread
 * pools poll (as llama.cpp's tools do by default). Under heavy foreign load two threads still collapse (7-85 tok/s
 * seen against 77-135 for one thread): set performance.thread_pool_size = 1 on a host whose cores are shared.
 */
/** The thread count and spin policy for a decode context. */
export function resolveThreadPolicy(options: ResolveThreadPolicyOptions = {}): ThreadPolicy {
  const cores = options.availableCores ?? availableCores();
  const configured = options.configured ?? 0;
  const threads = configured > 0 ? Math.floor(configured) : cores;
  // Workers of a multi-thread pool spin between decode steps: a sleeping worker must be woken for every token, and
  // on a busy machine that wake-up (not the matmul) decided the speed.
  return {
    threads,
    poll: threads > 1 ? 50 : 0,
    availableCores: cores,
    source: configured > 0 ? "configured" : "default",
  };
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
          consider(
            parseCfs(
              readText(`${cg}/${mount}${dir === "/" ? "" : dir}/cpu.cfs_quota_us`),
              readText(`${cg}/${mount}${dir === "/" ? "" : dir}/cpu.cfs_period_us`),
            ),
          );
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
