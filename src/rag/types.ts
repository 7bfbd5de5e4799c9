// The RAG data model shared by extraction, chunking, the vector store and the service.

export const DOCUMENT_TYPES = ["text", "markdown", "html", "pdf", "json", "csv", "code"] as const;
export type DocumentType = (typeof DOCUMENT_TYPES)[number];

/** The most documents one listing page holds (GET /api/documents, `reflexia docs list --limit`). */
export const MAX_DOCUMENT_PAGE = 1000;

// The allowed metrics are listed once, beside the config key vector_db.distance_metric.
export { DISTANCE_METRICS, type DistanceMetric } from "../config/index.ts";

/** A committed document: its metadata and, when asked for, its extracted text. */
export interface RagDocument {
  id: string;
  /** Where it came from (a path given by the CLI, an upload's file name, a caller's id); never opened as a path. */
  source: string;
  title: string;
  type: DocumentType;
  mimeType: string;
  /** Size of the uploaded bytes. */
  size: number;
  /** sha256 (hex) of the uploaded bytes. */
  sha256: string;
  /** ISO-8601 time of the ingest that produced the current chunks. */
  addedAt: string;
  chunkCount: number;
  /** Length of the extracted text in UTF-16 code units (what chunk offsets index). */
  charCount: number;
  /** Extracted text; chunk `start`/`end` index into it. Present when requested. */
  text?: string;
}

/** One chunk of a document's extracted text: `text === document.text.slice(start, end)`. */
export interface RagChunk {
  id: string;
  documentId: string;
  index: number;
  text: string;
  start: number;
  end: number;
  tokenCount: number;
}
