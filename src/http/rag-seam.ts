// Builds the RAG seam buildApp takes: the document routes over a RagService and the counts for metrics/status.
import type { Config } from "../config/index.ts";
import type { RagService } from "../rag/index.ts";
import { registerDocumentRoutes } from "./routes/documents.ts";
import type { RagSeam, RagSeamStats } from "./types.ts";

export interface RagSeamOptions {
  config: Config;
  service: RagService;
  /** Cheap current counts (e.g. kept by the service's observer); defaults to asking the store. */
  counts?: () => RagSeamStats;
}

export function createRagSeam(options: RagSeamOptions): RagSeam {
  const { config, service } = options;
  return {
    registerRoutes: (app) => registerDocumentRoutes(app, { config, rag: service }),
    stats: options.counts
      ? () => options.counts!()
      : async () => {
          const s = await service.stats();
          return { documents: s.documents, chunks: s.chunks, memoryIndex: s.index.memory };
        },
  };
}
