// VRAM placement of stored variants: each blob's offload profile from its own GGUF tensor table (read once per
// file), GPU_LAYERS fitted against the VRAM rule, for the scheduler's loads and the adaptive choice.
import type { Config } from "../config/index.ts";
import type { Engine, EngineGpu } from "../engine/types.ts";
import { ReflexiaError } from "../errors/index.ts";
import { offloadProfileOf, readGgufHeader, type OffloadHeader, type OffloadProfile } from "../gguf/index.ts";
import { createMemoryMonitor, type MemoryMonitor } from "../memory/index.ts";
import { fitGpuLayers, vramSafetyMarginBytes } from "../policy/index.ts";
import type { GpuPlan } from "../scheduler/index.ts";

export interface GpuPlacer {
  /** True when the engine runs layers on a GPU; every other method is a no-op on the CPU. */
  readonly active: boolean;
  /** Reads the variant's GGUF header (once per path) so place() can answer synchronously. */
  prepare(variant: { path: string }): Promise<void>;
  /** GPU_LAYERS fitted to `availableVramBytes` for this load; undefined when the header was not prepared or on the CPU. */
  place(
    variant: { path: string },
    load: { contextSize: number; parallel: number },
    availableVramBytes: number,
  ): GpuPlan | undefined;
  /**
   * VRAM a load may take now, nothing evicted: min(Σ over devices of free − safety margin, MAX_VRAM_PERCENT of
   * their total − `heldBytes`, the VRAM Reflexia's loaded variants hold). 0 on the CPU.
   */
  availableVramBytes(heldBytes: number): number;
}

export interface GpuPlacerOptions {
  /** gpu.layers (GPU_LAYERS). */
  config: Config;
  gpu: EngineGpu | undefined;
  memory: MemoryMonitor | null;
}

export function createGpuPlacer(options: GpuPlacerOptions): GpuPlacer {
  const { config, gpu, memory } = options;
  const active = gpu !== undefined && gpu.backend !== "cpu" && gpu.devices.length > 0;
  const headers = new Map<string, OffloadHeader>();
  const profiles = new Map<string, OffloadProfile>();

  const profileOf = (path: string, contextSize: number, parallel: number): OffloadProfile | undefined => {
    const h = headers.get(path);
    if (!h) return undefined;
    const key = `${path}\0${contextSize}\0${parallel}`;
    let p = profiles.get(key);
    if (!p) profiles.set(key, (p = offloadProfileOf(h, contextSize, parallel)));
    return p;
  };

  return {
    active,
    async prepare(variant) {
      if (!active || headers.has(variant.path)) return;
      headers.set(variant.path, await readGgufHeader(variant.path));
    },
    place(variant, load, availableVramBytes) {
      if (!active) return undefined;
      const profile = profileOf(variant.path, load.contextSize, load.parallel);
      if (!profile) return undefined;
      const fit = fitGpuLayers(profile, config.gpu.layers, availableVramBytes);
      return {
        gpuLayers: fit.gpuLayers,
        totalLayers: fit.totalLayers,
        fullyOffloaded: fit.fullyOffloaded,
        vramBytes: fit.vramBytes,
        ramBytes: fit.ramBytes,
        fits: fit.fits,
        detail: fit.detail,
      };
    },
    availableVramBytes(heldBytes) {
      if (!active) return 0;
      // Without a memory monitor (memory budget disabled) only the devices' free memory bounds a load.
      const sample = memory?.sample().gpu;
      const ds = sample ? sample.devices : (gpu?.memory() ?? []);
      const budget = sample ? sample.budgetBytes : Number.POSITIVE_INFINITY;
      const free = ds.reduce((a, d) => a + Math.max(0, d.freeBytes - vramSafetyMarginBytes(d.totalBytes)), 0);
      return Math.max(0, Math.min(free, budget - heldBytes));
    },
  };
}

/**
 * GPU layers for a load outside the scheduler (CLI generate/chat, benchmarks): GPU_LAYERS fitted to the devices'
 * free VRAM within MAX_VRAM_PERCENT, nothing else loaded by this process counted. 0 on the CPU; RFX_MEMORY_BUDGET
 * when GPU_LAYERS=max or N does not fit.
 */
export async function gpuLayersForLoad(
  engine: Engine,
  config: Config,
  path: string,
  load: { contextSize: number; parallel: number },
): Promise<number> {
  const gpu = engine.gpu;
  if (!gpu || gpu.backend === "cpu" || gpu.devices.length === 0) return 0;
  const memory = createMemoryMonitor({
    maxMemoryPercent: config.memory.max_memory_percent,
    maxVramPercent: config.memory.max_vram_percent,
    gpuDevices: () => gpu.memory(),
  });
  const placer = createGpuPlacer({ config, gpu, memory });
  await placer.prepare({ path });
  const plan = placer.place({ path }, load, placer.availableVramBytes(0));
  if (!plan) return 0;
  if (!plan.fits)
    throw new ReflexiaError("RFX_MEMORY_BUDGET", `${path}: ${plan.detail}`, {
      vramBytes: plan.vramBytes,
      gpuLayers: plan.gpuLayers,
    });
  return plan.gpuLayers;
}
