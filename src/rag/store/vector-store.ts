// The VectorStore contract: documents and their embedded chunks, committed atomically, searched by vector or text.
import type { DistanceMetric, RagChunk, RagDocument } from "../types.ts";

/** A chunk with its embedding, as handed to commitDocument. */
export interface EmbeddedChunk extends RagChunk {
  vector: Float32Array;
}

/** A document as committed: metadata plus the extracted text its chunks index into. */
export interface DocumentRecord extends Omit<RagDocument, "text"> {
  text: string;
}

/** One document of a batch commit. */
export interface CommitItem {
  doc: DocumentRecord;
  chunks: EmbeddedChunk[];
}

/** A search hit. `score` is higher-is-better: similarity for vectors, BM25 for text. */
export interface SearchHit {
  chunk: RagChunk;
  score: number;
  /** Raw distance reported by the index (vector search only). */
  distance?: number;
}

export interface ListDocumentsOptions {
  /** Defaults to 0. */
  offset?: number;
  /** Defaults to 50. */
  limit?: number;
}

export interface SearchOptions {
  /** Hits returned at most. */
  limit: number;
  /** Bypass any ANN index and compare against every vector. Defaults to false. */
  exact?: boolean;
}

export interface StoreCounts {
  documents: number;
  chunks: number;
}

/** The in-memory index of the live chunks (lancedb-store.ts); what serves searches while `state` is "serving". */
export interface MemoryIndexInfo {
  /**
   * loading: filling from the table after open (LanceDB serves meanwhile); serving: searches run in memory;
   * over_limit: it would exceed maxBytes, so LanceDB serves; off: not enabled.
   */
  state: "loading" | "serving" | "over_limit" | "off";
  maxBytes: number;
  chunks: number;
  bytes: number;
  vectorBytes: number;
  textBytes: number;
  chunkBytes: number;
  quantization: string;
  /** Vector scan kernel: avx512, avx2, scalar (native addon) or js. */
  scan: string;
}

export interface StoreIndexInfo {
  /** An ANN index covers the vectors (searches are approximate). */
  ann: boolean;
  /** Rows the ANN index does not cover yet (searched exactly until the next optimize). */
  unindexedRows: number;
  /** A full-text (BM25) index exists. */
  fts: boolean;
  /** Stores with an in-memory index report it here. */
  memory?: MemoryIndexInfo;
}

/** What a consistency check of the store found. */
export interface StoreVerifyReport {
  documents: number;
  chunks: number;
  /** Chunk rows that no committed document owns (must be 0 after open). */
  orphanChunks: number;
  /** Committed documents whose stored chunks are not exactly 0..chunkCount-1 with valid offsets. */
  incompleteDocuments: string[];
  /**
   * Stores with an in-memory index serving: the chunks it holds and the ids of those that differ from the live
   * chunks in the database (missing, extra, other ingest, other fields or vector). Must be empty.
   */
  memoryIndex?: { chunks: number; mismatched: string[] };
}

/**
 * Storage for RAG documents. Implementations guarantee that commitDocument is all-or-nothing across a crash:
 * after reopening, a document is visible with all its chunks or not at all, and searches never return chunks
 * of an uncommitted (or superseded) ingest.
 */
export interface VectorStore {
  readonly kind: string;
  readonly dim: number;
  readonly distance: DistanceMetric;
  /** Makes the document and exactly these chunks visible at once, replacing any earlier version with its id. */
  commitDocument(doc: DocumentRecord, chunks: EmbeddedChunk[]): Promise<void>;
  /**
   * Commits several documents (distinct ids) with a few writes instead of a few per document: each document is
   * still all-or-nothing; a crash may keep some of the batch and not others, and resolving means all are stored.
   */
  commitDocuments(items: CommitItem[]): Promise<void>;
  /** Returns false when no document had that id. */
  deleteDocument(id: string): Promise<boolean>;
  getDocument(id: string, options?: { withText?: boolean }): Promise<RagDocument | undefined>;
  /** The committed document with this source, or else the first with this content hash. */
  findDocument(query: { source?: string; sha256?: string }): Promise<RagDocument | undefined>;
  /** Documents ordered by addedAt then id. */
  listDocuments(options?: ListDocumentsOptions): Promise<{ documents: RagDocument[]; total: number }>;
  /** A document's chunks ordered by index (empty when unknown). */
  getChunks(documentId: string): Promise<RagChunk[]>;
  vectorSearch(vector: Float32Array, options: SearchOptions): Promise<SearchHit[]>;
  /** BM25 full-text search over chunk text. */
  textSearch(query: string, options: SearchOptions): Promise<SearchHit[]>;
  counts(): Promise<StoreCounts>;
  indexInfo(): Promise<StoreIndexInfo>;
  /** Stores with an in-memory index: its state and size now (cheap, no I/O). */
  memoryIndexInfo?(): MemoryIndexInfo;
  /** Stores with an in-memory index: resolves once it has filled after open (serving, or dropped over its bound). */
  memoryIndexReady?(): Promise<void>;
  /** Compacts storage and builds or refreshes indexes (the ANN index once past the threshold). */
  optimize(): Promise<void>;
  verify(): Promise<StoreVerifyReport>;
  close(): Promise<void>;
}

/** Converts a distance reported by an index into a higher-is-better score (equal to cosine for unit vectors). */
export function distanceToScore(distance: number, metric: DistanceMetric): number {
  // ip and cosine distances are 1 - similarity; l2 is the squared distance, which is 2 - 2·cos for unit vectors.
  return metric === "l2" ? 1 - distance / 2 : 1 - distance;
}
