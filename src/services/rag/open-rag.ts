// Opens RAG for the server and the CLI alike: the document store with the configured embedder, its metrics, the
// augmenter that answers `rag: true` requests, and the cited prompt `chat --rag` sends.
import type { Config } from "../../config/index.ts";
import type { Engine, LoadedModel } from "../../engine/types.ts";
import type { ReflexiaMetrics } from "../../metrics/index.ts";
import { ReflexiaError, isReflexiaError } from "../../errors/index.ts";
import {
  buildRagPrompt,
  createLlamaEmbedder,
  createRagService,
  type MemoryIndexInfo,
  type RagObserver,
  type RagService,
} from "../../rag/index.ts";
import type { ModelStore } from "../../registry/index.ts";
import { createRagAugmenter, type RagAugmenter } from "./rag-augment.ts";
import { ragOptionsFromConfig } from "./rag-options-from-config.ts";

export interface OpenRagOptions {
  /** The engine that loads `rag.embedding_model` when it names a store model (not asked for with "builtin"). */
  getEngine?: () => Promise<Engine>;
  /** Resolves `rag.embedding_model` when it names a store model. */
  store?: ModelStore;
  /** Retrieval/ingest durations and failures go here when given. */
  metrics?: ReflexiaMetrics;
  /** Called after every change of the stored documents (e.g. to drop RAG-dependent cache entries). */
  onChange?: () => void;
  /**
   * Search LanceDB only, without filling the in-memory index (rag.memory_index_*): right for one-shot commands,
   * where filling it would cost more than the searches it serves. Defaults to false.
   */
  withoutMemoryIndex?: boolean;
}

export interface OpenRag {
  service: RagService;
  /** Answers `rag` requests of chat/generate. */
  augmenter: RagAugmenter;
  /** Stored documents and chunks and the in-memory index, kept current by the service's observer (no store access). */
  counts(): { documents: number; chunks: number; memoryIndex?: MemoryIndexInfo };
  /** Retrieves for the question and returns a cited prompt plus one display line per source. */
  answerPrompt(question: string): Promise<{ prompt: string; sources: string[] }>;
  /** Closes the store and unloads the embedding model, if one was loaded. */
  close(): Promise<void>;
}

/**
 * With `rag.embedding_model` = "builtin" nothing is loaded; otherwise the named model is loaded for embeddings,
 * which needs the engine and the store.
 */
export async function openRag(config: Config, deps: OpenRagOptions = {}): Promise<OpenRag> {
  const { metrics } = deps;
  let counts: ReturnType<OpenRag["counts"]> = { documents: 0, chunks: 0 };
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
      if (opened) deps.onChange?.();
    },
  };
  const options = {
    ...ragOptionsFromConfig(config),
    observer,
    // A one-shot CLI command neither keeps an index nor lives long enough to need to watch the store.
    ...(deps.withoutMemoryIndex ? { memoryIndex: false as const, watchIntervalMs: 0 } : {}),
  };
  let embedModel: LoadedModel | undefined;
  if (!options.embedder) {
    // A model name that cannot be used is a configuration mistake: say which key to fix (never a bare 500).
    const invalid = (why: string, cause?: unknown) =>
      new ReflexiaError(
        "RFX_CONFIG_INVALID",
        `rag.embedding_model (RAG_EMBEDDING_MODEL) "${options.embeddingModel}" ${why}; set it to "builtin" or to a model in the store`,
        { key: "rag.embedding_model" },
        cause === undefined ? undefined : { cause },
      );
    if (!deps.getEngine || !deps.store)
      throw invalid("names a store model, but no engine and model store were given to load it");
    const variant = await deps.store.resolve(options.embeddingModel).catch((e: unknown) => {
      throw isReflexiaError(e) && e.code === "RFX_MODEL_NOT_FOUND"
        ? invalid(`is not in the model store (${e.message})`, e)
        : e;
    });
    embedModel = await (await deps.getEngine()).loadModel({ path: variant.path, embedding: true, contextSize: 2048 });
    options.embedder = createLlamaEmbedder(embedModel, { id: `${variant.name}:${variant.tag}` });
  }
  const service = await createRagService(options);
  opened = true;
  return {
    service,
    augmenter: createRagAugmenter({ service }),
    counts: () => counts,
    async answerPrompt(question) {
      const r = await service.query(question);
      const built = buildRagPrompt(question, r.results, {
        maxContextTokens: Math.floor(config.models.context_size * 0.75),
      });
      return {
        prompt: built.prompt,
        sources: built.sources.map((s) => `[${s.n}] ${s.title} #${s.chunkIndex} (${s.score.toFixed(3)})`),
      };
    },
    async close() {
      await service.close();
      await embedModel?.dispose();
    },
  };
}
