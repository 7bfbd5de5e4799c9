// Retrieval helpers: rank fusion and cited prompt assembly.
export { reciprocalRankFusion, RRF_K, type FusedHit } from "./reciprocal-rank-fusion.ts";
export {
  buildRagPrompt,
  DEFAULT_RAG_INSTRUCTIONS,
  type BuildRagPromptOptions,
  type CitableResult,
  type RagPrompt,
  type RagSource,
} from "./build-rag-prompt.ts";
