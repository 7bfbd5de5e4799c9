// Everything `reflexia doctor` says about GPUs: the prebuilt sets installed, drivers, what each backend found, and
// the backend GPU=… chooses on this machine with its reason.
import type { GpuMode } from "../../config/keys.ts";
import { prebuiltPackageRoot } from "../llama-library.ts";
import { loadNativeAddon, selectNativeGpu } from "../native/native-addon.ts";
import { readGpuDrivers, type GpuDriverFacts } from "./gpu-drivers.ts";
import { backendModules, GPU_BACKENDS } from "./library-sets.ts";
import type { BackendAttempt, GpuSelection } from "./select-gpu-backend.ts";

export interface GpuDiagnosis {
  /** The ggml CPU backend's description (the CPU variant's library is in /proc/self/maps once loaded). */
  cpuBackend: string;
  librarySets: { backend: "cpu" | "cuda" | "vulkan"; package: string; installed: boolean; modules: string[] }[];
  drivers: GpuDriverFacts;
  /** Each GPU backend tried on its own (as GPU=cuda / GPU=vulkan would): loaded or not, devices, why not. */
  backends: BackendAttempt[];
  /** What the configured GPU=… chooses. */
  chosen: GpuSelection;
}

/**
 * Loads the native addon and the GPU backend modules into this process (a CLI process: the server makes its own
 * choice at start). The configured mode is decided first, exactly as the server would; the other backends are then
 * tried for the listing.
 */
export function diagnoseGpu(requested: GpuMode): GpuDiagnosis {
  const { cpuBackend } = loadNativeAddon();
  const drivers = readGpuDrivers();
  const chosen = selectNativeGpu(requested);
  const backends = GPU_BACKENDS.map((b) => selectNativeGpu(b).attempts[0]!);
  const pkg = (suffix: string) => `@node-llama-cpp/${process.platform}-${process.arch}${suffix}`;
  const librarySets = [
    { backend: "cpu" as const, package: pkg(""), installed: prebuiltPackageRoot("") !== undefined, modules: [] },
    ...GPU_BACKENDS.map((b) => ({
      backend: b,
      package: pkg(`-${b}`),
      installed: backendModules(b).length > 0,
      modules: backendModules(b).map((m) => m.path),
    })),
  ];
  return { cpuBackend, librarySets, drivers, backends, chosen };
}
