// OpenAI's Responses API (POST /v1/responses), stateless: text or item input, instructions, function tools and their
// outputs, text.format, streaming with the Responses event sequence. Nothing is stored, so previous_response_id
// and conversation are refused.
import { RUNS_MODEL } from "../usage-accounting.ts";
import { randomBytes } from "node:crypto";
import type { ChatMessage, ToolCall, ToolChoice, ToolDefinition } from "../../engine/types.ts";
import { ReflexiaError } from "../../errors/index.ts";
import type { AppliedSampling, InferenceOutcome, InferenceRequest } from "../../services/inference-service.ts";
import { ragOptionOf } from "../../services/rag/rag-request.ts";
import { grammarForOutput, type OutputFormat } from "../../services/structured/response-format.ts";
import { createToolCallStream } from "../../services/structured/tool-call-stream.ts";
import { parseToolCalls, planTools, replyGrammar } from "../../services/structured/tool-calls.ts";
import { errorBody } from "../error-handler.ts";
import { parseKeepAlive } from "../keep-alive.ts";
import { assertKnownNested } from "../known-fields.ts";
import { choiceSeed, parseArguments } from "../openai-request.ts";
import {
  RESPONSES_MESSAGE_ROLES,
  RESPONSES_TEXT_PART_TYPES,
  responsesBodySchema,
  responsesItemSchema,
  responsesToolChoiceSchema,
  responsesToolSchema,
} from "../schemas/openai.ts";
import { clientAbortSignal, reflexiaHeaders, streamInference } from "../streaming.ts";
import type { AppDeps, RouteApp } from "../types.ts";
import type { Static } from "typebox";

type ResponsesBody = Static<typeof responsesBodySchema>;

const newId = (prefix: string): string => `${prefix}_${randomBytes(12).toString("hex")}`;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function contentText(content: unknown, where: string): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content))
    throw new ReflexiaError("RFX_VALIDATION", `${where}.content must be a string or a list of parts`, {
      field: `${where}.content`,
    });
  return content
    .map((p, k) => {
      if (
        isObj(p) &&
        (RESPONSES_TEXT_PART_TYPES as readonly unknown[]).includes(p.type) &&
        typeof p.text === "string"
      ) {
        return p.text;
      }
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `${where}.content[${k}] is a ${JSON.stringify(isObj(p) ? p.type : typeof p)} part; only text parts are supported`,
        { field: `${where}.content[${k}]` },
      );
    })
    .join("");
}

