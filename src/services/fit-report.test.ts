import { describe, expect, it } from "vitest";
import { loadConfig, type Config } from "../config/index.ts";
import type { EngineGpu } from "../engine/types.ts";
import { MODEL_SHAPES, offloadProfile, placeLayers, plannedTensors } from "../gguf/index.ts";
import { vramSafetyMarginBytes } from "../policy/index.ts";
import { createTinyHome, TINY } from "../../test/support/server-fixture.ts";
import { buildFitReport } from "./fit-report.ts";

const GiB = 2 ** 30;
const config = (over: Record<string, unknown> = {}) =>
  loadConfig({ env: {}, overrides: { "models.context_size": 4096, ...over } }).config as Config;

/** An engine GPU decision with one device of `freeGiB` free out of `totalGiB`. */
function fakeGpu(freeGiB: number, totalGiB = 24): EngineGpu {
  const dev = {
    index: 1,
    name: "CUDA0",
    description: "NVIDIA L4",
    backend: "CUDA",
    type: "gpu",
    deviceId: null,
    freeBytes: freeGiB * GiB,
    totalBytes: totalGiB * GiB,
    software: false,
  };
  return {
    requested: "auto",
    backend: "cuda",
    reason: "GPU=auto: CUDA on CUDA0",
    devices: [dev],
    memory: () => [{ ...dev }],
  };
}

describe("buildFitReport", () => {
  it("on the CPU: every variant of a shape in RAM, and tok/s from the CPU bandwidth over the bytes a token reads", async () => {
    const r = await buildFitReport({
      config: config(),
      target: { shape: "7b" },
      bandwidth: { cpuBytesPerSecond: 20e9 },
    });
    expect(r.rows.map((x) => x.quantization)).toEqual(["q4_0", "q4_k_m", "q5_k_m", "q8_0", "f16"]);
    expect(r).toMatchObject({ backend: "cpu", availableVramBytes: 0, contextSize: 4096 });
    const q8 = r.rows.find((x) => x.quantization === "q8_0")!;
    const p = placeLayers(offloadProfile(plannedTensors("7b", "q8_0"), MODEL_SHAPES["7b"], 4096), 0);
    expect(q8).toMatchObject({ gpuLayers: 0, totalLayers: 33, vramBytes: 0, ramBytes: p.ramBytes, fitsVram: true });
    expect(q8.decodeTokensPerSecond).toBeCloseTo(20e9 / p.decodeReadBytes.cpuBytes, 6);
    // 7B at 8 bits reads ~7 GB per token: about 3 tok/s at 20 GB/s.
    expect(q8.decodeTokensPerSecond!).toBeGreaterThan(2.5);
    expect(q8.decodeTokensPerSecond!).toBeLessThan(3.5);
    // Smaller files decode faster under the same bandwidth.
    const rates = r.rows.map((x) => x.decodeTokensPerSecond!);
    expect(rates[0]).toBeGreaterThan(rates[4]!);
  });

  it("a context above the model's trained one is planned at the trained one, and the report says what was asked", async () => {
    const r = await buildFitReport({ config: config(), target: { shape: "7b" }, contextSize: 16384 });
    expect(r).toMatchObject({ contextSize: MODEL_SHAPES["7b"].nCtx, requestedContextSize: 16384 });
    const within = await buildFitReport({ config: config(), target: { shape: "7b" }, contextSize: 2048 });
    expect(within.contextSize).toBe(2048);
    expect(within.requestedContextSize).toBeUndefined();
  });

  it("with a GPU: fits each variant to the available VRAM; a split one is bounded by both bandwidths", async () => {
    const gpu = fakeGpu(9);
    const r = await buildFitReport({
      config: config(),
      target: { shape: "7b" },
      gpu,
      bandwidth: { cpuBytesPerSecond: 20e9, gpuBytesPerSecond: 300e9 },
    });
    expect(r.availableVramBytes).toBe(9 * GiB - vramSafetyMarginBytes(24 * GiB));
    const q4 = r.rows.find((x) => x.quantization === "q4_0")!;
    const f16 = r.rows.find((x) => x.quantization === "f16")!;
    expect(q4).toMatchObject({ gpuLayers: 33, fitsVram: true });
    expect(f16.gpuLayers).toBeGreaterThan(0);
    expect(f16.gpuLayers).toBeLessThan(33);
    expect(f16.vramBytes).toBeLessThanOrEqual(r.availableVramBytes);
    const p = placeLayers(offloadProfile(plannedTensors("7b", "f16"), MODEL_SHAPES["7b"], 4096), f16.gpuLayers);
    expect(f16.decodeTokensPerSecond).toBeCloseTo(
      1 / (p.decodeReadBytes.cpuBytes / 20e9 + p.decodeReadBytes.gpuBytes / 300e9),
      6,
    );
    // The q4_0 fully offloaded is several times faster than the f16 split with the CPU.
    expect(q4.decodeTokensPerSecond! / f16.decodeTokensPerSecond!).toBeGreaterThan(4);
  });

  it("GPU_LAYERS=max marks variants whose layers do not fit; no GPU bandwidth leaves tok/s empty where the GPU reads", async () => {
    const r = await buildFitReport({
      config: config({ "gpu.layers": "max" }),
      target: { shape: "7b" },
      gpu: fakeGpu(9),
      bandwidth: { cpuBytesPerSecond: 20e9 },
    });
    expect(r.rows.map((x) => [x.quantization, x.gpuLayers, x.fitsVram])).toEqual([
      ["q4_0", 33, true],
      ["q4_k_m", 33, true],
      ["q5_k_m", 33, true],
      ["q8_0", 33, false],
      ["f16", 33, false],
    ]);
    expect(r.rows.every((x) => x.decodeTokensPerSecond === null)).toBe(true);
  });

  it("reads a stored model's variants from their own GGUF tensor tables", async () => {
    const home = await createTinyHome(["q4_0", "f16"]);
    try {
      const r = await buildFitReport({ config: config(), target: { ref: TINY, store: home.store } });
      expect(r.rows.map((x) => x.variant).sort()).toEqual([`${TINY}:f16`, `${TINY}:q4_0`]);
      for (const x of r.rows) {
        expect(x.totalLayers).toBe(3);
        expect(x.fileBytes).toBeGreaterThan(0);
        expect(x.decodeTokensPerSecond).toBeNull(); // no bandwidth given
      }
      await expect(
        buildFitReport({ config: config(), target: { ref: "nope", store: home.store } }),
      ).rejects.toMatchObject({ code: "RFX_MODEL_NOT_FOUND" });
    } finally {
      await home.cleanup();
    }
  });
});
