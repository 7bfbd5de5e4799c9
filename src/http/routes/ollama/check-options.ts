// Ollama `options` Reflexia cannot honour are refused by name, with why; unknown names are refused too, so no
// option is ever accepted and ignored.
import { ReflexiaError } from "../../../errors/index.ts";
import { assertKnownFields } from "../../known-fields.ts";
import { ollamaOptionsSchema, type OllamaOptions } from "../../schemas/ollama.ts";

/** Options in the schema that only some values of are honoured: the value that is, and why others are not. */
const REFUSED: Partial<Record<keyof OllamaOptions, { allowed: (v: unknown) => boolean; why: string }>> = {
  min_p: {
    allowed: (v) => v === 0,
    why: "min_p sampling is not implemented by Reflexia's sampler (0, Ollama's default, turns it off and is accepted)",
  },
  num_keep: {
    allowed: () => false,
    why: "Reflexia never shifts the context window token by token (CONTEXT_OVERFLOW drops whole oldest messages, keeping the system prompt, or refuses with RFX_CONTEXT_OVERFLOW), so there is no token count to keep",
  },
  num_thread: {
    allowed: () => false,
    why: "threads are set once per server (performance.thread_pool_size / THREAD_POOL_SIZE), not per request",
  },
};

export const OLLAMA_OPTION_NAMES = Object.keys(ollamaOptionsSchema.properties);

export function assertOllamaOptions(options: OllamaOptions | undefined): void {
  if (!options) return;
  assertKnownFields(options, OLLAMA_OPTION_NAMES, "options");
  for (const [name, rule] of Object.entries(REFUSED)) {
    const v = (options as Record<string, unknown>)[name];
    if (v !== undefined && !rule.allowed(v))
      throw new ReflexiaError("RFX_VALIDATION", `options.${name} is not supported: ${rule.why}`, { field: name });
  }
}
