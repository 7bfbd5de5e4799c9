// Ollama-compatible routes: generate, chat, tags, ps, embed(dings), copy, delete, version (show, create, pull,
// push and blobs live in routes/ollama/).
import { RUNS_MODEL } from "../usage-accounting.ts";
import type { FastifyReply } from "fastify";
import {
  fixedSeed,
  MAX_TOP_LOGPROBS,
  type ChatMessage,
  type SamplingOptions,
  type TokenLogprob,
} from "../../engine/types.ts";
import { grammarForOutput, type OutputFormat } from "../../services/structured/response-format.ts";
import { createToolCallStream } from "../../services/structured/tool-call-stream.ts";
import { parseToolCalls, planTools, replyGrammar } from "../../services/structured/tool-calls.ts";
import { openAiLogprobs, toToolChoice, toToolDefinitions } from "../openai-request.ts";
import { ReflexiaError } from "../../errors/index.ts";
import type { ModelManifest } from "../../registry/index.ts";
import type { InferenceOutcome, InferenceRequest, ReflexiaMeta } from "../../services/inference-service.ts";
import { ollamaErrorBody } from "../error-handler.ts";
import { parseKeepAlive } from "../keep-alive.ts";
import { ragOptionOf } from "../../services/rag/rag-request.ts";
import { assertOllamaOptions, NUM_PREDICT_RULE } from "./ollama/check-options.ts";
import {
  chatBodySchema,
  copyBodySchema,
  deleteBodySchema,
  embedBodySchema,
  generateBodySchema,
  legacyEmbeddingsBodySchema,
  type OllamaOptions,
} from "../schemas/ollama.ts";
import type { Static } from "typebox";

type ChatBody = Static<typeof chatBodySchema>;
import { clientAbortSignal, reflexiaHeaders, streamInference } from "../streaming.ts";
import type { AppDeps, RouteApp } from "../types.ts";

const ns = (ms: number): number => Math.max(0, Math.round(ms * 1e6));

