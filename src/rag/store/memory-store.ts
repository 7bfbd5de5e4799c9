// An in-memory reference VectorStore: exact search and plain BM25, for unit tests and as the oracle in benchmarks.
import { CONFIG_DEFAULTS } from "../../config/index.ts";
import { ReflexiaError } from "../../errors/index.ts";
import { bm25Idf, bm25Terms, bm25TermScore } from "../retrieve/bm25.ts";
import type { DistanceMetric, RagChunk, RagDocument } from "../types.ts";
import {
  distanceToScore,
  type DocumentRecord,
  type EmbeddedChunk,
  type ListDocumentsOptions,
  type SearchHit,
  type SearchOptions,
  type StoreVerifyReport,
  type VectorStore,
} from "./vector-store.ts";

export interface MemoryStoreOptions {
  dim: number;
  /** Defaults to config `vector_db.distance_metric`. */
  distance?: DistanceMetric;
}

export function distanceBetween(a: Float32Array, b: Float32Array, metric: DistanceMetric): number {
  if (metric === "l2") {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
    return s;
  }
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  if (metric === "ip") return 1 - d;
  return na === 0 || nb === 0 ? 1 : 1 - d / Math.sqrt(na * nb);
}

function stripVector({ vector: _v, ...chunk }: EmbeddedChunk): RagChunk {
  return chunk;
}

function publicDoc(rec: DocumentRecord, withText: boolean): RagDocument {
  const { text, ...meta } = rec;
  return withText ? { ...meta, text } : { ...meta };
}

export function createMemoryStore(options: MemoryStoreOptions): VectorStore {
  const dim = options.dim;
  const metric = options.distance ?? CONFIG_DEFAULTS.vector_db.distance_metric;
  const docs = new Map<string, DocumentRecord>();
  const chunks = new Map<string, EmbeddedChunk[]>();
  let closed = false;
  const live = () => {
    if (closed) throw new ReflexiaError("RFX_INTERNAL", "the vector store is closed");
  };
  const allChunks = () => [...chunks.values()].flat();

  const store: VectorStore = {
    kind: "memory",
    dim,
    distance: metric,
    async commitDocument(doc, docChunks) {
      return store.commitDocuments([{ doc, chunks: docChunks }]);
    },
    async commitDocuments(items) {
      live();
      const ids = new Set(items.map((i) => i.doc.id));
      if (ids.size !== items.length) throw new ReflexiaError("RFX_INTERNAL", "a document appears twice in one commit");
      for (const { chunks: docChunks } of items) {
        for (const c of docChunks) {
          if (c.vector.length !== dim)
            throw new ReflexiaError("RFX_INTERNAL", `chunk vector has ${c.vector.length} dimensions, the store ${dim}`);
        }
      }
      for (const { doc, chunks: docChunks } of items) {
        // Copies, so a caller mutating its arrays cannot change committed data.
        docs.set(doc.id, { ...doc, chunkCount: docChunks.length });
        chunks.set(
          doc.id,
          docChunks.map((c) => ({ ...c, vector: Float32Array.from(c.vector) })),
        );
      }
    },
    async deleteDocument(id) {
      live();
      chunks.delete(id);
      return docs.delete(id);
    },
    async getDocument(id, opts) {
      live();
      const d = docs.get(id);
      return d && publicDoc(d, opts?.withText ?? false);
    },
    async findDocument({ source, sha256 }) {
      live();
      const all = [...docs.values()];
      const hit =
        (source !== undefined ? all.find((d) => d.source === source) : undefined) ??
        (sha256 !== undefined ? all.find((d) => d.sha256 === sha256) : undefined);
      return hit && publicDoc(hit, false);
    },
    async listDocuments(opts: ListDocumentsOptions = {}) {
      live();
      const offset = opts.offset ?? 0;
      const limit = opts.limit ?? 50;
      const sorted = [...docs.values()].sort((a, b) =>
        a.addedAt < b.addedAt ? -1 : a.addedAt > b.addedAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
      );
      return { documents: sorted.slice(offset, offset + limit).map((d) => publicDoc(d, false)), total: sorted.length };
    },
    async getChunks(documentId) {
      live();
      return (chunks.get(documentId) ?? []).map(stripVector).sort((a, b) => a.index - b.index);
    },
    async vectorSearch(vector: Float32Array, opts: SearchOptions): Promise<SearchHit[]> {
      live();
      const scored = allChunks().map((c) => ({ c, d: distanceBetween(vector, c.vector, metric) }));
      scored.sort((a, b) => a.d - b.d || (a.c.id < b.c.id ? -1 : 1));
      return scored
        .slice(0, opts.limit)
        .map(({ c, d }) => ({ chunk: stripVector(c), score: distanceToScore(d, metric), distance: d }));
    },
    async textSearch(query: string, opts: SearchOptions): Promise<SearchHit[]> {
      live();
      const q = [...new Set(bm25Terms(query))];
      const all = allChunks();
      if (q.length === 0 || all.length === 0) return [];
      const docTerms = all.map((c) => bm25Terms(c.text));
      const avgLen = docTerms.reduce((s, t) => s + t.length, 0) / all.length;
      const df = new Map<string, number>();
      for (const t of docTerms)
        for (const term of new Set(t)) if (q.includes(term)) df.set(term, (df.get(term) ?? 0) + 1);
      const hits: SearchHit[] = [];
      all.forEach((c, i) => {
        const tf = new Map<string, number>();
        for (const term of docTerms[i]) if (df.has(term)) tf.set(term, (tf.get(term) ?? 0) + 1);
        let score = 0;
        for (const [term, f] of tf) {
          const n = df.get(term)!;
          score += bm25TermScore(bm25Idf(all.length, n), f, docTerms[i].length, avgLen);
        }
        if (score > 0) hits.push({ chunk: stripVector(c), score });
      });
      hits.sort((a, b) => b.score - a.score || (a.chunk.id < b.chunk.id ? -1 : 1));
      return hits.slice(0, opts.limit);
    },
    async counts() {
      live();
      return { documents: docs.size, chunks: allChunks().length };
    },
    async indexInfo() {
      return { ann: false, unindexedRows: 0, fts: true };
    },
    async optimize() {
      live();
    },
    async verify(): Promise<StoreVerifyReport> {
      live();
      const incomplete = [...docs.values()].filter((d) => {
        const cs = chunks.get(d.id) ?? [];
        return (
          cs.length !== d.chunkCount || cs.some((c, i) => c.index !== i || d.text.slice(c.start, c.end) !== c.text)
        );
      });
      return {
        documents: docs.size,
        chunks: allChunks().length,
        orphanChunks: 0,
        incompleteDocuments: incomplete.map((d) => d.id),
      };
    },
    async close() {
      closed = true;
    },
  };
  return store;
}
