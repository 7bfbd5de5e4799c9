// Opens the document store with the configured embedder, for the CLI's docs commands and chat --rag.
import type { Config } from "../config/index.ts";
import type { Engine, LoadedModel } from "../engine/types.ts";
import { buildRagPrompt, createLlamaEmbedder, createRagService, ragOptionsFromConfig, type RagObserver, type RagService } from "../rag/index.ts";
import type { createModelStore } from "../registry/index.ts";

export interface OpenRag {
  service: RagService;
  /** Retrieves for the question and returns a cited prompt plus one display line per source. */
  answerPrompt(question: string): Promise<{ prompt: string; sources: string[] }>;
  close(): Promise<void>;
}

/**
 * With `rag.embedding_model` = "builtin" nothing is loaded; otherwise the named model is loaded for embeddings,
 * which needs the engine and the store.
 */
export async function openRagForCli(
  config: Config,
  deps: { engine?: () => Promise<Engine>; store?: ReturnType<typeof createModelStore>; observer?: RagObserver } = {},
): Promise<OpenRag> {
  const options = { ...ragOptionsFromConfig(config), observer: deps.observer };
  let embedModel: LoadedModel | undefined;
  if (!options.embedder) {
    if (!deps.engine || !deps.store) throw new Error(`rag.embedding_model "${options.embeddingModel}" needs the engine and model store`);
    const variant = await deps.store.resolve(options.embeddingModel);
    embedModel = await (await deps.engine()).loadModel({ path: variant.path, embedding: true, contextSize: 2048 });
    options.embedder = createLlamaEmbedder(embedModel, { id: `${variant.name}:${variant.tag}` });
  }
  const service = await createRagService(options);
  return {
    service,
    async answerPrompt(question) {
      const r = await service.query(question);
      const built = buildRagPrompt(question, r.results, { maxContextTokens: Math.floor(config.models.context_size * 0.75) });
      return { prompt: built.prompt, sources: built.sources.map((s) => `[${s.n}] ${s.title} #${s.chunkIndex} (${s.score.toFixed(3)})`) };
    },
    async close() {
      await service.close();
      await embedModel?.dispose();
    },
  };
}
