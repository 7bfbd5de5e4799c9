// ggml tensor types and llama.cpp file types (LLAMA_FTYPE), with the block sizes that fix every tensor's byte size.

/** One ggml tensor type: `blockSize` elements are stored in `typeSize` bytes (values from ggml-common.h). */
export interface GgmlTypeInfo {
  id: number;
  name: string;
  blockSize: number;
  typeSize: number;
}

// Kept in the numbering of ggml.h's `enum ggml_type` of the llama.cpp bundled with node-llama-cpp 3.21.1.
const TYPES: GgmlTypeInfo[] = [
  { id: 0, name: "f32", blockSize: 1, typeSize: 4 },
  { id: 1, name: "f16", blockSize: 1, typeSize: 2 },
  { id: 2, name: "q4_0", blockSize: 32, typeSize: 18 },
  { id: 3, name: "q4_1", blockSize: 32, typeSize: 20 },
  { id: 6, name: "q5_0", blockSize: 32, typeSize: 22 },
  { id: 7, name: "q5_1", blockSize: 32, typeSize: 24 },
  { id: 8, name: "q8_0", blockSize: 32, typeSize: 34 },
  { id: 9, name: "q8_1", blockSize: 32, typeSize: 36 },
  { id: 10, name: "q2_K", blockSize: 256, typeSize: 84 },
  { id: 11, name: "q3_K", blockSize: 256, typeSize: 110 },
  { id: 12, name: "q4_K", blockSize: 256, typeSize: 144 },
  { id: 13, name: "q5_K", blockSize: 256, typeSize: 176 },
  { id: 14, name: "q6_K", blockSize: 256, typeSize: 210 },
  { id: 15, name: "q8_K", blockSize: 256, typeSize: 292 },
  { id: 16, name: "iq2_xxs", blockSize: 256, typeSize: 66 },
  { id: 17, name: "iq2_xs", blockSize: 256, typeSize: 74 },
  { id: 18, name: "iq3_xxs", blockSize: 256, typeSize: 98 },
  { id: 19, name: "iq1_s", blockSize: 256, typeSize: 50 },
  { id: 20, name: "iq4_nl", blockSize: 32, typeSize: 18 },
  { id: 21, name: "iq3_s", blockSize: 256, typeSize: 110 },
  { id: 22, name: "iq2_s", blockSize: 256, typeSize: 82 },
  { id: 23, name: "iq4_xs", blockSize: 256, typeSize: 136 },
  { id: 24, name: "i8", blockSize: 1, typeSize: 1 },
  { id: 25, name: "i16", blockSize: 1, typeSize: 2 },
  { id: 26, name: "i32", blockSize: 1, typeSize: 4 },
  { id: 27, name: "i64", blockSize: 1, typeSize: 8 },
  { id: 28, name: "f64", blockSize: 1, typeSize: 8 },
  { id: 29, name: "iq1_m", blockSize: 256, typeSize: 56 },
  { id: 30, name: "bf16", blockSize: 1, typeSize: 2 },
  { id: 34, name: "tq1_0", blockSize: 256, typeSize: 54 },
  { id: 35, name: "tq2_0", blockSize: 256, typeSize: 66 },
  { id: 39, name: "mxfp4", blockSize: 32, typeSize: 17 },
  { id: 40, name: "nvfp4", blockSize: 64, typeSize: 36 },
  { id: 41, name: "q1_0", blockSize: 128, typeSize: 18 },
  { id: 42, name: "q2_0", blockSize: 64, typeSize: 18 },
];

export const GGML_TYPES: ReadonlyMap<number, GgmlTypeInfo> = new Map(TYPES.map((t) => [t.id, t]));

/** ggml type ids used by the writer, the estimator and the quantizer. */
export const GGML_TYPE = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  BF16: 30,
} as const;

/** Bytes of `elements` values of ggml type `typeId` (rows are whole blocks, so elements must divide evenly). */
export function ggmlTypeBytes(typeId: number, elements: number): number {
  const t = GGML_TYPES.get(typeId);
  if (!t) throw new Error(`unknown ggml type ${typeId}`);
  return Math.ceil(elements / t.blockSize) * t.typeSize;
}

// llama.h `enum llama_ftype` → the lower-case names Reflexia uses (ollama / llama.cpp CLI spelling).
const FTYPES: Array<[number, string]> = [
  [0, "f32"],
  [1, "f16"],
  [2, "q4_0"],
  [3, "q4_1"],
  [7, "q8_0"],
  [8, "q5_0"],
  [9, "q5_1"],
  [10, "q2_k"],
  [11, "q3_k_s"],
  [12, "q3_k_m"],
  [13, "q3_k_l"],
  [14, "q4_k_s"],
  [15, "q4_k_m"],
  [16, "q5_k_s"],
  [17, "q5_k_m"],
  [18, "q6_k"],
  [19, "iq2_xxs"],
  [20, "iq2_xs"],
  [21, "q2_k_s"],
  [22, "iq3_xs"],
  [23, "iq3_xxs"],
  [24, "iq1_s"],
  [25, "iq4_nl"],
  [26, "iq3_s"],
  [27, "iq3_m"],
  [28, "iq2_s"],
  [29, "iq2_m"],
  [30, "iq4_xs"],
  [31, "iq1_m"],
  [32, "bf16"],
  [36, "tq1_0"],
  [37, "tq2_0"],
  [38, "mxfp4_moe"],
  [39, "nvfp4"],
  [40, "q1_0"],
  [41, "q2_0"],
];

/** LLAMA_FTYPE value → name, e.g. 2 → "q4_0", 15 → "q4_k_m". */
export const LLAMA_FTYPE_NAMES: ReadonlyMap<number, string> = new Map(FTYPES);
/** name → LLAMA_FTYPE value, e.g. "q5_k_m" → 17. */
export const LLAMA_FTYPE_BY_NAME: ReadonlyMap<string, number> = new Map(FTYPES.map(([v, n]) => [n, v]));

// Set in general.file_type when llama.cpp guessed the type instead of reading it.
export const LLAMA_FTYPE_GUESSED = 1024;

/** Name of a LLAMA_FTYPE value, "unknown(N)" when this table does not know it. */
export function fileTypeName(ftype: number): string {
  return LLAMA_FTYPE_NAMES.get(ftype & ~LLAMA_FTYPE_GUESSED) ?? `unknown(${ftype})`;
}
