// OpenAI-compatible routes: /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models.
import { RUNS_MODEL } from "../usage-accounting.ts";
import { randomBytes } from "node:crypto";
import type { FastifyReply } from "fastify";
import { MAX_TOP_LOGPROBS, type FinishReason, type SamplingOptions, type TokenLogprob } from "../../engine/types.ts";
import { ReflexiaError } from "../../errors/index.ts";
import type { InferenceOutcome, InferenceRequest, ReflexiaMeta } from "../../services/inference-service.ts";
import { errorBody } from "../error-handler.ts";
import { parseKeepAlive } from "../keep-alive.ts";
import { ragOptionOf } from "../../services/rag/rag-request.ts";
import { wildcardParamsSchema } from "../schemas/common.ts";
import {
  chatCompletionBodySchema,
  completionBodySchema,
  embeddingsBodySchema,
  type OpenAiResponseFormat,
  type OpenAiSamplingBody,
} from "../schemas/openai.ts";
import {
  choiceCount,
  choiceSeed,
  logprobsOption,
  openAiLogprobs,
  toChatMessages,
  toToolChoice,
  toToolDefinitions,
} from "../openai-request.ts";
import { grammarForOutput, type OutputFormat } from "../../services/structured/response-format.ts";
import { createToolCallStream } from "../../services/structured/tool-call-stream.ts";
import { parseToolCalls, planTools, replyGrammar } from "../../services/structured/tool-calls.ts";
import { clientAbortSignal, reflexiaHeaders, streamInference } from "../streaming.ts";
import type { AppDeps, RouteApp } from "../types.ts";

function samplingOf(body: OpenAiSamplingBody): SamplingOptions {
  const stop =
    body.stop === null || body.stop === undefined ? undefined : Array.isArray(body.stop) ? body.stop : [body.stop];
  // Both limits set to different values: one would be ignored, so neither is guessed.
  if (
    body.max_tokens !== null &&
    body.max_tokens !== undefined &&
    body.max_completion_tokens !== null &&
    body.max_completion_tokens !== undefined &&
    body.max_tokens !== body.max_completion_tokens
  )
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `max_tokens (${body.max_tokens}) and max_completion_tokens (${body.max_completion_tokens}) differ; send one of them (max_completion_tokens is OpenAI's current name)`,
      { fields: ["max_tokens", "max_completion_tokens"] },
    );
  return {
    maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    topK: body.top_k,
    seed: body.seed ?? undefined,
    repeatPenalty: body.repeat_penalty,
    frequencyPenalty: body.frequency_penalty ?? undefined,
    presencePenalty: body.presence_penalty ?? undefined,
    logitBias: logitBiasOf(body.logit_bias),
    stop: stop?.filter((s) => s.length > 0),
  };
}

/** OpenAI's `{"token id": bias}` as [id, bias] pairs; a key that is not a token id is refused by name. */
function logitBiasOf(map: Record<string, number> | null | undefined): [number, number][] | undefined {
  if (!map) return undefined;
  const out: [number, number][] = [];
  for (const [key, bias] of Object.entries(map)) {
    if (!/^\d{1,9}$/.test(key))
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `logit_bias keys are token ids (decimal strings such as "1234"); ${JSON.stringify(key.slice(0, 40))} is not one`,
        { field: "logit_bias" },
      );
    out.push([Number(key), bias]);
  }
  return out.length > 0 ? out : undefined;
}

function finishReasonOf(r: FinishReason): "stop" | "length" {
  return r === "length" ? "length" : "stop";
}

/**
 * llama-server's `timings` of one choice (beside `reflexia` in its last chunk, and of the first choice in a buffered
 * answer): prompt tokens evaluated and cached, generated tokens, their times and rates as the engine measured them
 * (the rate after the first token, as Ollama's eval rate). Clients that do not know the field ignore it; the web UI
 * shows this rate rather than one timed from when pieces reached the page, which a stream read in one go cannot give.
 */