/** Input items → chat messages: messages by role, function calls (grouped into one assistant turn), their outputs. */
export function responsesMessages(body: ResponsesBody): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (body.instructions) out.push({ role: "system", content: body.instructions });
  if (typeof body.input === "string") {
    out.push({ role: "user", content: body.input });
    return out;
  }
  const names = new Map<string, string>();
  body.input.forEach((item, i) => {
    const where = `input[${i}]`;
    if (!isObj(item)) throw new ReflexiaError("RFX_VALIDATION", `${where} must be an object`);
    const type = item.type ?? "message";
    if (type === "message") {
      const role = item.role as (typeof RESPONSES_MESSAGE_ROLES)[number];
      if (!RESPONSES_MESSAGE_ROLES.includes(role))
        throw new ReflexiaError(
          "RFX_VALIDATION",
          `${where}.role must be ${RESPONSES_MESSAGE_ROLES.slice(0, -1).join(", ")} or ${RESPONSES_MESSAGE_ROLES.at(-1)}`,
        );
      out.push({ role: role === "developer" ? "system" : role, content: contentText(item.content, where) });
    } else if (type === "function_call") {
      if (typeof item.call_id !== "string" || typeof item.name !== "string" || typeof item.arguments !== "string")
        throw new ReflexiaError("RFX_VALIDATION", `${where} (function_call) needs call_id, name and arguments strings`);
      const call: ToolCall = {
        id: item.call_id,
        name: item.name,
        arguments: parseArguments(item.arguments, `${where}.arguments`),
      };
      names.set(call.id, call.name);
      const last = out[out.length - 1];
      // Parallel calls of one turn arrive as consecutive items: they belong to one assistant message.
      if (last?.role === "assistant" && last.toolCalls) last.toolCalls.push(call);
      else out.push({ role: "assistant", content: "", toolCalls: [call] });
    } else if (type === "function_call_output") {
      if (typeof item.call_id !== "string")
        throw new ReflexiaError("RFX_VALIDATION", `${where} (function_call_output) needs the call_id it answers`);
      const output = typeof item.output === "string" ? item.output : JSON.stringify(item.output ?? "");
      out.push({ role: "tool", content: output, toolCallId: item.call_id, name: names.get(item.call_id) });
    } else if (type === "item_reference") {
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `${where} is an item_reference; this server stores nothing, so send the item itself (AI SDK: providerOptions.openai.store = false)`,
      );
    } else if (type === "reasoning") {
      // No model here reasons, so a reasoning item with a trace came from another model, and the trace has no place
      // in this one's prompt: refused rather than dropped. One without (an empty summary) is taken and adds nothing.
      const traces = (["summary", "content"] as const).flatMap((k) => {
        const v = item[k];
        if (v === undefined || (v === null && k === "content")) return [];
        if (!Array.isArray(v) || !v.every((t) => isObj(t) && typeof t.text === "string"))
          throw new ReflexiaError("RFX_VALIDATION", `${where}.${k} must be a list of {type, text} parts`);
        return v as Obj[];
      });
      if (item.encrypted_content || traces.some((t) => t.text !== ""))
        throw new ReflexiaError(
          "RFX_VALIDATION",
          `${where} is a reasoning item with a trace (summary, content or encrypted_content): no model here reasons, so it has no place in the prompt; leave reasoning items out of the input`,
          { field: where },
        );
    } else {
      throw new ReflexiaError("RFX_VALIDATION", `${where} has type ${JSON.stringify(type)}, which is not supported`);
    }
    // The item's type and content are known to be supported: any field it should not have is refused by path.
    assertKnownNested(item, responsesItemSchema, where);
  });
  return out;
}

function responsesTools(tools: unknown[] | null | undefined): ToolDefinition[] | undefined {
  return tools?.map((t, i) => {
    if (!isObj(t) || t.type !== "function")
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `tools[${i}] has type ${JSON.stringify(isObj(t) ? t.type : typeof t)}; only function tools are supported`,
        { field: `tools[${i}]` },
      );
    assertKnownNested(t, responsesToolSchema, `tools[${i}]`);
    if (typeof t.name !== "string")
      throw new ReflexiaError("RFX_VALIDATION", `tools[${i}].name is required`, { field: `tools[${i}].name` });
    if (t.parameters !== undefined && t.parameters !== null && !isObj(t.parameters))
      throw new ReflexiaError("RFX_VALIDATION", `tools[${i}].parameters must be a JSON Schema object`, {
        field: `tools[${i}].parameters`,
      });
    return {
      name: t.name,
      description: typeof t.description === "string" ? t.description : undefined,
      parameters: (t.parameters ?? undefined) as Obj | undefined,
    };
  });
}

function responsesToolChoice(c: unknown): ToolChoice | undefined {
  if (c === null || c === undefined) return undefined;
  if (c === "auto" || c === "none" || c === "required") return c;
  if (isObj(c) && c.type === "function" && typeof c.name === "string") {
    assertKnownNested(c, responsesToolChoiceSchema, "tool_choice");
    return { name: c.name };
  }
  throw new ReflexiaError(
    "RFX_VALIDATION",
    'tool_choice must be "auto", "none", "required" or {"type": "function", "name": …}',
    { field: "tool_choice" },
  );
}

