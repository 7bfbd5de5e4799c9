// Predicts GGUF file size and load-time memory of a llama model for a quantization, mirroring llama.cpp's choices.
import { ReflexiaError } from "../errors/index.ts";
import { GGML_TYPE, GGML_TYPES, LLAMA_FTYPE_BY_NAME } from "./ggml-types.ts";
import { resolveModelDims, type ModelDims, type ModelShapeName } from "./shapes.ts";
import { layoutLlamaModel } from "./write-synthetic-model.ts";

/** File types whose per-tensor choices this module reproduces (llama.cpp's llama_tensor_get_type, no imatrix). */
export const ESTIMABLE_FILE_TYPES = [
  "f32",
  "f16",
  "bf16",
  "q4_0",
  "q4_1",
  "q5_0",
  "q5_1",
  "q8_0",
  "q4_k_s",
  "q4_k_m",
  "q5_k_s",
  "q5_k_m",
  "q6_k",
] as const;
export type EstimableFileType = (typeof ESTIMABLE_FILE_TYPES)[number];

// llama_ftype_get_default_type (src/llama-quant.cpp).
const DEFAULT_TYPE: Record<EstimableFileType, number> = {
  f32: GGML_TYPE.F32,
  f16: GGML_TYPE.F16,
  bf16: GGML_TYPE.BF16,
  q4_0: GGML_TYPE.Q4_0,
  q4_1: GGML_TYPE.Q4_1,
  q5_0: GGML_TYPE.Q5_0,
  q5_1: GGML_TYPE.Q5_1,
  q8_0: GGML_TYPE.Q8_0,
  q4_k_s: GGML_TYPE.Q4_K,
  q4_k_m: GGML_TYPE.Q4_K,
  q5_k_s: GGML_TYPE.Q5_K,
  q5_k_m: GGML_TYPE.Q5_K,
  q6_k: GGML_TYPE.Q6_K,
};

function checkFileType(quant: string): EstimableFileType {
  if (!(ESTIMABLE_FILE_TYPES as readonly string[]).includes(quant)) {
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `quantization "${quant}" cannot be estimated (known: ${ESTIMABLE_FILE_TYPES.join(", ")})`,
    );
  }
  return quant as EstimableFileType;
}

const blockSize = (type: number) => GGML_TYPES.get(type)!.blockSize;

// llama.cpp's use_more_bits: the first and last eighth of the layers and every third one between get more bits.
function useMoreBits(i: number, n: number): boolean {
  const e = Math.trunc(n / 8);
  return i < e || i >= Math.trunc((7 * n) / 8) || (i - e) % 3 === 2;
}

// tensor_type_fallback: rows that are not whole k-quant blocks drop to a 32-block type, then to f16.
function fallback(type: number, ncols: number): number {
  if (ncols % blockSize(type) === 0) return type;
  const next: Record<number, number> = {
    [GGML_TYPE.Q2_K]: GGML_TYPE.Q4_0,
    [GGML_TYPE.Q3_K]: GGML_TYPE.Q4_0,
    [GGML_TYPE.Q4_K]: GGML_TYPE.Q5_0,
    [GGML_TYPE.Q5_K]: GGML_TYPE.Q5_1,
    [GGML_TYPE.Q6_K]: GGML_TYPE.Q8_0,
  };
  const t = next[type] ?? type;
  return ncols % blockSize(t) === 0 ? t : GGML_TYPE.F16;
}

/**
 * The ggml type llama.cpp's quantizer gives tensor `name` (dims in ggml order) of a llama model with
 * `model` dims when asked for `quant`. Norms (1-D) keep their type; the caller handles them.
 */
export function plannedTensorType(name: string, dims: number[], model: ModelDims, quant: EstimableFileType): number {
  const def = DEFAULT_TYPE[quant];
  const isQuantized = blockSize(def) > 1;
  if (!isQuantized) return def;
  const ncols = dims[0];
  const layer = /^blk\.(\d+)\./.exec(name);
  const i = layer ? Number(layer[1]) : -1;
  const n = model.nLayer;
  let t = def;
  if (name === "output.weight") {
    if (ncols % blockSize(def) !== 0) t = GGML_TYPE.Q8_0;
    else if (def !== GGML_TYPE.Q8_0) t = GGML_TYPE.Q6_K;
  } else if (name.endsWith(".attn_v.weight")) {
    if ((quant === "q4_k_m" || quant === "q5_k_m") && useMoreBits(i, n)) t = GGML_TYPE.Q6_K;
    else if (quant === "q4_k_s" && i < 4) t = GGML_TYPE.Q5_K;
  } else if (name.endsWith(".ffn_down.weight")) {
    if ((quant === "q4_k_m" || quant === "q5_k_m") && useMoreBits(i, n)) t = GGML_TYPE.Q6_K;
    else if (quant === "q4_k_s" && i < Math.trunc(n / 8)) t = GGML_TYPE.Q5_K;
  }
  return fallback(t, ncols);
}

/** Size in bytes of the GGUF file llama.cpp writes for a llama model of this shape quantized to `quant`. */
export function estimateModelBytes(shape: ModelShapeName | ModelDims, quant: EstimableFileType | string): number {
  const q = checkFileType(quant);
  const dims = resolveModelDims(shape);
  const ftype = LLAMA_FTYPE_BY_NAME.get(q)!;
  const label = typeof shape === "string" ? shape : "custom";
  return layoutLlamaModel(dims, ftype, `reflexia-synthetic-${label}`, (name, d) => plannedTensorType(name, d, dims, q))
    .totalBytes;
}

