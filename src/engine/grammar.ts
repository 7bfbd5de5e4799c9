// Grammars for constrained generation: JSON Schema → GBNF and GBNF checks, both by llama.cpp's own code in the
// native addon (llama.cpp common's json-schema-to-grammar, the converter llama-server uses; its grammar parser).
import { ReflexiaError } from "../errors/index.ts";
import { loadNativeAddon } from "./native/native-addon.ts";
import type { GrammarConstraint } from "./types.ts";

/**
 * GBNF for any JSON value. llama.cpp's `grammars/json.gbnf` with bounded whitespace (as its schema converter writes
 * it): unbounded whitespace would let a weak model pad forever without producing a value.
 */
export const JSON_VALUE_GBNF = String.raw`root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws
object ::= "{" ws ( string ":" ws value ("," ws string ":" ws value)* )? "}" ws
array  ::= "[" ws ( value ("," ws value)* )? "]" ws
string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" (["\\bfnrt] | "u" [0-9a-fA-F]{4}) )* "\"" ws
number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,15})? ws
ws     ::= | " " | "\n" [ \t]{0,20}
`;

/** GBNF accepting exactly the JSON values `schema` describes; RFX_VALIDATION naming what cannot be converted. */
export function jsonSchemaToGbnf(schema: unknown, what = "schema"): string {
  if (typeof schema !== "object" || schema === null || Array.isArray(schema))
    throw new ReflexiaError("RFX_VALIDATION", `${what} must be a JSON Schema object`);
  const r = loadNativeAddon().addon.jsonSchemaToGrammar(JSON.stringify(schema));
  if ("error" in r)
    throw new ReflexiaError("RFX_VALIDATION", `${what} cannot be turned into a grammar: ${r.error.trim()}`);
  return r.grammar;
}

/** Throws RFX_VALIDATION with llama.cpp's reason when `g` does not parse. */
export function checkGrammar(g: GrammarConstraint, what = "grammar"): void {
  if (typeof g.gbnf !== "string" || g.gbnf.trim() === "")
    throw new ReflexiaError("RFX_VALIDATION", `${what} must be a non-empty GBNF string`);
  const why = loadNativeAddon().addon.checkGrammar(g.gbnf, g.root ?? "root");
  if (why !== null) throw new ReflexiaError("RFX_VALIDATION", `${what} is not valid GBNF: ${why}`);
}
