// Structured output requests of every API (OpenAI response_format / text.format, Ollama format, raw GBNF) → one grammar.
import { checkGrammar, JSON_VALUE_GBNF, jsonSchemaToGbnf } from "../../engine/grammar.ts";
import type { GrammarConstraint } from "../../engine/types.ts";
import { ReflexiaError } from "../../errors/index.ts";

export const RESPONSE_FORMAT_TYPES = ["text", "json_object", "json_schema"] as const;

export type OutputFormat =
  { type: "text" } | { type: "json_object" } | { type: "json_schema"; schema: Record<string, unknown> };

/** Runs `f`, giving a ReflexiaError it throws without a field `field` (the request field at fault, as `param`). */
export function atField<T>(field: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ReflexiaError && typeof e.details?.field !== "string")
      throw new ReflexiaError(e.code, e.message, { ...e.details, field }, { cause: e.cause });
    throw e;
  }
}

/**
 * The grammar for a requested output format and/or raw GBNF (llama-server's `grammar` field); undefined for plain
 * text. RFX_VALIDATION names the field and the problem (unconvertible schema, GBNF that does not parse, both given),
 * with the field at fault as its param: `grammar`, or `schemaField` (the schema's path, `field` unless given).
 */
export function grammarForOutput(
  format: OutputFormat | undefined,
  gbnf: string | undefined,
  field: string,
  schemaField = field,
): GrammarConstraint | undefined {
  if (gbnf !== undefined) {
    if (format && format.type !== "text")
      throw new ReflexiaError("RFX_VALIDATION", `grammar and ${field} both constrain the output; send one of them`, {
        field: "grammar",
      });
    const g = { gbnf };
    atField("grammar", () => checkGrammar(g, "grammar"));
    return g;
  }
  if (!format || format.type === "text") return undefined;
  if (format.type === "json_object") return { gbnf: JSON_VALUE_GBNF, closeJson: true, source: { kind: "json_object" } };
  return {
    gbnf: atField(schemaField, () => jsonSchemaToGbnf(format.schema, `${field} schema`)),
    closeJson: true,
    source: { kind: "json_schema", schema: format.schema },
  };
}
