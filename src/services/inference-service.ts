// The generate/chat use-case behind every API: validate, choose the variant, consult the cache, run on a
// scheduler lease, record metrics and explain the decision.
import type { Config, ContextOverflowPolicy } from "../config/index.ts";
import { SAMPLING_DEFAULTS } from "../engine/resolve-sampling.ts";
import { deriveCacheKey, isCacheable, verbatim, type ResponseCache } from "../cache/index.ts";
import type {
  ChatMessage,
  FinishReason,
  GenerationResult,
  GenerationTimings,
  SamplingOptions,
  TokenLogprob,
  ToolDefinition,
} from "../engine/types.ts";
import { checkLogitBiasIds } from "../engine/resolve-sampling.ts";
import { ReflexiaError } from "../errors/index.ts";
import { parseModelRef } from "../registry/index.ts";
import type { ReflexiaMetrics } from "../metrics/index.ts";
import type { Scheduler } from "../scheduler/index.ts";
import type { RagAnswerInfo, RagAugmenter, RagRequestOptions, RagSourceInfo } from "./rag/rag-augment.ts";
import { effectiveTemplate, renderTemplatePrompt, withModelDefaults, withModelMessages } from "./apply-modelfile.ts";
import { applyRole, type RoleCatalog } from "./roles.ts";
import type { VariantSelection, VariantSelector } from "./select-variant.ts";
import { fitContext, type ContextFit } from "./fit-context.ts";

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
  /** completion: text after the gap; the prompt is then a fill-in-the-middle prompt (the model needs FIM tokens). */
  suffix?: string;
  /** Expert role id; its system prompt is prepended. */
  role?: string;
  sampling: SamplingOptions;
  /** chat: functions offered to the model (rendered by its chat template). */
  tools?: ToolDefinition[];
  /** Per-request keep-alive override in seconds. */
  keepAliveSeconds?: number;
  signal?: AbortSignal;
  /** Answer from the stored documents: retrieve for the question and quote the sources in the prompt. */
  rag?: RagRequestOptions;
  /** Go template (Ollama's `template`) that formats a chat's messages instead of the model's own template. */
  template?: string;
  /** Most tokens (prompt + generated) for this request when below what the engine allows one request (num_ctx). */
  contextSize?: number;
  /** Token ids of a previous prompt and answer to continue from (Ollama's `context`). */
  contextTokens?: number[];
  /** Return the prompt's and answer's token ids (InferenceOutcome.tokens). */
  returnTokens?: boolean;
  /** false: reuse no cached prompt prefix (llama-server's cache_prompt: false; GenerateOptions.cachePrompt). */
  cachePrompt?: boolean;
  /** Generate until the context is full (Ollama's num_predict -2): sampling.maxTokens is then not the client's. */
  fillContext?: boolean;
  /** This request's context-overflow policy instead of CONTEXT_OVERFLOW (the Responses API's `truncation`). */
  contextOverflow?: ContextOverflowPolicy;
}

/**
 * The temperature and top_p a generation runs with: the request's, else the model's stored parameter, else the
 * engine's default; null on a remote variant when neither the request nor the model sets it (its server decides).
 */
export interface AppliedSampling {
  temperature: number | null;
  topP: number | null;
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
  /** Present when the context-overflow policy changed the request: messages dropped or max_tokens lowered. */
  context?: {
    limit: number;
    prompt_tokens: number;
    dropped_messages: number;
    max_tokens: number;
    max_tokens_lowered: boolean;
  };
}

export interface InferenceHooks {
  /** Called once the variant is chosen and a sequence is held (or a cache hit is found), before any text. */
  onStart?(meta: ReflexiaMeta, applied: AppliedSampling): void;
  /** Text as it is generated (stop strings already removed), with its tokens' log-probabilities when asked. */
  onText?(text: string, logprobs?: TokenLogprob[]): void;
}

