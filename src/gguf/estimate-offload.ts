// Splits a llama model's memory between the CPU and GPU devices for a given number of offloaded layers, from its
// own tensor sizes (the GGUF's tensor table, or the planned layout of a shape), mirroring llama.cpp's placement.
import type { GgufHeader } from "./read-gguf.ts";
import type { ModelDims } from "./shapes.ts";
import { checkLoadShape, computeBufferBytes, kvBytesPerLayer, repackedBytes } from "./estimate-size.ts";

export interface OffloadTensor {
  name: string;
  type: number;
  dims: number[];
  sizeBytes: number;
}

/** Per-layer memory of a model at one context size: what moves to a GPU with each offloaded layer. */
export interface OffloadProfile {
  /** n_layer; llama.cpp offloads up to n_layer + 1 "layers", the output layer counting as the last one. */
  layerCount: number;
  /** Weights of each repeating layer (blk.N.*). */
  layerWeightBytes: number[];
  /** What ggml-cpu would repack of each repeating layer when it stays on the CPU. */
  layerRepackBytes: number[];
  /** output.weight + output_norm on the device of the output layer (token_embd again when the embeddings are tied). */
  outputWeightBytes: number;
  /** The output layer's weights when it stays on the CPU (a tied output reuses the mapped token_embd: 0 more). */
  outputCpuWeightBytes: number;
  outputRepackBytes: number;
  /** token_embd and any tensor outside the layers: llama.cpp always keeps the input layer on the CPU. */
  inputWeightBytes: number;
  /** K + V of one layer at this context (on the layer's device: llama.cpp offloads the KV cache with the layer). */
  kvBytesPerLayer: number;
  /** The graph work buffer of the device that runs the layers (see computeBufferBytes). */
  computeBytes: number;
  /** Host-side buffers that remain when every layer is on the GPU: logits output and the input embeddings. */
  hostBufferBytes: number;
}

export interface OffloadPlacement {
  /** Layers on the GPU, output layer counted (llama.cpp's n_gpu_layers after clamping to n_layer + 1). */
  gpuLayers: number;
  /** n_layer + 1. */
  totalLayers: number;
  fullyOffloaded: boolean;
  /** GPU memory: offloaded weights + their KV cells + the device compute buffer. */
  vramBytes: number;
  /** Host memory: CPU weights (mapped) + repacked copies + CPU layers' KV + host compute buffers. */
  ramBytes: number;
  vram: { weightsBytes: number; kvCacheBytes: number; computeBytes: number };
  ram: { weightsBytes: number; repackBytes: number; kvCacheBytes: number; computeBytes: number };
  /**
   * Weight bytes one decoded token reads on each side: every layer's matrices and the output matrix (a tied output
   * reads all of token_embd), but only one row of token_embd for the input. Bandwidth over these bounds decode speed.
   */
  decodeReadBytes: { cpuBytes: number; gpuBytes: number };
}

/** The repeating layer a tensor belongs to (blk.N.), or -1. */
const layerOf = (name: string): number => Number(/^blk\.(\d+)\./.exec(name)?.[1] ?? -1);

/**
 * The offload profile of a model from its tensors (a GGUF header's tensor table, or estimate-size's planned layout)
 * and its dims, for `contextSize` KV cells in total decoding `parallel` sequences.
 */
export function offloadProfile(
  tensors: readonly OffloadTensor[],
  dims: ModelDims,
  contextSize: number,
  parallel = 1,
): OffloadProfile {
  checkLoadShape(contextSize, parallel);
  const n = dims.nLayer;
  const layerWeightBytes = new Array<number>(n).fill(0);
  const layerRepackBytes = new Array<number>(n).fill(0);
  let outputWeightBytes = 0;
  let outputRepackBytes = 0;
  let inputWeightBytes = 0;
  let tokenEmbd = 0;
  let hasOutput = false;
  for (const t of tensors) {
    const il = layerOf(t.name);
    if (il >= 0 && il < n) {
      layerWeightBytes[il] += t.sizeBytes;
      layerRepackBytes[il] += repackedBytes(t);
    } else if (t.name === "output.weight" || t.name === "output_norm.weight") {
      outputWeightBytes += t.sizeBytes;
      outputRepackBytes += repackedBytes(t);
      if (t.name === "output.weight") hasOutput = true;
    } else {
      inputWeightBytes += t.sizeBytes;
      if (t.name === "token_embd.weight") tokenEmbd = t.sizeBytes;
    }
  }
  // Tied embeddings: llama.cpp loads token_embd a second time for the output layer's device.
  const outputCpuWeightBytes = outputWeightBytes;
  if (!hasOutput) outputWeightBytes += tokenEmbd;
  const nUbatch = Math.min(512, contextSize);
  return {
    layerCount: n,
    layerWeightBytes,
    layerRepackBytes,
    outputWeightBytes,
    outputCpuWeightBytes,
    outputRepackBytes,
    inputWeightBytes,
    kvBytesPerLayer: kvBytesPerLayer(dims, contextSize),
    computeBytes: computeBufferBytes(dims, contextSize, parallel),
    hostBufferBytes: 4 * dims.nVocab * parallel + 4 * dims.nEmbd * nUbatch,
  };
}

