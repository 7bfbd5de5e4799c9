import { describe, expect, it } from "vitest";
import { computeBufferBytes, estimateMemoryBreakdown, kvBytesPerLayer, plannedTensors } from "./estimate-size.ts";
import { offloadProfile, placeLayers } from "./estimate-offload.ts";
import { MODEL_SHAPES } from "./shapes.ts";

const dims7b = MODEL_SHAPES["7b"];
const tensors = plannedTensors("7b", "q4_0");
const total = tensors.reduce((a, t) => a + t.sizeBytes, 0);
const profile = offloadProfile(tensors, dims7b, 4096, 1);
const layer = (n: number) => profile.layerWeightBytes[n]!;

describe("offloadProfile / placeLayers", () => {
  it("splits the tensor table into input, 32 layers and the output layer, bytes conserved", () => {
    expect(profile.layerCount).toBe(32);
    expect(
      profile.inputWeightBytes + profile.layerWeightBytes.reduce((a, b) => a + b, 0) + profile.outputWeightBytes,
    ).toBe(total);
    expect(profile.kvBytesPerLayer).toBe(kvBytesPerLayer(dims7b, 4096));
    expect(profile.kvBytesPerLayer).toBe(2 * 4096 * 4096 * 2); // f16 K and V, n_embd_kv 4096
  });

  it("with no layer offloaded is the CPU estimate: everything in RAM, nothing in VRAM", () => {
    const p = placeLayers(profile, 0);
    const cpu = estimateMemoryBreakdown("7b", "q4_0", 4096);
    expect(p).toMatchObject({ gpuLayers: 0, totalLayers: 33, fullyOffloaded: false, vramBytes: 0 });
    expect(p.ram.weightsBytes).toBe(total);
    expect(p.ram.repackBytes).toBe(cpu.repackBytes);
    expect(p.ram.kvCacheBytes).toBe(cpu.kvCacheBytes);
    expect(p.ram.computeBytes).toBe(cpu.computeBytes);
    expect(p.decodeReadBytes).toEqual({ cpuBytes: total - profile.inputWeightBytes, gpuBytes: 0 });
  });

  it("follows llama.cpp's order: the output layer goes first, then the repeating layers from the last", () => {
    const one = placeLayers(profile, 1);
    expect(one.vram.weightsBytes).toBe(profile.outputWeightBytes);
    expect(one.vram.kvCacheBytes).toBe(0);
    const three = placeLayers(profile, 3);
    expect(three.vram.weightsBytes).toBe(profile.outputWeightBytes + layer(31) + layer(30));
    expect(three.vram.kvCacheBytes).toBe(2 * profile.kvBytesPerLayer);
    expect(three.ram.kvCacheBytes).toBe(30 * profile.kvBytesPerLayer);
    // A split graph has a work buffer on both sides.
    expect(three.vram.computeBytes).toBe(computeBufferBytes(dims7b, 4096, 1));
    expect(three.ram.computeBytes).toBe(computeBufferBytes(dims7b, 4096, 1));
    expect(three.vramBytes + three.ramBytes).toBeGreaterThan(placeLayers(profile, 0).ramBytes - three.ram.repackBytes);
  });

  it("fully offloaded keeps only the input embeddings and host buffers in RAM, and -1 means all", () => {
    const all = placeLayers(profile, 33);
    expect(placeLayers(profile, -1)).toEqual(all);
    expect(placeLayers(profile, 99)).toEqual(all);
    expect(all.fullyOffloaded).toBe(true);
    expect(all.ram).toEqual({
      weightsBytes: profile.inputWeightBytes,
      repackBytes: 0,
      kvCacheBytes: 0,
      computeBytes: profile.hostBufferBytes,
    });
    expect(all.vram.weightsBytes).toBe(total - profile.inputWeightBytes);
    expect(all.vram.kvCacheBytes).toBe(32 * profile.kvBytesPerLayer);
    expect(all.decodeReadBytes).toEqual({ cpuBytes: 0, gpuBytes: total - profile.inputWeightBytes });
    // 7B q4_0 at 4096: 3.5 GiB of weights + 2 GiB of KV on the GPU.
    expect(all.vramBytes / 2 ** 30).toBeGreaterThan(5.5);
    expect(all.vramBytes / 2 ** 30).toBeLessThan(6);
  });

  it("counts token_embd again on the GPU for a model with tied output embeddings", () => {
    const tied = tensors.filter((t) => t.name !== "output.weight");
    const embd = tensors.find((t) => t.name === "token_embd.weight")!.sizeBytes;
    const p = offloadProfile(tied, dims7b, 4096, 1);
    const norm = tensors.find((t) => t.name === "output_norm.weight")!.sizeBytes;
    expect(p.outputWeightBytes).toBe(norm + embd);
    expect(p.outputCpuWeightBytes).toBe(norm);
    expect(placeLayers(p, 1).vram.weightsBytes).toBe(norm + embd);
    expect(placeLayers(p, 0).ram.weightsBytes).toBe(tied.reduce((a, t) => a + t.sizeBytes, 0));
  });
});
