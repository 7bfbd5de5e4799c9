// "Which quantization fits my machine": for each variant of a stored model or a model shape, the RAM and VRAM it
// needs here, the layers GPU_LAYERS would offload, and the decode speed the memory bandwidth allows.
import { QUANTIZATIONS, type Config } from "../config/index.ts";
import type { EngineGpu } from "../engine/types.ts";
import { ReflexiaError } from "../errors/index.ts";
import {
  estimateModelBytes,
  MODEL_SHAPES,
  offloadProfile,
  offloadProfileOf,
  placeLayers,
  plannedTensors,
  readGgufHeader,
  resolveModelDims,
  type ModelShapeName,
  type OffloadProfile,
} from "../gguf/index.ts";
import { createMemoryMonitor } from "../memory/index.ts";
import { fitGpuLayers } from "../policy/index.ts";
import { parseModelRef, type ModelStore } from "../registry/index.ts";
import { createGpuPlacer } from "./gpu-placement.ts";

export type FitTarget = { ref: string; store: Pick<ModelStore, "variants" | "resolve"> } | { shape: ModelShapeName };

export interface FitRow {
  variant: string;
  /** "remote": served by its upstream endpoints, so it needs no memory here (every size and layer count is 0). */
  kind: "local" | "remote";
  quantization: string;
  fileBytes: number;
  /** Host memory with this placement: CPU weights, repacked copies, CPU layers' KV cache, compute buffers. */
  ramBytes: number;
  /** GPU memory: offloaded weights, their KV cache and the device compute buffer. */
  vramBytes: number;
  gpuLayers: number;
  totalLayers: number;
  /** ramBytes within the free RAM budget (MAX_MEMORY_PERCENT less what this process holds). */
  fitsRam: boolean;
  /** GPU_LAYERS=max / N: the layers asked for fit the available VRAM (auto always does). */
  fitsVram: boolean;
  /** Single-stream decode tok/s the bandwidth allows: 1 / Σ(bytes read per token on a side / that side's bandwidth). */
  decodeTokensPerSecond: number | null;
}

export interface FitReport {
  target: string;
  /** Context cells planned for: the requested size, capped at the model's trained context as a load caps it. */
  contextSize: number;
  /** The size asked for (option or models.context_size), when the trained context capped it; else absent. */
  requestedContextSize?: number;
  gpuLayersSetting: Config["gpu"]["layers"];
  backend: string;
  reason: string;
  /** VRAM a load may take now (free minus the safety margin, within MAX_VRAM_PERCENT); 0 on the CPU. */
  availableVramBytes: number;
  freeRamBudgetBytes: number;
  bandwidth: { cpuBytesPerSecond: number | null; gpuBytesPerSecond: number | null };
  rows: FitRow[];
}

export interface FitReportOptions {
  config: Config;
  target: FitTarget;
  /** The engine's GPU decision; undefined or backend "cpu" plans everything on the CPU. */
  gpu?: EngineGpu;
  /** Measured bandwidths in bytes/s (measureDeviceBandwidth); a missing one leaves tok/s empty where it is needed. */
  bandwidth?: { cpuBytesPerSecond?: number; gpuBytesPerSecond?: number };
  /** Context cells to plan for. Defaults to models.context_size (capped at the model's training context). */
  contextSize?: number;
}

interface Candidate {
  variant: string;
  quantization: string;
  fileBytes: number;
  /** Null for a remote variant: nothing of it is loaded here. */
  profile: ((contextSize: number) => OffloadProfile) | null;
  /** Training context (caps the context planned for). */
  trainContext: number;
}

