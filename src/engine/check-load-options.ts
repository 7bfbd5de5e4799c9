// Validation of LoadModelOptions shared by every Engine backend, so both reject the same bad loads the same way.
import { existsSync, statSync } from "node:fs";
import { CONFIG_DEFAULTS } from "../config/index.ts";
import { ReflexiaError } from "../errors/index.ts";
import type { LoadModelOptions } from "./types.ts";

export const MAX_PARALLEL = 256;
/** Most tokens per llama_decode call (llama.cpp's own n_batch default), for both backends. */
export const DEFAULT_BATCH_SIZE = 512;

/** Throws RFX_VALIDATION / RFX_MODEL_NOT_FOUND; every sequence must keep at least 16 tokens of context. */
export function checkLoadOptions(load: LoadModelOptions): { parallel: number; requestedContext: number } {
  if (typeof load?.path !== "string" || load.path.length === 0)
    throw new ReflexiaError("RFX_VALIDATION", "path is required");
  if (!existsSync(load.path) || !statSync(load.path).isFile())
    throw new ReflexiaError("RFX_MODEL_NOT_FOUND", `model file not found: ${load.path}`, { path: load.path });
  const parallel = load.parallel ?? 1;
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > MAX_PARALLEL)
    throw new ReflexiaError("RFX_VALIDATION", `parallel must be an integer in [1, ${MAX_PARALLEL}] (got ${parallel})`, {
      field: "parallel",
    });
  const requestedContext = load.contextSize ?? CONFIG_DEFAULTS.models.context_size;
  if (!Number.isInteger(requestedContext) || requestedContext < 16)
    throw new ReflexiaError("RFX_VALIDATION", `contextSize must be an integer >= 16 (got ${requestedContext})`, {
      field: "contextSize",
    });
  if (requestedContext / parallel < 16)
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `contextSize ${requestedContext} leaves fewer than 16 tokens for each of ${parallel} sequences`,
      { field: "contextSize" },
    );
  if (load.threads !== undefined && (!Number.isInteger(load.threads) || load.threads < 0))
    throw new ReflexiaError("RFX_VALIDATION", `threads must be an integer >= 0 (got ${load.threads})`, {
      field: "threads",
    });
  return { parallel, requestedContext };
}
