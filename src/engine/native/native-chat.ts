// Chat rendering for the native engine: the model's GGUF template through llama_chat_apply_template, ChatML otherwise.
import { ReflexiaError } from "../../errors/index.ts";
import { foldToolsIntoMessages, needsToolRendering, renderJinjaChat, templateSupportsTools } from "../tool-chat.ts";
import { CHAT_ROLES, type ChatMessage, type ToolDefinition } from "../types.ts";
import type { NativeModel } from "./native-addon.ts";

export interface NativeRenderedChat {
  text: string;
  /** End-of-turn markers to stop on when the vocabulary lacks them as special tokens (then they arrive as text). */
  stopStrings: string[];
}

// Turn terminators of the template families llama.cpp recognises; a marker only counts if the template uses it.
const END_OF_TURN_MARKERS = ["<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>", "<|endoftext|>", "</s>"];

function chatml(messages: readonly ChatMessage[]): string {
  return messages.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join("") + "<|im_start|>assistant\n";
}

function validate(messages: unknown): asserts messages is ChatMessage[] {
  if (!Array.isArray(messages)) throw new ReflexiaError("RFX_VALIDATION", "messages must be an array");
  if (messages.length === 0) throw new ReflexiaError("RFX_VALIDATION", "messages: at least one message is required");
  for (const m of messages as Array<{ role?: unknown; content?: unknown }>) {
    if (typeof m?.content !== "string")
      throw new ReflexiaError("RFX_VALIDATION", "messages: each content must be a string");
    if (!(CHAT_ROLES as readonly unknown[]).includes(m.role))
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `messages: unknown role '${String(m.role)}' (${CHAT_ROLES.join(", ")})`,
      );
  }
}

/**
 * Renders messages (with the assistant turn opened) and the stop strings that end the assistant's turn. With tools
 * (or tool calls in the history) a template that knows tools renders through Jinja; any other template gets the
 * tools folded into its system message (tool-chat.ts).
 */
export function renderNativeChat(
  model: NativeModel,
  input: readonly ChatMessage[],
  tools?: readonly ToolDefinition[],
): NativeRenderedChat {
  validate(input);
  const template = model.chatTemplate();
  let messages = input;
  if (needsToolRendering(input, tools)) {
    if (templateSupportsTools(template)) {
      const info = model.info();
      const special = (id: number) => (id >= 0 ? model.detokenize(Int32Array.of(id), false, true) : "");
      const text = renderJinjaChat(template, input, tools, { bos: special(info.bos), eos: special(info.eos) });
      if (text !== null) return { text, stopStrings: END_OF_TURN_MARKERS.filter((m) => template.includes(m)) };
    }
    messages = foldToolsIntoMessages(input, tools);
  }
  const rendered = template
    ? model.applyChatTemplate(
        template,
        messages.map((m) => m.role),
        messages.map((m) => m.content),
        true,
      )
    : null;
  const text = rendered ?? chatml(messages);
  const source = rendered ? (template ?? "") : "<|im_end|>";
  return { text, stopStrings: END_OF_TURN_MARKERS.filter((m) => source.includes(m)) };
}