async function candidatesOf(target: FitTarget): Promise<Candidate[]> {
  if ("shape" in target) {
    const dims = resolveModelDims(target.shape);
    return QUANTIZATIONS.map((q) => ({
      variant: `${target.shape} ${q}`,
      quantization: q,
      fileBytes: estimateModelBytes(target.shape, q),
      profile: (ctx: number) => offloadProfile(plannedTensors(target.shape, q), dims, ctx, 1),
      trainContext: dims.nCtx,
    }));
  }
  const parsed = parseModelRef(target.ref);
  const refs = parsed.tag
    ? [`${parsed.name}:${parsed.tag}`]
    : (await target.store.variants(parsed.name)).map((m) => `${m.name}:${m.tag}`);
  if (refs.length === 0) await target.store.resolve(target.ref); // RFX_MODEL_NOT_FOUND in the store's words
  const out: Candidate[] = [];
  for (const ref of refs) {
    const r = await target.store.resolve(ref);
    if (r.remote) {
      out.push({ variant: ref, quantization: r.quantization, fileBytes: 0, profile: null, trainContext: 0 });
      continue;
    }
    const h = await readGgufHeader(r.path);
    out.push({
      variant: ref,
      quantization: r.quantization,
      fileBytes: r.sizeBytes,
      profile: (ctx: number) => offloadProfileOf(h, ctx, 1),
      trainContext: h.contextLength,
    });
  }
  return out;
}

/** A remote variant's row: it fits (nothing is loaded here); its speed is the upstream's, not bounded here. */
function remoteRow(c: Candidate): FitRow {
  return {
    variant: c.variant,
    kind: "remote",
    quantization: c.quantization,
    fileBytes: 0,
    ramBytes: 0,
    vramBytes: 0,
    gpuLayers: 0,
    totalLayers: 0,
    fitsRam: true,
    fitsVram: true,
    decodeTokensPerSecond: null,
  };
}

export async function buildFitReport(options: FitReportOptions): Promise<FitReport> {
  const { config, target } = options;
  const gpu = options.gpu && options.gpu.backend !== "cpu" && options.gpu.devices.length > 0 ? options.gpu : undefined;
  const memory = createMemoryMonitor({
    maxMemoryPercent: config.memory.max_memory_percent,
    maxVramPercent: config.memory.max_vram_percent,
    gpuDevices: gpu ? () => gpu.memory() : undefined,
  });
  const placer = createGpuPlacer({ config, gpu, memory });
  const available = placer.availableVramBytes(0);
  const freeRam = memory.sample().freeBudgetBytes;
  const cpuBw = options.bandwidth?.cpuBytesPerSecond ?? null;
  const gpuBw = options.bandwidth?.gpuBytesPerSecond ?? null;
  const wanted = options.contextSize ?? config.models.context_size;
  if (!Number.isInteger(wanted) || wanted < 16)
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `context size must be a whole number of at least 16 tokens (got ${wanted})`,
    );
  const candidates = await candidatesOf(target);
  let contextSize = wanted;
  const rows = candidates.map((c): FitRow => {
    if (!c.profile) return remoteRow(c);
    contextSize = c.trainContext > 0 ? Math.min(wanted, c.trainContext) : wanted;
    const profile = c.profile(contextSize);
    const p = gpu ? fitGpuLayers(profile, config.gpu.layers, available) : { ...placeLayers(profile, 0), fits: true };
    const { cpuBytes, gpuBytes } = p.decodeReadBytes;
    const seconds =
      (cpuBytes > 0 ? (cpuBw ? cpuBytes / cpuBw : Number.NaN) : 0) +
      (gpuBytes > 0 ? (gpuBw ? gpuBytes / gpuBw : Number.NaN) : 0);
    return {
      variant: c.variant,
      kind: "local",
      quantization: c.quantization,
      fileBytes: c.fileBytes,
      ramBytes: p.ramBytes,
      vramBytes: p.vramBytes,
      gpuLayers: p.gpuLayers,
      totalLayers: p.totalLayers,
      fitsRam: p.ramBytes <= freeRam,
      fitsVram: p.fits,
      decodeTokensPerSecond: Number.isFinite(seconds) && seconds > 0 ? 1 / seconds : null,
    };
  });
  return {
    target:
      "shape" in target
        ? `shape ${target.shape} (${MODEL_SHAPES[target.shape].nLayer} layers, estimated from the planned tensor layout)`
        : target.ref,
    contextSize,
    ...(contextSize < wanted ? { requestedContextSize: wanted } : {}),
    gpuLayersSetting: config.gpu.layers,
    backend: options.gpu?.backend ?? "cpu",
    reason: options.gpu?.reason ?? "the engine runs on the CPU",
    availableVramBytes: available,
    freeRamBudgetBytes: freeRam,
    bandwidth: { cpuBytesPerSecond: cpuBw, gpuBytesPerSecond: gpuBw },
    rows,
  };
}
