// Opens the server's RAG: the document store with the configured embedder, its metrics, and the augmenter that
// answers `rag: true` requests.
import type { Config } from "../config/index.ts";
import type { Engine } from "../engine/types.ts";
import type { ReflexiaMetrics } from "../metrics/index.ts";
import type { MemoryIndexInfo, RagObserver, RagService } from "../rag/index.ts";
import type { ModelStore } from "../registry/index.ts";
import { openRagForCli } from "./open-rag.ts";
import { createRagAugmenter, type RagAugmenter } from "./rag-augment.ts";

export interface OpenServerRagOptions {
  config: Config;
  /** Loads `rag.embedding_model` when it names a store model (not needed for "builtin"). */
  engine?: Engine;
  store?: ModelStore;
  metrics?: ReflexiaMetrics;
  /** Called after every change of the stored documents (e.g. to drop RAG-dependent cache entries). */
  onChange?: () => void;
}

export interface ServerRag {
  service: RagService;
  augmenter: RagAugmenter;
  /** Stored documents and chunks and the in-memory index, kept current by the service's observer (no store access). */
  counts(): { documents: number; chunks: number; memoryIndex?: MemoryIndexInfo };
  /** Closes the store and unloads the embedding model, if one was loaded. */
  close(): Promise<void>;
}

export async function openServerRag(options: OpenServerRagOptions): Promise<ServerRag> {
  const { config, metrics } = options;
  let counts: ReturnType<ServerRag["counts"]> = { documents: 0, chunks: 0 };
  let opened = false;
  const observer: RagObserver = {
    onRetrieval: (s) => metrics?.rag.retrievalDuration.observe(s),
    onIngest(s, ok) {
      metrics?.rag.ingestionDuration.observe(s);
      if (!ok) metrics?.rag.ingestionFailures.inc();
    },
    onCounts(documents, chunks, memoryIndex) {
      counts = { documents, chunks, memoryIndex };
      // The first report comes from opening the store: nothing changed then.
      if (opened) options.onChange?.();
    },
  };
  const engine = options.engine;
  const rag = await openRagForCli(config, { engine: engine ? async () => engine : undefined, store: options.store, observer });
  opened = true;
  return {
    service: rag.service,
    augmenter: createRagAugmenter({ service: rag.service }),
    counts: () => counts,
    close: () => rag.close(),
  };
}
