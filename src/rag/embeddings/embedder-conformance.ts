// The one conformance suite every Embedder passes; each implementation's test file registers it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dot, toFloat32, type Embedder } from "./embedder.ts";

export interface EmbedderConformanceOptions {
  /** Largest allowed difference between a text embedded alone and inside a batch. Defaults to 1e-5. */
  batchTolerance?: number;
}

const TEXTS = [
  "The quick brown fox jumps over the lazy dog near the river bank.",
  "Quarterly revenue grew twelve percent, driven by strong cloud sales in Europe.",
  "Photosynthesis converts light energy into chemical energy stored in glucose.",
  "ünïcödé ✓ 日本語のテキスト — and some emoji 🚀",
];

function norm(v: Float32Array): number {
  return Math.sqrt(dot(v, v));
}

/**
 * Registers the shared embedder tests under `describe(name)`. `open` is called once; `close` after all tests.
 */
export function registerEmbedderConformance(
  name: string,
  open: () => Promise<Embedder>,
  close: (e: Embedder) => Promise<void> = async (e) => e.dispose?.(),
  options: EmbedderConformanceOptions = {},
): void {
  const tol = options.batchTolerance ?? 1e-5;
  describe(`Embedder conformance: ${name}`, () => {
    let embedder: Embedder;
    beforeAll(async () => {
      embedder = await open();
    });
    afterAll(async () => {
      if (embedder) await close(embedder);
    });
    const embed = async (texts: string[]) => (await embedder.embed(texts)).map(toFloat32);

    it("has an id and a positive dimension, and returns one vector of that dimension per text", async () => {
      expect(embedder.id).toMatch(/\S/);
      expect(Number.isInteger(embedder.dim) && embedder.dim > 0).toBe(true);
      const vs = await embed(TEXTS);
      expect(vs).toHaveLength(TEXTS.length);
      for (const v of vs) {
        expect(v).toHaveLength(embedder.dim);
        expect(v.every(Number.isFinite)).toBe(true);
      }
      expect(await embedder.embed([])).toEqual([]);
    });

    it("is deterministic", async () => {
      const a = await embed(TEXTS);
      const b = await embed(TEXTS);
      for (let i = 0; i < a.length; i++)
        for (let j = 0; j < a[i].length; j++) expect(Math.abs(a[i][j] - b[i][j])).toBeLessThanOrEqual(1e-6);
    });

    it("returns L2-normalised vectors that differ between texts", async () => {
      const vs = await embed(TEXTS);
      for (const v of vs) expect(Math.abs(norm(v) - 1)).toBeLessThan(1e-3);
      expect(dot(vs[0], vs[1])).toBeLessThan(0.999);
    });

    it("gives the same vector for a text embedded alone and within a batch", async () => {
      const batch = await embed(TEXTS);
      for (let i = 0; i < TEXTS.length; i++) {
        const [single] = await embed([TEXTS[i]]);
        let maxDiff = 0;
        for (let j = 0; j < single.length; j++) maxDiff = Math.max(maxDiff, Math.abs(single[j] - batch[i][j]));
        expect(maxDiff).toBeLessThanOrEqual(tol);
      }
    });

    it("places a near-duplicate closer than an unrelated text", async () => {
      const [a, near, far] = await embed([
        "the quick brown fox jumps over the lazy dog",
        "the quick brown fox jumped over the lazy dogs",
        "quarterly revenue grew twelve percent in march",
      ]);
      expect(dot(a, near)).toBeGreaterThan(dot(a, far));
    });

    it("handles empty and whitespace-only text with the zero vector and keeps neighbours intact", async () => {
      const [empty, blank, real] = await embed(["", "  \n\t", TEXTS[0]]);
      expect(empty).toHaveLength(embedder.dim);
      expect(norm(empty)).toBe(0);
      expect(norm(blank)).toBe(0);
      const [alone] = await embed([TEXTS[0]]);
      for (let j = 0; j < alone.length; j++) expect(Math.abs(alone[j] - real[j])).toBeLessThanOrEqual(tol);
    });
  });
}
