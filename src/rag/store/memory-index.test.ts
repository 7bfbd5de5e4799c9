import { describe, expect, it } from "vitest";
import type { DistanceMetric } from "../types.ts";
import { createMemoryIndex, type MemoryIndex } from "./memory-index.ts";
import { createMemoryStore } from "./memory-store.ts";
import { createVectorMatrix } from "./vector-matrix.ts";
import type { DocumentRecord, EmbeddedChunk, VectorStore } from "./vector-store.ts";

const DIM = 48;
const WORDS =
  "amber basalt cedar dune ember fjord glacier harbour island juniper kelp lagoon meadow nectar orchard pebble quarry reef saffron tundra".split(
    " ",
  );

/** Deterministic numbers in [0, 1) (a 32-bit LCG): the same data on every run. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** A document of `n` chunks with random unit vectors (a few unnormalised, for cosine and l2) and random words. */
function makeDoc(
  id: string,
  n: number,
  rand: () => number,
  version = 1,
): { doc: DocumentRecord; chunks: EmbeddedChunk[] } {
  const texts = Array.from({ length: n }, () =>
    Array.from({ length: 4 + Math.floor(rand() * 10) }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(" "),
  );
  const text = texts.join("\n");
  let pos = 0;
  const chunks = texts.map((t, index) => {
    const v = new Float32Array(DIM).map(() => rand() - 0.5);
    const norm = Math.hypot(...v) * (index % 5 === 4 ? 0.5 : 1);
    const start = text.indexOf(t, pos);
    pos = start + t.length;
    return {
      id: `${id}:v${version}:${index}`,
      documentId: id,
      index,
      text: t,
      start,
      end: pos,
      tokenCount: t.split(" ").length,
      vector: v.map((x) => x / norm),
    };
  });
  const doc: DocumentRecord = {
    id,
    source: id,
    title: id,
    type: "text",
    mimeType: "text/plain",
    size: text.length,
    sha256: `${id}-${version}`,
    addedAt: new Date(0).toISOString(),
    chunkCount: n,
    charCount: text.length,
    text,
  };
  return { doc, chunks };
}

/** Applies the same commits and deletions to the index and to the reference store. */
async function build(metric: DistanceMetric, index: MemoryIndex, seed: number): Promise<VectorStore> {
  const rand = rng(seed);
  const ref = createMemoryStore({ dim: DIM, distance: metric });
  for (let d = 0; d < 60; d++) {
    const { doc, chunks } = makeDoc(`d${d}`, 1 + Math.floor(rand() * 8), rand);
    index.setDocument(doc.id, `i${d}`, chunks);
    await ref.commitDocument(doc, chunks);
  }
  // Replacements and deletions free slots that later documents reuse.
  for (let d = 0; d < 60; d += 3) {
    if (d % 2 === 0) {
      index.removeDocument(`d${d}`);
      await ref.deleteDocument(`d${d}`);
    } else {
      const { doc, chunks } = makeDoc(`d${d}`, 1 + Math.floor(rand() * 8), rand, 2);
      index.setDocument(doc.id, `i${d}b`, chunks);
      await ref.commitDocument(doc, chunks);
    }
  }
  for (let d = 60; d < 80; d++) {
    const { doc, chunks } = makeDoc(`d${d}`, 1 + Math.floor(rand() * 8), rand);
    index.setDocument(doc.id, `i${d}`, chunks);
    await ref.commitDocument(doc, chunks);
  }
  return ref;
}

describe("createMemoryIndex", () => {
  const forms = [
    { name: "int8 + re-rank, native", quantization: "int8" as const, forceJs: false },
    { name: "float32, native", quantization: "none" as const, forceJs: false },
    { name: "float32, TypeScript", quantization: "none" as const, forceJs: true },
  ];
  for (const form of forms) {
    it.each(["ip", "cosine", "l2"] as const)(
      `${form.name}: returns the exact top-k (%s) after replacements, deletions and slot reuse`,
      async (metric) => {
        const index = createMemoryIndex({
          dim: DIM,
          metric,
          quantization: form.quantization,
          forceJs: form.forceJs,
          candidates: 32,
        });
        const ref = await build(metric, index, 11);
        const rand = rng(99);
        for (let q = 0; q < 25; q++) {
          const v = new Float32Array(DIM).map(() => rand() - 0.5);
          for (const exact of [false, true]) {
            const got = index.vectorSearch(v, { limit: 10, exact });
            const want = await ref.vectorSearch(v, { limit: 10, exact: true });
            expect(got.map((h) => h.chunk.id)).toEqual(want.map((h) => h.chunk.id));
            got.forEach((h, i) => expect(h.distance).toBeCloseTo(want[i].distance!, 4));
          }
        }
        expect(index.stats().chunks).toBe((await ref.counts()).chunks);
      },
    );
  }

  it("ranks full text like the reference BM25, and purges removed postings without changing results", async () => {
    const index = createMemoryIndex({ dim: DIM, metric: "ip", quantization: "int8" });
    const ref = await build("ip", index, 5);
    const queries = ["amber harbour", "glacier glacier kelp", "saffron", "nothing matches zzz", "the of and"];
    const before = queries.map((q) => index.textSearch(q, { limit: 8 }).map((h) => h.chunk.id));
    for (const [i, q] of queries.entries()) {
      const want = await ref.textSearch(q, { limit: 8 });
      const got = index.textSearch(q, { limit: 8 });
      expect(got.map((h) => h.score)).toEqual(want.map((h) => expect.closeTo(h.score, 6)));
      // Equal scores may order differently (slot vs id); the sets of ids at each score agree.
      expect(new Set(got.map((h) => `${h.score.toFixed(6)} ${h.chunk.id}`))).toEqual(
        new Set(want.map((h) => `${h.score.toFixed(6)} ${h.chunk.id}`)),
      );
      expect(before[i]).toEqual(got.map((h) => h.chunk.id));
    }
    // Removing a quarter of the chunks triggers a purge; what remains still ranks like the reference.
    for (let d = 1; d < 80; d += 2) {
      index.removeDocument(`d${d}`);
      await ref.deleteDocument(`d${d}`);
    }
    for (const q of queries) {
      const want = await ref.textSearch(q, { limit: 8 });
      expect(index.textSearch(q, { limit: 8 }).map((h) => h.score)).toEqual(
        want.map((h) => expect.closeTo(h.score, 6)),
      );
    }
  });

  it("lists exactly what it holds, with vectors, and frees everything on clear", async () => {
    const index = createMemoryIndex({ dim: DIM, metric: "ip", quantization: "int8" });
    const ref = await build("ip", index, 3);
    const held = [...index.entries()];
    expect(held.length).toBe((await ref.counts()).chunks);
    for (const e of held.slice(0, 20)) {
      const want = (await ref.getChunks(e.chunk.documentId)).find((c) => c.id === e.chunk.id);
      expect(want).toEqual(e.chunk);
      expect(e.vector.length).toBe(DIM);
    }
    expect(index.ingestOf("d1")).toBe("i1");
    expect(index.ingestOf("d3")).toBe("i3b");
    expect(index.ingestOf("d0")).toBeUndefined();
    const st = index.stats();
    expect(st.bytes).toBe(st.vectorBytes + st.textBytes + st.chunkBytes);
    expect(st.vectorBytes).toBeGreaterThanOrEqual(st.chunks * DIM * 5);
    index.clear();
    expect(index.stats()).toMatchObject({ chunks: 0, documents: 0, vectorBytes: 0 });
    expect(index.vectorSearch(new Float32Array(DIM).fill(1), { limit: 3 })).toEqual([]);
  });
});

describe("createVectorMatrix", () => {
  it("scans with the native SIMD kernel when the addon is built, and refuses malformed input", () => {
    const m = createVectorMatrix({ dim: 3, metric: "ip", int8: true });
    expect(["avx512", "avx2", "scalar"]).toContain(m.stats().isa);
    m.set(Int32Array.from([0, 5]), Float32Array.from([1, 0, 0, 0, 1, 0]));
    expect(m.stats()).toMatchObject({ rows: 6, live: 2 });
    expect(Array.from(m.search(Float32Array.from([0, 1, 0]), 5, 0).rows)).toEqual([5, 0]);
    expect(Array.from(m.search(Float32Array.from([0.9, 0.1, 0]), 1, 8).rows)).toEqual([0]);
    m.reserve(1000);
    expect(m.stats().bytes).toBeGreaterThanOrEqual(1000 * 64 * 5);
    expect(m.stats()).toMatchObject({ rows: 6, live: 2 });
    expect(m.remove(5)).toBe(true);
    expect(m.remove(5)).toBe(false);
    expect(m.get(5)).toBeNull();
    expect(Array.from(m.get(0)!)).toEqual([1, 0, 0]);
    expect(() => m.set(Int32Array.from([1]), Float32Array.from([1, 2]))).toThrow(/rows.length \* dim/);
    expect(() => m.search(Float32Array.from([1, 2]), 1, 0)).toThrow(/dim floats/);
  });
});
