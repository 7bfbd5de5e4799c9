// The in-memory index of the live chunks: their vectors (scanned exactly), their text (BM25) and their fields,
// so a search is answered without touching the database. It holds what it is given; lancedb-store.ts decides
// when (only at commit points, under its write lock) and keeps it equal to the chunks LanceDB holds live.
import type { MemoryIndexQuantization } from "../../config/keys.ts";
import type { DistanceMetric, RagChunk } from "../types.ts";
import { createTextIndex } from "./text-index.ts";
import { createVectorMatrix, vectorRowBytes } from "./vector-matrix.ts";
import { distanceToScore, type EmbeddedChunk, type SearchHit } from "./vector-store.ts";

export type { MemoryIndexQuantization };

export interface MemoryIndexOptions {
  dim: number;
  metric: DistanceMetric;
  quantization: MemoryIndexQuantization;
  /**
   * Rows the int8 pass hands to the exact re-rank (at least the k asked for). 64 kept recall@10 at 1.000 against
   * the float32 scan on 10,000 and 100,000 built-in embeddings (src/bench/rag-bench.ts). Defaults to 64.
   */
  candidates?: number;
  /** Scan with the TypeScript loop even when the native addon is built. Defaults to false. */
  forceJs?: boolean;
  /**
   * The bound the owner holds the index to (`stats().bytes`): growth never reserves vector rows past what fits in
   * it, so memory held stays near what the data needs. Defaults to no bound (growth doubles).
   */
  maxBytes?: number;
}

export interface MemoryIndexStats {
  documents: number;
  chunks: number;
  /** Everything below, added up: what the data needs, not room reserved for growth. */
  bytes: number;
  /** The vector rows in use (float32, plus the int8 copy when quantized). */
  vectorBytes: number;
  /** The BM25 postings and term dictionary. */
  textBytes: number;
  /** The chunks' fields and text held for results (estimated from their lengths). */
  chunkBytes: number;
  quantization: MemoryIndexQuantization;
  /** The vector scan kernel: "avx512", "avx2", "scalar" (native) or "js". */
  scan: string;
}

/** What the index holds of one chunk. */
export interface MemoryIndexEntry {
  chunk: RagChunk;
  ingestId: string;
  vector: Float32Array;
}

export interface MemoryIndex {
  /** Makes exactly these chunks (of this ingest) the document's, replacing any it had. */
  setDocument(documentId: string, ingestId: string, chunks: readonly EmbeddedChunk[]): void;
  removeDocument(documentId: string): void;
  /** The ingest whose chunks the index holds for the document, if any. */
  ingestOf(documentId: string): string | undefined;
  documentIds(): IterableIterator<string>;
  vectorSearch(vector: Float32Array, options: { limit: number; exact?: boolean }): SearchHit[];
  textSearch(query: string, options: { limit: number }): SearchHit[];
  /** Every chunk held, with its vector (for consistency checks). */
  entries(): IterableIterator<MemoryIndexEntry>;
  stats(): MemoryIndexStats;
  /** Makes room for this many chunks at once (the count is known when filling from the table). */
  reserve(chunks: number): void;
  /** Drops everything and frees the memory. */
  clear(): void;
}

/** Per chunk beyond its strings: the RagChunk object, its slot in the arrays and the per-document slot list. */
const CHUNK_OVERHEAD_BYTES = 160;
/** Removed slots wait for a text-index purge before reuse; purge once this many (or a quarter of live) wait. */
const MIN_PURGE_BATCH = 1024;

/** V8 keeps a string of Latin-1 characters at one byte each, any other at two. */
function stringBytes(s: string): number {
  return /[^\u0000-\u00ff]/.test(s) ? 2 * s.length : s.length;
}