/** Ollama's parameter-size string: 3.2M, 206M, 6.7B. */
export function formatParameterSize(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1).replace(/\.0$/, "")}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1).replace(/\.0$/, "")}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1).replace(/\.0$/, "")}K`;
  return String(n);
}

/** GET /api/tags's body (`reflexia list` prints the same embedded). */
export function tagsBody(listing: readonly { name: string; variants: readonly ModelManifest[] }[]) {
  return {
    models: listing.flatMap((m) =>
      m.variants.map((v) => ({
        name: `${m.name}:${v.tag}`,
        model: `${m.name}:${v.tag}`,
        modified_at: v.createdAt,
        size: v.sizeBytes,
        digest: digestHex(v.digest),
        details: detailsOf(v),
        kind: v.kind ?? "local",
      })),
    ),
  };
}

export function detailsOf(m: ModelManifest) {
  return {
    parent_model: "",
    format: m.format ?? "gguf",
    family: m.architecture,
    families: [m.architecture],
    parameter_size: formatParameterSize(m.parameterCount),
    quantization_level: m.quantization.toUpperCase(),
  };
}

const digestHex = (d: string): string => d.replace(/^sha256:/, "");

export function samplingOfOllama(options: OllamaOptions | undefined): SamplingOptions {
  assertOllamaOptions(options);
  const o = options ?? {};
  let maxTokens: number | undefined;
  // -2 (fill the context) is InferenceRequest.fillContext (see contextOfOllama).
  if (o.num_predict === undefined || o.num_predict === -1 || o.num_predict === -2) maxTokens = undefined;
  else if (o.num_predict >= 1) maxTokens = o.num_predict;
  else throw new ReflexiaError("RFX_VALIDATION", `options.num_predict ${NUM_PREDICT_RULE}; got ${o.num_predict}`);
  const stop = o.stop === null || o.stop === undefined ? undefined : Array.isArray(o.stop) ? o.stop : [o.stop];
  return {
    maxTokens,
    temperature: o.temperature,
    topP: o.top_p,
    topK: o.top_k,
    seed: fixedSeed(o.seed),
    repeatPenalty: o.repeat_penalty,
    frequencyPenalty: o.frequency_penalty,
    presencePenalty: o.presence_penalty,
    stop: stop?.filter((s) => s.length > 0),
  };
}

/** The request's context fields: num_ctx (its own limit), num_predict -2 (generate until the context is full). */
function contextOfOllama(options: OllamaOptions | undefined): Pick<InferenceRequest, "contextSize" | "fillContext"> {
  return {
    ...(options?.num_ctx !== undefined ? { contextSize: options.num_ctx } : {}),
    ...(options?.num_predict === -2 ? { fillContext: true } : {}),
  };
}

/** Ollama's `format`: "json" (any JSON object) or a JSON Schema. */
function ollamaFormat(format: string | Record<string, unknown> | undefined): OutputFormat | undefined {
  if (format === undefined || format === "") return undefined;
  if (format === "json") return { type: "json_object" };
  if (typeof format === "string")
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `format must be "json" or a JSON Schema object (got ${JSON.stringify(format)})`,
    );
  return { type: "json_schema", schema: format };
}

/**
 * Ollama's embedding routes take `options`; sampling does not apply to an embedding, so only those in `allowed` are
 * taken (on /api/embed num_ctx, the most tokens an input may have) and the others are refused by name rather than
 * accepted and ignored.
 */
function assertEmbedOptions(options: OllamaOptions | undefined, allowed: readonly string[] = []): void {
  const names = Object.keys(options ?? {}).filter((n) => !allowed.includes(n));
  if (names.length > 0)
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `options ${names.map((n) => JSON.stringify(n)).join(", ")} do not apply to embeddings here (${allowed.length ? `only ${allowed.join(", ")}, the input length in tokens, does` : "nothing in options changes an embedding"}); leave them out`,
      { fields: names },
    );
}

/** Ollama's logprobs / top_logprobs → the engine option. */
function ollamaLogprobs(body: { logprobs?: boolean; top_logprobs?: number }): number | undefined {
  if (body.top_logprobs !== undefined && body.top_logprobs > MAX_TOP_LOGPROBS)
    throw new ReflexiaError("RFX_VALIDATION", `top_logprobs is ${body.top_logprobs}; at most ${MAX_TOP_LOGPROBS}`);
  // Alternatives without logprobs would be asked for and never returned (as on the OpenAI routes).
  if (body.top_logprobs && body.logprobs !== true)
    throw new ReflexiaError("RFX_VALIDATION", "top_logprobs needs logprobs: true");
  return body.logprobs === true ? (body.top_logprobs ?? 0) : undefined;
}

/** Ollama's logprobs entries (as in its /api/chat and /api/generate responses). */
function ollamaLogprobEntries(lps: readonly TokenLogprob[] | undefined) {
  if (!lps) return {};
  return { logprobs: openAiLogprobs(lps) };
}

function finalFields(o: InferenceOutcome) {
  return {
    done: true,
    done_reason: o.finishReason === "length" ? "length" : "stop",
    total_duration: ns(o.totalMs),
    load_duration: ns(o.loadMs),
    // Ollama counts the prompt tokens it evaluated: those served from the prefix cache are not.
    prompt_eval_count: o.promptTokens - o.cachedPromptTokens,
    prompt_eval_duration: ns(o.timings.promptEvalMs),
    eval_count: o.completionTokens,
    eval_duration: ns(o.timings.evalMs),
    // Ollama's count leaves the cached tokens out; this says how many, so a client can report the whole prompt.
    reflexia: { ...o.meta, cached_prompt_tokens: o.cachedPromptTokens },
  };
}

/**
 * Ollama chat history: tool calls of the assistant (arguments as objects) and tool results. A field the schema does
 * not declare was refused by path before (refuseUnknownFields); images (no vision projector), a thinking trace (no
 * model here thinks), tool_name or tool_call_id outside a tool message and a tool call of a type other than
 * "function" are refused with the reason. A tool result answers the call its tool_call_id names (an id an earlier
 * assistant message's tool_calls gave, as on /v1), else the oldest call not yet answered, as Ollama's history reads.
 * `content` may be left out only by an assistant message with tool_calls (Ollama reads it as "").
 */
function ollamaMessages(messages: NonNullable<ChatBody["messages"]>, model: string): ChatMessage[] {
  let n = 0;
  const pending: { id: string; name: string }[] = [];
  const given = new Map<string, string>();
  return messages.map((m, i): ChatMessage => {
    refuseImages(model, m.images, `messages[${i}].images`);
    if (m.thinking)
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `messages[${i}].thinking: no model here has the "thinking" capability, so a reasoning trace has no place in its prompt; send it as content or leave it out`,
        { field: `messages[${i}].thinking` },
      );
    for (const f of ["tool_name", "tool_call_id"] as const)
      if (m[f] !== undefined && m.role !== "tool")
        throw new ReflexiaError(
          "RFX_VALIDATION",
          `messages[${i}].${f} ${f === "tool_name" ? "names the tool" : "names the call"} whose result a tool message carries; this one is role ${m.role}`,
          { field: `messages[${i}].${f}` },
        );
    if (m.tool_calls?.length && m.role !== "assistant")
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `messages[${i}].tool_calls belongs to assistant messages (this one is role ${m.role})`,
        { field: `messages[${i}].tool_calls` },
      );
    const withCalls = m.role === "assistant" && Boolean(m.tool_calls?.length);
    if (m.content === undefined && !withCalls)
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `messages[${i}].content is required (only an assistant message with tool_calls may leave it out)`,
        { field: `messages[${i}].content` },
      );
    const content = m.content ?? "";
    if (withCalls) {
      const toolCalls = m.tool_calls!.map((c, j) => {
        if (c.type !== undefined && c.type !== "function")
          throw new ReflexiaError(
            "RFX_VALIDATION",
            `messages[${i}].tool_calls[${j}].type ${JSON.stringify(c.type)} is not supported (only "function")`,
            { field: `messages[${i}].tool_calls[${j}].type` },
          );
        const id = c.id ?? `call_${n++}`;
        if (c.id !== undefined) given.set(c.id, c.function.name);
        return { id, name: c.function.name, arguments: c.function.arguments };
      });
      pending.push(...toolCalls.map((c) => ({ id: c.id, name: c.name })));
      return { role: "assistant", content, toolCalls };
    }
    if (m.role === "tool") {
      if (m.tool_call_id === undefined)
        return { role: "tool", content, toolCallId: pending.shift()?.id, name: m.tool_name };
      // As OpenAI: a tool result that names its call answers one the conversation made.
      if (!given.has(m.tool_call_id))
        throw new ReflexiaError(
          "RFX_VALIDATION",
          `messages[${i}] (role tool) answers tool_call_id "${m.tool_call_id}", which no earlier assistant message's tool_calls has`,
          { field: `messages[${i}].tool_call_id` },
        );
      const at = pending.findIndex((p) => p.id === m.tool_call_id);
      if (at >= 0) pending.splice(at, 1);
      return { role: "tool", content, toolCallId: m.tool_call_id, name: m.tool_name ?? given.get(m.tool_call_id) };
    }
    return { role: m.role, content };
  });
}