function timingsOf(o: InferenceOutcome) {
  const t = o.timings;
  const promptN = o.promptTokens - o.cachedPromptTokens;
  const rate = (n: number, ms: number) => (n > 0 && ms > 0 ? Math.round((n / ms) * 1e5) / 100 : null);
  return {
    cache_n: o.cachedPromptTokens,
    prompt_n: promptN,
    prompt_ms: Math.round(t.promptEvalMs * 100) / 100,
    prompt_per_second: rate(promptN, t.promptEvalMs),
    predicted_n: o.completionTokens,
    predicted_ms: Math.round(t.evalMs * 100) / 100,
    predicted_per_second: rate(o.completionTokens - 1, t.evalMs),
  };
}

/**
 * Usage of one or several choices: each choice's prompt counts (each is a sequence of its own), and a prompt the
 * choices share is evaluated once: the others' copies are in `cached_tokens` (KV shared, see native/README.md).
 */
function usageOf(o: InferenceOutcome | InferenceOutcome[]) {
  const all = Array.isArray(o) ? o : [o];
  const prompt = all.reduce((s, x) => s + x.promptTokens, 0);
  const completion = all.reduce((s, x) => s + x.completionTokens, 0);
  // OpenAI's field for prompt tokens served from a cache: here, KV reused from the prefix cache.
  const cached = all.reduce((s, x) => s + (x.cachedPromptTokens ?? 0), 0);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cached },
  };
}

/** Most prompts one /v1/completions request may carry (each becomes its own choice or choices). */
const MAX_PROMPTS = 32;

/**
 * A field OpenAI takes as text or token ids (`prompt`, `input`): a string or a non-empty list of strings. Token ids
 * are refused with a sentence: they belong to the tokenizer that made them (a client's tiktoken ids are not this
 * model's), so only text means the same here. `tokenIds` says what they are called (`token-id prompts are`).
 */
function textsOf(value: unknown, field: string, tokenIds: string): string[] {
  const list = typeof value === "string" ? [value] : value;
  if (!Array.isArray(list) || list.length === 0)
    throw new ReflexiaError("RFX_VALIDATION", `${field} must be a string or a non-empty array of strings`, { field });
  const ids = (v: unknown) => typeof v === "number" || (Array.isArray(v) && v.every((x) => typeof x === "number"));
  if (list.some(ids))
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `${field} must be text: ${tokenIds} not supported (integers or arrays of integers are token ids of the client's tokenizer, not this model's), send the text instead`,
      { field },
    );
  const bad = list.findIndex((p) => typeof p !== "string");
  if (bad >= 0)
    throw new ReflexiaError("RFX_VALIDATION", `${field}[${bad}] must be a string`, { field: `${field}[${bad}]` });
  return list as string[];
}

function promptsOf(prompt: unknown): string[] {
  const list = textsOf(prompt, "prompt", "token-id prompts are");
  if (list.length > MAX_PROMPTS)
    throw new ReflexiaError("RFX_VALIDATION", `prompt has ${list.length} entries; at most ${MAX_PROMPTS} per request`, {
      field: "prompt",
    });
  return list;
}

/** The legacy completions shape: parallel arrays, alternatives as token → log-probability maps. */
function completionLogprobs(lps: readonly TokenLogprob[]) {
  let offset = 0;
  const textOffset: number[] = [];
  for (const l of lps) {
    textOffset.push(offset);
    offset += l.token.length;
  }
  return {
    tokens: lps.map((l) => l.token),
    token_logprobs: lps.map((l) => l.logprob),
    top_logprobs: lps.map((l) => Object.fromEntries(l.top.map((t) => [t.token, t.logprob]))),
    text_offset: textOffset,
  };
}

