// GPU settings of the engine benchmarks: the native engine on GPU=… with GPU_LAYERS fitted as the server would, and
// the llama.cpp reference built against the same library set (native/tools/build-llama-reference.sh --gpu).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Config } from "../config/index.ts";
import type { NativeEngine, NativeLoadedModel } from "../engine/native/native-engine.ts";
import { ReflexiaError } from "../errors/index.ts";
import { gpuLayersForLoad } from "../services/gpu-placement.ts";

export interface BenchGpu {
  /** cpu, cuda or vulkan: what ran the layers. */
  backend: string;
  reason: string;
  devices: string[];
  /** Layers on the GPU (output layer counted) of how many. */
  gpuLayers: number;
  totalLayers: number;
}

/** GPU layers for a benchmark load: GPU_LAYERS of `config` fitted to this machine (0 without a config or a GPU). */
export async function benchGpuLayers(
  engine: NativeEngine,
  config: Config | undefined,
  path: string,
  load: { contextSize: number; parallel: number },
): Promise<number> {
  return config ? gpuLayersForLoad(engine, config, path, load) : 0;
}

/** Loads `path` for a benchmark with the configured GPU offload (benchGpuLayers), `parallel` sequences sharing `contextSize`. */
export async function loadBenchModel(
  engine: NativeEngine,
  config: Config | undefined,
  path: string,
  load: { contextSize: number; parallel: number; threads?: number },
): Promise<NativeLoadedModel> {
  const gpuLayers = await benchGpuLayers(engine, config, path, load);
  return engine.loadModel({
    path,
    parallel: load.parallel,
    contextSize: load.contextSize,
    threads: load.threads,
    ...(gpuLayers > 0 ? { gpuLayers } : {}),
  });
}

export function describeBenchGpu(engine: NativeEngine, offload: { gpuLayers: number; totalLayers: number }): BenchGpu {
  return {
    backend: engine.gpu.backend,
    reason: engine.gpu.reason,
    devices: engine.gpu.devices.map((d) => d.description),
    gpuLayers: offload.gpuLayers,
    totalLayers: offload.totalLayers,
  };
}

/** The set a reference binary was built against (build-llama-reference.sh writes it beside the binaries). */
export function referenceLibrarySet(binary: string): string {
  const f = join(dirname(binary), "library-set");
  return existsSync(f) ? readFileSync(f, "utf8").trim() : "cpu";
}

/**
 * A ratio against llama.cpp means something only when both ran the same kernels: a GPU run needs a reference built
 * with --gpu for that backend, a CPU run one without.
 */
export function checkReferenceSet(binary: string, backend: string): void {
  const set = referenceLibrarySet(binary);
  if (set !== backend)
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `${binary} was built against the ${set} library set but the native engine runs on ${backend}; build the reference with native/tools/build-llama-reference.sh${backend === "cpu" ? "" : ` --gpu ${backend}`} DIR (or set GPU=${set === "cpu" ? "off" : set})`,
    );
}
