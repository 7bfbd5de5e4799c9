// The generate/chat use-case behind every API: validate, choose the variant, consult the cache, run on a
// scheduler lease, record metrics and explain the decision.
import type { Config } from "../config/index.ts";
import { deriveCacheKey, isCacheable, type ResponseCache } from "../cache/index.ts";
import type {
  ChatMessage,
  FinishReason,
  GenerationResult,
  GenerationTimings,
  SamplingOptions,
} from "../engine/types.ts";
import { ReflexiaError } from "../errors/index.ts";
import type { ReflexiaMetrics } from "../metrics/index.ts";
import type { Scheduler } from "../scheduler/index.ts";
import type { RagAnswerInfo, RagAugmenter, RagRequestOptions, RagSourceInfo } from "./rag/rag-augment.ts";
import { applyRole, type RoleCatalog } from "./roles.ts";
import type { VariantSelection, VariantSelector } from "./select-variant.ts";

export const INFERENCE_KINDS = ["chat", "completion"] as const;
/** chat: messages through the model's chat template; completion: a raw prompt continued as is. */
export type InferenceKind = (typeof INFERENCE_KINDS)[number];

export const CACHE_OUTCOMES = ["hit", "miss", "bypass"] as const;
export type CacheOutcome = (typeof CACHE_OUTCOMES)[number];

export interface InferenceRequest {
  kind: InferenceKind;
  /** `name` (adaptive variant choice) or `name:tag` (pinned); defaults to models.default. */
  model?: string;
  messages?: ChatMessage[];
  prompt?: string;
  /** Expert role id; its system prompt is prepended. */
  role?: string;
  sampling: SamplingOptions;
  /** Per-request keep-alive override in seconds. */
  keepAliveSeconds?: number;
  signal?: AbortSignal;
  /** Answer from the stored documents: retrieve for the question and quote the sources in the prompt. */
  rag?: RagRequestOptions;
  /**
   * OpenAI request fields a route carries through unchanged to a remote variant's upstream (structured output,
   * tools, vendor options); a local variant refuses them by name.
   */
  upstreamFields?: Record<string, unknown>;
}

/** Why this variant served the request: the Reflexia-specific part of every response. */
export interface ReflexiaMeta {
  /** `name:tag` that generated (or whose cached answer was served). */
  variant: string;
  model: string;
  tag: string;
  quantization: string;
  /** Where the variant runs: the local engine or remote upstream servers. */
  kind: "local" | "remote";
  /** Machine-readable reason of the variant choice (the policy's label: pinned, complexity_high, prefer_loaded…). */
  reason: string;
  /** Human-readable explanation of the choice. */
  detail: string;
  complexity: { level: string; score: number } | null;
  /** Used memory / budget when the choice was made; null without a memory monitor. */
  memory_pressure: number | null;
  cache: CacheOutcome;
  /** RAG requests only: the cited sources ([n] markers in the prompt) and how retrieval went. */
  sources?: RagSourceInfo[];
  rag?: RagAnswerInfo;
  role: string | null;
  queue_ms: number;
  load_ms: number;
}

export interface InferenceHooks {
  /** Called once the variant is chosen and a sequence is held (or a cache hit is found), before any text. */
  onStart?(meta: ReflexiaMeta): void;
  /** Text as it is generated (stop strings already removed). */
  onText?(text: string): void;
}

export interface InferenceOutcome {
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  completionTokens: number;
  timings: GenerationTimings;
  /** Time waiting for the variant to load, ms. */
  loadMs: number;
  /** Time waiting in the queue, ms. */
  queueMs: number;
  /** Whole call, ms (selection, queue, load and generation). */
  totalMs: number;
  meta: ReflexiaMeta;
}

export interface InferenceServiceOptions {
  config: Config;
  scheduler: Scheduler;
  selector: VariantSelector;
  roles: RoleCatalog;
  metrics?: ReflexiaMetrics;
  /** Response cache; absent or config cache.enabled=false means every request bypasses it. */
  cache?: ResponseCache<CachedGeneration>;
  /** Serves `rag` requests; without it they are refused. */
  rag?: RagAugmenter;
}

export interface CachedGeneration {
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  completionTokens: number;
  /** The sources a RAG answer cited (the entry is tagged "rag" and dropped when documents change). */
  rag?: { sources: RagSourceInfo[]; info: RagAnswerInfo };
}