function formatOf(f: OpenAiResponseFormat | null | undefined): OutputFormat | undefined {
  if (!f) return undefined;
  if (f.type !== "json_schema") {
    // A schema beside another type would be dropped without a word: the output would not follow it.
    if (f.json_schema !== undefined)
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `response_format.json_schema is only read with type "json_schema" (type is "${f.type}")`,
        { field: "response_format.json_schema" },
      );
    return { type: f.type };
  }
  if (!f.json_schema?.schema)
    throw new ReflexiaError("RFX_VALIDATION", "response_format json_schema needs json_schema.schema (a JSON Schema)", {
      field: "response_format.json_schema.schema",
    });
  return { type: "json_schema", schema: f.json_schema.schema };
}

/** stream_options.include_usage; stream_options without a stream is refused, as OpenAI does, not ignored. */
function includeUsageOf(body: {
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean | null } | null;
}): boolean {
  if (body.stream_options != null && body.stream !== true)
    throw new ReflexiaError("RFX_VALIDATION", "stream_options is only allowed when stream is true", {
      field: "stream_options",
    });
  return body.stream_options?.include_usage === true;
}

const newId = (prefix: string): string => `${prefix}-${randomBytes(12).toString("hex")}`;
const nowSeconds = (): number => Math.floor(Date.now() / 1000);
const sse = (data: unknown): string => `data: ${JSON.stringify(data)}\n\n`;

function sendBuffered(reply: FastifyReply, meta: ReflexiaMeta, body: unknown): FastifyReply {
  return reply.headers(reflexiaHeaders(meta)).send(body);
}

/** Every route here: errors OpenAI has a code of its own for carry it (error-handler.ts). */
const OPENAI = { openai: true } as const;

