// RAG metrics: retrieval and ingestion latency, ingestion failures, and the number of stored documents and chunks.
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export interface RagStatsSnapshot {
  documents: number;
  chunks: number;
  /** The in-memory search index, when the store has one. */
  memoryIndex?: { state: string; bytes: number };
}

export interface RagMetrics {
  retrievalDuration: Histogram;
  /** One observation per ingested document (committed, found unchanged, or rejected). */
  ingestionDuration: Histogram;
  /** Documents whose ingestion was rejected or failed (nothing of them stored). */
  ingestionFailures: Counter;
  /** Stored documents, read at scrape time from the bound stats provider. */
  documents: Gauge;
  /** Stored chunks, read at scrape time from the bound stats provider. */
  chunks: Gauge;
  /** Bytes held by the in-memory search index (0 when off or over its limit). */
  memoryIndexBytes: Gauge;
  /** 1 while searches run in the in-memory index, 0 while LanceDB serves them. */
  memoryIndexServing: Gauge;
  /** Sets the provider the document series read at scrape time. */
  bindStats(stats: () => RagStatsSnapshot | Promise<RagStatsSnapshot>): void;
}

export function createRagMetrics(registry: Registry): RagMetrics {
  let statsOf: (() => RagStatsSnapshot | Promise<RagStatsSnapshot>) | null = null;
  return {
    // The product guide's name, as a gauge: it falls when documents are deleted, which a summary's _count (the
    // earlier shape) made rate() read as a counter reset. promtool's lint dislikes the _count suffix on a gauge;
    // that one finding is expected (test/server-e2e.test.ts).
    documents: new Gauge({
      name: "reflexia_rag_document_count",
      help: "Stored RAG documents (read at scrape time; falls when documents are deleted).",
      registers: [registry],
      async collect() {
        this.set(statsOf ? (await statsOf()).documents : 0);
      },
    }),
    ingestionDuration: new Histogram({
      name: "reflexia_rag_ingestion_duration_seconds",
      help: "Time to extract, chunk, embed and durably store one document (rejections included).",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    ingestionFailures: new Counter({
      name: "reflexia_rag_ingestion_failures_total",
      help: "Documents whose ingestion was rejected (empty, unsupported, too large) or failed; nothing of them was stored.",
      registers: [registry],
    }),
    chunks: new Gauge({
      name: "reflexia_rag_chunks",
      help: "Stored RAG chunks (each with its vector) across all documents.",
      registers: [registry],
      async collect() {
        this.set(statsOf ? (await statsOf()).chunks : 0);
      },
    }),
    memoryIndexBytes: new Gauge({
      name: "reflexia_rag_memory_index_bytes",
      help: "Bytes the in-memory RAG search index holds (vectors, BM25 postings, chunk text); bounded by rag.memory_index_max_bytes.",
      registers: [registry],
      async collect() {
        if (statsOf) this.set((await statsOf()).memoryIndex?.bytes ?? 0);
      },
    }),
    memoryIndexServing: new Gauge({
      name: "reflexia_rag_memory_index_serving",
      help: "1 while RAG searches run in the in-memory index, 0 while LanceDB serves them (index off or over its limit).",
      registers: [registry],
      async collect() {
        if (statsOf) this.set((await statsOf()).memoryIndex?.state === "serving" ? 1 : 0);
      },
    }),
    retrievalDuration: new Histogram({
      name: "reflexia_rag_retrieval_duration_seconds",
      help: "Time to embed a query and retrieve its chunks from the vector store.",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    bindStats(stats) {
      statsOf = stats;
    },
  };
}
