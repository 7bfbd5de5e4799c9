// RAG metrics: retrieval latency and the number of stored documents.
import { Gauge, Histogram, type Registry } from "prom-client";

export interface RagMetrics {
  retrievalDuration: Histogram;
  documentCount: Gauge;
  /** Sets the provider the document gauge reads at scrape time. */
  bindDocumentCount(count: () => number | Promise<number>): void;
}

export function createRagMetrics(registry: Registry): RagMetrics {
  let countOf: (() => number | Promise<number>) | null = null;
  return {
    retrievalDuration: new Histogram({
      name: "reflexia_rag_retrieval_duration_seconds",
      help: "Time to embed a query and retrieve its chunks from the vector store.",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    documentCount: new Gauge({
      name: "reflexia_rag_document_count",
      help: "Documents stored in the RAG knowledge base.",
      registers: [registry],
      async collect() {
        if (countOf) this.set(await countOf());
      },
    }),
    bindDocumentCount(count) {
      countOf = count;
    },
  };
}