export function registerOpenAiRoutes(app: RouteApp, deps: AppDeps): void {
  const { inference, embeddings, models } = deps;

  app.post(
    "/v1/chat/completions",
    {
      schema: { body: chatCompletionBodySchema },
      config: { ...OPENAI, ...RUNS_MODEL, capabilities: ["json_mode", "tools"] },
    },
    async (request, reply) => {
      const body = request.body;
      // No stored-completions API here: store true would promise a completion to fetch or list later.
      if (body.store === true)
        throw new ReflexiaError(
          "RFX_VALIDATION",
          "store: true is not supported: this server keeps no chat completions (there is nothing to list or fetch later); omit store or send false",
          { field: "store" },
        );
      const n = choiceCount(body.n);
      const plan = planTools(toToolDefinitions(body.tools), toToolChoice(body.tool_choice));
      const formatGrammar = grammarForOutput(
        formatOf(body.response_format),
        body.grammar,
        "response_format",
        "response_format.json_schema.schema",
      );
      const base = samplingOf(body);
      const sampling: SamplingOptions = {
        ...base,
        grammar: replyGrammar(plan, formatGrammar, "response_format/grammar"),
        logprobs: logprobsOption(body.logprobs, body.top_logprobs),
      };
      const signal = clientAbortSignal(request, reply);
      const messages = toChatMessages(body.messages);
      const reqFor = (i: number): InferenceRequest => ({
        kind: "chat",
        model: body.model,
        messages,
        tools: plan.tools,
        role: body.role,
        sampling: { ...sampling, seed: choiceSeed(base.seed, i) },
        keepAliveSeconds: parseKeepAlive(body.keep_alive),
        signal,
        rag: ragOptionOf(body),
        cachePrompt: body.cache_prompt,
      });
      const answer = (o: InferenceOutcome) => {
        const parsed = plan.parse && plan.tools ? parseToolCalls(o.text, plan.tools) : { content: o.text, calls: [] };
        const calls = body.parallel_tool_calls === false ? parsed.calls.slice(0, 1) : parsed.calls;
        return {
          content: calls.length > 0 ? parsed.content || null : o.text,
          toolCalls: calls.map((c) => ({
            id: c.id,
            type: "function" as const,
            function: { name: c.name, arguments: JSON.stringify(c.arguments) },
          })),
          finish: calls.length > 0 ? ("tool_calls" as const) : finishReasonOf(o.finishReason),
        };
      };
      const logprobsOf = (o: InferenceOutcome) =>
        o.logprobs ? { content: openAiLogprobs(o.logprobs), refusal: null } : null;
      const id = newId("chatcmpl");
      const created = nowSeconds();
      const includeUsage = includeUsageOf(body);
      if (body.stream) {
        // With tools offered, text streams except what may be part of a call, held to the end and parsed then (with
        // logprobs too the whole reply waits, so the logprobs go out with the text they belong to).
        const holdBack = plan.parse;
        const gates = Array.from({ length: n }, () =>
          holdBack && !body.logprobs ? createToolCallStream() : undefined,
        );
        let variant = "";
        const chunk = (
          i: number,
          delta: Record<string, unknown>,
          finish: string | null,
          extra: Record<string, unknown> = {},
        ) =>
          sse({
            id,
            object: "chat.completion.chunk",
            created,
            model: variant,
            system_fingerprint: null,
            choices: [{ index: i, delta, logprobs: extra.logprobs ?? null, finish_reason: finish }],
            // As OpenAI: with include_usage every chunk has the field, null until the last.
            ...(includeUsage ? { usage: null } : {}),
            ...(extra.reflexia ? { reflexia: extra.reflexia } : {}),
            ...(extra.timings ? { timings: extra.timings } : {}),
          });
        // Content deltas are most of a stream: each choice's JSON around the text is built once (after start has set
        // the variant) and the text is spliced in, instead of a chunk object serialized per token.
        const frames: [string, string][] = [];
        const contentChunk = (i: number, text: string): string => {
          const f = (frames[i] ??= chunk(i, { content: "" }, null).split('"content":""', 2) as [string, string]);
          return `${f[0]}"content":${JSON.stringify(text)}${f[1]}`;
        };
        const last = (o: InferenceOutcome, i: number): string => {
          let out = "";
          if (holdBack) {
            const a = answer(o);
            const gate = gates[i];
            const content = gate ? gate.rest(a.content ?? "") : a.content;
            if (content) out += chunk(i, { content }, null, { logprobs: gate ? null : logprobsOf(o) });
            a.toolCalls.forEach((c, k) => {
              // The SDK's accumulator takes id, type and name from a call's first delta and appends arguments.
              out += chunk(
                i,
                {
                  tool_calls: [
                    { index: k, id: c.id, type: "function", function: { name: c.function.name, arguments: "" } },
                  ],
                },
                null,
              );
              out += chunk(i, { tool_calls: [{ index: k, function: { arguments: c.function.arguments } }] }, null);
            });
            return out + chunk(i, {}, a.finish, { reflexia: o.meta, timings: timingsOf(o) });
          }
          return chunk(i, {}, finishReasonOf(o.finishReason), { reflexia: o.meta, timings: timingsOf(o) });
        };
        return streamInference<InferenceOutcome[]>(
          reply,
          {
            contentType: "text/event-stream; charset=utf-8",
            start: (meta) => {
              variant = meta.variant;
              return Array.from({ length: n }, (_, i) => chunk(i, { role: "assistant", content: "" }, null)).join("");
            },
            // Pieces arrive already shaped (each choice formats its own, with its index).
            text: (piece) => piece,
            done: (outcomes) =>
              outcomes.map(last).join("") +
              (includeUsage
                ? sse({
                    id,
                    object: "chat.completion.chunk",
                    created,
                    model: variant,
                    choices: [],
                    usage: usageOf(outcomes),
                  })
                : "") +
              "data: [DONE]\n\n",
            error: (e) => sse(errorBody(e, "openai")) + "data: [DONE]\n\n",
          },
          (hooks) =>
            Promise.all(
              Array.from({ length: n }, (_, i) =>
                inference.run(reqFor(i), {
                  onStart: hooks.onStart,
                  onText: (t, lps) => {
                    if (holdBack) {
                      const out = gates[i]?.push(t);
                      if (out) hooks.onText?.(contentChunk(i, out));
                      return;
                    }
                    hooks.onText?.(
                      lps
                        ? chunk(i, { content: t }, null, { logprobs: { content: openAiLogprobs(lps), refusal: null } })
                        : contentChunk(i, t),
                    );
                  },
                }),
              ),
            ),
        );
      }
      const outcomes = await Promise.all(Array.from({ length: n }, (_, i) => inference.run(reqFor(i))));
      const o0 = outcomes[0];
      return sendBuffered(reply, o0.meta, {
        id,
        object: "chat.completion",
        created,
        model: o0.meta.variant,
        system_fingerprint: null,
        choices: outcomes.map((o, index) => {
          const a = answer(o);
          return {
            index,
            message: {
              role: "assistant",
              content: a.content,
              refusal: null,
              ...(a.toolCalls.length > 0 ? { tool_calls: a.toolCalls } : {}),
            },
            logprobs: logprobsOf(o),
            finish_reason: a.finish,
          };
        }),
        usage: usageOf(outcomes),
        reflexia: o0.meta,
        timings: timingsOf(o0),
      });
    },
  );

  app.post(
    "/v1/completions",
    { schema: { body: completionBodySchema }, config: { ...OPENAI, ...RUNS_MODEL } },
    async (request, reply) => {
      const body = request.body;
      const prompts = promptsOf(body.prompt);
      const n = choiceCount(body.n);
      if (body.best_of !== undefined && body.best_of !== null && body.best_of !== 1)
        throw new ReflexiaError("RFX_VALIDATION", "best_of is not supported (only 1); ask for n choices instead", {
          field: "best_of",
        });
      const echo = body.echo === true;
      const logprobs = body.logprobs ?? undefined;
      if (logprobs !== undefined && logprobs > MAX_TOP_LOGPROBS)
        throw new ReflexiaError("RFX_VALIDATION", `logprobs is ${logprobs}; at most ${MAX_TOP_LOGPROBS}`, {
          field: "logprobs",
        });
      if (echo && logprobs !== undefined)
        throw new ReflexiaError(
          "RFX_VALIDATION",
          "echo with logprobs is not supported: log-probabilities are computed for generated tokens only",
          { field: "echo" },
        );
      const suffix = body.suffix ? body.suffix : undefined;
      const base = samplingOf(body);
      const sampling: SamplingOptions = {
        ...base,
        grammar: grammarForOutput(undefined, body.grammar, "grammar"),
        logprobs,
      };
      const signal = clientAbortSignal(request, reply);
      // Choice order as OpenAI's: every choice of the first prompt, then the second prompt's, …
      const runs = prompts.flatMap((prompt) => Array.from({ length: n }, (_, i) => ({ prompt, i })));
      const reqFor = (r: { prompt: string; i: number }): InferenceRequest => ({
        kind: "completion",
        model: body.model,
        prompt: r.prompt,
        suffix,
        role: body.role,
        sampling: { ...sampling, seed: choiceSeed(base.seed, r.i) },
        keepAliveSeconds: parseKeepAlive(body.keep_alive),
        signal,
        rag: ragOptionOf(body),
        cachePrompt: body.cache_prompt,
      });
      const id = newId("cmpl");
      const created = nowSeconds();
      const choice = (index: number, text: string, finish: string | null, lps?: TokenLogprob[]) => ({
        text,
        index,
        logprobs: lps ? completionLogprobs(lps) : null,
        finish_reason: finish,
      });
      const includeUsage = includeUsageOf(body);
      if (body.stream) {
        let variant = "";
        const event = (c: ReturnType<typeof choice>, extra: Record<string, unknown> = {}) =>
          sse({
            id,
            object: "text_completion",
            created,
            model: variant,
            choices: [c],
            ...(includeUsage ? { usage: null } : {}),
            ...extra,
          });
        return streamInference<InferenceOutcome[]>(
          reply,
          {
            contentType: "text/event-stream; charset=utf-8",
            start: (meta) => {
              variant = meta.variant;
              return echo ? runs.map((r, k) => event(choice(k, r.prompt, null))).join("") : null;
            },
            text: (piece) => piece,
            done: (outcomes) =>
              outcomes
                .map((o, k) =>
                  event(choice(k, "", finishReasonOf(o.finishReason)), { reflexia: o.meta, timings: timingsOf(o) }),
                )
                .join("") +
              (includeUsage
                ? sse({ id, object: "text_completion", created, model: variant, choices: [], usage: usageOf(outcomes) })
                : "") +
              "data: [DONE]\n\n",
            error: (e) => sse(errorBody(e, "openai")) + "data: [DONE]\n\n",
          },
          (hooks) =>
            Promise.all(
              runs.map((r, k) =>
                inference.run(reqFor(r), {
                  onStart: hooks.onStart,
                  onText: (t, lps) => hooks.onText?.(event(choice(k, t, null, lps))),
                }),
              ),
            ),
        );
      }
      const outcomes = await Promise.all(runs.map((r) => inference.run(reqFor(r))));
      const o0 = outcomes[0];
      return sendBuffered(reply, o0.meta, {
        id,
        object: "text_completion",
        created,
        model: o0.meta.variant,
        system_fingerprint: null,
        choices: outcomes.map((o, k) =>
          choice(k, echo ? runs[k].prompt + o.text : o.text, finishReasonOf(o.finishReason), o.logprobs),
        ),
        usage: usageOf(outcomes),
        reflexia: o0.meta,
        timings: timingsOf(o0),
      });
    },
  );

  app.post(
    "/v1/embeddings",
    { schema: { body: embeddingsBodySchema }, config: { ...OPENAI, ...RUNS_MODEL } },
    async (request, reply) => {
      const body = request.body;
      const input = textsOf(body.input, "input", "token-id input is");
      // An empty text has no embedding; OpenAI refuses it too (a zero vector would match nothing and everything).
      const empty = input.indexOf("");
      if (empty >= 0) {
        const field = typeof body.input === "string" ? "input" : `input[${empty}]`;
        throw new ReflexiaError("RFX_VALIDATION", `${field} is an empty string; send text to embed`, { field });
      }
      const out = await embeddings.embed({
        model: body.model,
        input,
        dimensions: body.dimensions,
        signal: clientAbortSignal(request, reply),
      });
      const encode = (v: number[]): number[] | string =>
        body.encoding_format === "base64" ? Buffer.from(Float32Array.from(v).buffer).toString("base64") : v;
      return {
        object: "list",
        data: out.embeddings.map((v, index) => ({ object: "embedding", index, embedding: encode(v) })),
        model: out.model,
        usage: { prompt_tokens: out.promptTokens, total_tokens: out.promptTokens },
      };
    },
  );

  const modelEntries = async () => {
    const listing = await models.list();
    const out: { id: string; object: "model"; created: number; owned_by: string; kind?: string }[] = [];
    for (const m of listing) {
      const created = Math.floor(Math.min(...m.variants.map((v) => Date.parse(v.createdAt) || 0)) / 1000);
      // The bare name lets clients use adaptive variant choice; each name:tag pins a variant.
      out.push({ id: m.name, object: "model", created, owned_by: "reflexia" });
      for (const v of m.variants)
        out.push({
          id: `${m.name}:${v.tag}`,
          object: "model",
          created: Math.floor((Date.parse(v.createdAt) || 0) / 1000),
          owned_by: "reflexia",
          kind: v.kind ?? "local",
        });
    }
    return out;
  };

  app.get("/v1/models", { config: OPENAI }, async () => ({ object: "list", data: await modelEntries() }));

  app.get("/v1/models/*", { schema: { params: wildcardParamsSchema }, config: OPENAI }, async (request) => {
    const id = request.params["*"];
    const found = (await modelEntries()).find((m) => m.id === id);
    if (!found) throw new ReflexiaError("RFX_MODEL_NOT_FOUND", `model ${id} not found`, { model: id });
    return found;
  });
}
