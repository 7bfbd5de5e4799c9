// The engine package's public surface: the Engine contract and the factory the rest of Reflexia calls.
import {
  CONFIG_DEFAULTS,
  type Config,
  type EngineBackend,
  type GpuMode,
  type PromptSplitMode,
} from "../config/index.ts";
import { ReflexiaError } from "../errors/index.ts";
import { createNativeEngine } from "./native/native-engine.ts";
import { createNodeLlamaCppEngine, type NodeLlamaCppEngineOptions } from "./node-llama-cpp/node-llama-cpp-engine.ts";
import type { Engine } from "./types.ts";

export * from "./types.ts";
export {
  createNodeLlamaCppEngine,
  defaultDecodeThreads,
  NLC_LOG_LEVELS,
  type NlcLogLevel,
  type NodeLlamaCppEngineOptions,
} from "./node-llama-cpp/node-llama-cpp-engine.ts";
export { createNativeEngine, type NativeEngine, type NativeEngineOptions } from "./native/native-engine.ts";
export { GPU_BACKENDS, backendModules, type GpuBackend, type BackendModule } from "./gpu/library-sets.ts";
export { isSoftwareDevice, type GpuSelection, type BackendAttempt } from "./gpu/select-gpu-backend.ts";

export { ENGINE_BACKENDS, type EngineBackend } from "../config/index.ts";

export interface CreateEngineOptions extends Omit<NodeLlamaCppEngineOptions, "gpu"> {
  /** GPU backend of the native engine. Defaults to config `gpu.backend`. */
  gpu?: GpuMode;
  /** Which backend runs inference ("auto": native when its addon loads, else node-llama-cpp). Defaults to config `engine.backend`. */
  backend?: EngineBackend;
  /** Prefix cache of the native engine. Defaults to config `models.prefix_cache`. */
  prefixCache?: boolean;
  /** Prompts per decode step of the native engine. Defaults to config `scheduler.prompt_split`. */
  promptSplit?: PromptSplitMode;
  /** Called once when "auto" falls back to node-llama-cpp, with the reason. Defaults to a warning on stderr. */
  onFallback?: (reason: string) => void;
}

/**
 * The native decode loop is the default: it keeps llama.cpp's token loop and continuous batching off Node's
 * thread (issue 6). node-llama-cpp stays as the fallback for machines where the addon did not build.
 */
export function createEngine(options: CreateEngineOptions = {}): Engine {
  const {
    backend = CONFIG_DEFAULTS.engine.backend,
    onFallback,
    gpu = CONFIG_DEFAULTS.gpu.backend,
    prefixCache,
    promptSplit,
    ...rest
  } = options;
  if (backend === "node-llama-cpp") return createNodeLlamaCppEngine(rest);
  try {
    return createNativeEngine({ threads: rest.threads, gpu, prefixCache, promptSplit });
  } catch (e) {
    if (backend === "native") throw e;
    const reason = e instanceof ReflexiaError || e instanceof Error ? e.message : String(e);
    (onFallback ?? ((r) => process.stderr.write(`warning: native engine unavailable (${r}); using node-llama-cpp\n`)))(
      reason,
    );
    return createNodeLlamaCppEngine(rest);
  }
}

/** The configured backend and GPU with performance.thread_pool_size threads (0 picks the measured default). */
export function createEngineFromConfig(
  config: Config,
  options: Omit<CreateEngineOptions, "backend" | "threads" | "gpu" | "prefixCache" | "promptSplit"> = {},
): Engine {
  return createEngine({
    ...options,
    backend: config.engine.backend,
    threads: config.performance.thread_pool_size > 0 ? config.performance.thread_pool_size : undefined,
    gpu: config.gpu.backend,
    prefixCache: config.models.prefix_cache,
    promptSplit: config.scheduler.prompt_split,
  });
}
