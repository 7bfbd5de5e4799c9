// How many layers go to the GPU: GPU_LAYERS (auto|max|N) against the VRAM a load may take, from the model's profile.
import type { GpuLayersSetting } from "../config/keys.ts";
import { placeLayers, type OffloadPlacement, type OffloadProfile } from "../gguf/index.ts";

const MiB = 2 ** 20;

/**
 * VRAM a load leaves free on each device, on top of what ggml allocates: the driver's and cuBLAS's workspaces, Vulkan
 * descriptor pools and staging buffers, and graph buffers that grow with a new batch shape. 512 MiB, or a tenth of a
 * small device. The one rule for VRAM (README "GPU"): a load may take min(Σ free − Σ margin, MAX_VRAM_PERCENT of
 * Σ total − what Reflexia's loaded variants hold).
 */
export function vramSafetyMarginBytes(deviceTotalBytes: number): number {
  return Math.min(512 * MiB, Math.floor(deviceTotalBytes / 10));
}

export interface GpuLayerFit extends OffloadPlacement {
  setting: GpuLayersSetting;
  /** False when max or an explicit count needs more VRAM than available (auto always fits, with fewer layers). */
  fits: boolean;
  /** The VRAM the fit was made against. */
  availableVramBytes: number;
  /** One line: layers, VRAM and RAM, and why no more layers. */
  detail: string;
}

const mib = (n: number): string => `${Math.round(n / MiB)} MiB`;

/**
 * Layers to offload for `setting` when a load may take `availableVramBytes` of VRAM (layers and their KV cells move
 * together). auto: the most layers that fit, all of them when they do; max: every layer; N: min(N, n_layer + 1).
 * Pure: the caller measures free VRAM and the budget.
 */
export function fitGpuLayers(
  profile: OffloadProfile,
  setting: GpuLayersSetting,
  availableVramBytes: number,
): GpuLayerFit {
  const total = profile.layerCount + 1;
  const available = Math.max(0, availableVramBytes);
  let placement: OffloadPlacement;
  if (setting === "auto") {
    let g = total;
    placement = placeLayers(profile, g);
    while (g > 0 && placement.vramBytes > available) placement = placeLayers(profile, --g);
  } else {
    placement = placeLayers(profile, setting === "max" ? total : setting);
  }
  const fits = placement.vramBytes <= available;
  const what = `${placement.gpuLayers}/${total} layers on the GPU (${mib(placement.vramBytes)} VRAM of ${mib(available)} available, ${mib(placement.ramBytes)} RAM)`;
  let detail = what;
  if (setting === "auto" && !placement.fullyOffloaded) {
    detail = `${what}; all ${total} would need ${mib(placeLayers(profile, total).vramBytes)}`;
  } else if (!fits) {
    detail = `GPU_LAYERS=${setting} needs ${mib(placement.vramBytes)} VRAM for ${placement.gpuLayers}/${total} layers, but ${mib(available)} is available (free VRAM minus the safety margin, within MAX_VRAM_PERCENT); set GPU_LAYERS=auto to offload what fits`;
  }
  return { ...placement, setting, fits, availableVramBytes: available, detail };
}
