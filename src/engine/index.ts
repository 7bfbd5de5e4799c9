// The engine package's public surface: the Engine contract and the factory the rest of Reflexia calls.
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

export const ENGINE_BACKENDS = ["auto", "native", "node-llama-cpp"] as const;
export type EngineBackend = (typeof ENGINE_BACKENDS)[number];

export interface CreateEngineOptions extends NodeLlamaCppEngineOptions {
  /** Which backend runs inference. Defaults to "auto": native when its addon loads, else node-llama-cpp. */
  backend?: EngineBackend;
  /** Called once when "auto" falls back to node-llama-cpp, with the reason. Defaults to a warning on stderr. */
  onFallback?: (reason: string) => void;
}

/**
 * The native decode loop is the default: it keeps llama.cpp's token loop and continuous batching off Node's
 * thread (issue 6). node-llama-cpp stays as the fallback for machines where the addon did not build.
 */
export function createEngine(options: CreateEngineOptions = {}): Engine {
  const { backend = "auto", onFallback, ...rest } = options;
  if (backend === "node-llama-cpp") return createNodeLlamaCppEngine(rest);
  try {
    return createNativeEngine({ threads: rest.threads });
  } catch (e) {
    if (backend === "native") throw e;
    const reason = e instanceof ReflexiaError || e instanceof Error ? e.message : String(e);
    (onFallback ?? ((r) => process.stderr.write(`warning: native engine unavailable (${r}); using node-llama-cpp\n`)))(reason);
    return createNodeLlamaCppEngine(rest);
  }
}
