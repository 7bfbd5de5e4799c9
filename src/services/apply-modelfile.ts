// Applies what a model was created with (system prompt, default parameters, stored messages) to a request, the
// way Ollama does: the request's own values win, the model's fill what it leaves out.
import { fixedSeed, type ChatMessage, type SamplingOptions } from "../engine/types.ts";
import type { ModelfileSettings } from "../registry/index.ts";
import { parseGoTemplate, renderParsed } from "./render-go-template.ts";

/** The parameters Reflexia can take as a model's default options, by Ollama's names, with how each maps. */
const PARAMETER_MAP = {
  temperature: "temperature",
  top_p: "topP",
  top_k: "topK",
  seed: "seed",
  num_predict: "maxTokens",
  repeat_penalty: "repeatPenalty",
  frequency_penalty: "frequencyPenalty",
  presence_penalty: "presencePenalty",
  stop: "stop",
} as const satisfies Record<string, keyof SamplingOptions>;

/** Ollama parameter names a created model may carry as defaults (what /api/create and Modelfiles accept). */
export const MODEL_PARAMETER_NAMES = Object.keys(PARAMETER_MAP) as (keyof typeof PARAMETER_MAP)[];

/** The sampling options a model's parameters stand for (names Reflexia cannot apply are left to `show`). */
export function samplingOfParameters(parameters: Record<string, unknown> | undefined): SamplingOptions {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(parameters ?? {})) {
    const key = (PARAMETER_MAP as Record<string, keyof SamplingOptions>)[name];
    if (key === undefined) continue;
    if (name === "stop") out.stop = (Array.isArray(value) ? value : [value]).map(String);
    // num_predict -1 means "the default": the server's own limit then applies; -2 (fill the context) is the
    // inference service's fillContext.
    else if (name === "seed") {
      const seed = typeof value === "number" ? fixedSeed(value) : undefined;
      if (seed !== undefined) out.seed = seed;
    } else if (name === "num_predict") {
      if (typeof value === "number" && value >= 1) out.maxTokens = value;
    } else if (typeof value === "number") out[key] = value;
  }
  return out as SamplingOptions;
}

/** `request`'s defined fields over the model's defaults. */
export function withModelDefaults(request: SamplingOptions, settings: ModelfileSettings | undefined): SamplingOptions {
  const defaults = samplingOfParameters(settings?.parameters);
  const given = Object.fromEntries(Object.entries(request).filter(([, v]) => v !== undefined));
  return { ...defaults, ...given };
}

/** The model's stored messages, then its system prompt when the conversation brings none, before `messages`. */
export function withModelMessages(messages: ChatMessage[], settings: ModelfileSettings | undefined): ChatMessage[] {
  if (!settings) return messages;
  const stored: ChatMessage[] = (settings.messages ?? []).map((m) => ({ role: m.role, content: m.content }));
  const all = [...stored, ...messages];
  if (settings.system && !all.some((m) => m.role === "system"))
    all.unshift({ role: "system", content: settings.system });
  return all;
}

const RESPONSE_MARK = "\u0000reflexia-response\u0000";

/**
 * The prompt a Go template makes of a conversation, as Ollama builds it: templates over `.Messages` render once;
 * older ones (`.System`, `.Prompt`, `.Response`) render turn by turn, the last cut where its response begins.
 */
export function renderTemplatePrompt(template: string, messages: ChatMessage[]): string {
  const nodes = parseGoTemplate(template);
  const system = messages
    .filter((m) => m.role === "system")
    .map((m) => m.content)
    .join("\n\n");
  if (template.includes(".Messages")) {
    return renderParsed(nodes, {
      System: system,
      Messages: messages.map((m) => ({ Role: m.role, Content: m.content })),
      Prompt: [...messages].reverse().find((m) => m.role === "user")?.content ?? "",
      Response: "",
    });
  }
  const turns: { prompt: string; response?: string }[] = [];
  for (const m of messages) {
    if (m.role === "user") turns.push({ prompt: m.content });
    else if (m.role === "assistant" && turns.length > 0 && turns.at(-1)!.response === undefined)
      turns.at(-1)!.response = m.content;
  }
  if (turns.length === 0) turns.push({ prompt: "" });
  let out = "";
  turns.forEach((t, i) => {
    const last = i === turns.length - 1;
    const text = renderParsed(nodes, {
      System: i === 0 ? system : "",
      Prompt: t.prompt,
      Response: last ? RESPONSE_MARK : (t.response ?? ""),
    });
    out += last ? text.split(RESPONSE_MARK)[0] : text;
  });
  return out;
}

/** The template a request runs with: its own, else the model's when Reflexia can render it (else none: the GGUF's). */
export function effectiveTemplate(
  requested: string | undefined,
  settings: ModelfileSettings | undefined,
): string | undefined {
  if (requested !== undefined) {
    parseGoTemplate(requested); // a request's template that cannot be rendered is refused by name
    return requested;
  }
  const stored = settings?.template;
  if (stored === undefined) return undefined;
  try {
    parseGoTemplate(stored);
    return stored;
  } catch {
    // A registry model's template beyond the subset: its GGUF's own chat template formats the prompt instead.
    return undefined;
  }
}
