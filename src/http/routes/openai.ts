// OpenAI-compatible routes: /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models.
import { randomBytes } from "node:crypto";
import type { FastifyReply } from "fastify";
import type { ChatMessage, FinishReason, SamplingOptions } from "../../engine/types.ts";
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
  type OpenAiMessage,
  type OpenAiSamplingBody,
} from "../schemas/openai.ts";
import { clientAbortSignal, reflexiaHeaders, streamInference } from "../streaming.ts";
import type { AppDeps, RouteApp } from "../types.ts";

function textOf(content: OpenAiMessage["content"], index: number): string {
  if (content === null || content === undefined) return "";
  if (typeof content === "string") return content;
  return content
    .map((p) => {
      if (p.type !== "text" || typeof p.text !== "string") {
        throw new ReflexiaError(
          "RFX_VALIDATION",
          `messages[${index}] has a ${JSON.stringify(p.type)} content part; only text parts are supported`,
        );
      }
      return p.text;
    })
    .join("");
}

export function toChatMessages(messages: OpenAiMessage[]): ChatMessage[] {
  return messages.map((m, i) => {
    if (m.role === "tool" || m.role === "function") {
      throw new ReflexiaError("RFX_VALIDATION", `messages[${i}].role ${m.role} is not supported (no tool calling)`);
    }
    // "developer" is OpenAI's newer name for the system message.
    const role = m.role === "developer" ? "system" : m.role;
    return { role, content: textOf(m.content, i) };
  });
}

function samplingOf(body: OpenAiSamplingBody): SamplingOptions {
  if (body.n !== undefined && body.n !== null && body.n > 1) {
    throw new ReflexiaError("RFX_VALIDATION", "n > 1 is not supported; send separate requests");
  }
  const stop =
    body.stop === null || body.stop === undefined ? undefined : Array.isArray(body.stop) ? body.stop : [body.stop];
  return {
    maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    topK: body.top_k,
    seed: body.seed ?? undefined,
    repeatPenalty: body.repeat_penalty,
    stop: stop?.filter((s) => s.length > 0),
  };
}

function finishReasonOf(r: FinishReason): "stop" | "length" {
  return r === "length" ? "length" : "stop";
}

function usageOf(o: InferenceOutcome) {
  return {
    prompt_tokens: o.promptTokens,
    completion_tokens: o.completionTokens,
    total_tokens: o.promptTokens + o.completionTokens,
  };
}

const newId = (prefix: string): string => `${prefix}-${randomBytes(12).toString("hex")}`;
const nowSeconds = (): number => Math.floor(Date.now() / 1000);
const sse = (data: unknown): string => `data: ${JSON.stringify(data)}\n\n`;

function sendBuffered(reply: FastifyReply, meta: ReflexiaMeta, body: unknown): FastifyReply {
  return reply.headers(reflexiaHeaders(meta)).send(body);
}

