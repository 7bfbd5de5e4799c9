// The embeddings use-case: a stored model's embedding context through the scheduler, or the builtin hashed
// embedder (offline, no model) when the request names it. Model embeddings run in batches of
// embeddings.batch_size, each under its own lease, so a long request cannot hold the engine against later ones.
import type { Config } from "../config/index.ts";
import { ReflexiaError } from "../errors/index.ts";
import type { Scheduler } from "../scheduler/index.ts";

/** The subset of src/rag's Embedder this service needs. */
export interface BuiltinEmbedder {
  readonly id: string;
  readonly dim: number;
  embed(texts: string[]): Promise<Float32Array[] | number[][]>;
}

/** Model names that select the builtin embedder (besides its own id, e.g. "hash-v1-384"). */
export const BUILTIN_EMBEDDER_NAMES = ["builtin", "reflexia-embed"] as const;

export interface EmbedRequest {
  /** `name[:tag]` of a stored model, or a builtin embedder name; defaults to models.default. */
  model?: string;
  input: string[];
  keepAliveSeconds?: number;
  signal?: AbortSignal;
  /**
   * An input longer than the model's embedding context is cut from its end to fit (Ollama's /api/embed default)
   * instead of refused with RFX_CONTEXT_OVERFLOW (OpenAI's /v1/embeddings). The builtin embedder has no such limit.
   */
  truncate?: boolean;
  /**
   * The most tokens an input may have (Ollama's options.num_ctx), the special tokens the model adds included: a
   * longer one is cut to it with `truncate`, else refused with RFX_CONTEXT_OVERFLOW, as for the model's own context
   * (whichever is smaller applies). Not for the builtin embedder, which counts no tokens.
   */
  maxInputTokens?: number;
  /** The vector size asked for: only the model's own is accepted (assertDimensions). */
  dimensions?: number;
}

/**
 * `dimensions` (OpenAI's, and Ollama's /api/embed): shortening a vector is only sound for models trained for it
 * (Matryoshka); a GGUF does not say whether it was, so only the model's own size is accepted.
 */
export function assertDimensions(dimensions: number | undefined, model: string, embeddings: number[][]): void {
  const size = embeddings[0]?.length;
  if (dimensions !== undefined && size !== undefined && dimensions !== size)
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `dimensions ${dimensions} is not supported: ${model} gives ${size}-dimensional vectors and is not known to support truncation; omit dimensions or send ${size}`,
      { field: "dimensions" },
    );
}

/** The model's loaded embedding context, as the lease gives it: what fitting inputs to a token limit needs. */
type EmbeddingModel = {
  tokenize(text: string): number[];
  detokenize(tokens: number[]): string;
  embed(texts: string[]): Promise<{ promptTokens: number }>;
};

/**
 * Fits each input to `limit` tokens counted as the model evaluates them (its BOS/EOS included, learnt once from a
 * one-character probe): cut from the end and detokenized (as Ollama does) with `truncate`, else refused.
 */
async function fitInputs(model: EmbeddingModel, texts: string[], limit: number, truncate: boolean): Promise<string[]> {
  let added: number | undefined;
  const out: string[] = [];
  for (const text of texts) {
    const tokens = text.length === 0 ? [] : model.tokenize(text);
    // At most two tokens (BOS, EOS) are added: below that no probe is needed.
    if (tokens.length + 2 <= limit || tokens.length === 0) {
      out.push(text);
      continue;
    }
    added ??= Math.max(0, (await model.embed(["a"])).promptTokens - model.tokenize("a").length);
    const n = tokens.length + added;
    if (n <= limit) out.push(text);
    else if (truncate) out.push(model.detokenize(tokens.slice(0, Math.max(0, limit - added))));
    else
      throw new ReflexiaError(
        "RFX_CONTEXT_OVERFLOW",
        `text of ${n} tokens does not fit the ${limit}-token embedding context options.num_ctx asks for`,
        { tokens: n, contextSize: limit },
      );
  }
  return out;
}

