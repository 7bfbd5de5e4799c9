// CPU time of each thread of a process (Linux /proc), to tell a server's decode threads from its front: the HTTP,
// JSON and event-loop work that shares the cores with them.
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc's utime and stime (USER_HZ: 100 on every Linux this runs on). */
const TICKS_PER_SECOND = 100;

/** Milliseconds of CPU (user + system) each thread of `pid` has used, by thread id; null where /proc cannot say. */
export function threadCpuMs(pid: number | undefined): Map<number, number> | null {
  if (pid === undefined) return null;
  try {
    const out = new Map<number, number>();
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
        // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
        const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        out.set(Number(tid), ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_SECOND);
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
