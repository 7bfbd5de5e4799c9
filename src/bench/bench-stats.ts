// Summary statistics shared by the benchmarks (medians and nearest-rank percentiles of samples).

/** Median of the samples (mean of the two middle values for an even count); NaN when empty. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Nearest-rank percentile p (0–100) of the samples, in any order; NaN when empty. */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** One timed call: wall and process CPU time (all threads), ms, and whether the OS preempted the process meanwhile. */
export interface CallSample {
  wall: number;
  cpu: number;
  preempted: boolean;
}

/**
 * Times one call. On a loaded machine a call's wall tail is mostly time spent waiting for a core; the CPU time and
 * the involuntary-context-switch count (which says the OS took the core away during the call) tell that apart.
 */
export async function timeCall<T>(fn: () => Promise<T>): Promise<{ value: T; sample: CallSample }> {
  const switches = process.resourceUsage().involuntaryContextSwitches;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    value,
    sample: {
      wall,
      cpu: (cpu.user + cpu.system) / 1000,
      preempted: process.resourceUsage().involuntaryContextSwitches > switches,
    },
  };
}

/** Percentile p of the samples' wall and CPU times, the share preempted, and the wall percentile of the others. */
export function callTail(
  samples: CallSample[],
  p: number,
): { wall: number; cpu: number; preempted: number; unpreempted?: number } {
  const clean = samples.filter((x) => !x.preempted).map((x) => x.wall);
  return {
    wall: percentile(
      samples.map((x) => x.wall),
      p,
    ),
    cpu: percentile(
      samples.map((x) => x.cpu),
      p,
    ),
    preempted: (samples.length - clean.length) / Math.max(1, samples.length),
    ...(clean.length > 0 ? { unpreempted: percentile(clean, p) } : {}),
  };
}

/** Latency of a timed call, summarised (benchmarks report these side by side per path). */
export interface LatencyStats {
  /** Wall time, ms. */
  p50: number;
  p95: number;
  mean: number;
  /**
   * The process's CPU time per call (all its threads), ms: on a loaded machine the wall tail is mostly time spent
   * waiting for a core, which this leaves out.
   */
  cpuP50: number;
  cpuP95: number;
  /** Share of calls during which the OS preempted the process (an involuntary context switch). */
  preempted: number;
  /** Wall p95 over the calls that were not preempted (absent when every call was). */
  unpreemptedP95?: number;
}

/** Wall p50/p95/mean, CPU p50/p95 and preemption of the samples. */
export function latencyStats(samples: CallSample[]): LatencyStats {
  const wall = samples.map((x) => x.wall);
  const p95 = callTail(samples, 95);
  return {
    p50: percentile(wall, 50),
    p95: p95.wall,
    mean: wall.reduce((a, b) => a + b, 0) / Math.max(1, wall.length),
    cpuP50: callTail(samples, 50).cpu,
    cpuP95: p95.cpu,
    preempted: p95.preempted,
    ...(p95.unpreempted !== undefined ? { unpreemptedP95: p95.unpreempted } : {}),
  };
}

/** Times `n` calls of `fn(i)` after up to 20 untimed ones. */
export async function timeCalls<T>(n: number, fn: (i: number) => Promise<T>): Promise<CallSample[]> {
  // Warm-up: the first calls load index pages and JIT the bindings.
  for (let i = 0; i < Math.min(20, n); i++) await fn(i);
  const out: CallSample[] = [];
  for (let i = 0; i < n; i++) out.push((await timeCall(() => fn(i))).sample);
  return out;
}
