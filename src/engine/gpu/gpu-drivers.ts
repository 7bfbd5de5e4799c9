// What the machine offers a GPU backend, read without loading one: the NVIDIA kernel driver, the CUDA runtime and
// cuBLAS the CUDA sets link, the Vulkan loader and the installed Vulkan drivers (ICDs).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { safeReaddir } from "../llama-library.ts";
import { nvidiaDriverPresent } from "./select-gpu-backend.ts";

export interface GpuDriverFacts {
  /** The NVIDIA kernel module's version line (/proc/driver/nvidia/version), or whether a driver shows at all. */
  nvidiaDriver: { present: boolean; version: string | null };
  /** Shared libraries the dynamic linker can find (ldconfig's cache and LD_LIBRARY_PATH), by soname. */
  libraries: { soname: string; path: string | null }[];
  /** Vulkan drivers: ICD manifests and the library each names. */
  vulkanIcds: { file: string; library: string }[];
}

/** Sonames the prebuilt sets need at load: the CUDA 13 and 12 runtimes and cuBLAS, the driver API, the Vulkan loader. */
export const GPU_SONAMES = [
  "libcuda.so.1",
  "libcudart.so.13",
  "libcublas.so.13",
  "libcudart.so.12",
  "libcublas.so.12",
  "libvulkan.so.1",
] as const;

const ICD_DIRS = ["/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d", "/usr/local/share/vulkan/icd.d"];

function ldconfigCache(): Map<string, string> {
  const out = new Map<string, string>();
  for (const bin of ["/sbin/ldconfig", "/usr/sbin/ldconfig", "ldconfig"]) {
    const r = spawnSync(bin, ["-p"], { encoding: "utf8", timeout: 5000 });
    if (r.status !== 0 || !r.stdout) continue;
    for (const m of r.stdout.matchAll(/^\s*(\S+) \(([^)]*)\) => (\S+)$/gm))
      if (m[2].includes("x86-64") || !m[2].includes("x86")) out.set(m[1], m[3]);
    break;
  }
  return out;
}

export function readGpuDrivers(): GpuDriverFacts {
  let version: string | null = null;
  try {
    version = readFileSync("/proc/driver/nvidia/version", "utf8").split("\n")[0]?.trim() || null;
  } catch {
    version = null;
  }
  const cache = ldconfigCache();
  const extraDirs = (process.env.LD_LIBRARY_PATH ?? "").split(":").filter(Boolean);
  const libraries = GPU_SONAMES.map((soname) => {
    const inExtra = extraDirs.find((d) => safeReaddir(d).includes(soname));
    return { soname, path: inExtra ? join(inExtra, soname) : (cache.get(soname) ?? null) };
  });
  const vulkanIcds: { file: string; library: string }[] = [];
  for (const dir of ICD_DIRS) {
    for (const f of safeReaddir(dir)
      .filter((n) => n.endsWith(".json"))
      .sort()) {
      try {
        const j = JSON.parse(readFileSync(join(dir, f), "utf8")) as { ICD?: { library_path?: string } };
        vulkanIcds.push({ file: join(dir, f), library: j.ICD?.library_path ?? "?" });
      } catch {
        vulkanIcds.push({ file: join(dir, f), library: "unreadable manifest" });
      }
    }
  }
  return { nvidiaDriver: { present: nvidiaDriverPresent(), version }, libraries, vulkanIcds };
}