const line = (x: unknown): string => `${JSON.stringify(x)}\n`;

/** Ollama's `model`, or `name` as older clients send it; both, naming different models, is refused, not guessed. */
export function modelOrName(body: { model?: string; name?: string }): string {
  if (body.model !== undefined && body.name !== undefined && body.model !== body.name) {
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `send "model" or its older name "name", not both with different values (${JSON.stringify(body.model)} vs ${JSON.stringify(body.name)})`,
    );
  }
  return (body.model ?? body.name) as string;
}
const createdAt = (): string => new Date().toISOString();

async function respond(
  reply: FastifyReply,
  stream: boolean,
  run: (hooks?: Parameters<AppDeps["inference"]["run"]>[1]) => Promise<InferenceOutcome>,
  piece: (text: string) => Record<string, unknown>,
  final: (o: InferenceOutcome) => Record<string, unknown>,
): Promise<unknown> {
  if (stream) {
    // Log-probabilities ride with the text piece they belong to.
    let pending: TokenLogprob[] | undefined;
    return streamInference<InferenceOutcome>(
      reply,
      {
        contentType: "application/x-ndjson",
        text: (t) => {
          const lps = pending;
          pending = undefined;
          return line({ ...piece(t), ...ollamaLogprobEntries(lps), created_at: createdAt(), done: false });
        },
        done: (o) => line({ ...final(o), created_at: createdAt() }),
        error: (e) => line(ollamaErrorBody(e)),
      },
      (hooks) =>
        run({
          ...hooks,
          onText: (t, lps) => {
            pending = lps;
            hooks.onText?.(t);
          },
        }),
    );
  }
  const o = await run();
  return reply.headers(reflexiaHeaders(o.meta)).send({ ...final(o), created_at: createdAt() });
}

