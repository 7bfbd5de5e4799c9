// Named llama-architecture model shapes (the real dimensions of each size class) and their tensor layout.
import { ReflexiaError } from "../errors/index.ts";

export interface ModelDims {
  nVocab: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  nHeadKv: number;
  nFf: number;
  nCtx: number;
}

export const MODEL_SHAPE_NAMES = ["tiny", "small", "1b", "3b", "7b"] as const;
export type ModelShapeName = (typeof MODEL_SHAPE_NAMES)[number];

export const MODEL_SHAPES: Readonly<Record<ModelShapeName, Readonly<ModelDims>>> = Object.freeze({
  // n_embd 256 and n_ff 768 are multiples of 256 so every k-quant (q4_K, q5_K, q6_K) applies natively,
  // with no fallback to q5_0/q8_0; 4 heads of 64 share 2 KV heads to exercise grouped-query attention.
  tiny: { nVocab: 1000, nEmbd: 256, nLayer: 2, nHead: 4, nHeadKv: 2, nFf: 768, nCtx: 4096 },
  // ≈ 210 M params, close to the 206 M reference model of ARCHITECTURE.md.
  small: { nVocab: 32000, nEmbd: 1024, nLayer: 12, nHead: 16, nHeadKv: 16, nFf: 2560, nCtx: 4096 },
  // TinyLlama-1.1B.
  "1b": { nVocab: 32000, nEmbd: 2048, nLayer: 22, nHead: 32, nHeadKv: 4, nFf: 5632, nCtx: 2048 },
  // OpenLLaMA-3B (n_embd 3200 is not a multiple of 256: llama.cpp falls back from k-quants on those rows).
  "3b": { nVocab: 32000, nEmbd: 3200, nLayer: 26, nHead: 32, nHeadKv: 32, nFf: 8640, nCtx: 2048 },
  // LLaMA-2-7B.
  "7b": { nVocab: 32000, nEmbd: 4096, nLayer: 32, nHead: 32, nHeadKv: 32, nFf: 11008, nCtx: 4096 },
});

export function isModelShapeName(s: string): s is ModelShapeName {
  return (MODEL_SHAPE_NAMES as readonly string[]).includes(s);
}

/** Dims of a named shape, or validated explicit dims; throws RFX_VALIDATION naming the bad field. */
export function resolveModelDims(shape: ModelShapeName | ModelDims): ModelDims {
  if (typeof shape === "string") {
    const d = MODEL_SHAPES[shape];
    if (!d)
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `unknown model shape "${shape}" (known: ${MODEL_SHAPE_NAMES.join(", ")})`,
      );
    return { ...d };
  }
  for (const k of ["nVocab", "nEmbd", "nLayer", "nHead", "nHeadKv", "nFf", "nCtx"] as const) {
    const v = shape[k];
    if (!Number.isInteger(v) || v <= 0)
      throw new ReflexiaError("RFX_VALIDATION", `model dims: ${k} must be a positive integer (got ${v})`);
  }
  if (shape.nEmbd % shape.nHead !== 0)
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `model dims: nEmbd ${shape.nEmbd} is not a multiple of nHead ${shape.nHead}`,
    );
  if (shape.nHead % shape.nHeadKv !== 0)
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `model dims: nHead ${shape.nHead} is not a multiple of nHeadKv ${shape.nHeadKv}`,
    );
  if ((shape.nEmbd / shape.nHead) % 2 !== 0)
    throw new ReflexiaError("RFX_VALIDATION", `model dims: head size ${shape.nEmbd / shape.nHead} must be even (RoPE)`);
  if (shape.nVocab < MIN_VOCAB)
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `model dims: nVocab must be at least ${MIN_VOCAB} (specials, 256 byte tokens, ▁)`,
    );
  return { ...shape };
}

/** Smallest vocabulary the synthetic SPM tokenizer needs: 5 specials, 256 bytes, ▁. */
export const MIN_VOCAB = 262;

/** One tensor of a llama model; dims in ggml order (dims[0] = row length). `norm` tensors stay f32. */
export interface TensorSpec {
  name: string;
  dims: number[];
  norm: boolean;
}

/**
 * The tensors of a llama-architecture model, in llama.cpp's weights-map order (non-layer tensors, then layer by
 * layer, names ascending) so the quantizer writes them in the same order and the data padding matches.
 */
export function llamaTensorSpecs(d: ModelDims): TensorSpec[] {
  const headDim = d.nEmbd / d.nHead;
  const nEmbdKv = headDim * d.nHeadKv;
  const out: TensorSpec[] = [{ name: "token_embd.weight", dims: [d.nEmbd, d.nVocab], norm: false }];
  for (let i = 0; i < d.nLayer; i++) {
    const p = `blk.${i}.`;
    out.push(
      { name: `${p}attn_norm.weight`, dims: [d.nEmbd], norm: true },
      { name: `${p}attn_q.weight`, dims: [d.nEmbd, d.nEmbd], norm: false },
      { name: `${p}attn_k.weight`, dims: [d.nEmbd, nEmbdKv], norm: false },
      { name: `${p}attn_v.weight`, dims: [d.nEmbd, nEmbdKv], norm: false },
      { name: `${p}attn_output.weight`, dims: [d.nEmbd, d.nEmbd], norm: false },
      { name: `${p}ffn_norm.weight`, dims: [d.nEmbd], norm: true },
      { name: `${p}ffn_gate.weight`, dims: [d.nEmbd, d.nFf], norm: false },
      { name: `${p}ffn_up.weight`, dims: [d.nEmbd, d.nFf], norm: false },
      { name: `${p}ffn_down.weight`, dims: [d.nFf, d.nEmbd], norm: false },
    );
  }
  out.push(
    { name: "output_norm.weight", dims: [d.nEmbd], norm: true },
    { name: "output.weight", dims: [d.nEmbd, d.nVocab], norm: false },
  );
  return out.sort(compareWeightNames);
}

/** Total weights of a llama model with these dims. */
export function countParameters(d: ModelDims): number {
  return llamaTensorSpecs(d).reduce((s, t) => s + t.dims.reduce((a, b) => a * b, 1), 0);
}

// llama_model_loader::weight_name_comparer: by layer ("blk.N.", -1 for none), then byte-wise by name.
function compareWeightNames(a: TensorSpec, b: TensorSpec): number {
  const layer = (n: string) => Number(/^blk\.(\d+)\./.exec(n)?.[1] ?? -1);
  return layer(a.name) - layer(b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}
