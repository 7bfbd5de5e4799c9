// The vector half of the in-memory index: rows of float32 scanned exactly, natively with SIMD when the addon is
// built (native/src/vector-index.cpp), else by a plain TypeScript loop with the same results.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { NATIVE_ADDON_PATH } from "../../engine/native/native-addon.ts";
import type { DistanceMetric } from "../types.ts";

export interface VectorMatrixOptions {
  dim: number;
  metric: DistanceMetric;
  /** Keep an int8 copy of every row for a first pass 4× lighter than float32, re-ranked exactly. */
  int8: boolean;
  /** Use the TypeScript scan even when the native addon is built (tests compare the two). Defaults to false. */
  forceJs?: boolean;
}

export interface VectorMatrixStats {
  /** One past the highest row set. */
  rows: number;
  live: number;
  /** Bytes allocated for the rows (capacity, which growth may have doubled past `rows`). */
  bytes: number;
  /** The kernel that scans: "avx512", "avx2", "scalar" (native, portable C++) or "js". */
  isa: string;
}

/** Rows numbered by the caller; a removed row is skipped by searches until it is set again. */
export interface VectorMatrix {
  /** Writes `vectors` (rows.length × dim floats) at the given rows. */
  set(rows: Int32Array, vectors: Float32Array): void;
  remove(row: number): boolean;
  /**
   * The `k` rows nearest to `query`, best first, with exact distances (1 − dot for ip, 1 − cosine, squared L2).
   * `candidates` > 0 on an int8 matrix: the int8 pass keeps that many rows and their float32 distances pick the k.
   */
  search(query: Float32Array, k: number, candidates: number): { rows: Int32Array; distances: Float32Array };
  /** A copy of the stored row, or null when it is not live. */
  get(row: number): Float32Array | null;
  stats(): VectorMatrixStats;
  /** Allocates room for exactly `rows` rows now (as at open, where the count is known); growth otherwise doubles. */
  reserve(rows: number): void;
  /** Drops every row and frees the memory. */
  clear(): void;
}

type NativeCtor = new (dim: number, options: { metric: DistanceMetric; int8: boolean }) => VectorMatrix;

let nativeCtor: NativeCtor | null | undefined;

/** The addon's VectorIndex class, or null when the addon is not built or predates it (no llama.cpp init needed). */
function loadNative(): NativeCtor | null {
  if (nativeCtor !== undefined) return nativeCtor;
  try {
    nativeCtor = existsSync(NATIVE_ADDON_PATH)
      ? ((createRequire(import.meta.url)(NATIVE_ADDON_PATH) as { VectorIndex?: NativeCtor }).VectorIndex ?? null)
      : null;
  } catch {
    nativeCtor = null;
  }
  return nativeCtor;
}

/** Elements per row in the native matrix: its kernels consume whole blocks of 64 (native/src/vector-index.cpp). */
const NATIVE_ROW_PAD = 64;

/**
 * Bytes one row takes in a matrix with these options: float32 elements, its norm and live flag, and with int8 the
 * int8 copy and its scale (native rows are padded to whole kernel blocks; the TypeScript matrix keeps no int8 copy).
 */
export function vectorRowBytes(options: VectorMatrixOptions): number {
  if (options.forceJs || !loadNative()) return options.dim * 4 + 4 + 1;
  const stride = Math.ceil(options.dim / NATIVE_ROW_PAD) * NATIVE_ROW_PAD;
  return stride * 4 + 4 + 1 + (options.int8 ? stride + 4 : 0);
}

/** Creates a matrix: native SIMD when available, else the TypeScript scan. */
export function createVectorMatrix(options: VectorMatrixOptions): VectorMatrix {
  const Native = options.forceJs ? null : loadNative();
  return Native ? new Native(options.dim, { metric: options.metric, int8: options.int8 }) : createJsMatrix(options);
}

/** The fallback: float32 only (an int8 pass buys nothing without SIMD), so `candidates` is ignored. */
function createJsMatrix({ dim, metric }: VectorMatrixOptions): VectorMatrix {
  let data = new Float32Array(0);
  let norm2 = new Float32Array(0);
  let alive = new Uint8Array(0);
  let rows = 0;
  let live = 0;
  const grow = (need: number, exact = false) => {
    if (need <= alive.length) return;
    const cap = exact ? need : Math.max(need, alive.length * 2, 256);
    const d = new Float32Array(cap * dim);
    d.set(data);
    data = d;
    const n = new Float32Array(cap);
    n.set(norm2);
    norm2 = n;
    const a = new Uint8Array(cap);
    a.set(alive);
    alive = a;
  };
  const distance = (q: Float32Array, qn2: number, row: number): number => {
    let dot = 0;
    const o = row * dim;
    for (let i = 0; i < dim; i++) dot += q[i] * data[o + i];
    if (metric === "ip") return 1 - dot;
    if (metric === "cosine") return qn2 > 0 && norm2[row] > 0 ? 1 - dot / Math.sqrt(qn2 * norm2[row]) : 1;
    return Math.max(0, qn2 + norm2[row] - 2 * dot);
  };
  return {
    set(rowList, vectors) {
      for (let i = 0; i < rowList.length; i++) {
        const r = rowList[i];
        grow(r + 1);
        const v = vectors.subarray(i * dim, (i + 1) * dim);
        data.set(v, r * dim);
        let n = 0;
        for (let j = 0; j < dim; j++) n += v[j] * v[j];
        norm2[r] = n;
        if (!alive[r]) live++;
        alive[r] = 1;
        rows = Math.max(rows, r + 1);
      }
    },
    remove(row) {
      if (row < 0 || row >= rows || !alive[row]) return false;
      alive[row] = 0;
      live--;
      return true;
    },
    search(query, k) {
      let qn2 = 0;
      for (let i = 0; i < dim; i++) qn2 += query[i] * query[i];
      const best: { d: number; r: number }[] = [];
      const worse = (a: { d: number; r: number }, b: { d: number; r: number }) => a.d - b.d || a.r - b.r;
      for (let r = 0; r < rows && k > 0; r++) {
        if (!alive[r]) continue;
        const d = distance(query, qn2, r);
        if (best.length < k) {
          best.push({ d, r });
          if (best.length === k) best.sort(worse);
        } else if (d < best[k - 1].d || (d === best[k - 1].d && r < best[k - 1].r)) {
          // Insertion into the sorted top-k: k is small (tens), so this beats a heap in JS.
          let i = k - 1;
          while (i > 0 && worse({ d, r }, best[i - 1]) < 0) {
            best[i] = best[i - 1];
            i--;
          }
          best[i] = { d, r };
        }
      }
      best.sort(worse);
      return { rows: Int32Array.from(best, (b) => b.r), distances: Float32Array.from(best, (b) => b.d) };
    },
    get(row) {
      return row >= 0 && row < rows && alive[row] ? data.slice(row * dim, (row + 1) * dim) : null;
    },
    stats() {
      return { rows, live, bytes: data.byteLength + norm2.byteLength + alive.byteLength, isa: "js" };
    },
    reserve(n) {
      grow(n, true);
    },
    clear() {
      data = new Float32Array(0);
      norm2 = new Float32Array(0);
      alive = new Uint8Array(0);
      rows = 0;
      live = 0;
    },
  };
}
