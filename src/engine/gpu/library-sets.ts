// Where the GPU library sets node-llama-cpp installs keep their backend modules (libggml-cuda.so, libggml-vulkan.so).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { prebuiltPackageRoot, safeReaddir } from "../llama-library.ts";

export const GPU_BACKENDS = ["cuda", "vulkan"] as const;
export type GpuBackend = (typeof GPU_BACKENDS)[number];

/**
 * The packages of each GPU set, best first. node-llama-cpp 3.21.1's CUDA package is built for the CUDA 13 runtime;
 * `-cuda-ext` carries a CUDA 12 build in `fallback/`, which node-llama-cpp itself loads when the first one cannot.
 */
const PACKAGES: Record<GpuBackend, readonly string[]> = {
  cuda: ["-cuda", "-cuda-ext"],
  vulkan: ["-vulkan"],
};

export interface BackendModule {
  backend: GpuBackend;
  /** Absolute path of the module ggml_backend_load() opens. */
  path: string;
  /** The npm package it comes from. */
  package: string;
}

const moduleFile = (backend: GpuBackend): string =>
  process.platform === "win32" ? `ggml-${backend}.dll` : `libggml-${backend}.so`;

/**
 * The installed backend modules of a GPU backend, in the order to try them. Empty when none of its packages is
 * installed (npm skips optional dependencies that do not match the platform). The CPU, CUDA and Vulkan sets share
 * their libllama / libggml / libggml-base code (test/gpu-library-sets.test.ts checks it), so the module is the only
 * part of a set the CPU-linked addon has to load.
 */
export function backendModules(backend: GpuBackend): BackendModule[] {
  const out: BackendModule[] = [];
  for (const suffix of PACKAGES[backend]) {
    const root = prebuiltPackageRoot(suffix);
    if (!root) continue;
    const bins = join(root, "bins");
    for (const dir of safeReaddir(bins)) {
      for (const sub of [join(bins, dir), join(bins, dir, "fallback")]) {
        const path = join(sub, moduleFile(backend));
        if (existsSync(path))
          out.push({ backend, path, package: `@node-llama-cpp/${process.platform}-${process.arch}${suffix}` });
      }
    }
  }
  return out;
}
