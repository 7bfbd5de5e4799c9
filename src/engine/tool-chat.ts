// Chat prompts with tools: the model's own Jinja template (via @huggingface/jinja, as node-llama-cpp renders GGUF
// templates) when it knows about tools, else a documented fallback that folds the tools into the system message.
import { Template } from "@huggingface/jinja";
import type { ChatMessage, ToolDefinition } from "./types.ts";

/** Does the template render a `tools` list (Hermes/Qwen, Llama 3.1+, Mistral, …)? */
export function templateSupportsTools(template: string | null): template is string {
  return template !== null && /\btools\b/.test(template);
}

/** True when the request needs the tool-aware rendering (tools offered, or tool calls / results in the history). */
export function needsToolRendering(messages: readonly ChatMessage[], tools: readonly ToolDefinition[] | undefined) {
  return (tools?.length ?? 0) > 0 || messages.some((m) => m.role === "tool" || (m.toolCalls?.length ?? 0) > 0);
}

const jinjaTool = (t: ToolDefinition) => ({
  type: "function",
  function: { name: t.name, description: t.description ?? "", parameters: t.parameters ?? { type: "object" } },
});

/** Renders with the model's template, messages and tools in the shape Hugging Face templates expect; null if it throws. */
export function renderJinjaChat(
  template: string,
  messages: readonly ChatMessage[],
  tools: readonly ToolDefinition[] | undefined,
  special: { bos: string; eos: string },
): string | null {
  try {
    return new Template(template).render({
      messages: messages.map((m) => ({
        role: m.role,
        content: m.content,
        ...(m.toolCalls?.length
          ? {
              tool_calls: m.toolCalls.map((c) => ({
                id: c.id,
                type: "function",
                function: { name: c.name, arguments: c.arguments },
              })),
            }
          : {}),
        ...(m.role === "tool" ? { tool_call_id: m.toolCallId ?? "", name: m.name ?? "" } : {}),
      })),
      tools: tools && tools.length > 0 ? tools.map(jinjaTool) : undefined,
      add_generation_prompt: true,
      bos_token: special.bos,
      eos_token: special.eos,
    });
  } catch {
    return null;
  }
}

/** The fallback's call format: what a model reads in the system message and what the call parser accepts. */
export const FALLBACK_CALL_OPEN = "<tool_call>";
export const FALLBACK_CALL_CLOSE = "</tool_call>";

function toolSystemText(tools: readonly ToolDefinition[]): string {
  return [
    "You can call functions. To call one, reply with only:",
    `${FALLBACK_CALL_OPEN}`,
    `{"name": <function name>, "arguments": <arguments as a JSON object>}`,
    `${FALLBACK_CALL_CLOSE}`,
    "Available functions:",
    ...tools.map((t) => JSON.stringify(jinjaTool(t).function)),
  ].join("\n");
}

/**
 * For templates without tool support: the tools join the system message, earlier calls are written as the
 * assistant's <tool_call> text and tool results become user turns in <tool_response> (the Hermes convention), so
 * only system/user/assistant roles reach the template.
 */
export function foldToolsIntoMessages(
  messages: readonly ChatMessage[],
  tools: readonly ToolDefinition[] | undefined,
): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const m of messages) {
    if (m.role === "tool") {
      out.push({ role: "user", content: `<tool_response>\n${m.content}\n</tool_response>` });
    } else if (m.role === "assistant" && m.toolCalls?.length) {
      const calls = m.toolCalls.map(
        (c) =>
          `${FALLBACK_CALL_OPEN}\n${JSON.stringify({ name: c.name, arguments: c.arguments })}\n${FALLBACK_CALL_CLOSE}`,
      );
      out.push({ role: "assistant", content: [m.content, ...calls].filter((x) => x.length > 0).join("\n") });
    } else {
      out.push({ role: m.role, content: m.content });
    }
  }
  if (tools && tools.length > 0) {
    const text = toolSystemText(tools);
    if (out[0]?.role === "system") out[0] = { role: "system", content: `${out[0].content}\n\n${text}` };
    else out.unshift({ role: "system", content: text });
  }
  return out;
}
