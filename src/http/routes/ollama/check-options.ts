// Ollama `options` Reflexia cannot honour are refused by name, with why; unknown names are refused too, so no
// option is ever accepted and ignored.
import { Value } from "typebox/value";
import { ReflexiaError } from "../../../errors/index.ts";
import { MODEL_PARAMETER_NAMES } from "../../../services/apply-modelfile.ts";
import { assertKnownFields } from "../../known-fields.ts";
import { ollamaOptionsSchema, type OllamaOptions } from "../../schemas/ollama.ts";

/** num_predict beyond its schema's range: 0 asks for nothing, which Ollama has no meaning for. */
export const NUM_PREDICT_RULE = "must be ≥ 1, -1 (default limit) or -2 (fill the context)";

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

/**
 * Why `value` cannot be a model's default for the option `name` (undefined when it can), by the rules a request's
 * `options.<name>` is held to: ollamaOptionsSchema's range and NUM_PREDICT_RULE. /api/create and Modelfile
 * PARAMETER lines use it, so a created model never stores a default that would make every request to it fail.
 */
export function modelParameterProblem(name: string, value: unknown): string | undefined {
  const schema = (ollamaOptionsSchema.properties as Record<string, object>)[name];
  if (schema === undefined) return "is not an option";
  const errors = Value.Errors(schema, value);
  // stop is a union: its first error would name one branch; a bound one branch broke is the useful part. Null (a
  // request's "unset") means nothing as a stored default.
  if (name === "stop") {
    if (value !== null && errors.length === 0) return undefined;
    const bound = errors.find((e) => e.keyword !== "type" && e.keyword !== "anyOf");
    return `must be a string or an array of strings${bound ? ` (${bound.instancePath.slice(1) || "it"} ${bound.message})` : ""}`;
  }
  if (name === "num_predict" && (errors.length > 0 || value === 0))
    return `${NUM_PREDICT_RULE} (got ${JSON.stringify(value)})`;
  return errors[0] ? `${errors[0].message} (got ${JSON.stringify(value)})` : undefined;
}

/**
 * modelParameterProblem for a published model's params layer (pull, import-ollama: the store's parameterProblem):
 * only the parameters a model applies are held to their range; others are kept as published (show lists them,
 * inference ignores them), as Ollama keeps them.
 */
export function publishedParameterProblem(name: string, value: unknown): string | undefined {
  return (MODEL_PARAMETER_NAMES as readonly string[]).includes(name) ? modelParameterProblem(name, value) : undefined;
}
