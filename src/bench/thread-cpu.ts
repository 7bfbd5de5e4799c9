// CPU time of each thread of a process (Linux /proc), to tell a server's decode threads from its front: the HTTP,
// JSON and event-loop work that shares the cores with them.
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc's utime and stime (USER_HZ: 100 on every Linux this runs on). */
const TICKS_PER_SECOND = 100;

/** A thread's CPU time in ms: the scheduler's own sum (µs precision) where /proc shows it, else utime + stime. */
function cpuOf(dir: string): number {
  try {
    const m = /^se\.sum_exec_runtime\s*:\s*([0-9.]+)/m.exec(readFileSync(`${dir}/sched`, "utf8"));
    if (m) return Number(m[1]);
  } catch {
    // no sched file (kernel without CONFIG_SCHED_DEBUG): the tick counts below
  }
  const stat = readFileSync(`${dir}/stat`, "utf8");
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_SECOND;
}

/**
 * Milliseconds of CPU each thread of `pid` has used, by thread id; null where /proc cannot say. Ticks (10 ms) are
 * too coarse for a trial's front, which uses tens of ms across a dozen threads; the scheduler's sum is exact.
 */
export function threadCpuMs(pid: number | undefined): Map<number, number> | null {
  if (pid === undefined) return null;
  try {
    const out = new Map<number, number>();
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        out.set(Number(tid), cpuOf(`/proc/${pid}/task/${tid}`));
      } catch {
        // a thread that ended between the listing and the read
      }
    }
    return out;
  } catch {
    return null;
  }
}

/**
 * Splits the CPU used between two readings into the decode threads' (each busy more than half of `wallMs`: they
 * compute or spin through a step) and the rest's, the front.
 */
export function splitThreadCpu(
  before: Map<number, number>,
  after: Map<number, number>,
  wallMs: number,
): { decodeMs: number; frontMs: number } {
  let decodeMs = 0;
  let frontMs = 0;
  for (const [tid, ms] of after) {
    const used = ms - (before.get(tid) ?? 0);
    if (used > wallMs / 2) decodeMs += used;
    else frontMs += used;
  }
  return { decodeMs, frontMs };
}