/**
 * `think` asks for the model's reasoning trace apart from its answer. No model here has the "thinking" capability
 * (/api/show), so true or a level is refused as Ollama refuses it for such a model; false asks for what happens anyway.
 */
function refuseThinking(body: { model: string; think?: boolean | string | null }): void {
  if (body.think !== undefined && body.think !== null && body.think !== false)
    throw new ReflexiaError("RFX_VALIDATION", `${JSON.stringify(body.model)} does not support thinking`);
}

/** Images need a vision projector, which no model here has (pull refuses projector layers): refused with why. */
function refuseImages(model: string, images: string[] | undefined, where: string): void {
  if (images?.length)
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `${where}: ${JSON.stringify(model)} does not support images (it has no vision projector); send text only`,
      { field: where },
    );
}

export function registerOllamaRoutes(app: RouteApp, deps: AppDeps): void {
  const { inference, embeddings, models, scheduler } = deps;

  app.post("/api/generate", { schema: { body: generateBodySchema }, config: RUNS_MODEL }, async (request, reply) => {
    const body = request.body;
    refuseThinking(body);
    refuseImages(body.model, body.images, "images");
    const keepAliveSeconds = parseKeepAlive(body.keep_alive);
    // An empty prompt loads (or, with keep_alive 0, unloads) the model, as in Ollama.
    if (!body.prompt && !body.system && !body.suffix) {
      const ref = body.model;
      if (keepAliveSeconds === 0) {
        const sel = await deps.models.show(ref);
        await scheduler.unload(`${sel.name}:${sel.tag}`);
        return { model: body.model, created_at: createdAt(), response: "", done: true, done_reason: "unload" };
      }
      const sel = await deps.models.show(ref);
      await scheduler.load(`${sel.name}:${sel.tag}`, { keepAliveSeconds });
      return { model: body.model, created_at: createdAt(), response: "", done: true, done_reason: "load" };
    }
    const sampling: SamplingOptions = {
      ...samplingOfOllama(body.options),
      grammar: grammarForOutput(ollamaFormat(body.format), undefined, "format"),
      logprobs: ollamaLogprobs(body),
    };
    // `context` (the previous answer's token ids) is continued; the answer returns the new one.
    const continuation = { returnTokens: true, ...(body.context?.length ? { contextTokens: body.context } : {}) };
    // suffix: the prompt is the text before a gap and suffix the text after it; the model's FIM tokens frame them
    // (llama-server's /infill order), so nothing else may shape that prompt.
    const fim = body.suffix ? body.suffix : undefined;
    if (fim !== undefined) {
      const clash = (["system", "template", "context"] as const).find((k) =>
        k === "context" ? body.context?.length : body[k] !== undefined,
      );
      if (clash)
        throw new ReflexiaError(
          "RFX_VALIDATION",
          `suffix (fill-in-the-middle) cannot be combined with ${clash}: the prompt is the text before the gap and suffix the text after it, framed by the model's FIM tokens`,
        );
    }
    // raw sends the prompt as is: a system text would have nowhere to go, and dropping it is not an answer.
    if (body.raw && body.system !== undefined)
      throw new ReflexiaError(
        "RFX_VALIDATION",
        "system cannot be combined with raw: true (the prompt is sent as is, with no template to place it); put it in the prompt",
      );
    const req: InferenceRequest =
      body.raw || fim !== undefined
        ? {
            kind: "completion",
            model: body.model,
            prompt: body.prompt ?? "",
            suffix: fim,
            role: body.role,
            sampling,
            keepAliveSeconds,
            ...contextOfOllama(body.options),
            ...continuation,
          }
        : {
            kind: "chat",
            model: body.model,
            messages: [
              ...(body.system ? [{ role: "system" as const, content: body.system }] : []),
              { role: "user" as const, content: body.prompt ?? "" },
            ],
            role: body.role,
            sampling,
            keepAliveSeconds,
            ...contextOfOllama(body.options),
            ...continuation,
          };
    req.signal = clientAbortSignal(request, reply);
    req.rag = ragOptionOf(body);
    if (body.template !== undefined) {
      // raw means "no formatting at all" in Ollama; a template with it is a contradiction, not a choice to guess.
      if (body.raw) throw new ReflexiaError("RFX_VALIDATION", "template cannot be combined with raw: true");
      req.template = body.template;
    }
    return respond(
      reply,
      body.stream !== false,
      (hooks) => inference.run(req, hooks),
      (t) => ({ model: body.model, response: t }),
      (o) => ({
        model: body.model,
        response: body.stream !== false ? "" : o.text,
        ...(body.stream !== false ? {} : ollamaLogprobEntries(o.logprobs)),
        ...finalFields(o),
        ...(o.tokens ? { context: o.tokens } : {}),
      }),
    );
  });

  app.post(
    "/api/chat",
    { schema: { body: chatBodySchema }, config: { ...RUNS_MODEL, capabilities: ["json_mode", "tools"] } },
    async (request, reply) => {
      const body = request.body;
      refuseThinking(body);
      const keepAliveSeconds = parseKeepAlive(body.keep_alive);
      const messages = ollamaMessages(body.messages ?? [], body.model);
      if (messages.length === 0) {
        const sel = await deps.models.show(body.model);
        if (keepAliveSeconds === 0) {
          await scheduler.unload(`${sel.name}:${sel.tag}`);
          return {
            model: body.model,
            created_at: createdAt(),
            message: { role: "assistant", content: "" },
            done: true,
            done_reason: "unload",
          };
        }
        await scheduler.load(`${sel.name}:${sel.tag}`, { keepAliveSeconds });
        return {
          model: body.model,
          created_at: createdAt(),
          message: { role: "assistant", content: "" },
          done: true,
          done_reason: "load",
        };
      }
      // A tool's type defaults to "function", as in Ollama (the schema accepts no other).
      const tools = body.tools?.map((t) => ({ ...t, type: "function" as const }));
      const plan = planTools(toToolDefinitions(tools), toToolChoice(body.tool_choice));
      const formatGrammar = grammarForOutput(ollamaFormat(body.format), undefined, "format");
      const req: InferenceRequest = {
        kind: "chat",
        model: body.model,
        messages,
        tools: plan.tools,
        role: body.role,
        sampling: {
          ...samplingOfOllama(body.options),
          grammar: replyGrammar(plan, formatGrammar, "format"),
          logprobs: ollamaLogprobs(body),
        },
        ...contextOfOllama(body.options),
        keepAliveSeconds,
        signal: clientAbortSignal(request, reply),
        rag: ragOptionOf(body),
      };
      const streamed = body.stream !== false;
      // With tools the reply is held back until it can be told apart from a call (then it comes with the last line).
      const holdBack = plan.parse;
      // With tools offered, text streams except what may be part of a call (held to the end, then parsed); with
      // logprobs too the whole reply waits, so each piece's logprobs stay with the text that goes out.
      const gate = streamed && holdBack && req.sampling.logprobs === undefined ? createToolCallStream() : undefined;
      return respond(
        reply,
        streamed,
        (hooks) =>
          inference.run(
            req,
            !holdBack
              ? hooks
              : {
                  onStart: hooks?.onStart,
                  ...(gate && hooks?.onText
                    ? {
                        onText: (t: string) => {
                          const out = gate.push(t);
                          if (out) hooks.onText!(out);
                        },
                      }
                    : {}),
                },
          ),
        (t) => ({ model: body.model, message: { role: "assistant", content: t } }),
        (o) => {
          const parsed = plan.parse && plan.tools ? parseToolCalls(o.text, plan.tools) : { content: o.text, calls: [] };
          const content = parsed.calls.length > 0 ? parsed.content : o.text;
          return {
            model: body.model,
            message: {
              role: "assistant",
              content: streamed && !holdBack ? "" : gate ? gate.rest(content) : content,
              ...(parsed.calls.length > 0
                ? { tool_calls: parsed.calls.map((c) => ({ function: { name: c.name, arguments: c.arguments } })) }
                : {}),
            },
            ...(streamed && !holdBack ? {} : ollamaLogprobEntries(o.logprobs)),
            ...finalFields(o),
          };
        },
      );
    },
  );

  app.get("/api/tags", async () => tagsBody(await models.list()));

  app.get("/api/ps", async () => {
    // Details come from the manifests (one listing), as /api/tags shows them.
    const manifests = new Map(
      (await models.list()).flatMap((m) => m.variants.map((v) => [`${v.name}:${v.tag}`, v] as const)),
    );
    return {
      models: models
        .running()
        .filter((v) => !v.embedding)
        .map((v) => ({
          name: `${v.name}:${v.tag}`,
          model: `${v.name}:${v.tag}`,
          size: (v.estimatedBytes || v.sizeBytes) + v.vramBytes,
          digest: digestHex(manifests.get(`${v.name}:${v.tag}`)?.digest ?? ""),
          details: manifests.has(`${v.name}:${v.tag}`)
            ? detailsOf(manifests.get(`${v.name}:${v.tag}`)!)
            : {
                parent_model: "",
                format: "gguf",
                family: "",
                families: [],
                parameter_size: "",
                quantization_level: v.quantization.toUpperCase(),
              },
          // Kept forever while busy or with keep_alive -1: a far-future date, as Ollama reports.
          expires_at: v.expiresAt ?? "2318-01-01T00:00:00Z",
          size_vram: v.vramBytes,
          context_length: v.contextSize,
          kind: manifests.get(`${v.name}:${v.tag}`)?.kind ?? "local",
          reflexia: {
            running: v.running,
            queued: v.queued,
            active_sequences: v.activeSequences,
            parallel: v.parallel,
            gpu_layers: v.gpuLayers,
            total_layers: v.totalLayers,
          },
        })),
    };
  });

  app.post("/api/embed", { schema: { body: embedBodySchema }, config: RUNS_MODEL }, async (request, reply) => {
    const body = request.body;
    const input = Array.isArray(body.input) ? body.input : body.input ? [body.input] : [];
    assertEmbedOptions(body.options, ["num_ctx"]);
    const out = await embeddings.embed({
      model: body.model,
      input,
      // num_ctx bounds each input's tokens as the model's own context does (cut with truncate, else refused).
      ...(body.options?.num_ctx !== undefined ? { maxInputTokens: body.options.num_ctx } : {}),
      dimensions: body.dimensions,
      keepAliveSeconds: parseKeepAlive(body.keep_alive),
      signal: clientAbortSignal(request, reply),
      // Ollama's default: the end of a long input is cut to the context; false refuses it.
      truncate: body.truncate ?? true,
    });
    return {
      model: body.model,
      embeddings: out.embeddings,
      total_duration: ns(out.totalMs),
      load_duration: ns(out.loadMs),
      prompt_eval_count: out.promptTokens,
    };
  });

  app.post(
    "/api/embeddings",
    { schema: { body: legacyEmbeddingsBodySchema }, config: RUNS_MODEL },
    async (request, reply) => {
      const body = request.body;
      assertEmbedOptions(body.options);
      const out = await embeddings.embed({
        model: body.model,
        input: [body.prompt],
        keepAliveSeconds: parseKeepAlive(body.keep_alive),
        signal: clientAbortSignal(request, reply),
      });
      return { embedding: out.embeddings[0] ?? [] };
    },
  );

  app.post("/api/copy", { schema: { body: copyBodySchema } }, async (request, reply) => {
    const body = request.body;
    await models.copy(body.source, body.destination);
    return reply.status(200).send();
  });

  // One variant, as Ollama deletes `name:latest` for an untagged name: here the variant /api/show reports for it.
  app.delete("/api/delete", { schema: { body: deleteBodySchema } }, async (request, reply) => {
    const body = request.body;
    await models.remove(modelOrName(body), { oneVariant: true });
    return reply.status(200).send();
  });

  app.get("/api/version", async () => ({ version: deps.version }));
}

export type { ReflexiaMeta };
