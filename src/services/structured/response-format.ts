// Structured output requests of every API (OpenAI response_format / text.format, Ollama format, raw GBNF) → one grammar.
import { checkGrammar, JSON_VALUE_GBNF, jsonSchemaToGbnf } from "../../engine/grammar.ts";
import type { GrammarConstraint } from "../../engine/types.ts";
import { ReflexiaError } from "../../errors/index.ts";

export const RESPONSE_FORMAT_TYPES = ["text", "json_object", "json_schema"] as const;

export type OutputFormat =
  { type: "text" } | { type: "json_object" } | { type: "json_schema"; schema: Record<string, unknown> };

/**
 * The grammar for a requested output format and/or raw GBNF (llama-server's `grammar` field); undefined for plain
 * text. RFX_VALIDATION names the field and the problem (unconvertible schema, GBNF that does not parse, both given).
 */
export function grammarForOutput(
  format: OutputFormat | undefined,
  gbnf: string | undefined,
  field: string,
): GrammarConstraint | undefined {
  if (gbnf !== undefined) {
    if (format && format.type !== "text")
      throw new ReflexiaError("RFX_VALIDATION", `grammar and ${field} both constrain the output; send one of them`);
    const g = { gbnf };
    checkGrammar(g, "grammar");
    return g;
  }
  if (!format || format.type === "text") return undefined;
  if (format.type === "json_object") return { gbnf: JSON_VALUE_GBNF, closeJson: true, source: { kind: "json_object" } };
  return {
    gbnf: jsonSchemaToGbnf(format.schema, `${field} schema`),
    closeJson: true,
    source: { kind: "json_schema", schema: format.schema },
  };
}
