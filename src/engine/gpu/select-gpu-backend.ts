// GPU=auto|cuda|vulkan|off → the backend that runs the layers, its devices, and a sentence saying why.
import { existsSync } from "node:fs";
import type { GpuMode } from "../../config/keys.ts";
import type { ComputeBackend, GpuDeviceInfo } from "../types.ts";
import { backendModules, type BackendModule, type GpuBackend } from "./library-sets.ts";

/** A device as the addon's devices() lists it. */
export type RawDevice = Omit<GpuDeviceInfo, "software">;

/** The part of the native addon the choice needs (unit tests pass a fake). */
export interface GpuAddon {
  loadBackend(path: string): { name: string; devices: number } | { error: string };
  devices(): RawDevice[];
}

/** One backend tried: whether a module loaded, which, its devices, or why not. */
export interface BackendAttempt {
  backend: GpuBackend;
  loaded: boolean;
  /** The module that loaded. */
  module?: string;
  package?: string;
  /** Devices of the backend, software ones included (marked). */
  devices: GpuDeviceInfo[];
  /** Why nothing usable came of it, in words (missing package, dlopen error, no device). */
  error?: string;
}

export interface GpuSelection {
  requested: GpuMode;
  backend: ComputeBackend;
  reason: string;
  /** Devices the layers go to. */
  devices: GpuDeviceInfo[];
  attempts: BackendAttempt[];
}

/**
 * Mesa's llvmpipe / lavapipe / softpipe and Google's SwiftShader: Vulkan implementations that run on the CPU. They are
 * correct but no faster than the CPU backend, so GPU=auto never takes them; GPU=vulkan does (the CI path test).
 */
const SOFTWARE_DEVICE = /\b(llvmpipe|lavapipe|softpipe|swiftshader)\b/i;

export function isSoftwareDevice(description: string): boolean {
  return SOFTWARE_DEVICE.test(description);
}

const GiB = (n: number): string => `${(n / 2 ** 30).toFixed(1)} GiB`;
const describe = (d: GpuDeviceInfo): string =>
  `${d.name} "${d.description}"${d.totalBytes > 0 ? ` (${GiB(d.freeBytes)} free of ${GiB(d.totalBytes)})` : ""}`;
const LABEL: Record<GpuBackend, string> = { cuda: "CUDA", vulkan: "Vulkan" };

const noDevice = (backend: GpuBackend): string =>
  backend === "vulkan"
    ? "the Vulkan backend found no GPU (ggml-vulkan lists discrete and integrated GPUs; GGML_VK_VISIBLE_DEVICES=<index> selects others, e.g. Mesa's llvmpipe)"
    : "the CUDA backend found no device";

/** dlopen's words for every module that failed, turned into what is missing on the machine. */
function explainLoadErrors(backend: GpuBackend, errors: string[]): string {
  const missing = [
    ...new Set(
      errors.flatMap((e) =>
        [...e.matchAll(/(lib[\w.+-]+\.so(?:\.\d+)*): cannot open shared object file/g)].map((m) => m[1]),
      ),
    ),
  ];
  if (missing.some((m) => m.startsWith("libcuda.so"))) return "no NVIDIA driver (libcuda.so.1 not found)";
  if (missing.some((m) => m.startsWith("libvulkan.so")))
    return "no Vulkan loader (libvulkan.so.1 not found; install libvulkan1 and the GPU's Vulkan driver)";
  if (backend === "cuda" && missing.length > 0 && missing.every((m) => /^lib(cudart|cublas|cublasLt)\.so/.test(m)))
    return `the CUDA runtime is not installed (${missing.join(", ")} not found, the first library each build lacks; node-llama-cpp's builds need the CUDA 13 or 12 runtime)`;
  return `the ${LABEL[backend]} backend did not load (${[...new Set(errors)].join("; ")})`;
}

function tryBackend(addon: GpuAddon, backend: GpuBackend, modules: (b: GpuBackend) => BackendModule[]): BackendAttempt {
  const mods = modules(backend);
  if (mods.length === 0)
    return {
      backend,
      loaded: false,
      devices: [],
      error: `no prebuilt ${LABEL[backend]} library set is installed (@node-llama-cpp/${process.platform}-${process.arch}-${backend})`,
    };
  const loadErrors: string[] = [];
  let attempt: BackendAttempt | undefined;
  for (const m of mods) {
    const r = addon.loadBackend(m.path);
    if ("error" in r) {
      loadErrors.push(r.error);
      continue;
    }
    const devices = addon
      .devices()
      .filter((d) => d.backend === r.name && d.type !== "cpu")
      .map((d) => ({ ...d, software: isSoftwareDevice(d.description) }));
    attempt = { backend, loaded: true, module: m.path, package: m.package, devices };
    // A module that registered no device (a driver too old for its CUDA runtime) leaves room for the next one.
    if (devices.length > 0) return attempt;
  }
  return attempt
    ? { ...attempt, error: noDevice(backend) }
    : { backend, loaded: false, devices: [], error: explainLoadErrors(backend, loadErrors) };
}

