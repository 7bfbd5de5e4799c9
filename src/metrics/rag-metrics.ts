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
  /** Stored chunks, read at scrape time from the bound stats provider. */
  chunks: Gauge;
  /** Bytes held by the in-memory search index (0 when off or over its limit). */
  memoryIndexBytes: Gauge;
  /** 1 while searches run in the in-memory index, 0 while LanceDB serves them. */
  memoryIndexServing: Gauge;
  /** Sets the provider the document series read at scrape time. */
  bindStats(stats: () => RagStatsSnapshot | Promise<RagStatsSnapshot>): void;
}

/**
 * The product guide names the gauge `reflexia_rag_document_count`, but promtool's lint rejects a `_count`
 * suffix on anything but a summary or histogram. So the documents are exposed as the summary
 * `reflexia_rag_document` (no quantiles): its `_count` series is the number of stored documents under the
 * guide's exact name, its `_sum` the total number of chunks. Values are read at scrape time and drop when
 * documents are deleted, so query them as gauges (no rate()).
 */
function createDocumentSummary(registry: Registry, read: () => Promise<RagStatsSnapshot | null>) {
  const name = "reflexia_rag_document";
  const help = "Stored RAG documents: _count is the number of documents, _sum the total number of chunks.";
  const metric = {
    name,
    help,
    type: "summary",
    aggregator: "sum",
    labelNames: [] as string[],
    async get() {
      const s = (await read()) ?? { documents: 0, chunks: 0 };
      return {
        name,
        help,
        type: "summary",
        aggregator: "sum",
        values: [
          { metricName: `${name}_sum`, labels: {}, value: s.chunks },
          { metricName: `${name}_count`, labels: {}, value: s.documents },
        ],
      };
    },
    reset() {},
  };
  registry.registerMetric(metric as unknown as Parameters<Registry["registerMetric"]>[0]);
}

export function createRagMetrics(registry: Registry): RagMetrics {
  let statsOf: (() => RagStatsSnapshot | Promise<RagStatsSnapshot>) | null = null;
  createDocumentSummary(registry, async () => (statsOf ? await statsOf() : null));
  return {
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
        if (statsOf) this.set((await statsOf()).chunks);
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