export interface InferenceOutcome {
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  /** Prompt tokens served from the prefix cache (only promptTokens - cachedPromptTokens were evaluated). */
  cachedPromptTokens: number;
  completionTokens: number;
  /** The prompt's then the answer's token ids, when the request asked (returnTokens). */
  tokens?: number[];
  timings: GenerationTimings;
  /** One entry per generated token when sampling.logprobs was set. */
  logprobs?: TokenLogprob[];
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
  tokens?: number[];
  /** The sources a RAG answer cited (the entry is tagged "rag" and dropped when documents change). */
  rag?: { sources: RagSourceInfo[]; info: RagAnswerInfo };
  /** What the context-overflow policy changed (messages dropped, max_tokens lowered), reported on a hit as on the miss. */
  context?: ReflexiaMeta["context"];
}

/** The per-request limits run() enforces, for clients that size their input to them (the web UI's fields). */
export interface InferenceLimits {
  /** Largest max_tokens accepted: the context one request may use (CONTEXT_SIZE), less its prompt. */
  maxTokens: number;
  /** Tokens generated when a request sets no limit (DEFAULT_MAX_TOKENS, capped at CONTEXT_SIZE / PARALLEL). */
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

const contextMeta = (f: ContextFit): NonNullable<ReflexiaMeta["context"]> => ({
  limit: f.limit,
  prompt_tokens: f.promptTokens,
  dropped_messages: f.droppedMessages,
  max_tokens: f.maxTokens,
  max_tokens_lowered: f.maxTokensLowered,
});

export function createInferenceService(options: InferenceServiceOptions): InferenceService {
  const { config, scheduler, selector, roles, metrics } = options;
  const cache = config.cache.enabled ? options.cache : undefined;
  const contextSize = config.models.context_size;
  // Any one request may use the whole context (one KV pool), but admission reserves prompt + max_tokens: a request
  // that sets no limit gets at most its fair share, so PARALLEL of them can still run at once.
  const fairShare = Math.floor(contextSize / scheduler.parallel);
  const defaultMaxTokens = Math.min(config.models.default_max_tokens, fairShare);

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
      throw new ReflexiaError("RFX_VALIDATION", `max_tokens must be a positive integer, got ${String(max)}`, {
        field: "max_tokens",
      });
    }
    if (max !== undefined && !req.fillContext && max >= contextSize) {
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `max_tokens ${max} leaves no room for a prompt in the ${contextSize}-token context (CONTEXT_SIZE)`,
        { field: "max_tokens", maxTokens: max, contextSize },
      );
    }
    const n = req.contextSize;
    if (n !== undefined && (!Number.isInteger(n) || n < 1))
      throw new ReflexiaError("RFX_VALIDATION", `num_ctx must be a positive integer, got ${String(n)}`);
    // Ollama would reload the model with the larger context; here the pool is the server's, so a larger num_ctx
    // cannot be honoured and is refused rather than quietly capped.
    if (n !== undefined && n > contextSize)
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `num_ctx ${n} is above this server's ${contextSize}-token context (CONTEXT_SIZE); send at most ${contextSize}, or start the server with a larger CONTEXT_SIZE`,
        { field: "options.num_ctx", contextSize },
      );
  };

  // The overflow policy applied to this turn, with the prompt counted as the engine will evaluate it.
  const fitTurn = (
    req: InferenceRequest,
    model: { tokenize(text: string): number[]; formatChat(messages: ChatMessage[]): string; maxTokenChars?: number },
    limit: number,
    messages: ChatMessage[] | undefined,
    prompt: string | undefined,
    maxTokens: number,
  ) => {
    // BOS, or the continued context's tokens.
    const before = req.contextTokens ? req.contextTokens.length : 1;
    // The bound and the count read the same text: it is rendered once per message list (a chat template per turn).
    let rendered: { m: ChatMessage[] | undefined; text: string } | undefined;
    const textOf = (m: ChatMessage[] | undefined): string => {
      if (rendered === undefined || rendered.m !== m) rendered = { m, text: m ? model.formatChat(m) : (prompt ?? "") };
      return rendered.text;
    };
    const perToken = model.maxTokenChars;
    return fitContext({
      policy: req.contextOverflow ?? config.models.context_overflow,
      limit,
      messages: req.kind === "chat" ? messages : undefined,
      countTokens: (m) => before + model.tokenize(textOf(m)).length,
      ...(perToken
        ? { leastTokens: (m: ChatMessage[] | undefined) => before + Math.floor(textOf(m).length / perToken) }
        : {}),
      maxTokens: req.fillContext ? limit : maxTokens,
      maxTokensExplicit: req.sampling.maxTokens !== undefined && !req.fillContext,
      limitName:
        req.contextSize !== undefined && req.contextSize < limit + 1
          ? `num_ctx ${req.contextSize}`
          : limit < contextSize
            ? `the model's trained context; CONTEXT_SIZE ${contextSize} is capped to it`
            : `CONTEXT_SIZE ${contextSize}`,
    });
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

  const service: InferenceService = {
    limits: () => ({ maxTokens: contextSize - 1, defaultMaxTokens, maxPromptChars: config.server.max_prompt_chars }),
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
      // What the model was created with (system prompt, parameters, messages) fills what the request leaves out.
      const settings = sel.variant.manifest.modelfile;
      // A model's num_predict -2 is a request's -2 (fill the context) whenever the request sets no limit of its own.
      if (req.sampling.maxTokens === undefined && settings?.parameters?.num_predict === -2)
        req = { ...req, fillContext: true };
      if (messages) messages = withModelMessages(messages, settings);
      const template = req.kind === "chat" ? effectiveTemplate(req.template, settings) : undefined;
      // A stored Go template is rendered without the tools (as /api/show's capabilities say): the model would never
      // see them, so they are refused as Ollama refuses tools to a model whose template lacks them.
      if (template !== undefined && req.tools?.length)
        throw new ReflexiaError(
          "RFX_VALIDATION",
          `${sel.variant.name}:${sel.variant.tag} does not support tools: its stored Go template is rendered without them, so the model would never see them (send the request without tools, or use a model without a template)`,
          { field: "tools" },
        );
      const requested = withModelDefaults(req.sampling, settings);
      const sampling: SamplingOptions = {
        ...requested,
        maxTokens: requested.maxTokens ?? defaultMaxTokens,
      };
      const remote = Boolean(sel.variant.remote);
      const applied: AppliedSampling = {
        temperature: sampling.temperature ?? (remote ? null : SAMPLING_DEFAULTS.temperature),
        topP: sampling.topP ?? (remote ? null : SAMPLING_DEFAULTS.topP),
      };
      if (req.rag && !options.rag)
        throw new ReflexiaError("RFX_VALIDATION", "rag was requested but this server has no document store");
      // Retrieval precedes the cache lookup: what was retrieved is part of the key.
      const ragTurn = req.rag
        ? await options.rag!.begin({ kind: req.kind, messages: req.messages, prompt: req.prompt, rag: req.rag })
        : undefined;

      // Log-probabilities are not stored with an entry, so such requests always generate.
      const cacheable =
        cache !== undefined &&
        sampling.logprobs === undefined &&
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
            // Arguments and parameters reach the prompt as JSON text in the order sent: their key order is kept.
            messages: messages?.map((m) =>
              m.toolCalls
                ? { ...m, toolCalls: m.toolCalls.map((c) => ({ ...c, arguments: verbatim(c.arguments) })) }
                : m,
            ),
            role: req.role,
            sampling: { ...sampling },
            ragFingerprint: ragTurn?.fingerprint,
            extra: {
              contextSize,
              fairShare,
              numCtx: req.contextSize ?? null,
              context: req.contextTokens ?? null,
              fill: req.fillContext === true,
              // A hit must not answer a request that refuses to truncate with an answer to a truncated prompt.
              overflow: req.contextOverflow ?? config.models.context_overflow,
              template,
              // Tools change the rendered prompt (a grammar, if any, is part of `sampling`).
              tools: req.tools?.map((t) => ({ ...t, parameters: verbatim(t.parameters) })),
              suffix: req.suffix,
            },
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
            ...(hit.context ? { context: hit.context } : {}),
          };
          hooks.onStart?.(meta, applied);
          if (hit.text) hooks.onText?.(hit.text);
          const totalMs = performance.now() - t0;
          const { tokens, context: _context, ...rest } = hit;
          return {
            ...rest,
            ...(req.returnTokens && tokens ? { tokens } : {}),
            // Nothing was evaluated: the whole prompt counts as cached (OpenAI's cached_tokens, Ollama's
            // prompt_eval_count 0, llama-server's prompt_n 0), as the zero timings say.
            cachedPromptTokens: hit.promptTokens,
            timings: { ...ZERO_TIMINGS, totalMs },
            loadMs: 0,
            queueMs: 0,
            totalMs,
            meta,
          };
        }
        metrics?.cache.misses.inc();
      }

      const lease = await scheduler.acquire(`${sel.variant.name}:${sel.variant.tag}`, {
        signal: req.signal,
        keepAliveSeconds: req.keepAliveSeconds,
        variant: sel.variant,
      });
      let result: GenerationResult;
      let meta: ReflexiaMeta;
      try {
        meta = metaOf(sel, cacheable ? "miss" : "bypass", req.role, lease.queueMs, lease.loadMs);
        const model = lease.model;
        const limit = Math.min(model.sequenceContextSize, req.contextSize ?? Infinity);
        if (ragTurn) {
          const applied = ragTurn.apply({ kind: req.kind, messages, prompt }, model, {
            contextTokens: limit,
            maxTokens: Math.min(sampling.maxTokens!, fairShare),
          });
          ({ messages, prompt } = applied);
          meta = { ...meta, sources: applied.sources, rag: applied.info };
        }
        if (req.suffix !== undefined && prompt !== undefined) {
          const fim = lease.model.fillInMiddlePrompt?.(prompt, req.suffix) ?? null;
          if (fim === null)
            throw new ReflexiaError(
              "RFX_VALIDATION",
              `suffix needs a model with fill-in-the-middle tokens; ${meta.variant} has none (send the prompt without suffix)`,
            );
          prompt = fim;
        }
        const fitted = fitTurn(req, model, limit, messages, prompt, sampling.maxTokens!);
        messages = fitted.messages;
        if (fitted.fit.droppedMessages > 0 || (fitted.fit.maxTokensLowered && !req.fillContext))
          meta = { ...meta, context: contextMeta(fitted.fit) };
        // Refused before a stream opens (its status, not a 200 and an error event): the vocabulary is known now.
        if (sampling.logitBias?.length && !sel.variant.remote)
          checkLogitBiasIds(sampling.logitBias, model.info.vocabSize);
        selector.record(sel);
        hooks.onStart?.(meta, applied);
        const opts = {
          ...sampling,
          tools: req.tools,
          maxTokens: fitted.fit.maxTokens,
          signal: req.signal,
          onText: hooks.onText,
          contextSize: req.contextSize,
          contextTokens: req.contextTokens,
          // A cached entry keeps the token ids, so a hit for a request that returns them (Ollama's /api/generate
          // `context`) has them as a miss would, whichever request stored it (a chat, a library call).
          returnTokens: req.returnTokens === true || cacheable,
          cachePrompt: req.cachePrompt,
        };
        result =
          req.kind === "chat" && template === undefined
            ? await lease.model.chat(messages ?? [], opts)
            : await lease.model.generate(
                template === undefined ? (prompt ?? "") : renderTemplatePrompt(template, messages ?? []),
                opts,
              );
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
            tokens: result.tokens,
            rag,
            context: meta.context,
          },
          rag ? { tags: ["rag"] } : undefined,
        );
      }
      const { tokens, ...generated } = result;
      return {
        ...generated,
        ...(req.returnTokens && tokens ? { tokens } : {}),
        cachedPromptTokens: result.cachedPromptTokens ?? 0,
        loadMs: lease.loadMs,
        queueMs: lease.queueMs,
        totalMs: performance.now() - t0,
        meta,
      };
    },
  };
  return {
    limits: service.limits,
    async run(req, hooks = {}) {
      try {
        return await service.run(req, hooks);
      } catch (e) {
        // An untagged request whose choice was a remote variant with no endpoint left (it fails before any text,
        // having ejected what it tried) is chosen again, once: the selector now leaves that variant out when the
        // model has another, so a first request to a dead endpoint falls back as later ones do.
        if (
          !(e instanceof ReflexiaError && e.code === "RFX_UPSTREAM_UNAVAILABLE") ||
          req.signal?.aborted ||
          parseModelRef(req.model ?? config.models.default).tag !== undefined
        )
          throw e;
        return service.run(req, hooks);
      }
    },
  };
}
