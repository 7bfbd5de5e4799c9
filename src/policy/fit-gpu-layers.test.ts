import { describe, expect, it } from "vitest";
import { offloadProfile, placeLayers, plannedTensors, MODEL_SHAPES } from "../gguf/index.ts";
import { fitGpuLayers, vramSafetyMarginBytes } from "./fit-gpu-layers.ts";

const GiB = 2 ** 30;
const profile = offloadProfile(plannedTensors("7b", "q4_0"), MODEL_SHAPES["7b"], 4096, 1);
const full = placeLayers(profile, -1).vramBytes;

describe("fitGpuLayers", () => {
  it("auto offloads everything when it fits, and the most layers that fit otherwise", () => {
    expect(fitGpuLayers(profile, "auto", 24 * GiB)).toMatchObject({ gpuLayers: 33, fullyOffloaded: true, fits: true });
    const half = fitGpuLayers(profile, "auto", full / 2);
    expect(half.fits).toBe(true);
    expect(half.gpuLayers).toBeGreaterThan(10);
    expect(half.gpuLayers).toBeLessThan(33);
    expect(half.vramBytes).toBeLessThanOrEqual(full / 2);
    expect(placeLayers(profile, half.gpuLayers + 1).vramBytes).toBeGreaterThan(full / 2);
    expect(half.detail).toMatch(
      /^\d+\/33 layers on the GPU \(\d+ MiB VRAM of \d+ MiB available, \d+ MiB RAM\); all 33 would need \d+ MiB$/,
    );
    expect(fitGpuLayers(profile, "auto", 0)).toMatchObject({ gpuLayers: 0, vramBytes: 0, fits: true });
  });

  it("max and an explicit count take that many layers and say when they do not fit", () => {
    expect(fitGpuLayers(profile, "max", 24 * GiB)).toMatchObject({ gpuLayers: 33, fits: true });
    const tooSmall = fitGpuLayers(profile, "max", 4 * GiB);
    expect(tooSmall).toMatchObject({ gpuLayers: 33, fits: false });
    expect(tooSmall.detail).toMatch(
      /^GPU_LAYERS=max needs \d+ MiB VRAM for 33\/33 layers, but 4096 MiB is available .*set GPU_LAYERS=auto/,
    );
    expect(fitGpuLayers(profile, 10, 4 * GiB)).toMatchObject({ gpuLayers: 10, fits: true, fullyOffloaded: false });
    expect(fitGpuLayers(profile, 500, 24 * GiB).gpuLayers).toBe(33);
    expect(fitGpuLayers(profile, 0, 0)).toMatchObject({ gpuLayers: 0, fits: true });
  });

  it("keeps 512 MiB free on a device, or a tenth of a small one", () => {
    expect(vramSafetyMarginBytes(80 * GiB)).toBe(512 * 2 ** 20);
    expect(vramSafetyMarginBytes(2 * GiB)).toBe(Math.floor((2 * GiB) / 10));
  });
});
