// The one conformance suite every VectorStore passes; each implementation's test file registers it.
import { afterEach, describe, expect, it } from "vitest";
import { CONFIG_DEFAULTS } from "../../config/index.ts";
import type { DistanceMetric } from "../types.ts";
import type { DocumentRecord, EmbeddedChunk, VectorStore } from "./vector-store.ts";

export interface StoreFactory {
  /** Opens a fresh, empty store. */
  open(options: { dim: number; distance: DistanceMetric }): Promise<VectorStore>;
  /** Closes `store` and opens the same data again; omit for stores that do not persist. */
  reopen?(store: VectorStore): Promise<VectorStore>;
}

const DIM = 16;

/** A unit vector pointing mostly along axis `axis` with a small tilt towards `tilt`, so rankings are known. */
export function axisVector(axis: number, tilt = (axis + 1) % DIM, amount = 0.1): Float32Array {
  const v = new Float32Array(DIM);
  v[axis] = 1;
  v[tilt] += amount;
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

let seq = 0;
export function makeDoc(
  id: string,
  paragraphs: string[],
  vectors: Float32Array[],
  extra: Partial<DocumentRecord> = {},
): { doc: DocumentRecord; chunks: EmbeddedChunk[] } {
  const text = paragraphs.join("\n\n");
  let pos = 0;
  const chunks = paragraphs.map((p, index) => {
    const start = text.indexOf(p, pos);
    pos = start + p.length;
    return {
      id: `${id}-${index}-${seq++}`,
      documentId: id,
      index,
      text: p,
      start,
      end: start + p.length,
      tokenCount: p.split(" ").length,
      vector: vectors[index],
    };
  });
  const doc: DocumentRecord = {
    id,
    source: `src/${id}.txt`,
    title: `Title ${id}`,
    type: "text",
    mimeType: "text/plain",
    size: text.length,
    sha256: `sha-${id}-${text.length}`,
    addedAt: new Date(Date.UTC(2024, 0, 1, 0, 0, seq)).toISOString(),
    chunkCount: chunks.length,
    charCount: text.length,
    text,
    ...extra,
  };
  return { doc, chunks };
}

export function registerStoreConformance(name: string, factory: StoreFactory): void {
  describe(`VectorStore conformance: ${name}`, () => {
    const opened: VectorStore[] = [];
    const open = async (distance: DistanceMetric = CONFIG_DEFAULTS.vector_db.distance_metric) => {
      const s = await factory.open({ dim: DIM, distance });
      opened.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close().catch(() => undefined);
    });

    it("starts empty", async () => {
      const s = await open();
      expect(s.dim).toBe(DIM);
      expect(await s.counts()).toEqual({ documents: 0, chunks: 0 });
      expect(await s.vectorSearch(axisVector(0), { limit: 3 })).toEqual([]);
      expect(await s.textSearch("anything", { limit: 3 })).toEqual([]);
      expect(await s.listDocuments()).toEqual({ documents: [], total: 0 });
      expect(await s.getDocument("nope")).toBeUndefined();
      expect(await s.deleteDocument("nope")).toBe(false);
      expect(await s.getChunks("nope")).toEqual([]);
    });

    it("commits a document with its chunks and finds them by vector, best first, with exact fields", async () => {
      const s = await open();
      const a = makeDoc("a", ["alpha one", "alpha two"], [axisVector(0), axisVector(1)]);
      const b = makeDoc("b", ["bravo one"], [axisVector(2)]);
      await s.commitDocument(a.doc, a.chunks);
      await s.commitDocument(b.doc, b.chunks);
      expect(await s.counts()).toEqual({ documents: 2, chunks: 3 });
      const hits = await s.vectorSearch(axisVector(1, 2, 0.05), { limit: 3 });
      // Similarities ≈ 1.0, 0.1 and 0.05 by construction of the vectors.
      expect(hits.map((h) => h.chunk.text)).toEqual(["alpha two", "alpha one", "bravo one"]);
      for (let i = 1; i < hits.length; i++) expect(hits[i - 1].score).toBeGreaterThanOrEqual(hits[i].score);
      const top = hits[0].chunk;
      expect(top).toMatchObject({
        documentId: "a",
        index: 1,
        text: "alpha two",
        start: a.chunks[1].start,
        end: a.chunks[1].end,
      });
      const doc = await s.getDocument("a", { withText: true });
      expect(doc?.text?.slice(top.start, top.end)).toBe(top.text);
      expect(doc).toMatchObject({ id: "a", source: "src/a.txt", title: "Title a", type: "text", chunkCount: 2 });
      expect((await s.getDocument("a"))?.text).toBeUndefined();
      const exact = await s.vectorSearch(axisVector(1, 2, 0.05), { limit: 3, exact: true });
      expect(exact.map((h) => h.chunk.id)).toEqual(hits.map((h) => h.chunk.id));
      expect(await s.vectorSearch(axisVector(0), { limit: 1 })).toHaveLength(1);
    });

    it("finds chunks by full text, ranking the chunk with the rarer matching term first", async () => {
      const s = await open();
      const d = makeDoc(
        "t",
        ["the harbour city of Blenport lies east", "the city has a harbour", "mountains and rivers"],
        [axisVector(0), axisVector(1), axisVector(2)],
      );
      await s.commitDocument(d.doc, d.chunks);
      const hits = await s.textSearch("Blenport harbour", { limit: 5 });
      expect(hits[0].chunk.text).toContain("Blenport");
      expect(hits.some((h) => h.chunk.text === "mountains and rivers")).toBe(false);
      for (let i = 1; i < hits.length; i++) expect(hits[i - 1].score).toBeGreaterThanOrEqual(hits[i].score);
      for (const q of ["what's C++ (v2)?: AND OR * \"quoted", "   ", "?!"])
        await expect(s.textSearch(q, { limit: 3 })).resolves.toBeInstanceOf(Array);
    });

    it("replaces a document's chunks on recommit and never returns the old ones", async () => {
      const s = await open();
      const v1 = makeDoc("r", ["old text one", "old text two"], [axisVector(3), axisVector(4)]);
      await s.commitDocument(v1.doc, v1.chunks);
      const v2 = makeDoc("r", ["new text"], [axisVector(3)], { sha256: "changed", source: "src/r.txt" });
      await s.commitDocument(v2.doc, v2.chunks);
      expect(await s.counts()).toEqual({ documents: 1, chunks: 1 });
      const hits = await s.vectorSearch(axisVector(3), { limit: 5 });
      expect(hits.map((h) => h.chunk.text)).toEqual(["new text"]);
      expect((await s.textSearch("old", { limit: 5 })).length).toBe(0);
      expect((await s.getChunks("r")).map((c) => c.text)).toEqual(["new text"]);
      expect((await s.getDocument("r"))?.sha256).toBe("changed");
      expect((await s.findDocument({ source: "src/r.txt" }))?.id).toBe("r");
    });

    it("deletes a document and its chunks", async () => {
      const s = await open();
      const a = makeDoc("a", ["keep me"], [axisVector(0)]);
      const b = makeDoc("b", ["remove me"], [axisVector(1)]);
      await s.commitDocument(a.doc, a.chunks);
      await s.commitDocument(b.doc, b.chunks);
      expect(await s.deleteDocument("b")).toBe(true);
      expect(await s.deleteDocument("b")).toBe(false);
      expect(await s.getDocument("b")).toBeUndefined();
      expect((await s.vectorSearch(axisVector(1), { limit: 5 })).map((h) => h.chunk.documentId)).toEqual(["a"]);
      expect(await s.textSearch("remove", { limit: 5 })).toEqual([]);
      expect(await s.counts()).toEqual({ documents: 1, chunks: 1 });
      expect(await s.findDocument({ source: "src/b.txt" })).toBeUndefined();
    });

    it("finds documents by source, then by content hash", async () => {
      const s = await open();
      const a = makeDoc("a", ["x"], [axisVector(0)], { source: "/home/u/a.md", sha256: "h1" });
      await s.commitDocument(a.doc, a.chunks);
      expect((await s.findDocument({ source: "/home/u/a.md" }))?.id).toBe("a");
      expect((await s.findDocument({ sha256: "h1" }))?.id).toBe("a");
      expect((await s.findDocument({ source: "other", sha256: "h1" }))?.id).toBe("a");
      expect(await s.findDocument({ source: "other", sha256: "h2" })).toBeUndefined();
    });

    it("lists documents in insertion order with paging and a total", async () => {
      const s = await open();
      for (const id of ["d1", "d2", "d3", "d4", "d5"]) {
        const d = makeDoc(id, [`text of ${id}`], [axisVector(0)]);
        await s.commitDocument(d.doc, d.chunks);
      }
      const page = await s.listDocuments({ offset: 1, limit: 2 });
      expect(page.total).toBe(5);
      expect(page.documents.map((d) => d.id)).toEqual(["d2", "d3"]);
      expect((await s.listDocuments({ offset: 4, limit: 10 })).documents.map((d) => d.id)).toEqual(["d5"]);
      expect(page.documents[0].text).toBeUndefined();
    });

    it("commits a batch of new and replaced documents, refusing duplicate ids", async () => {
      const s = await open();
      const old = makeDoc("x", ["x old"], [axisVector(0)]);
      await s.commitDocument(old.doc, old.chunks);
      const x2 = makeDoc("x", ["x new"], [axisVector(0)], { sha256: "x2" });
      const y = makeDoc("y", ["y one", "y two"], [axisVector(1), axisVector(2)]);
      const z = makeDoc("z", ["z one"], [axisVector(3)]);
      await s.commitDocuments([x2, y, z]);
      expect(await s.counts()).toEqual({ documents: 3, chunks: 4 });
      expect((await s.getChunks("x")).map((c) => c.text)).toEqual(["x new"]);
      expect((await s.vectorSearch(axisVector(0), { limit: 10 })).some((h) => h.chunk.text === "x old")).toBe(false);
      const dup = makeDoc("w", ["w"], [axisVector(4)]);
      await expect(s.commitDocuments([dup, dup])).rejects.toThrow(/twice/);
      expect(await s.getDocument("w")).toBeUndefined();
      await s.commitDocuments([]);
      expect(await s.verify()).toMatchObject({ orphanChunks: 0, incompleteDocuments: [] });
    });

    it.each(["ip", "cosine", "l2"] as const)("ranks by the %s distance", async (metric) => {
      const s = await open(metric);
      const big = new Float32Array(DIM);
      big[0] = 10;
      big[1] = 10;
      const near = new Float32Array(DIM);
      near[0] = 1;
      near[1] = 0.1;
      const d = makeDoc("m", ["big vector", "near vector"], [big, near]);
      await s.commitDocument(d.doc, d.chunks);
      const q = new Float32Array(DIM);
      q[0] = 1;
      const [first] = await s.vectorSearch(q, { limit: 2, exact: true });
      // Inner product favours the long vector; cosine and L2 the one pointing the same way.
      expect(first.chunk.text).toBe(metric === "ip" ? "big vector" : "near vector");
    });

    it("verifies as consistent after commits, replacements and deletions", async () => {
      const s = await open();
      for (const id of ["a", "b", "c"]) {
        const d = makeDoc(id, [`${id} one`, `${id} two`], [axisVector(0), axisVector(1)]);
        await s.commitDocument(d.doc, d.chunks);
      }
      const r = makeDoc("b", ["b again"], [axisVector(2)], { sha256: "b2" });
      await s.commitDocument(r.doc, r.chunks);
      await s.deleteDocument("c");
      await s.optimize();
      const report = await s.verify();
      expect(report).toMatchObject({ documents: 2, chunks: 3, orphanChunks: 0, incompleteDocuments: [] });
      // A store with an in-memory index holds exactly the live chunks in it.
      if (report.memoryIndex) expect(report.memoryIndex).toEqual({ chunks: 3, mismatched: [] });
    });

    // Persistence applies only to stores that can be reopened (the in-memory reference cannot); not a skip.
    if (factory.reopen)
      it("keeps committed documents across reopen", async () => {
        let s = await open();
        const a = makeDoc("p", ["persisted words here"], [axisVector(5)]);
        await s.commitDocument(a.doc, a.chunks);
        s = await factory.reopen!(s);
        opened.push(s);
        expect(await s.counts()).toEqual({ documents: 1, chunks: 1 });
        expect((await s.vectorSearch(axisVector(5), { limit: 1 }))[0].chunk.text).toBe("persisted words here");
        expect((await s.textSearch("persisted", { limit: 1 }))[0].chunk.documentId).toBe("p");
        expect((await s.getDocument("p", { withText: true }))?.text).toBe(a.doc.text);
      });

    it("rejects use after close", async () => {
      const s = await open();
      await s.close();
      await expect(s.counts()).rejects.toThrow(/closed/);
    });
  });
}
