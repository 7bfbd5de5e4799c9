// Writes llama-architecture GGUF models with seeded random weights, streamed so a 7b never sits in memory.
import { open, rename, rm } from "node:fs/promises";
import { GGML_TYPE, ggmlTypeBytes } from "./ggml-types.ts";
import { alignUp, encodeGgufHeader, type GgufEntry, type GgufTensorEntry } from "./gguf-encoder.ts";
import { countParameters, llamaTensorSpecs, resolveModelDims, type ModelDims, type ModelShapeName } from "./shapes.ts";
import { buildSyntheticVocab, TOKEN_TYPE } from "./synthetic-vocab.ts";

export const SYNTHETIC_DTYPES = ["f16", "f32"] as const;
export type SyntheticDtype = (typeof SYNTHETIC_DTYPES)[number];

export interface WriteSyntheticModelOptions {
  /** Destination file; written to a temporary sibling first and renamed, so a partial file never appears. */
  path: string;
  /** Named shape or explicit dims. Defaults to "tiny". */
  shape?: ModelShapeName | ModelDims;
  /** Type of the 2-D weight tensors; norms are always f32. Defaults to "f16". */
  dtype?: SyntheticDtype;
  /** Same seed, same shape, same dtype → byte-identical file. Defaults to 42. */
  seed?: number;
  /** general.name. Defaults to "reflexia-synthetic-<shape>". */
  name?: string;
  /**
   * Fill-in-the-middle tokens: the vocabulary's last three pieces become control tokens named by
   * `tokenizer.ggml.fim_{pre,suf,mid}_token_id`, so suffix requests (/v1/completions, /api/generate) run on a
   * synthetic model. Defaults to false (the same bytes as before the option).
   */
  fim?: boolean;
  /** Called after each chunk with bytes written so far and the final size. */
  onProgress?: (writtenBytes: number, totalBytes: number) => void;
}

export interface SyntheticModelInfo {
  path: string;
  dims: ModelDims;
  dtype: SyntheticDtype;
  sizeBytes: number;
  parameterCount: number;
}

/** The ChatML template stored in tokenizer.chat_template; its markers are control tokens of the vocabulary. */
export const SYNTHETIC_CHAT_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}" +
  "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

const WEIGHT_STD = 0.02;
const CHUNK_BYTES = 8 << 20;

/** Metadata KV pairs of a synthetic llama model (the quantizer keeps them, only general.file_type changes). */
export function syntheticMetadata(
  dims: ModelDims,
  fileType: number,
  name: string,
  fim = false,
): Array<[string, GgufEntry]> {
  const v = buildSyntheticVocab(dims.nVocab);
  const u32 = (value: number): GgufEntry => ({ type: "u32", value });
  const fimIds = fim ? [dims.nVocab - 3, dims.nVocab - 2, dims.nVocab - 1] : [];
  const types = fim ? v.types.map((t, i) => (fimIds.includes(i) ? TOKEN_TYPE.CONTROL : t)) : v.types;
  return [
    ["general.architecture", { type: "string", value: "llama" }],
    ["general.name", { type: "string", value: name }],
    [
      "general.description",
      {
        type: "string",
        value:
          "Synthetic random-weights model written by Reflexia for benchmarking and wiring; its output is gibberish.",
      },
    ],
    ["general.file_type", u32(fileType)],
    ["general.quantization_version", u32(2)],
    ["llama.context_length", u32(dims.nCtx)],
    ["llama.embedding_length", u32(dims.nEmbd)],
    ["llama.block_count", u32(dims.nLayer)],
    ["llama.feed_forward_length", u32(dims.nFf)],
    ["llama.rope.dimension_count", u32(dims.nEmbd / dims.nHead)],
    ["llama.attention.head_count", u32(dims.nHead)],
    ["llama.attention.head_count_kv", u32(dims.nHeadKv)],
    ["llama.attention.layer_norm_rms_epsilon", { type: "f32", value: 1e-5 }],
    ["llama.rope.freq_base", { type: "f32", value: 10000 }],
    ["llama.vocab_size", u32(dims.nVocab)],
    ["tokenizer.ggml.model", { type: "string", value: "llama" }],
    ["tokenizer.ggml.tokens", { type: "array", itemType: "string", value: v.tokens }],
    ["tokenizer.ggml.scores", { type: "array", itemType: "f32", value: v.scores }],
    ["tokenizer.ggml.token_type", { type: "array", itemType: "i32", value: types }],
    ["tokenizer.ggml.bos_token_id", u32(v.bosId)],
    ["tokenizer.ggml.eos_token_id", u32(v.eosId)],
    ["tokenizer.ggml.unknown_token_id", u32(v.unkId)],
    ["tokenizer.ggml.add_bos_token", { type: "bool", value: true }],
    ["tokenizer.ggml.add_eos_token", { type: "bool", value: false }],
    ["tokenizer.chat_template", { type: "string", value: SYNTHETIC_CHAT_TEMPLATE }],
    ...(fim
      ? ([
          ["tokenizer.ggml.fim_pre_token_id", u32(fimIds[0])],
          ["tokenizer.ggml.fim_suf_token_id", u32(fimIds[1])],
          ["tokenizer.ggml.fim_mid_token_id", u32(fimIds[2])],
        ] as Array<[string, GgufEntry]>)
      : []),
  ];
}