/** The header fields a profile needs (a GgufHeader has them all). */
export type OffloadHeader = Pick<
  GgufHeader,
  | "tensors"
  | "vocabSize"
  | "embeddingLength"
  | "blockCount"
  | "headCount"
  | "headCountKv"
  | "feedForwardLength"
  | "contextLength"
>;

/**
 * The offload profile of a GGUF file from its own header: dims from its metadata, the context capped at its
 * training context as the engine caps it.
 */
export function offloadProfileOf(h: OffloadHeader, contextSize: number, parallel = 1): OffloadProfile {
  const ctx = h.contextLength > 0 ? Math.min(contextSize, h.contextLength) : contextSize;
  const dims: ModelDims = {
    nVocab: h.vocabSize,
    nEmbd: h.embeddingLength,
    nLayer: h.blockCount,
    nHead: Math.max(1, h.headCount),
    nHeadKv: Math.max(1, h.headCountKv || h.headCount),
    nFf: h.feedForwardLength,
    nCtx: ctx,
  };
  return offloadProfile(h.tensors, dims, ctx, parallel);
}

/**
 * Where `gpuLayers` offloaded layers put the model (llama.cpp's rule: the last gpuLayers of the n_layer + 1 layers go
 * to the GPU, the output layer first; the input layer never does; -1 means all). With no layer offloaded the
 * figures are the CPU estimate of estimateMemoryBreakdown.
 */
export function placeLayers(profile: OffloadProfile, gpuLayers: number): OffloadPlacement {
  const total = profile.layerCount + 1;
  const g = gpuLayers < 0 ? total : Math.min(Math.max(0, Math.floor(gpuLayers)), total);
  const firstGpuLayer = total - g; // repeating layers il >= firstGpuLayer are on the GPU
  const outputOnGpu = g >= 1;
  let vramWeights = outputOnGpu ? profile.outputWeightBytes : 0;
  let ramWeights = profile.inputWeightBytes + (outputOnGpu ? 0 : profile.outputCpuWeightBytes);
  let repack = outputOnGpu ? 0 : profile.outputRepackBytes;
  let gpuKvLayers = 0;
  let gpuLayerBytes = 0;
  let cpuLayerBytes = 0;
  for (let il = 0; il < profile.layerCount; il++) {
    if (il >= firstGpuLayer) {
      gpuLayerBytes += profile.layerWeightBytes[il];
      gpuKvLayers++;
    } else {
      cpuLayerBytes += profile.layerWeightBytes[il];
      repack += profile.layerRepackBytes[il];
    }
  }
  vramWeights += gpuLayerBytes;
  ramWeights += cpuLayerBytes;
  const cpuKvLayers = profile.layerCount - gpuKvLayers;
  // A split graph needs a work buffer on each side; all layers on one side leave the other with host buffers only.
  const vramCompute = g > 0 ? profile.computeBytes : 0;
  const ramCompute = g < total ? profile.computeBytes : profile.hostBufferBytes;
  const vram = {
    weightsBytes: vramWeights,
    kvCacheBytes: gpuKvLayers * profile.kvBytesPerLayer,
    computeBytes: vramCompute,
  };
  const ram = {
    weightsBytes: ramWeights,
    repackBytes: repack,
    kvCacheBytes: cpuKvLayers * profile.kvBytesPerLayer,
    computeBytes: ramCompute,
  };
  return {
    gpuLayers: g,
    totalLayers: total,
    fullyOffloaded: g === total,
    vramBytes: vram.weightsBytes + vram.kvCacheBytes + vram.computeBytes,
    ramBytes: ram.weightsBytes + ram.repackBytes + ram.kvCacheBytes + ram.computeBytes,
    vram,
    ram,
    decodeReadBytes: {
      cpuBytes: cpuLayerBytes + (outputOnGpu ? 0 : profile.outputWeightBytes),
      gpuBytes: gpuLayerBytes + (outputOnGpu ? profile.outputWeightBytes : 0),
    },
  };
}
