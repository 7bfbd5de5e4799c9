// Reading the process's cgroup (v1 or v2) memory limit, usage and CPU quota from the cgroup filesystem.
import { existsSync, readFileSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, posix } from "node:path";

export const CGROUP_VERSIONS = [1, 2] as const;
export type CgroupVersion = (typeof CGROUP_VERSIONS)[number];

export interface ReadCgroupOptions {
  /** Mount point of the cgroup filesystem(s). Defaults to "/sys/fs/cgroup". */
  cgroupRoot?: string;
  /** Mount point of procfs; `<procRoot>/self/cgroup` names the process's cgroup. Defaults to "/proc". */
  procRoot?: string;
}

export interface CgroupMemory {
  /** Tightest memory limit on the path from the process's cgroup to the root; null when none is set. */
  limitBytes: number | null;
  /** Usage of the cgroup that imposes that limit (or of the process's own cgroup without a limit). */
  usageBytes: number | null;
  /**
   * usageBytes minus inactive file cache, the figure the kernel's OOM logic and kubelet act on: page cache that
   * can be dropped without swapping must not read as pressure. Null when usage is unknown.
   */
  workingSetBytes: number | null;
  /** Directory the limit (or usage) was read from. */
  dir: string | null;
}

export interface CgroupCpu {
  /** CPU quota in cores (quota / period, e.g. 1.5); null when unlimited or unreadable. */
  quotaCores: number | null;
  dir: string | null;
}

export interface CgroupInfo {
  /** 2 for the unified hierarchy, 1 for the legacy per-controller one, null when no cgroup fs is readable. */
  version: CgroupVersion | null;
  /** Process's cgroup path from /proc/self/cgroup (the memory controller's for v1); null when unknown. */
  path: string | null;
  memory: CgroupMemory;
  cpu: CgroupCpu;
}

/**
 * v1 reports "no limit" as the largest page-aligned signed 64-bit value (9223372036854771712 on 4 KiB pages); any
 * value at or past 2^60 bytes (an exabyte) is treated as that sentinel rather than as a real limit.
 */
const UNLIMITED_FLOOR = 2 ** 60;

function readText(file: string): string | null {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return null;
  }
}

