import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { registerStoreConformance } from "./store-conformance.ts";
import { openLanceDbStore } from "./lancedb-store.ts";
import type { VectorStore } from "./vector-store.ts";

const root = mkdtempSync(join(tmpdir(), "rfx-lancedb-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const dirs = new WeakMap<VectorStore, { dir: string; dim: number; distance: VectorStore["distance"] }>();

type MemoryIndexOption = Parameters<typeof openLanceDbStore>[0]["memoryIndex"];
/** The in-memory index as the product runs it (int8 + exact re-rank, native scan) and in its other forms. */
const MEMORY_INDEX = { maxBytes: 64 << 20, quantization: "int8" } as const;
const lancedbFactory = (memoryIndex: MemoryIndexOption) => ({
  async open({ dim, distance }: { dim: number; distance: VectorStore["distance"] }) {
    const dir = join(root, `s${n++}`);
    const s = await openLanceDbStore({ dir, dim, distance, embedderId: "test", memoryIndex });
    dirs.set(s, { dir, dim, distance });
    return s;
  },
  async reopen(store: VectorStore) {
    const o = dirs.get(store)!;
    await store.close();
    const s = await openLanceDbStore({ ...o, embedderId: "test", memoryIndex });
    dirs.set(s, o);
    return s;
  },
});
registerStoreConformance("lancedb (LanceDB searches)", lancedbFactory(undefined));
registerStoreConformance("lancedb + in-memory index (int8, native scan)", lancedbFactory(MEMORY_INDEX));
registerStoreConformance(
  "lancedb + in-memory index (float32, TypeScript scan)",
  lancedbFactory({ maxBytes: 64 << 20, quantization: "none", forceJs: true }),
);

function unitVector(dim: number, seed: number): Float32Array {
  let s = seed * 2654435761 + 1;
  const v = new Float32Array(dim);
  for (let i = 0; i < dim; i++) {
    s = (Math.imul(s ^ (s >>> 13), 1274126177) + i) >>> 0;
    v[i] = s / 2 ** 32 - 0.5;
  }
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

function docWithChunks(id: string, vectors: Float32Array[]) {
  const texts = vectors.map((_, i) => `chunk ${i} of document ${id}`);
  const text = texts.join("\n\n");
  let pos = 0;
  const chunks = texts.map((t, index) => {
    const start = text.indexOf(t, pos);
    pos = start + t.length;
    return {
      id: `${id}:${index}`,
      documentId: id,
      index,
      text: t,
      start,
      end: start + t.length,
      tokenCount: 5,
      vector: vectors[index],
    };
  });
  const doc = {
    id,
    source: id,
    title: id,
    type: "text" as const,
    mimeType: "text/plain",
    size: text.length,
    sha256: `sha-${id}`,
    addedAt: new Date().toISOString(),
    chunkCount: chunks.length,
    charCount: text.length,
    text,
  };
  return { doc, chunks };
}

describe("openLanceDbStore", () => {
  it.runIf(process.platform === "linux")(
    "runs Lance's compute pool on at least 4 threads (on one, optimize deadlocks as a table grows)",
    async () => {
      const dim = 8;
      const store = await openLanceDbStore({ dir: join(root, "threads"), dim, embedderId: "t", optimizeEvery: 1 });
      try {
        await store.commitDocuments([docWithChunks("t0", [unitVector(dim, 1), unitVector(dim, 2)])]);
        await store.optimize();
        const comm = (t: string) => readFileSync(`/proc/self/task/${t}/comm`, "utf8").trim();
        const lanceCpu = readdirSync("/proc/self/task").filter((t) => comm(t) === "lance-cpu").length;
        // The store sets LANCE_CPU_THREADS when it is loaded (Lance's own default here is one worker).
        expect(Number(process.env.LANCE_CPU_THREADS)).toBeGreaterThanOrEqual(4);
        expect(lanceCpu).toBeGreaterThanOrEqual(4);
      } finally {
        await store.close();
      }
    },
  );

  it("builds an HNSW index past the threshold, keeps recall against exact search and covers rows added later", async () => {
    const dim = 32;
    const store = await openLanceDbStore({
      dir: join(root, "ann"),
      dim,
      embedderId: "t",
      annThreshold: 300,
      optimizeEvery: 1_000_000,
    });
    try {
      const items = Array.from({ length: 40 }, (_, d) =>
        docWithChunks(
          `d${d}`,
          Array.from({ length: 10 }, (_, c) => unitVector(dim, d * 10 + c)),
        ),
      );
      await store.commitDocuments(items);
      await store.optimize();
      expect((await store.indexInfo()).ann).toBe(true);
      let found = 0;
      for (let q = 0; q < 20; q++) {
        const qv = unitVector(dim, 10_000 + q);
        const exact = new Set((await store.vectorSearch(qv, { limit: 10, exact: true })).map((h) => h.chunk.id));
        found += (await store.vectorSearch(qv, { limit: 10 })).filter((h) => exact.has(h.chunk.id)).length;
      }
      expect(found / 200).toBeGreaterThanOrEqual(0.8);
      const late = docWithChunks("late", [unitVector(dim, 99_999)]);
      await store.commitDocument(late.doc, late.chunks);
      expect((await store.indexInfo()).unindexedRows).toBeLessThanOrEqual(1);
      expect((await store.vectorSearch(unitVector(dim, 99_999), { limit: 1 }))[0].chunk.documentId).toBe("late");
      await store.optimize();
      expect((await store.indexInfo()).unindexedRows).toBe(0);
    } finally {
      await store.close();
    }
  });

  it.each([
    ["LanceDB searches", undefined],
    ["in-memory index", MEMORY_INDEX],
  ] as const)(
    "never returns chunks of an interrupted commit, and deletes them at the next open (%s)",
    async (name, memoryIndex) => {
      const dir = join(root, `orphans-${name.replace(/\W/g, "")}`);
      const dim = 16;
      let failAt: "chunks" | "documents" | undefined;
      const onCommitStep = (step: "chunks" | "documents") => {
        if (step === failAt) throw new Error(`simulated crash after ${step}`);
      };
      let store = await openLanceDbStore({ dir, dim, embedderId: "t", onCommitStep, memoryIndex });
      const withText = (id: string, version: string, seeds: number[]) => {
        const d = docWithChunks(
          id,
          seeds.map((x) => unitVector(dim, x)),
        );
        d.chunks = d.chunks.map((c) => ({
          ...c,
          id: `${c.id}:${version}`,
          text: c.text.replace("chunk", `${version} chunk`),
        }));
        d.doc.text = d.chunks.map((c) => c.text).join("\n\n");
        let pos = 0;
        d.chunks = d.chunks.map((c) => {
          const start = d.doc.text.indexOf(c.text, pos);
          pos = start + c.text.length;
          return { ...c, start, end: pos };
        });
        d.doc.charCount = d.doc.text.length;
        d.doc.sha256 = `sha-${id}-${version}`;
        return d;
      };
      const v1 = withText("a", "v1", [1, 2]);
      await store.commitDocument(v1.doc, v1.chunks);
      // Crash between step 1 and step 2: a new document and a replacement whose rows were never written.
      failAt = "chunks";
      const ghost = withText("ghost", "g", [50]);
      await expect(store.commitDocument(ghost.doc, ghost.chunks)).rejects.toMatchObject({ code: "RFX_INTERNAL" });
      const v2 = withText("a", "v2", [51]);
      await expect(store.commitDocument(v2.doc, v2.chunks)).rejects.toMatchObject({ code: "RFX_INTERNAL" });
      failAt = undefined;
      for (const seed of [50, 51]) {
        const hits = await store.vectorSearch(unitVector(dim, seed), { limit: 3 });
        expect(hits.map((h) => h.chunk.text).filter((t) => !t.startsWith("v1"))).toEqual([]);
      }
      expect(await store.textSearch("g chunk", { limit: 5 })).toSatisfy((hs: { chunk: { text: string } }[]) =>
        hs.every((h) => h.chunk.text.startsWith("v1")),
      );
      expect(await store.getDocument("ghost")).toBeUndefined();
      expect((await store.getChunks("a")).map((c) => c.text)).toEqual(v1.chunks.map((c) => c.text));
      expect(await store.verify()).toMatchObject({
        documents: 1,
        orphanChunks: 2,
        incompleteDocuments: [],
        ...(memoryIndex ? { memoryIndex: { chunks: 2, mismatched: [] } } : {}),
      });
      // Crash after the commit point of a replacement, before the old chunks are deleted: the new version stands.
      failAt = "documents";
      const v3 = withText("a", "v3", [60, 61, 62]);
      await expect(store.commitDocument(v3.doc, v3.chunks)).rejects.toThrow(/simulated crash/);
      failAt = undefined;
      expect((await store.getChunks("a")).map((c) => c.text)).toEqual(v3.chunks.map((c) => c.text));
      expect(
        (await store.vectorSearch(unitVector(dim, 1), { limit: 10 })).every((h) => h.chunk.text.startsWith("v3")),
      ).toBe(true);
      expect(await store.verify()).toMatchObject({
        documents: 1,
        chunks: 3,
        orphanChunks: 4,
        incompleteDocuments: [],
        ...(memoryIndex ? { memoryIndex: { chunks: 3, mismatched: [] } } : {}),
      });
      await store.close();
      store = await openLanceDbStore({ dir, dim, embedderId: "t", memoryIndex });
      try {
        expect(await store.verify()).toEqual({
          documents: 1,
          chunks: 3,
          orphanChunks: 0,
          incompleteDocuments: [],
          ...(memoryIndex ? { memoryIndex: { chunks: 3, mismatched: [] } } : {}),
        });
        expect((await store.getDocument("a"))?.sha256).toBe("sha-a-v3");
      } finally {
        await store.close();
      }
    },
  );

  it("drops the in-memory index past its bound: LanceDB serves the same results and builds its ANN index", async () => {
    const dim = 32;
    const items = Array.from({ length: 40 }, (_, d) =>
      docWithChunks(
        `b${d}`,
        Array.from({ length: 10 }, (_, c) => unitVector(dim, d * 10 + c)),
      ),
    );
    // Room for the first half of the chunks, not both: the commit of the second crosses the bound (≈ 120 KB and
    // 240 KB with the native int8 rows, ≈ 80 KB and 160 KB with the TypeScript float32 ones).
    const maxBytes = 150_000;
    const store = await openLanceDbStore({
      dir: join(root, "bound"),
      dim,
      embedderId: "t",
      annThreshold: 300,
      memoryIndex: { maxBytes, quantization: "int8" },
    });
    try {
      await store.commitDocuments(items.slice(0, 20));
      const info = store.memoryIndexInfo!();
      expect(info).toMatchObject({ state: "serving", chunks: 200, maxBytes });
      expect(info.bytes).toBeLessThanOrEqual(maxBytes);
      const q = unitVector(dim, 12345);
      const before = (await store.vectorSearch(q, { limit: 5 })).map((h) => h.chunk.id);
      await store.commitDocuments(items.slice(20));
      expect(store.memoryIndexInfo!()).toMatchObject({ state: "over_limit", chunks: 0, bytes: 0 });
      expect((await store.indexInfo()).memory?.state).toBe("over_limit");
      const exact = (await store.vectorSearch(q, { limit: 400, exact: true })).map((h) => h.chunk.id);
      expect(exact).toHaveLength(400);
      expect(exact.filter((id) => id.startsWith("b") && Number(id.slice(1).split(":")[0]) < 20).slice(0, 5)).toEqual(
        before,
      );
      expect((await store.textSearch("document b33", { limit: 3 })).length).toBeGreaterThan(0);
      // Past rag.ann_threshold with LanceDB serving again, its HNSW index is built in the background.
      await store.optimize();
      expect((await store.indexInfo()).ann).toBe(true);
      expect((await store.verify()).memoryIndex).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it("bounds the in-memory index by what its chunks need, not by room reserved for growth", async () => {
    const dim = 384;
    const dir = join(root, "bound-data");
    const memoryIndex = { maxBytes: 100_000, quantization: "int8" } as const;
    const item = (d: number) => docWithChunks(`k${d}`, [unitVector(dim, d)]);
    let store = await openLanceDbStore({ dir, dim, embedderId: "t", memoryIndex });
    await store.commitDocuments([item(0), item(1)]);
    await store.close();
    // As a server starting on 2 chunks (the index is filled with room for exactly those) when one more arrives:
    // growth used to reserve 256 rows (≈ 490 KB at 384-d int8) and count them, dropping the index at once.
    store = await openLanceDbStore({ dir, dim, embedderId: "t", memoryIndex });
    try {
      await store.memoryIndexReady!();
      await store.commitDocuments([item(2)]);
      const info = store.memoryIndexInfo!();
      expect(info).toMatchObject({ state: "serving", chunks: 3 });
      // A 384-d row with its int8 copy, norm and flag: under 2 KB, counted for the 3 rows there are.
      expect(info.vectorBytes / 3).toBeLessThan(2_000);
      expect(info.bytes).toBeLessThan(20_000);
      // Growth stays within the bound: the index serves until the chunks themselves no longer fit.
      let d = 3;
      while (store.memoryIndexInfo!().state === "serving" && d < 200) await store.commitDocuments([item(d++)]);
      expect(store.memoryIndexInfo!().state).toBe("over_limit");
      // Dropped only once the data itself outgrew the bound (a chunk here costs about 2.5 KB).
      expect(d).toBeGreaterThan(30);
    } finally {
      await store.close();
    }
  });

  it("refuses another embedder's store and rebuilds the ANN index when the distance changes", async () => {
    const dir = join(root, "meta");
    const dim = 16;
    let store = await openLanceDbStore({ dir, dim, embedderId: "e1", distance: "ip", annThreshold: 256 });
    await store.commitDocuments(
      Array.from({ length: 30 }, (_, d) =>
        docWithChunks(
          `m${d}`,
          Array.from({ length: 10 }, (_, c) => unitVector(dim, d * 10 + c)),
        ),
      ),
    );
    await store.optimize();
    expect((await store.indexInfo()).ann).toBe(true);
    await store.close();
    await expect(openLanceDbStore({ dir, dim, embedderId: "e2" })).rejects.toMatchObject({
      code: "RFX_CONFIG_INVALID",
    });
    await expect(openLanceDbStore({ dir, dim: 32, embedderId: "e1" })).rejects.toMatchObject({
      code: "RFX_CONFIG_INVALID",
    });
    store = await openLanceDbStore({ dir, dim, embedderId: "e1", distance: "l2", annThreshold: 256 });
    try {
      expect((await store.indexInfo()).ann).toBe(false);
      await store.optimize();
      expect((await store.indexInfo()).ann).toBe(true);
      const q = unitVector(dim, 7);
      expect((await store.vectorSearch(q, { limit: 1 }))[0].chunk.id).toBe("m0:7");
    } finally {
      await store.close();
    }
  });

  it("ranks full-text hits across indexed and not-yet-indexed rows", async () => {
    const dim = 16;
    const store = await openLanceDbStore({ dir: join(root, "fts"), dim, embedderId: "t", optimizeEvery: 1_000_000 });
    try {
      const mk = (id: string, text: string) => {
        const d = docWithChunks(id, [unitVector(dim, id.length)]);
        d.doc.text = text;
        d.chunks[0] = { ...d.chunks[0], text, start: 0, end: text.length };
        return d;
      };
      await store.commitDocuments([
        mk("weak", "lighthouse mentioned once among many many other ordinary words here"),
        mk("other", "nothing relevant at all"),
      ]);
      await store.optimize();
      await store.commitDocument(
        mk("strong", "lighthouse lighthouse lighthouse").doc,
        mk("strong", "lighthouse lighthouse lighthouse").chunks,
      );
      const hits = await store.textSearch("lighthouse", { limit: 2 });
      expect(hits.map((h) => h.chunk.documentId)).toEqual(["strong", "weak"]);
    } finally {
      await store.close();
    }
  });
});

describe("lancedb store after a kill right after an acknowledged commit", () => {
  it("finds the document by full text once reopened, though the index refresh never ran", async () => {
    const dir = join(root, "killed-after-ack");
    // The child commits one document, says so, and SIGKILLs itself before the debounced index refresh can run.
    const script = `
      import { openLanceDbStore } from ${JSON.stringify(new URL("./lancedb-store.ts", import.meta.url).pathname)};
      const s = await openLanceDbStore({ dir: ${JSON.stringify(dir)}, dim: 4, embedderId: "test" });
      await s.commitDocument({ id: "seed", source: "seed.txt", title: "seed", type: "text", mimeType: "text/plain", size: 9,
        sha256: "s0", addedAt: new Date(0).toISOString(), chunkCount: 1, charCount: 9, text: "seed text" },
        [{ id: "seed-0", documentId: "seed", index: 0, text: "seed text", start: 0, end: 9, tokenCount: 2, vector: new Float32Array([1, 0, 0, 0]) }]);
      await s.optimize();
      const text = "quorvantix harbour ledger";
      await s.commitDocument({ id: "late", source: "late.txt", title: "late", type: "text", mimeType: "text/plain", size: text.length,
        sha256: "s1", addedAt: new Date(1).toISOString(), chunkCount: 1, charCount: text.length, text },
        [{ id: "late-0", documentId: "late", index: 0, text, start: 0, end: text.length, tokenCount: 3, vector: new Float32Array([0, 1, 0, 0]) }]);
      process.stdout.write("acked\\n");
      process.kill(process.pid, "SIGKILL");
    `;
    const { spawnSync } = await import("node:child_process");
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      encoding: "utf8",
    });
    expect(r.stdout, r.stderr).toBe("acked\n");
    expect(r.signal).toBe("SIGKILL");
    const s = await openLanceDbStore({ dir, dim: 4, embedderId: "test" });
    try {
      expect((await s.getDocument("late"))?.chunkCount).toBe(1);
      expect((await s.textSearch("quorvantix", { limit: 3 })).map((h) => h.chunk.documentId)).toEqual(["late"]);
    } finally {
      await s.close();
    }
  });
});