export function createMemoryIndex(options: MemoryIndexOptions): MemoryIndex {
  const { dim, metric, quantization } = options;
  const candidates = Math.max(1, options.candidates ?? 64);
  const matrixOptions = { dim, metric, int8: quantization === "int8", forceJs: options.forceJs };
  const matrix = createVectorMatrix(matrixOptions);
  const rowBytes = vectorRowBytes(matrixOptions);
  /** Rows the matrix has room for: the index reserves them itself, so the matrix never grows on its own. */
  let capacity = 0;
  const text = createTextIndex();
  let chunks: (RagChunk | undefined)[] = [];
  let ingests: string[] = [];
  const docs = new Map<string, { ingestId: string; slots: number[] }>();
  let free: number[] = [];
  let pendingFree: number[] = [];
  let live = 0;
  let chunkBytes = 0;

  const sizeOf = (c: RagChunk) =>
    stringBytes(c.text) + stringBytes(c.id) + stringBytes(c.documentId) + CHUNK_OVERHEAD_BYTES;
  // Hits carry copies: a caller changing a result must not change what the index holds.
  const hit = (slot: number, distance: number): SearchHit => ({
    chunk: { ...chunks[slot]! },
    score: distanceToScore(distance, metric),
    distance,
  });

  /** Makes room for `rows` rows: doubling (256 at least), but never past the rows that fit in `maxBytes`. */
  const ensureRows = (rows: number): void => {
    if (rows <= capacity) return;
    const fit = options.maxBytes ? Math.floor(options.maxBytes / rowBytes) : Infinity;
    capacity = Math.max(rows, Math.min(Math.max(capacity * 2, 256), fit));
    matrix.reserve(capacity);
  };

  const removeDocument = (documentId: string): void => {
    const d = docs.get(documentId);
    if (!d) return;
    docs.delete(documentId);
    for (const slot of d.slots) {
      const c = chunks[slot]!;
      matrix.remove(slot);
      text.remove(slot, c.text);
      chunkBytes -= sizeOf(c);
      chunks[slot] = undefined;
      pendingFree.push(slot);
      live--;
    }
    if (pendingFree.length >= Math.max(MIN_PURGE_BATCH, live / 4)) {
      text.purge();
      free = free.concat(pendingFree);
      pendingFree = [];
    }
  };

  return {
    setDocument(documentId, ingestId, docChunks) {
      removeDocument(documentId);
      const rows = new Int32Array(docChunks.length);
      const vectors = new Float32Array(docChunks.length * dim);
      const slots: number[] = [];
      docChunks.forEach((c, i) => {
        const slot = free.pop() ?? chunks.length;
        const { vector, ...chunk } = c;
        if (slot === chunks.length) {
          chunks.push(chunk);
          ingests.push(ingestId);
        } else {
          chunks[slot] = chunk;
          ingests[slot] = ingestId;
        }
        rows[i] = slot;
        vectors.set(vector, i * dim);
        text.add(slot, chunk.text);
        chunkBytes += sizeOf(chunk);
        slots.push(slot);
      });
      ensureRows(chunks.length);
      matrix.set(rows, vectors);
      live += slots.length;
      docs.set(documentId, { ingestId, slots });
    },

    removeDocument,

    ingestOf: (documentId) => docs.get(documentId)?.ingestId,
    documentIds: () => docs.keys(),

    vectorSearch(vector, { limit, exact }) {
      if (limit <= 0 || live === 0) return [];
      const r = matrix.search(vector, limit, exact || quantization === "none" ? 0 : Math.max(candidates, limit));
      return Array.from(r.rows, (slot, i) => hit(slot, r.distances[i]));
    },

    textSearch(query, { limit }) {
      return text.search(query, limit).map(({ slot, score }) => ({ chunk: { ...chunks[slot]! }, score }));
    },

    *entries() {
      for (const d of docs.values()) {
        for (const slot of d.slots) yield { chunk: chunks[slot]!, ingestId: ingests[slot], vector: matrix.get(slot)! };
      }
    },

    stats() {
      const m = matrix.stats();
      const t = text.stats();
      const chunkArrays = chunks.length * 16;
      const vectorBytes = m.rows * rowBytes;
      return {
        documents: docs.size,
        chunks: live,
        bytes: vectorBytes + t.bytes + chunkBytes + chunkArrays,
        vectorBytes,
        textBytes: t.bytes,
        chunkBytes: chunkBytes + chunkArrays,
        quantization,
        scan: m.isa,
      };
    },

    reserve(n) {
      if (n <= capacity) return;
      matrix.reserve(n);
      capacity = n;
    },

    clear() {
      matrix.clear();
      capacity = 0;
      text.clear();
      chunks = [];
      ingests = [];
      docs.clear();
      free = [];
      pendingFree = [];
      live = 0;
      chunkBytes = 0;
    },
  };
}