function isDir(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** Parses a byte count; "max" (v2) and the v1 sentinel mean unlimited (null), as does anything unparsable. */
export function parseLimit(text: string | null): number | null {
  if (text === null) return null;
  const s = text.trim();
  if (!/^\d+$/.test(s)) return null;
  const n = Number(s);
  // A zero limit cannot describe the cgroup this code is running in; treat it as garbage rather than as "no memory".
  if (n >= UNLIMITED_FLOOR || !Number.isSafeInteger(n) || n === 0) return null;
  return n;
}

/** Parses a plain non-negative integer (usage counters, quotas); null for anything else. */
function parseCount(text: string | null): number | null {
  if (text === null) return null;
  const s = text.trim();
  if (!/^\d+$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

function parseStatField(text: string | null, field: string): number | null {
  if (text === null) return null;
  for (const line of text.split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k === field) return parseCount(v ?? null);
  }
  return null;
}

interface CgroupLine {
  controllers: string[];
  path: string;
}

/** Parses /proc/self/cgroup lines `id:controllers:path`; malformed lines are skipped. */
export function parseProcCgroup(text: string): CgroupLine[] {
  const out: CgroupLine[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line) continue;
    const first = line.indexOf(":");
    const second = line.indexOf(":", first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line
      .slice(first + 1, second)
      .split(",")
      .filter(Boolean);
    const path = line.slice(second + 1);
    if (!path.startsWith("/")) continue;
    out.push({ controllers, path });
  }
  return out;
}

/**
 * Directories from the process's cgroup up to the controller's mount root. A path that does not exist under the
 * mount (a container whose cgroup namespace is not private shows the host path while the mount holds only its
 * own subtree) falls back to the mount root, which is then the container's cgroup.
 */
function ancestry(base: string, cgPath: string): string[] {
  const clean = posix.normalize(cgPath);
  const leaf = join(base, clean);
  if (!isDir(leaf)) return isDir(base) ? [base] : [];
  const dirs: string[] = [];
  let p = clean;
  for (;;) {
    dirs.push(join(base, p));
    if (p === "/" || p === ".") break;
    p = posix.dirname(p);
  }
  return dirs;
}

function readMemory(dirs: string[], version: CgroupVersion): CgroupMemory {
  const limitFile = version === 2 ? "memory.max" : "memory.limit_in_bytes";
  const usageFile = version === 2 ? "memory.current" : "memory.usage_in_bytes";
  // v1's memory.stat carries hierarchical totals under total_*; v2's counters are hierarchical already.
  const inactiveField = version === 2 ? "inactive_file" : "total_inactive_file";
  let limit: number | null = null;
  let limitDir: string | null = null;
  for (const dir of dirs) {
    const l = parseLimit(readText(join(dir, limitFile)));
    if (l !== null && (limit === null || l < limit)) {
      limit = l;
      limitDir = dir;
    }
  }
  const dir = limitDir ?? dirs[0] ?? null;
  if (dir === null) return { limitBytes: null, usageBytes: null, workingSetBytes: null, dir: null };
  const usage = parseCount(readText(join(dir, usageFile)));
  let workingSet: number | null = null;
  if (usage !== null) {
    const inactive = parseStatField(readText(join(dir, "memory.stat")), inactiveField) ?? 0;
    workingSet = Math.max(0, usage - Math.min(inactive, usage));
  }
  return { limitBytes: limit, usageBytes: usage, workingSetBytes: workingSet, dir };
}

function parseV2CpuMax(text: string | null): number | null {
  if (text === null) return null;
  const [quota, period] = text.trim().split(/\s+/);
  if (quota === "max") return null;
  const q = parseCount(quota ?? null);
  const p = parseCount(period ?? "100000");
  if (q === null || p === null || q === 0 || p === 0) return null;
  return q / p;
}

function parseV1Cpu(quotaText: string | null, periodText: string | null): number | null {
  // cfs_quota_us is -1 without a limit; parseCount rejects the sign, giving null.
  const q = parseCount(quotaText);
  const p = parseCount(periodText);
  if (q === null || p === null || q === 0 || p === 0) return null;
  return q / p;
}

function readCpu(dirs: string[], version: CgroupVersion): CgroupCpu {
  let best: number | null = null;
  let bestDir: string | null = null;
  for (const dir of dirs) {
    const cores =
      version === 2
        ? parseV2CpuMax(readText(join(dir, "cpu.max")))
        : parseV1Cpu(readText(join(dir, "cpu.cfs_quota_us")), readText(join(dir, "cpu.cfs_period_us")));
    if (cores !== null && (best === null || cores < best)) {
      best = cores;
      bestDir = dir;
    }
  }
  return { quotaCores: best, dir: bestDir };
}

/** v1 mounts a controller under its own name, or co-mounted ones under a joined name such as "cpu,cpuacct". */
function v1Base(root: string, line: CgroupLine, controller: string): string | null {
  for (const name of [line.controllers.join(","), controller]) {
    const dir = join(root, name);
    if (isDir(dir)) return dir;
  }
  return null;
}

const NONE: CgroupInfo = {
  version: null,
  path: null,
  memory: { limitBytes: null, usageBytes: null, workingSetBytes: null, dir: null },
  cpu: { quotaCores: null, dir: null },
};

/**
 * Reads the process's cgroup limits. Never throws: a missing or garbled file reads as "no limit" (null), so a
 * machine without cgroups, or with an unexpected layout, simply gets the system figures.
 */
export function readCgroup(options: ReadCgroupOptions = {}): CgroupInfo {
  const root = options.cgroupRoot ?? "/sys/fs/cgroup";
  const procRoot = options.procRoot ?? "/proc";
  try {
    const lines = parseProcCgroup(readText(join(procRoot, "self", "cgroup")) ?? "");
    // The unified hierarchy is mounted at the root itself only in pure v2 mode; in hybrid mode v1 controllers
    // own the limits and the v2 tree under "unified" holds none.
    if (existsSync(join(root, "cgroup.controllers"))) {
      const v2 = lines.find((l) => l.controllers.length === 0);
      const path = v2?.path ?? "/";
      const dirs = ancestry(root, path);
      return { version: 2, path, memory: readMemory(dirs, 2), cpu: readCpu(dirs, 2) };
    }
    const memLine = lines.find((l) => l.controllers.includes("memory"));
    const cpuLine = lines.find((l) => l.controllers.includes("cpu"));
    const memBase = memLine ? v1Base(root, memLine, "memory") : null;
    const cpuBase = cpuLine ? v1Base(root, cpuLine, "cpu") : null;
    if (!memBase && !cpuBase) return NONE;
    const memory = memBase && memLine ? readMemory(ancestry(memBase, memLine.path), 1) : NONE.memory;
    const cpu = cpuBase && cpuLine ? readCpu(ancestry(cpuBase, cpuLine.path), 1) : NONE.cpu;
    return { version: 1, path: memLine?.path ?? cpuLine?.path ?? null, memory, cpu };
  } catch {
    return NONE;
  }
}

/**
 * Cores this process may use: os.availableParallelism() (which honours CPU affinity and cpusets) capped by the
 * cgroup CPU quota rounded up (1.5 cores of quota still runs 2 threads usefully), at least 1.
 */
export function availableCpus(options: ReadCgroupOptions = {}): number {
  const affinity = availableParallelism();
  const quota = readCgroup(options).cpu.quotaCores;
  if (quota === null) return Math.max(1, affinity);
  return Math.max(1, Math.min(affinity, Math.ceil(quota)));
}