/**
 * Header bytes and tensor table of a llama model whose tensors get `typeOf(name, dims)` (norms excluded: f32).
 * Shared by the writer and the size estimator so the estimate counts the same bytes the writer produces.
 */
export function layoutLlamaModel(
  dims: ModelDims,
  fileType: number,
  name: string,
  typeOf: (name: string, dims: number[]) => number,
  fim = false,
) {
  let offset = 0;
  const tensors: Array<GgufTensorEntry & { sizeBytes: number; norm: boolean }> = [];
  for (const spec of llamaTensorSpecs(dims)) {
    const type = spec.norm ? GGML_TYPE.F32 : typeOf(spec.name, spec.dims);
    const sizeBytes = ggmlTypeBytes(
      type,
      spec.dims.reduce((a, b) => a * b, 1),
    );
    tensors.push({ name: spec.name, dims: spec.dims, type, offset, sizeBytes, norm: spec.norm });
    offset = alignUp(offset + sizeBytes);
  }
  const header = encodeGgufHeader(syntheticMetadata(dims, fileType, name, fim), tensors);
  const last = tensors[tensors.length - 1];
  return { header, tensors, totalBytes: header.length + last.offset + last.sizeBytes };
}

/** Writes a synthetic llama GGUF and returns what was written. Throws RFX_VALIDATION for invalid dims. */
export async function writeSyntheticModel(options: WriteSyntheticModelOptions): Promise<SyntheticModelInfo> {
  const dims = resolveModelDims(options.shape ?? "tiny");
  const dtype = options.dtype ?? "f16";
  const seed = options.seed ?? 42;
  const shapeLabel = typeof options.shape === "string" ? options.shape : options.shape ? "custom" : "tiny";
  const weightType = dtype === "f16" ? GGML_TYPE.F16 : GGML_TYPE.F32;
  const { header, tensors, totalBytes } = layoutLlamaModel(
    dims,
    dtype === "f16" ? 1 : 0,
    options.name ?? `reflexia-synthetic-${shapeLabel}`,
    () => weightType,
    options.fim,
  );

  const table = normalTable(seed, dtype);
  const tmp = `${options.path}.partial-${process.pid}`;
  const fh = await open(tmp, "w");
  try {
    let written = 0;
    const put = async (b: Buffer) => {
      await fh.write(b, 0, b.length, written);
      written += b.length;
      options.onProgress?.(written, totalBytes);
    };
    await put(header);
    // Two buffers alternate so the next chunk is generated while the previous one is being written.
    const bufs = [Buffer.allocUnsafe(CHUNK_BYTES), Buffer.allocUnsafe(CHUNK_BYTES)];
    let which = 0;
    let pending: Promise<void> = Promise.resolve();
    let cursor = header.length;
    // Starts writing the current buffer after the previous write and returns that previous write's promise.
    const queue = (len: number) => {
      const b = bufs[which].subarray(0, len);
      const at = cursor;
      cursor += len;
      const prev = pending;
      pending = prev.then(async () => {
        await fh.write(b, 0, b.length, at);
        written = at + b.length;
        options.onProgress?.(written, totalBytes);
      });
      which ^= 1;
      return prev;
    };
    for (let ti = 0; ti < tensors.length; ti++) {
      const t = tensors[ti];
      const start = header.length + t.offset;
      if (cursor < start) {
        await pending;
        await fh.write(Buffer.alloc(start - cursor), 0, start - cursor, cursor);
        cursor = start;
      }
      let rng = mixSeed(seed, ti);
      let left = t.sizeBytes;
      while (left > 0) {
        const len = Math.min(left, CHUNK_BYTES);
        const b = bufs[which];
        if (t.norm)
          new Float32Array(b.buffer, b.byteOffset, len >>> 2).fill(1); // RMS-norm weights are 1
        else rng = fillRandom(b, len, table, rng);
        // Wait for the write of the other buffer, which is the one filled next.
        await queue(len);
        left -= len;
      }
    }
    await pending;
    if (cursor < totalBytes) await fh.write(Buffer.alloc(totalBytes - cursor), 0, totalBytes - cursor, cursor);
    await fh.close();
    await rename(tmp, options.path);
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
  return { path: options.path, dims, dtype, sizeBytes: totalBytes, parameterCount: countParameters(dims) };
}

// 65,536 N(0, 0.02) samples from a seeded mulberry32 + Box–Muller; weights are drawn from this table with a
// xorshift index stream, ~10× faster than per-value Box–Muller and still deterministic.
function normalTable(seed: number, dtype: SyntheticDtype): Uint16Array | Float32Array {
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const f32 = new Float32Array(65536);
  for (let i = 0; i < f32.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(rand()));
    const th = 2 * Math.PI * rand();
    f32[i] = r * Math.cos(th) * WEIGHT_STD;
    f32[i + 1] = r * Math.sin(th) * WEIGHT_STD;
  }
  if (dtype === "f32") return f32;
  const f16 = new Uint16Array(f32.length);
  for (let i = 0; i < f32.length; i++) f16[i] = toHalf(f32[i]);
  return f16;
}