/**
 * Whether an NVIDIA kernel driver is present: its /proc entry (Linux, containers with the NVIDIA runtime) or the
 * device nodes (WSL2 exposes /dev/dxg). Without one, auto does not spend a second loading the CUDA module.
 */
export function nvidiaDriverPresent(exists: (p: string) => boolean = existsSync): boolean {
  return ["/proc/driver/nvidia/version", "/dev/nvidiactl", "/dev/dxg"].some((p) => exists(p));
}

/**
 * Loads the backend GPU=… asks for and says why it runs where it does. auto: CUDA when a CUDA device and driver are
 * present, else Vulkan with a real (non-software) device, else the CPU; cuda / vulkan: that backend on any device it
 * lists (a software Vulkan device included), else the CPU with the reason; off: the CPU, nothing loaded. Modules load
 * into this process's ggml registry; only the returned devices ever get layers (a load names them explicitly).
 */
export function selectGpuBackend(
  addon: GpuAddon,
  requested: GpuMode,
  modules: (b: GpuBackend) => BackendModule[] = backendModules,
  driverPresent: () => boolean = nvidiaDriverPresent,
): GpuSelection {
  if (requested === "off")
    return { requested, backend: "cpu", reason: "GPU=off: every layer runs on the CPU", devices: [], attempts: [] };
  if (requested === "cuda" || requested === "vulkan") {
    const a = tryBackend(addon, requested, modules);
    if (a.devices.length > 0) {
      const soft = a.devices.filter((d) => d.software);
      const note =
        soft.length > 0
          ? `; ${soft.map((d) => d.name).join(", ")} ${soft.length > 1 ? "are" : "is a"} software renderer${soft.length > 1 ? "s" : ""} on the CPU: this proves the path, not the speed`
          : "";
      return {
        requested,
        backend: requested,
        reason: `GPU=${requested}: ${a.devices.map(describe).join(", ")}${note}`,
        devices: a.devices,
        attempts: [a],
      };
    }
    let why = a.error ?? noDevice(requested);
    if (requested === "cuda" && !driverPresent() && !why.startsWith("no NVIDIA driver"))
      why = `no NVIDIA driver is present and ${why}`;
    return {
      requested,
      backend: "cpu",
      reason: `GPU=${requested}, but ${why}; running on the CPU`,
      devices: [],
      attempts: [{ ...a, error: why }],
    };
  }
  const attempts: BackendAttempt[] = [];
  const cuda: BackendAttempt = driverPresent()
    ? tryBackend(addon, "cuda", modules)
    : {
        backend: "cuda",
        loaded: false,
        devices: [],
        error: "no NVIDIA driver (no /proc/driver/nvidia/version, /dev/nvidiactl or /dev/dxg)",
      };
  attempts.push(cuda);
  const cudaReal = cuda.devices.filter((d) => !d.software);
  if (cudaReal.length > 0)
    return {
      requested,
      backend: "cuda",
      reason: `GPU=auto: CUDA on ${cudaReal.map(describe).join(", ")}`,
      devices: cudaReal,
      attempts,
    };
  const cudaWhy = cuda.error ?? noDevice("cuda");
  const vulkan = tryBackend(addon, "vulkan", modules);
  attempts.push(vulkan);
  const vkReal = vulkan.devices.filter((d) => !d.software);
  if (vkReal.length > 0)
    return {
      requested,
      backend: "vulkan",
      reason: `GPU=auto: Vulkan on ${vkReal.map(describe).join(", ")} (CUDA: ${cudaWhy})`,
      devices: vkReal,
      attempts,
    };
  const soft = vulkan.devices.filter((d) => d.software);
  const vkWhy =
    soft.length > 0
      ? `only ${soft.map((d) => `"${d.description}"`).join(", ")}, a software renderer on the CPU, which auto never picks (GPU=vulkan forces it)`
      : (vulkan.error ?? noDevice("vulkan"));
  return {
    requested,
    backend: "cpu",
    reason: `GPU=auto found no GPU, so the CPU runs every layer (CUDA: ${cudaWhy}; Vulkan: ${vkWhy})`,
    devices: [],
    attempts,
  };
}