export interface MemoryEstimate {
  /** The GGUF file, memory-mapped. */
  weightsBytes: number;
  /**
   * Copies of matmul weights that ggml-cpu repacks into interleaved layouts at load (q4_0, q4_K and iq4_nl with
   * AVX2/NEON): measured 77.6 MiB CPU_REPACK on top of the 119.5 MiB mapped q4_0 `small` file.
   */
  repackBytes: number;
  /** f16 K and V for every layer and context cell: 2 · n_layer · n_ctx · n_embd_kv · 2 bytes. */
  kvCacheBytes: number;
  /** Graph work buffer plus the logits output buffer. */
  computeBytes: number;
  totalBytes: number;
}

const REPACKED_TYPES = new Set<number>([GGML_TYPE.Q4_0, GGML_TYPE.Q4_K, 20 /* iq4_nl */]);

/**
 * Bytes ggml-cpu copies into an interleaved layout at load when the tensor runs on the CPU: q4_0 / q4_K / iq4_nl
 * matmul weights whose row count is a multiple of 8. token_embd is read with get_rows, never repacked.
 */
export function repackedBytes(t: { name: string; type: number; dims: number[]; sizeBytes: number }): number {
  return t.name !== "token_embd.weight" && REPACKED_TYPES.has(t.type) && t.dims.length === 2 && t.dims[1] % 8 === 0
    ? t.sizeBytes
    : 0;
}

/** f16 K and V of one layer for `contextSize` cells: 2 · n_ctx · n_embd_kv · 2 bytes. */
export function kvBytesPerLayer(dims: ModelDims, contextSize: number): number {
  const nEmbdKv = (dims.nEmbd / dims.nHead) * dims.nHeadKv;
  return 2 * contextSize * nEmbdKv * 2;
}

/**
 * The graph work buffer plus the logits output buffer. llama.cpp sizes the graph for one micro-batch (≤ 512
 * tokens) with flash attention (its default "auto"): the peak is either the f32 logits of the batch or a layer's KQ
 * mask plus FFN activations. Calibrated on node-llama-cpp 3.21.1 logs: small@4096 66.5 MiB (formula 66.5),
 * tiny@4096 10.5 MiB (formula 11.0).
 */
export function computeBufferBytes(dims: ModelDims, contextSize: number, parallel: number): number {
  const nUbatch = Math.min(512, contextSize);
  const logitsPhase = 4 * nUbatch * (dims.nVocab + 2 * dims.nEmbd);
  const layerPhase = 4 * nUbatch * (contextSize + 2 * dims.nFf + 2 * dims.nEmbd);
  const outputBuffer = 4 * dims.nVocab * parallel;
  return Math.max(logitsPhase, layerPhase) + outputBuffer;
}

/**
 * Memory to load a llama model of this shape and quantization with a context of `contextSize` KV cells in total
 * (all sequences together, as LoadModelOptions.contextSize) decoding `parallel` sequences at once, on the CPU.
 */
export function estimateMemoryBreakdown(
  shape: ModelShapeName | ModelDims,
  quant: EstimableFileType | string,
  contextSize: number,
  parallel = 1,
): MemoryEstimate {
  const dims = resolveModelDims(shape);
  const q = checkFileType(quant);
  checkLoadShape(contextSize, parallel);
  const layout = layoutLlamaModel(dims, LLAMA_FTYPE_BY_NAME.get(q)!, "estimate", (name, d) =>
    plannedTensorType(name, d, dims, q),
  );
  const weightsBytes = layout.totalBytes;
  const repackBytes = layout.tensors.reduce((s, t) => s + repackedBytes(t), 0);
  const kvCacheBytes = dims.nLayer * kvBytesPerLayer(dims, contextSize);
  const computeBytes = computeBufferBytes(dims, contextSize, parallel);
  return {
    weightsBytes,
    repackBytes,
    kvCacheBytes,
    computeBytes,
    totalBytes: weightsBytes + repackBytes + kvCacheBytes + computeBytes,
  };
}

export function checkLoadShape(contextSize: number, parallel: number): void {
  if (!Number.isInteger(contextSize) || contextSize <= 0)
    throw new ReflexiaError("RFX_VALIDATION", `contextSize must be a positive integer (got ${contextSize})`);
  if (!Number.isInteger(parallel) || parallel <= 0)
    throw new ReflexiaError("RFX_VALIDATION", `parallel must be a positive integer (got ${parallel})`);
}

/** The tensors llama.cpp's quantizer writes for a llama model of this shape and file type (names, types, sizes). */
export function plannedTensors(
  shape: ModelShapeName | ModelDims,
  quant: EstimableFileType | string,
): { name: string; type: number; dims: number[]; sizeBytes: number }[] {
  const dims = resolveModelDims(shape);
  const q = checkFileType(quant);
  return layoutLlamaModel(dims, LLAMA_FTYPE_BY_NAME.get(q)!, "estimate", (name, d) =>
    plannedTensorType(name, d, dims, q),
  ).tensors;
}

/** Total of estimateMemoryBreakdown: weights + repacked copies + KV cache + compute buffers, in bytes. */
export function estimateMemoryBytes(
  shape: ModelShapeName | ModelDims,
  quant: EstimableFileType | string,
  contextSize: number,
  parallel = 1,
): number {
  return estimateMemoryBreakdown(shape, quant, contextSize, parallel).totalBytes;
}
