// Grammars for constrained generation: JSON Schema → GBNF and GBNF checks, both by llama.cpp's own code in the
// native addon (llama.cpp common's json-schema-to-grammar, the converter llama-server uses; its grammar parser).
// Both recurse on the native stack, so nothing reaches them nested past MAX_STRUCTURE_DEPTH.
import { jsonDepth, MAX_STRUCTURE_DEPTH, nestingError } from "../config/index.ts";
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

/** A client's schema inside the one converted, and its name in messages. */
export interface SchemaPart {
  schema: unknown;
  what: string;
}

/**
 * GBNF accepting exactly the JSON values `schema` describes; RFX_VALIDATION naming what cannot be converted or nests
 * past MAX_STRUCTURE_DEPTH. A caller that wraps clients' schemas in its own (a tool call around each tool's
 * parameters) lists them as `parts`, so the limit and the message apply to what the client sent.
 */
export function jsonSchemaToGbnf(
  schema: unknown,
  what = "schema",
  parts: readonly SchemaPart[] = [{ schema, what }],
): string {
  if (typeof schema !== "object" || schema === null || Array.isArray(schema))
    throw new ReflexiaError("RFX_VALIDATION", `${what} must be a JSON Schema object`);
  for (const p of parts) {
    const depth = jsonDepth(p.schema);
    if (depth > MAX_STRUCTURE_DEPTH) throw nestingError(p.what, depth, MAX_STRUCTURE_DEPTH);
  }
  const r = loadNativeAddon().addon.jsonSchemaToGrammar(JSON.stringify(schema));
  if ("error" in r)
    throw new ReflexiaError("RFX_VALIDATION", `${what} cannot be turned into a grammar: ${r.error.trim()}`);
  return r.grammar;
}

/**
 * How deep parenthesised groups nest in GBNF, read as llama.cpp's parser reads it: parentheses inside "literals",
 * [character classes] (both with backslash escapes) and # comments do not count.
 */
export function gbnfGroupDepth(gbnf: string): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < gbnf.length; i++) {
    const c = gbnf[i];
    if (c === '"' || c === "[") {
      const close = c === '"' ? '"' : "]";
      for (i++; i < gbnf.length && gbnf[i] !== close; i++) if (gbnf[i] === "\\") i++;
    } else if (c === "#") {
      while (i + 1 < gbnf.length && gbnf[i + 1] !== "\n" && gbnf[i + 1] !== "\r") i++;
    } else if (c === "(") max = Math.max(max, ++depth);
    else if (c === ")") depth--;
  }
  return max;
}

/** Throws RFX_VALIDATION with llama.cpp's reason when `g` does not parse, or nests past MAX_STRUCTURE_DEPTH. */
export function checkGrammar(g: GrammarConstraint, what = "grammar"): void {
  if (typeof g.gbnf !== "string" || g.gbnf.trim() === "")
    throw new ReflexiaError("RFX_VALIDATION", `${what} must be a non-empty GBNF string`);
  const depth = gbnfGroupDepth(g.gbnf);
  if (depth > MAX_STRUCTURE_DEPTH) throw nestingError(`${what} (its parenthesised groups)`, depth, MAX_STRUCTURE_DEPTH);
  const why = loadNativeAddon().addon.checkGrammar(g.gbnf, g.root ?? "root");
  if (why !== null) throw new ReflexiaError("RFX_VALIDATION", `${what} is not valid GBNF: ${why}`);
}
