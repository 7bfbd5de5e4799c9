// The native engine's logits evaluator: a model and a context that keeps the logits of every position (the addon's
// Evaluator), for quality measurements that compare variants token by token.
import { createSerialQueue } from "./serial-queue.ts";
import { ReflexiaError } from "../../errors/index.ts";
import type { LoadEvaluatorOptions, LogitsEvaluator } from "../types.ts";
import { modelInfoOf, type NativeAddon } from "./native-addon.ts";

// One micro-batch per evaluation up to this size: llama-perplexity's default n_batch, the same graph shapes.
const MAX_BATCH = 2048;

export async function loadNativeEvaluator(
  addon: NativeAddon,
  load: LoadEvaluatorOptions,
  threads: number,
  poll: number,
): Promise<LogitsEvaluator> {
  if (!Number.isInteger(load.contextSize) || load.contextSize < 2)
    throw new ReflexiaError("RFX_VALIDATION", `contextSize must be an integer >= 2 (got ${load.contextSize})`);
  let model;
  try {
    model = await addon.loadModel(load.path, { useMmap: true, gpuLayers: 0, devices: [] });
  } catch (e) {
    throw new ReflexiaError(
      "RFX_ENGINE",
      `cannot load ${load.path}: ${e instanceof Error ? e.message : String(e)}`,
      { path: load.path },
      { cause: e },
    );
  }
  const native = model.info();
  const info = modelInfoOf(native, load.path);
  const contextSize = Math.min(load.contextSize, native.trainContextSize || load.contextSize);
  let evaluator;
  try {
    evaluator = new addon.Evaluator(model, {
      contextSize,
      batchSize: Math.min(contextSize, MAX_BATCH),
      threads,
      poll,
    });
  } catch (e) {
    model.dispose();
    throw new ReflexiaError(
      "RFX_ENGINE",
      `cannot create an evaluation context for ${load.path}: ${e instanceof Error ? e.message : String(e)}`,
      { path: load.path },
      { cause: e },
    );
  }
  let disposed = false;
  const queue = createSerialQueue();
  const ensureOpen = () => {
    if (disposed) throw new ReflexiaError("RFX_NOT_READY", `model ${load.path} has been unloaded`);
  };
  const toTokens = (tokens: number[]) => {
    if (!Array.isArray(tokens) || tokens.some((t) => !Number.isInteger(t) || t < 0 || t >= info.vocabSize))
      throw new ReflexiaError("RFX_VALIDATION", `tokens must be integers in [0, ${info.vocabSize})`);
    return Int32Array.from(tokens);
  };
  return {
    info,
    contextSize,
    tokenize: (text, addBos) => (ensureOpen(), Array.from(model.tokenize(text, addBos, false))),
    detokenize: (tokens) => (ensureOpen(), model.detokenize(toTokens(tokens), false, false)),
    async evaluate(tokens) {
      ensureOpen();
      const input = toTokens(tokens);
      if (input.length === 0 || input.length > contextSize)
        throw new ReflexiaError(
          "RFX_CONTEXT_OVERFLOW",
          `evaluate takes 1 to ${contextSize} tokens (got ${input.length})`,
          { tokens: input.length, contextSize },
        );
      // One at a time: the context has one sequence.
      const run = () => (ensureOpen(), evaluator.evaluate(input));
      return queue.run(run);
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await queue.idle();
      evaluator.close();
      model.dispose();
    },
  };
}