function responsesFormat(body: ResponsesBody): OutputFormat | undefined {
  const f = body.text?.format;
  if (!f) return undefined;
  if (f.type !== "json_schema") {
    // Fields of a JSON Schema format beside another type would be dropped without a word.
    const stray = (["name", "schema", "strict", "description"] as const).find((k) => f[k] !== undefined);
    if (stray)
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `text.format.${stray} is only read with type "json_schema" (type is "${f.type}")`,
        { field: `text.format.${stray}` },
      );
    return { type: f.type };
  }
  if (!f.schema)
    throw new ReflexiaError("RFX_VALIDATION", "text.format json_schema needs schema (a JSON Schema)", {
      field: "text.format.schema",
    });
  return { type: "json_schema", schema: f.schema };
}

export function registerResponsesRoutes(app: RouteApp, deps: AppDeps): void {
  const { inference, config } = deps;

  app.post(
    "/v1/responses",
    {
      schema: { body: responsesBodySchema },
      config: { capabilities: ["json_mode", "tools"], openai: true, ...RUNS_MODEL },
    },
    async (request, reply) => {
      const body = request.body;
      if (body.previous_response_id || body.conversation) {
        const field = body.previous_response_id ? "previous_response_id" : "conversation";
        throw new ReflexiaError(
          "RFX_VALIDATION",
          `${field} is not supported: this server keeps no responses; send the whole conversation as input items`,
          { field },
        );
      }
      if (body.background === true)
        throw new ReflexiaError("RFX_VALIDATION", "background responses are not supported (nothing is stored)", {
          field: "background",
        });
      if (body.prompt !== undefined && body.prompt !== null)
        throw new ReflexiaError("RFX_VALIDATION", "prompt (stored prompt templates) is not supported; send input", {
          field: "prompt",
        });
      if (body.store === true)
        throw new ReflexiaError(
          "RFX_VALIDATION",
          "store: true is not supported: this server keeps no responses; omit store or send false",
          { field: "store" },
        );
      if (body.text?.verbosity !== undefined && body.text.verbosity !== null)
        throw new ReflexiaError(
          "RFX_VALIDATION",
          "text.verbosity is not supported: the length of an answer is set by max_output_tokens here",
          { field: "text.verbosity" },
        );
      const messages = responsesMessages(body);
      const plan = planTools(responsesTools(body.tools), responsesToolChoice(body.tool_choice));
      const formatGrammar = grammarForOutput(responsesFormat(body), undefined, "text.format", "text.format.schema");
      const req: InferenceRequest = {
        kind: "chat",
        model: body.model,
        messages,
        tools: plan.tools,
        role: body.role,
        sampling: {
          maxTokens: body.max_output_tokens ?? undefined,
          temperature: body.temperature ?? undefined,
          topP: body.top_p ?? undefined,
          topK: body.top_k,
          seed: choiceSeed(body.seed, 0),
          grammar: replyGrammar(plan, formatGrammar, "text.format"),
        },
        keepAliveSeconds: parseKeepAlive(body.keep_alive),
        signal: clientAbortSignal(request, reply),
        rag: ragOptionOf(body as Parameters<typeof ragOptionOf>[0]),
        // OpenAI's truncation: "auto" drops the oldest turns of a conversation that does not fit, "disabled" refuses
        // it (context_length_exceeded), as the two CONTEXT_OVERFLOW policies do; unset, the server's policy applies.
        contextOverflow: body.truncation ? (body.truncation === "auto" ? "truncate" : "error") : undefined,
      };
      const truncation =
        body.truncation ?? (config.models.context_overflow === "truncate" ? ("auto" as const) : ("disabled" as const));
      // What sampling ran with (the request's, the model's stored parameter or the engine's default), known once
      // the variant is chosen: the response echoes it, as OpenAI's does.
      let applied: AppliedSampling | undefined;
      const noteApplied = (a: AppliedSampling) => (applied = a);

      const id = newId("resp");
      const msgId = newId("msg");
      const createdAt = Math.floor(Date.now() / 1000);
      const formatEcho = body.text?.format ?? { type: "text" };
      const envelope = (model: string, status: string, o?: InferenceOutcome, output: unknown[] = []) => ({
        id,
        object: "response",
        created_at: createdAt,
        status,
        error: null,
        incomplete_details: o && o.finishReason === "length" ? { reason: "max_output_tokens" } : null,
        instructions: body.instructions ?? null,
        max_output_tokens: body.max_output_tokens ?? null,
        model,
        output,
        parallel_tool_calls: body.parallel_tool_calls ?? true,
        previous_response_id: null,
        reasoning: { effort: null, summary: null },
        store: false,
        temperature: applied ? applied.temperature : (body.temperature ?? null),
        text: { format: formatEcho },
        tool_choice: body.tool_choice ?? "auto",
        tools: body.tools ?? [],
        top_p: applied ? applied.topP : (body.top_p ?? null),
        truncation,
        usage: o
          ? {
              input_tokens: o.promptTokens,
              input_tokens_details: { cached_tokens: o.cachedPromptTokens ?? 0 },
              output_tokens: o.completionTokens,
              output_tokens_details: { reasoning_tokens: 0 },
              total_tokens: o.promptTokens + o.completionTokens,
            }
          : null,
        user: body.user ?? null,
        metadata: body.metadata ?? {},
      });
      const statusOf = (o: InferenceOutcome) => (o.finishReason === "length" ? "incomplete" : "completed");
      const messageItem = (text: string, status: string) => ({
        type: "message",
        id: msgId,
        status,
        role: "assistant",
        content: [{ type: "output_text", text, annotations: [], logprobs: [] }],
      });
      const outputOf = (o: InferenceOutcome) => {
        const parsed = plan.parse && plan.tools ? parseToolCalls(o.text, plan.tools) : { content: o.text, calls: [] };
        const calls = body.parallel_tool_calls === false ? parsed.calls.slice(0, 1) : parsed.calls;
        const text = calls.length > 0 ? parsed.content : o.text;
        return [
          ...(text.length > 0 || calls.length === 0 ? [messageItem(text, statusOf(o))] : []),
          ...calls.map((c) => ({
            type: "function_call",
            id: newId("fc"),
            call_id: c.id,
            name: c.name,
            arguments: JSON.stringify(c.arguments),
            status: "completed",
          })),
        ];
      };

      if (body.stream) {
        let seq = 0;
        let variant = "";
        let streamed = "";
        const event = (type: string, data: Obj) =>
          `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`;
        // With tools the reply is held back until it can be told apart from a call; plain text streams as it comes.
        const holdBack = plan.parse;
        // With tools offered, text streams except what may be part of a call (held to the end, parsed then); the
        // message item opens with the first text that goes out.
        const gate = holdBack ? createToolCallStream() : undefined;
        let opened = !holdBack;
        const openMessage = () =>
          event("response.output_item.added", {
            output_index: 0,
            item: { ...messageItem("", "in_progress"), content: [] },
          }) +
          event("response.content_part.added", {
            item_id: msgId,
            output_index: 0,
            content_index: 0,
            part: { type: "output_text", text: "", annotations: [], logprobs: [] },
          });
        type CallItem = { type: string; id: string; arguments: string };
        const callEvents = (item: CallItem, index: number) =>
          event("response.output_item.added", {
            output_index: index,
            item: { ...item, arguments: "", status: "in_progress" },
          }) +
          event("response.function_call_arguments.delta", {
            item_id: item.id,
            output_index: index,
            delta: item.arguments,
          }) +
          event("response.function_call_arguments.done", {
            item_id: item.id,
            output_index: index,
            arguments: item.arguments,
          }) +
          event("response.output_item.done", { output_index: index, item });
        const closeMessage = (text: string, index: number, status: string) =>
          event("response.output_text.done", {
            item_id: msgId,
            output_index: index,
            content_index: 0,
            text,
            logprobs: [],
          }) +
          event("response.content_part.done", {
            item_id: msgId,
            output_index: index,
            content_index: 0,
            part: { type: "output_text", text, annotations: [], logprobs: [] },
          }) +
          event("response.output_item.done", { output_index: index, item: messageItem(text, status) });
        return streamInference<InferenceOutcome>(
          reply,
          {
            contentType: "text/event-stream; charset=utf-8",
            start: (meta) => {
              variant = meta.variant;
              const head =
                event("response.created", { response: envelope(variant, "in_progress") }) +
                event("response.in_progress", { response: envelope(variant, "in_progress") });
              return holdBack ? head : head + openMessage();
            },
            text: (t) => {
              streamed += t;
              const open = opened ? "" : openMessage();
              opened = true;
              return (
                open +
                event("response.output_text.delta", {
                  item_id: msgId,
                  output_index: 0,
                  content_index: 0,
                  delta: t,
                  logprobs: [],
                })
              );
            },
            done: (o) => {
              let output = outputOf(o);
              let out = "";
              if (!holdBack) out += closeMessage(streamed, 0, statusOf(o));
              else if (opened) {
                // The message went out in part: the rest of its text, then the calls after it.
                const message = output.find((x) => x.type === "message") as ReturnType<typeof messageItem> | undefined;
                const rest = gate!.rest(message ? message.content[0].text : "");
                if (rest)
                  out += event("response.output_text.delta", {
                    item_id: msgId,
                    output_index: 0,
                    content_index: 0,
                    delta: rest,
                    logprobs: [],
                  });
                out += closeMessage(streamed + rest, 0, statusOf(o));
                const calls = output.filter((x) => x.type !== "message");
                calls.forEach((item, k) => (out += callEvents(item as CallItem, k + 1)));
                output = [messageItem(streamed + rest, statusOf(o)), ...calls];
              } else
                output.forEach((item, index) => {
                  if (item.type === "message") {
                    const text = (item as ReturnType<typeof messageItem>).content[0].text;
                    out +=
                      event("response.output_item.added", {
                        output_index: index,
                        item: { ...messageItem("", "in_progress"), content: [] },
                      }) +
                      event("response.content_part.added", {
                        item_id: msgId,
                        output_index: index,
                        content_index: 0,
                        part: { type: "output_text", text: "", annotations: [], logprobs: [] },
                      }) +
                      (text
                        ? event("response.output_text.delta", {
                            item_id: msgId,
                            output_index: index,
                            content_index: 0,
                            delta: text,
                            logprobs: [],
                          })
                        : "") +
                      closeMessage(text, index, statusOf(o));
                  } else out += callEvents(item as CallItem, index);
                });
              const final = envelope(variant, statusOf(o), o, holdBack ? output : [messageItem(streamed, statusOf(o))]);
              return (
                out +
                event(o.finishReason === "length" ? "response.incomplete" : "response.completed", { response: final })
              );
            },
            // The failed response carries what was produced, as OpenAI's does: the message the deltas went
            // to, incomplete (a reply with tools offered that sent no text yet has no output).
            error: (e) => {
              const error = errorBody(e, "openai").error;
              return (
                event("error", { code: error.code, message: error.message, param: error.param }) +
                event("response.failed", {
                  response: {
                    ...envelope(variant, "failed", undefined, opened ? [messageItem(streamed, "incomplete")] : []),
                    error,
                  },
                })
              );
            },
          },
          (hooks) =>
            inference.run(req, {
              onStart: (meta, a) => {
                noteApplied(a);
                hooks.onStart?.(meta, a);
              },
              onText: !gate
                ? hooks.onText
                : (t) => {
                    const out = gate.push(t);
                    if (out) hooks.onText?.(out);
                  },
            }),
        );
      }
      const o = await inference.run(req, { onStart: (_meta, a) => noteApplied(a) });
      return reply
        .headers(reflexiaHeaders(o.meta))
        .send({ ...envelope(o.meta.variant, statusOf(o), o, outputOf(o)), reflexia: o.meta });
    },
  );
}
