// Chat rendering for the native engine: the model's GGUF template through llama_chat_apply_template, ChatML otherwise.
import { ReflexiaError } from "../../errors/index.ts";
import { CHAT_ROLES, type ChatMessage } from "../types.ts";
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
        `messages: unknown role '${String(m.role)}' (system, user or assistant)`,
      );
  }
}

/** Renders messages (with the assistant turn opened) and the stop strings that end the assistant's turn. */
export function renderNativeChat(model: NativeModel, messages: readonly ChatMessage[]): NativeRenderedChat {
  validate(messages);
  const template = model.chatTemplate();
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
