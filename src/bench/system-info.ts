// What a benchmark figure depends on besides the model: CPU (model, SIMD flags, ggml's CPU variant), cores, memory
// and Node, read once per run so a stored run says where it was measured and two runs can be told apart.
import { readFileSync } from "node:fs";
import { arch, cpus, hostname, loadavg, platform, release, totalmem } from "node:os";
import { availableCpus, readCgroup } from "../memory/index.ts";

export interface BenchmarkSystemInfo {
  hostname: string;
  /** `linux 6.1.0 x64`. */
  os: string;
  cpuModel: string;
  /** The SIMD features ggml's CPU kernels choose by (avx2, avx512f, avx512_vnni, amx_int8, neon, sve …), in a fixed order. */
  cpuFlags: string[];
  /** ggml's CPU backend variant (`haswell`, `zen4`, `sapphirerapids` …) when the native engine has loaded it in this process. */
  ggmlCpuVariant?: string;
  /** Logical CPUs the machine reports. */
  logicalCpus: number;
  /** CPUs this process may use (cgroup quota and affinity applied). */
  availableCpus: number;
  totalMemoryBytes: number;
  /** The cgroup memory limit, when one is set. */
  memoryLimitBytes?: number;
  nodeVersion: string;
  /** 1, 5 and 15 minute load averages when the run was stored: other work on the host skews every figure. */
  loadAverage?: number[];
}

/** Flags that decide which ggml kernels run; everything else in /proc/cpuinfo does not change a figure. */
const RELEVANT_FLAGS = [
  "sse4_2",
  "avx",
  "f16c",
  "fma",
  "avx2",
  "avx_vnni",
  "avx512f",
  "avx512bw",
  "avx512vl",
  "avx512_vnni",
  "avx512_bf16",
  "avx512_fp16",
  "amx_tile",
  "amx_int8",
  "amx_bf16",
  "neon",
  "asimd",
  "asimddp",
  "asimdhp",
  "i8mm",
  "sve",
  "sve2",
  "bf16",
] as const;

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** The relevant SIMD flags from /proc/cpuinfo text (x86 `flags`, ARM `Features`). */
export function parseCpuFlags(cpuinfo: string): string[] {
  const line = /^(?:flags|Features)\s*:(.*)$/m.exec(cpuinfo)?.[1] ?? "";
  const have = new Set(line.trim().split(/\s+/));
  return RELEVANT_FLAGS.filter((f) => have.has(f));
}

/** The ggml CPU variant from the libraries mapped into this process (`libggml-cpu-zen4.so` → `zen4`), if any. */
export function parseGgmlCpuVariant(maps: string): string | undefined {
  return /libggml-cpu-([A-Za-z0-9_]+)\.(?:so|dylib|dll)/.exec(maps)?.[1];
}

export function collectSystemInfo(): BenchmarkSystemInfo {
  const cpuinfo = readText("/proc/cpuinfo");
  const limit = readCgroup().memory?.limitBytes ?? null;
  const info: BenchmarkSystemInfo = {
    hostname: hostname(),
    os: `${platform()} ${release()} ${arch()}`,
    cpuModel: cpus()[0]?.model?.trim() || "unknown",
    cpuFlags: parseCpuFlags(cpuinfo),
    logicalCpus: cpus().length,
    availableCpus: availableCpus(),
    totalMemoryBytes: totalmem(),
    nodeVersion: process.version,
    loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
  };
  const variant = parseGgmlCpuVariant(readText("/proc/self/maps"));
  if (variant) info.ggmlCpuVariant = variant;
  if (limit !== null && limit < totalmem()) info.memoryLimitBytes = limit;
  return info;
}
