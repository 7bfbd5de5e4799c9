// Chat rendering for node-llama-cpp models: the model's own template (GGUF Jinja or a matching wrapper) to tokens + stops.
import {
  GeneralChatWrapper,
  LlamaText,
  resolveChatWrapper,
  SpecialToken,
  type ChatHistoryItem,
  type ChatWrapper,
  type LlamaModel,
  type Token,
} from "node-llama-cpp";
import { ReflexiaError } from "../../errors/index.ts";
import type { ChatMessage } from "../types.ts";

export interface RenderedChat {
  /** The rendered prompt, special tokens written as their text. */
  text: string;
  /** What to evaluate, BOS included when the template asks for it. */
  tokens: Token[];
  /** Single special tokens that end the assistant turn (e.g. <|im_end|>), besides the model's EOG tokens. */
  stopTokens: Token[];
  /** Plain-text end-of-turn markers, matched in the generated text. */
  stopStrings: string[];
}

export interface ChatRenderer {
  /** Name of the chat wrapper in use, e.g. "ChatML" or "JinjaTemplate". */
  readonly wrapperName: string;
  render(messages: readonly ChatMessage[]): RenderedChat;
}

/** LlamaText as the text a model would see: builtin tokens (BOS, EOS…) as their vocabulary pieces, not their names. */
function renderText(text: LlamaText, model: LlamaModel): string {
  return text.values
    .map((v) => (v instanceof SpecialToken ? model.detokenize(v.tokenize(model.tokenizer), true) : String(v)))
    .join("");
}

/**
 * Resolves the chat wrapper once per model: the GGUF `tokenizer.chat_template` when present (node-llama-cpp maps
 * well-known templates onto specialised wrappers and runs others as Jinja), else a general fallback template.
 */
export function createChatRenderer(model: LlamaModel): ChatRenderer {
  let wrapper: ChatWrapper;
  try {
    wrapper = resolveChatWrapper(model, { warningLogs: false });
  } catch {
    wrapper = new GeneralChatWrapper();
  }
  return {
    wrapperName: wrapper.wrapperName,
    render(messages) {
      if (messages.length === 0)
        throw new ReflexiaError("RFX_VALIDATION", "messages: at least one message is required");
      const history: ChatHistoryItem[] = messages.map((m): ChatHistoryItem => {
        if (typeof m?.content !== "string")
          throw new ReflexiaError("RFX_VALIDATION", "messages: each content must be a string");
        switch (m.role) {
          case "system":
            return { type: "system", text: m.content };
          case "user":
            return { type: "user", text: m.content };
          case "assistant":
            return { type: "model", response: [m.content] };
          default:
            throw new ReflexiaError(
              "RFX_VALIDATION",
              `messages: unknown role '${String((m as { role?: unknown }).role)}' (system, user or assistant)`,
            );
        }
      });
      // An empty model turn at the end makes the template open the assistant's reply.
      history.push({ type: "model", response: [] });
      const state = wrapper.generateContextState({ chatHistory: history });
      const contextText = LlamaText(state.contextText);
      const stopTokens: Token[] = [];
      const stopStrings: string[] = [];
      for (const trigger of state.stopGenerationTriggers) {
        const tokens = LlamaText(trigger).tokenize(model.tokenizer);
        if (tokens.length === 1 && model.isSpecialToken(tokens[0])) stopTokens.push(tokens[0]);
        else {
          const text = LlamaText(trigger).toString();
          if (text.length > 0) stopStrings.push(text);
        }
      }
      return {
        text: renderText(contextText, model),
        tokens: contextText.tokenize(model.tokenizer),
        stopTokens,
        stopStrings,
      };
    },
  };
}