export interface EmbedOutcome {
  /** The model name as served (`name:tag` for stored models). */
  model: string;
  embeddings: number[][];
  promptTokens: number;
  loadMs: number;
  totalMs: number;
  backend: "model" | "builtin";
}

export interface EmbedServiceOptions {
  config: Config;
  scheduler: Scheduler;
  /** Resolves an untagged name to its variant (the selector's default choice). */
  resolveRef: (ref: string) => Promise<{ name: string; tag: string }>;
  builtin?: BuiltinEmbedder;
}

export interface EmbedService {
  embed(request: EmbedRequest): Promise<EmbedOutcome>;
  /** Whether `model` names the builtin embedder. */
  isBuiltin(model: string): boolean;
}

function roughTokens(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

export function createEmbedService(options: EmbedServiceOptions): EmbedService {
  const { config, scheduler, builtin } = options;
  const isBuiltin = (model: string): boolean =>
    builtin !== undefined && ((BUILTIN_EMBEDDER_NAMES as readonly string[]).includes(model) || model === builtin.id);

  return {
    isBuiltin,
    async embed(req) {
      const t0 = performance.now();
      const { max_inputs: maxInputs, batch_size: batchSize } = config.embeddings;
      if (req.input.length > maxInputs) {
        throw new ReflexiaError(
          "RFX_PAYLOAD_TOO_LARGE",
          `the request has ${req.input.length} inputs; the limit is ${maxInputs} (EMBED_MAX_INPUTS)`,
          { inputs: req.input.length, limit: maxInputs },
        );
      }
      const chars = req.input.reduce((a, t) => a + t.length, 0);
      if (chars > config.server.max_prompt_chars) {
        throw new ReflexiaError(
          "RFX_PAYLOAD_TOO_LARGE",
          `the input has ${chars} characters; the limit is ${config.server.max_prompt_chars} (MAX_PROMPT_CHARS)`,
        );
      }
      const model = req.model ?? config.models.default;
      if (isBuiltin(model) && builtin) {
        if (req.maxInputTokens !== undefined)
          throw new ReflexiaError(
            "RFX_VALIDATION",
            `options.num_ctx bounds a model's input in tokens; the builtin embedder ${builtin.id} counts none, so leave it out`,
            { field: "options.num_ctx" },
          );
        const vectors = (await builtin.embed(req.input)).map((v) => Array.from(v));
        assertDimensions(req.dimensions, model, vectors);
        return {
          model,
          embeddings: vectors,
          promptTokens: req.input.reduce((a, t) => a + roughTokens(t), 0),
          loadMs: 0,
          totalMs: performance.now() - t0,
          backend: "builtin",
        };
      }
      const resolved = await options.resolveRef(model);
      const ref = `${resolved.name}:${resolved.tag}`;
      const embeddings: number[][] = [];
      let promptTokens = 0;
      let loadMs = 0;
      // One lease per batch: the scheduler's queue is FIFO, so a request that arrives meanwhile gets the engine
      // at the next batch boundary, and a client that went away stops costing anything there. (An empty input
      // still takes one turn: the model is resolved and loaded, as for any request.)
      for (let start = 0; start === 0 || start < req.input.length; start += batchSize) {
        if (req.signal?.aborted) throw new ReflexiaError("RFX_CANCELLED", "the request was cancelled by the client");
        const batch = req.input.slice(start, start + batchSize);
        await scheduler.run(
          ref,
          { embedding: true, signal: req.signal, keepAliveSeconds: req.keepAliveSeconds },
          async (lease) => {
            if (start === 0) loadMs = lease.loadMs;
            if (batch.length === 0) return;
            const texts =
              req.maxInputTokens === undefined
                ? batch
                : await fitInputs(lease.model, batch, req.maxInputTokens, req.truncate === true);
            const out = await lease.model.embed(texts, { truncate: req.truncate });
            embeddings.push(...out.embeddings);
            promptTokens += out.promptTokens;
          },
        );
      }
      assertDimensions(req.dimensions, ref, embeddings);
      return {
        model: ref,
        embeddings,
        promptTokens,
        loadMs,
        totalMs: performance.now() - t0,
        backend: "model" as const,
      };
    },
  };
}
