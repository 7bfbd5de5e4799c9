// The engine package's public surface: the Engine contract and the factory the rest of Reflexia calls.
import { createNodeLlamaCppEngine, type NodeLlamaCppEngineOptions } from "./node-llama-cpp-engine.ts";
import type { Engine } from "./types.ts";

export * from "./types.ts";
export {
  createNodeLlamaCppEngine,
  defaultDecodeThreads,
  NLC_LOG_LEVELS,
  type NlcLogLevel,
  type NodeLlamaCppEngineOptions,
} from "./node-llama-cpp-engine.ts";

export type CreateEngineOptions = NodeLlamaCppEngineOptions;

/** The engine Reflexia runs on; today node-llama-cpp (a native token loop may replace it behind the same contract). */
export function createEngine(options: CreateEngineOptions = {}): Engine {
  return createNodeLlamaCppEngine(options);
}
