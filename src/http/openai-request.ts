// OpenAI request pieces shared by /v1/chat/completions and /v1/responses: messages with tool calls, tools and
// tool_choice, n, and the OpenAI shape of log-probabilities.
import { assertJsonDepth } from "../config/index.ts";
import type { ChatMessage, ToolCall, ToolChoice, ToolDefinition, TokenLogprob } from "../engine/types.ts";
import { fixedSeed, MAX_TOP_LOGPROBS } from "../engine/types.ts";
import { ReflexiaError } from "../errors/index.ts";
import { MAX_CHOICES, type OpenAiMessage, type OpenAiTool, type OpenAiToolChoice } from "./schemas/openai.ts";

/**
 * A message's content as text: a string, or its parts joined. A `refusal` part (`{type: "refusal", refusal}`, as
 * OpenAI returns a refused turn) is what the assistant said, so it is that turn's text; on another role it is refused
 * by name, as is a part's field of the other type.
 */
function textOf(content: OpenAiMessage["content"], index: number, role: OpenAiMessage["role"]): string {
  if (content === null || content === undefined) return "";
  if (typeof content === "string") return content;
  return content
    .map((p, k) => {
      const where = `messages[${index}].content[${k}]`;
      const own = p.type === "refusal" ? "refusal" : "text";
      const stray = own === "refusal" ? "text" : "refusal";
      if ((p.type === "text" || p.type === "refusal") && p[stray] !== undefined)
        throw new ReflexiaError(
          "RFX_VALIDATION",
          `${where}.${stray} does not belong to a ${p.type} part (its text is in ${own})`,
          { field: `${where}.${stray}` },
        );
      if (p.type === "refusal" && role !== "assistant")
        throw new ReflexiaError(
          "RFX_VALIDATION",
          `${where} is a refusal part, which only assistant messages carry (this one is role ${role})`,
          { field: where },
        );
      const text = p[own];
      if ((p.type !== "text" && p.type !== "refusal") || typeof text !== "string") {
        throw new ReflexiaError(
          "RFX_VALIDATION",
          `messages[${index}] has a ${JSON.stringify(p.type)} content part; only text parts (and an assistant's refusal parts) are supported`,
          { field: where },
        );
      }
      return text;
    })
    .join("");
}

/** Parses a call's JSON arguments string; RFX_VALIDATION naming `where` when it is not a JSON object. */
export function parseArguments(args: string, where: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(args === "" ? "{}" : args);
  } catch {
    throw new ReflexiaError("RFX_VALIDATION", `${where} is not valid JSON`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new ReflexiaError("RFX_VALIDATION", `${where} must be a JSON object`);
  // JSON text inside the body escaped the body's own limit; what renders the call again (tool-chat) recurses.
  assertJsonDepth(v, where);
  return v as Record<string, unknown>;
}

export function toChatMessages(messages: OpenAiMessage[]): ChatMessage[] {
  const names = new Map<string, string>();
  return messages.map((m, i) => {
    if (m.role === "function")
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `messages[${i}].role "function" belongs to the deprecated functions API; send tools and role "tool" instead`,
      );
    if (m.function_call)
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `messages[${i}].function_call belongs to the deprecated functions API; send the call in tool_calls instead`,
        { field: `messages[${i}].function_call` },
      );
    if (m.audio)
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `messages[${i}].audio refers to an audio answer; this server answers in text only, so send its transcript as content`,
        { field: `messages[${i}].audio` },
      );
    // An assistant turn OpenAI refused has its text in `refusal` and no content: that text is what the model said.
    // (`annotations`, the citations of a web-search answer, describe the content and have no place in a prompt.)
    const text = textOf(m.content, i, m.role);
    if (m.refusal && (m.role !== "assistant" || text !== ""))
      throw new ReflexiaError(
        "RFX_VALIDATION",
        m.role !== "assistant"
          ? `messages[${i}].refusal belongs to assistant messages (this one is role ${m.role})`
          : `messages[${i}] has both content and a refusal; an assistant turn has one or the other`,
        { field: `messages[${i}].refusal` },
      );
    const content = text || (m.refusal ?? "");
    // Fields of another role would be dropped without a word: the call or answer they carry would vanish.
    if (m.tool_calls?.length && m.role !== "assistant")
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `messages[${i}].tool_calls belongs to assistant messages (this one is role ${m.role})`,
        { field: `messages[${i}].tool_calls` },
      );
    if (m.tool_call_id != null && m.role !== "tool")
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `messages[${i}].tool_call_id belongs to tool messages (this one is role ${m.role})`,
        { field: `messages[${i}].tool_call_id` },
      );
    if (m.role === "tool") {
      if (!m.tool_call_id)
        throw new ReflexiaError("RFX_VALIDATION", `messages[${i}] (role tool) needs the tool_call_id it answers`);
      // As OpenAI: a tool result answers a call the conversation made.
      if (!names.has(m.tool_call_id))
        throw new ReflexiaError(
          "RFX_VALIDATION",
          `messages[${i}] (role tool) answers tool_call_id "${m.tool_call_id}", which no earlier assistant message's tool_calls has`,
          { field: `messages[${i}].tool_call_id` },
        );
      return { role: "tool", content, toolCallId: m.tool_call_id, name: names.get(m.tool_call_id) ?? m.name };
    }
    if (m.role === "assistant" && m.tool_calls?.length) {
      const toolCalls: ToolCall[] = m.tool_calls.map((c, j) => {
        names.set(c.id, c.function.name);
        return {
          id: c.id,
          name: c.function.name,
          arguments: parseArguments(c.function.arguments, `messages[${i}].tool_calls[${j}].function.arguments`),
        };
      });
      return { role: "assistant", content, toolCalls };
    }
    // "developer" is OpenAI's newer name for the system message.
    return { role: m.role === "developer" ? "system" : m.role, content };
  });
}