function mixSeed(seed: number, i: number): number {
  let x = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35)) >>> 0;
  x ^= x >>> 16;
  return x === 0 ? 0x1234567 : x;
}

function fillRandom(b: Buffer, len: number, table: Uint16Array | Float32Array, state: number): number {
  let x = state;
  if (table instanceof Uint16Array) {
    const out = new Uint16Array(b.buffer, b.byteOffset, len >>> 1);
    for (let i = 0; i < out.length; i += 2) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = table[x & 0xffff];
      out[i + 1] = table[(x >>> 16) & 0xffff];
    }
  } else {
    const out = new Float32Array(b.buffer, b.byteOffset, len >>> 2);
    for (let i = 0; i < out.length; i += 2) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = table[x & 0xffff];
      out[i + 1] = table[(x >>> 16) & 0xffff];
    }
  }
  return x;
}

// IEEE 754 binary32 → binary16 with round-to-nearest; inputs here are small normals, subnormals handled too.
function toHalf(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  const mant = x & 0x7fffff;
  if (exp <= 0) {
    if (exp < -10) return sign;
    const m = (mant | 0x800000) >>> (1 - exp);
    return sign | ((m + 0x1000) >>> 13);
  }
  if (exp >= 31) return sign | 0x7c00;
  return (sign | (exp << 10) | (mant >>> 13)) + ((mant >>> 12) & 1);
}
