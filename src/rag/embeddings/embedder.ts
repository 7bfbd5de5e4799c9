// The Embedder contract every embedding backend implements, plus vector helpers shared by them.

/** Turns texts into fixed-size vectors; implementations batch internally. */
export interface Embedder {
  /** Stable identity of the vector space (e.g. "hash-v1-384"); a store built with one id refuses another. */
  readonly id: string;
  readonly dim: number;
  /** One vector per text, L2-normalised; an empty or whitespace-only text gets the all-zero vector. */
  embed(texts: string[]): Promise<Float32Array[] | number[][]>;
  /** Frees what the embedder holds (a loaded model); optional. */
  dispose?(): Promise<void>;
}

/** Scales v to unit length in place; the zero vector stays zero. */
export function l2Normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  if (s > 0) {
    const inv = 1 / Math.sqrt(s);
    for (let i = 0; i < v.length; i++) v[i] *= inv;
  }
  return v;
}

export function toFloat32(v: Float32Array | number[]): Float32Array {
  return v instanceof Float32Array ? v : Float32Array.from(v);
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