export function toToolDefinitions(tools: OpenAiTool[] | null | undefined): ToolDefinition[] | undefined {
  return tools?.map((t) => ({
    name: t.function.name,
    description: t.function.description,
    parameters: t.function.parameters,
  }));
}

export function toToolChoice(c: OpenAiToolChoice | null | undefined): ToolChoice | undefined {
  if (c === null || c === undefined) return undefined;
  return typeof c === "string" ? c : { name: c.function.name };
}

/** `n` checked against the documented limit. */
export function choiceCount(n: number | null | undefined): number {
  const count = n ?? 1;
  if (count > MAX_CHOICES)
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `n is ${count}; at most ${MAX_CHOICES} choices per request (each is a sequence of its own)`,
      { field: "n" },
    );
  return count;
}

/** The engine's logprobs option for OpenAI's `logprobs` + `top_logprobs`. */
export function logprobsOption(
  logprobs: boolean | null | undefined,
  top: number | null | undefined,
): number | undefined {
  if (top !== null && top !== undefined) {
    if (top > MAX_TOP_LOGPROBS)
      throw new ReflexiaError("RFX_VALIDATION", `top_logprobs is ${top}; at most ${MAX_TOP_LOGPROBS}`, {
        field: "top_logprobs",
      });
    if (logprobs !== true)
      throw new ReflexiaError("RFX_VALIDATION", "top_logprobs needs logprobs: true", { field: "top_logprobs" });
  }
  return logprobs === true ? (top ?? 0) : undefined;
}

/**
 * OpenAI's per-token entry (Ollama's too): the token, its log-probability, its UTF-8 bytes (the token's own where the
 * engine gives them, so characters split across tokens can be rebuilt), and the alternatives.
 */
export function openAiLogprobs(lps: readonly TokenLogprob[]) {
  const bytes = (t: { token: string; bytes?: number[] }) => t.bytes ?? [...Buffer.from(t.token, "utf8")];
  return lps.map((l) => ({
    token: l.token,
    logprob: l.logprob,
    bytes: bytes(l),
    top_logprobs: l.top.map((t) => ({ token: t.token, logprob: t.logprob, bytes: bytes(t) })),
  }));
}

/**
 * Each choice's seed: a fixed seed gives choice i seed + i, so the choices differ but the request reproduces
 * (fixedSeed takes the seed modulo 2^32; RANDOM_SEED is random, as none).
 */
export function choiceSeed(seed: number | null | undefined, i: number): number | undefined {
  const fixed = fixedSeed(seed);
  return fixed === undefined ? undefined : fixedSeed(fixed + i);
}
