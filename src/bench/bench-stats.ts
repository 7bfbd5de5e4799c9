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
