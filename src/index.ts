// The package's public entry point (`import { createReflexia } from "reflexia"`): the library API, its types and the
// typed errors. Everything else under src/ is internal and may change between versions.
export { createReflexia } from "./library/create-reflexia.ts";
export {
  LIBRARY_BENCHMARK_KINDS,
  type BatchItem,
  type BatchOptions,
  type BenchmarkOptions,
  type BenchmarkResult,
  type ChatRequest,
  type ChatStream,
  type DocumentInput,
  type EmbedOptions,
  type EmbedResult,
  type GenerateRequest,
  type GenerateResult,
  type InferenceOptions,
  type LibraryBenchmarkKind,
  type PullModelOptions,
  type RagOption,
  type Reflexia,
  type ReflexiaDocuments,
  type ReflexiaModels,
  type ReflexiaOptions,
  type ReflexiaServer,
  type ServeOptions,
  type SynthModelOptions,
} from "./library/types.ts";
export type { ReflexiaConfigOptions } from "./library/config-options.ts";
export type { TextStream } from "./library/text-stream.ts";
export { ERROR_CODES, ReflexiaError, isReflexiaError, type ErrorCode } from "./errors/index.ts";
export { QUANTIZATIONS, type Config, type Quantization } from "./config/index.ts";
export type { ChatMessage, ChatRole, FinishReason, GenerationTimings, SamplingOptions } from "./engine/types.ts";
export type { ReflexiaMeta, CacheOutcome } from "./services/inference-service.ts";
export type { RagAnswerInfo, RagSourceInfo } from "./services/rag/rag-augment.ts";
export type {
  IngestManyItem,
  IngestResult,
  RagDocument,
  RagQueryOptions,
  RagQueryResult,
  RagResult,
  RagStats,
} from "./rag/index.ts";
export type {
  ModelDetails,
  ModelListing,
  ModelManifest,
  PullResult,
  QuantizeResult,
  SynthProgress,
  SynthResult,
} from "./registry/index.ts";