/** The per-request limits run() enforces, for clients that size their input to them (the web UI's fields). */
export interface InferenceLimits {
  /** Largest max_tokens accepted: a sequence's share of the context (CONTEXT_SIZE / PARALLEL). */
  maxTokens: number;
  /** Tokens generated when a request sets no limit (DEFAULT_MAX_TOKENS, capped at maxTokens). */
  defaultMaxTokens: number;
  /** Largest prompt (or sum of messages) in characters (MAX_PROMPT_CHARS). */
  maxPromptChars: number;
}

export interface InferenceService {
  run(request: InferenceRequest, hooks?: InferenceHooks): Promise<InferenceOutcome>;
  limits(): InferenceLimits;
}

function promptChars(req: InferenceRequest): number {
  let n = req.prompt?.length ?? 0;
  for (const m of req.messages ?? []) n += m.content.length;
  return n;
}

const ZERO_TIMINGS: GenerationTimings = {
  queueMs: 0,
  promptEvalMs: 0,
  ttftMs: 0,
  evalMs: 0,
  totalMs: 0,
  interTokenMs: [],
};

export function createInferenceService(options: InferenceServiceOptions): InferenceService {
  const { config, scheduler, selector, roles, metrics } = options;
  const cache = config.cache.enabled ? options.cache : undefined;
  const contextSize = config.models.context_size;
  // The engine splits the context between the parallel sequences (as llama.cpp's server does).
  const perSequence = Math.floor(contextSize / scheduler.parallel);
  const defaultMaxTokens = Math.min(config.models.default_max_tokens, perSequence);

  const validate = (req: InferenceRequest): void => {
    const chars = promptChars(req);
    if (chars > config.server.max_prompt_chars) {
      throw new ReflexiaError(
        "RFX_PAYLOAD_TOO_LARGE",
        `the prompt has ${chars} characters; the limit is ${config.server.max_prompt_chars} (MAX_PROMPT_CHARS)`,
        {
          chars,
          limit: config.server.max_prompt_chars,
        },
      );
    }
    if (req.kind === "chat" && (!req.messages || req.messages.length === 0)) {
      throw new ReflexiaError("RFX_VALIDATION", "messages must contain at least one message");
    }
    if (req.kind === "completion" && typeof req.prompt !== "string") {
      throw new ReflexiaError("RFX_VALIDATION", "prompt is required");
    }
    const max = req.sampling.maxTokens;
    if (max !== undefined && (!Number.isInteger(max) || max < 1)) {
      throw new ReflexiaError("RFX_VALIDATION", `max_tokens must be a positive integer, got ${String(max)}`);
    }
    if (max !== undefined && max > perSequence) {
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `max_tokens ${max} exceeds the ${perSequence}-token context of a sequence (CONTEXT_SIZE ${contextSize} / PARALLEL ${scheduler.parallel})`,
        {
          maxTokens: max,
          contextPerSequence: perSequence,
        },
      );
    }
  };

  const metaOf = (
    sel: VariantSelection,
    cacheOutcome: CacheOutcome,
    role: string | undefined,
    queueMs: number,
    loadMs: number,
  ): ReflexiaMeta => ({
    variant: `${sel.variant.name}:${sel.variant.tag}`,
    model: sel.variant.name,
    tag: sel.variant.tag,
    quantization: sel.variant.quantization,
    kind: sel.variant.remote ? "remote" : "local",
    reason: sel.reason,
    detail: sel.detail,
    complexity: sel.complexity
      ? { level: sel.complexity.level, score: Math.round(sel.complexity.score * 1000) / 1000 }
      : null,
    memory_pressure: sel.pressure === null ? null : Math.round(sel.pressure * 1000) / 1000,
    cache: cacheOutcome,
    role: role ?? null,
    queue_ms: Math.round(queueMs * 100) / 100,
    load_ms: Math.round(loadMs * 100) / 100,
  });

  return {
    limits: () => ({ maxTokens: perSequence, defaultMaxTokens, maxPromptChars: config.server.max_prompt_chars }),
    async run(req, hooks = {}) {
      const t0 = performance.now();
      validate(req);
      const role = req.role ? roles.get(req.role) : undefined;
      let messages: ChatMessage[] | undefined;
      let prompt: string | undefined;
      if (req.kind === "chat") messages = applyRole(req.messages ?? [], role);
      else prompt = role ? `${role.systemPrompt}\n\n${req.prompt ?? ""}` : req.prompt;

      const sel = await selector.select(req.model ?? config.models.default, {
        messages: req.messages,
        prompt: req.prompt,
      });
      const sampling: SamplingOptions = {
        ...req.sampling,
        maxTokens: req.sampling.maxTokens ?? defaultMaxTokens,
      };
      const upstreamFields =
        req.upstreamFields && Object.keys(req.upstreamFields).length ? req.upstreamFields : undefined;
      if (upstreamFields && !sel.variant.remote)
        throw new ReflexiaError(
          "RFX_VALIDATION",
          `${Object.keys(upstreamFields).join(", ")}: passed through only to remote variants; ${sel.variant.name}:${sel.variant.tag} is local`,
        );
      if (req.rag && !options.rag)
        throw new ReflexiaError("RFX_VALIDATION", "rag was requested but this server has no document store");
      // Retrieval precedes the cache lookup: what was retrieved is part of the key.
      const ragTurn = req.rag
        ? await options.rag!.begin({ kind: req.kind, messages: req.messages, prompt: req.prompt, rag: req.rag })
        : undefined;

      const cacheable =
        cache !== undefined &&
        isCacheable(
          { temperature: sampling.temperature, seed: sampling.seed },
          { deterministicOnly: config.cache.deterministic_only },
        );
      // The key names the weights (the blob's digest), not only name:tag: a variant replaced under the same name
      // must not answer with its predecessor's text. The variant is the one a miss would run: the selector chose it
      // as for any request, on the last memory sample when the choice cannot depend on memory (a loaded variant).
      const key = cacheable
        ? deriveCacheKey({
            variant: `${sel.variant.name}:${sel.variant.tag}@${sel.variant.manifest.digest}`,
            kind: req.kind,
            prompt,
            messages,
            role: req.role,
            sampling: { ...sampling },
            ragFingerprint: ragTurn?.fingerprint,
            extra: { contextSize, perSequence, upstreamFields },
          })
        : "";
      if (cacheable) {
        const hit = cache.get(key);
        if (hit) {
          metrics?.cache.hits.inc();
          selector.record(sel);
          const meta: ReflexiaMeta = {
            ...metaOf(sel, "hit", req.role, 0, 0),
            ...(hit.rag ? { sources: hit.rag.sources, rag: hit.rag.info } : {}),
          };
          hooks.onStart?.(meta);
          if (hit.text) hooks.onText?.(hit.text);
          const totalMs = performance.now() - t0;
          return { ...hit, timings: { ...ZERO_TIMINGS, totalMs }, loadMs: 0, queueMs: 0, totalMs, meta };
        }
        metrics?.cache.misses.inc();
      }

      const lease = await scheduler.acquire(`${sel.variant.name}:${sel.variant.tag}`, {
        signal: req.signal,
        keepAliveSeconds: req.keepAliveSeconds,
      });
      let result: GenerationResult;
      let meta: ReflexiaMeta;
      try {
        meta = metaOf(sel, cacheable ? "miss" : "bypass", req.role, lease.queueMs, lease.loadMs);
        if (ragTurn) {
          const contextTokens = Math.min(perSequence, Math.floor(lease.model.contextSize / lease.model.parallel));
          const applied = ragTurn.apply({ kind: req.kind, messages, prompt }, lease.model, {
            contextTokens,
            maxTokens: sampling.maxTokens!,
          });
          ({ messages, prompt } = applied);
          meta = { ...meta, sources: applied.sources, rag: applied.info };
        }
        selector.record(sel);
        hooks.onStart?.(meta);
        const opts = { ...sampling, signal: req.signal, onText: hooks.onText, extra: upstreamFields };
        result =
          req.kind === "chat"
            ? await lease.model.chat(messages ?? [], opts)
            : await lease.model.generate(prompt ?? "", opts);
      } finally {
        lease.release();
      }
      // Stopped by the server (shutdown at the drain limit), not by the client: an error with its own code, so
      // the half answer is never sent or cached as if complete.
      if (result.finishReason === "cancelled" && req.signal?.reason instanceof ReflexiaError) throw req.signal.reason;
      metrics?.inference.observeGeneration(sel.variant, result);
      // Stored only when the weights that ran are the ones the key names (a variant replaced while loaded keeps
      // serving from its old file until unloaded; its answer must not be filed under the new digest).
      if (cacheable && result.finishReason !== "cancelled" && lease.variant.path === sel.variant.path) {
        const rag = meta.sources && meta.rag ? { sources: meta.sources, info: meta.rag } : undefined;
        cache.set(
          key,
          {
            text: result.text,
            finishReason: result.finishReason,
            promptTokens: result.promptTokens,
            completionTokens: result.completionTokens,
            rag,
          },
          rag ? { tags: ["rag"] } : undefined,
        );
      }
      return { ...result, loadMs: lease.loadMs, queueMs: lease.queueMs, totalMs: performance.now() - t0, meta };
    },
  };
}