export function registerOpenAiRoutes(app: RouteApp, deps: AppDeps): void {
  const { inference, embeddings, models } = deps;

  app.post("/v1/chat/completions", { schema: { body: chatCompletionBodySchema } }, async (request, reply) => {
    const body = request.body;
    const req: InferenceRequest = {
      kind: "chat",
      model: body.model,
      messages: toChatMessages(body.messages),
      role: body.role,
      sampling: samplingOf(body),
      keepAliveSeconds: parseKeepAlive(body.keep_alive),
      signal: clientAbortSignal(request, reply),
      rag: ragOptionOf(body),
    };
    const id = newId("chatcmpl");
    const created = nowSeconds();
    if (body.stream) {
      const includeUsage = body.stream_options?.include_usage === true;
      const chunk = (
        meta: ReflexiaMeta,
        delta: Record<string, unknown>,
        finish: string | null,
        extra: Record<string, unknown> = {},
      ) =>
        sse({
          id,
          object: "chat.completion.chunk",
          created,
          model: meta.variant,
          system_fingerprint: null,
          choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
          ...extra,
        });
      return streamInference<InferenceOutcome>(
        reply,
        {
          contentType: "text/event-stream; charset=utf-8",
          start: (meta) => chunk(meta, { role: "assistant", content: "" }, null),
          text: (t, meta) => chunk(meta, { content: t }, null),
          done: (o, meta) =>
            chunk(meta, {}, finishReasonOf(o.finishReason), { reflexia: o.meta }) +
            (includeUsage
              ? sse({
                  id,
                  object: "chat.completion.chunk",
                  created,
                  model: meta.variant,
                  choices: [],
                  usage: usageOf(o),
                })
              : "") +
            "data: [DONE]\n\n",
          error: (e) => sse(errorBody(e)) + "data: [DONE]\n\n",
        },
        (hooks) => inference.run(req, hooks),
      );
    }
    const o = await inference.run(req);
    return sendBuffered(reply, o.meta, {
      id,
      object: "chat.completion",
      created,
      model: o.meta.variant,
      system_fingerprint: null,
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: o.text, refusal: null },
          logprobs: null,
          finish_reason: finishReasonOf(o.finishReason),
        },
      ],
      usage: usageOf(o),
      reflexia: o.meta,
    });
  });

  app.post("/v1/completions", { schema: { body: completionBodySchema } }, async (request, reply) => {
    const body = request.body;
    const prompt = Array.isArray(body.prompt) ? body.prompt[0] : body.prompt;
    const req: InferenceRequest = {
      kind: "completion",
      model: body.model,
      prompt,
      role: body.role,
      sampling: samplingOf(body),
      keepAliveSeconds: parseKeepAlive(body.keep_alive),
      signal: clientAbortSignal(request, reply),
      rag: ragOptionOf(body),
    };
    const id = newId("cmpl");
    const created = nowSeconds();
    const choice = (text: string, finish: string | null) => ({ text, index: 0, logprobs: null, finish_reason: finish });
    if (body.stream) {
      const includeUsage = body.stream_options?.include_usage === true;
      return streamInference<InferenceOutcome>(
        reply,
        {
          contentType: "text/event-stream; charset=utf-8",
          text: (t, meta) =>
            sse({ id, object: "text_completion", created, model: meta.variant, choices: [choice(t, null)] }),
          done: (o, meta) =>
            sse({
              id,
              object: "text_completion",
              created,
              model: meta.variant,
              choices: [choice("", finishReasonOf(o.finishReason))],
              reflexia: o.meta,
            }) +
            (includeUsage
              ? sse({ id, object: "text_completion", created, model: meta.variant, choices: [], usage: usageOf(o) })
              : "") +
            "data: [DONE]\n\n",
          error: (e) => sse(errorBody(e)) + "data: [DONE]\n\n",
        },
        (hooks) => inference.run(req, hooks),
      );
    }
    const o = await inference.run(req);
    return sendBuffered(reply, o.meta, {
      id,
      object: "text_completion",
      created,
      model: o.meta.variant,
      system_fingerprint: null,
      choices: [choice(o.text, finishReasonOf(o.finishReason))],
      usage: usageOf(o),
      reflexia: o.meta,
    });
  });

  app.post("/v1/embeddings", { schema: { body: embeddingsBodySchema } }, async (request, reply) => {
    const body = request.body;
    const input = Array.isArray(body.input) ? body.input : [body.input];
    const out = await embeddings.embed({ model: body.model, input, signal: clientAbortSignal(request, reply) });
    const encode = (v: number[]): number[] | string =>
      body.encoding_format === "base64" ? Buffer.from(Float32Array.from(v).buffer).toString("base64") : v;
    return {
      object: "list",
      data: out.embeddings.map((v, index) => ({ object: "embedding", index, embedding: encode(v) })),
      model: out.model,
      usage: { prompt_tokens: out.promptTokens, total_tokens: out.promptTokens },
    };
  });

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

  app.get("/v1/models", async () => ({ object: "list", data: await modelEntries() }));

  app.get("/v1/models/*", { schema: { params: wildcardParamsSchema } }, async (request) => {
    const id = request.params["*"];
    const found = (await modelEntries()).find((m) => m.id === id);
    if (!found) throw new ReflexiaError("RFX_MODEL_NOT_FOUND", `model ${id} not found`, { model: id });
    return found;
  });
}
