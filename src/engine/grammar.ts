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
    const problem = schemaProblem(p.schema);
    if (problem) throw new ReflexiaError("RFX_VALIDATION", `${p.what} has ${problem}`);
  }
  const r = loadNativeAddon().addon.jsonSchemaToGrammar(JSON.stringify(schema));
  if ("error" in r)
    throw new ReflexiaError("RFX_VALIDATION", `${what} cannot be turned into a grammar: ${r.error.trim()}`);
  // What the converter wrote is checked as the schema's: a bound it turned into an impossible repetition
  // (minLength above maxLength…) or anything llama.cpp's parser refuses is the schema's fault, not a "grammar"'s.
  checkGrammar({ gbnf: r.grammar }, what);
  return r.grammar;
}

/**
 * The longest property name or `$ref` a schema may hold. The converter names grammar rules after them with a
 * std::regex that recurses once per character of a run of non-alphanumerics, so a 30,000-character name overflowed
 * the native stack and ended the process; no real schema comes near this.
 */
export const MAX_SCHEMA_NAME_CHARS = 1000;

/** Bounds a value cannot meet when the first is above the second. */
const BOUND_PAIRS = [
  ["minLength", "maxLength"],
  ["minItems", "maxItems"],
  ["minProperties", "maxProperties"],
  ["minimum", "maximum"],
] as const;

/** Keywords whose values are data, not schemas: their keys and numbers are not read as schema keywords. */
const DATA_KEYWORDS = new Set(["const", "enum", "default", "examples"]);
/** Keywords whose values map names (which become rule names) to schemas. */
const MAP_KEYWORDS = new Set(["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"]);

/**
 * What in `v` (a schema nested at most MAX_STRUCTURE_DEPTH) must not reach the converter, as the end of a sentence
 * ("has …"): an object key or `$ref` longer than MAX_SCHEMA_NAME_CHARS, or a constraint no value meets (an empty
 * enum, a minimum above its maximum), which the converter would turn into a grammar that admits nothing useful or
 * expands without end. `names`: `v` maps names to schemas (the value of `properties`…).
 */
function schemaProblem(v: unknown, names = false): string | undefined {
  if (Array.isArray(v)) {
    for (const x of v) {
      const found = schemaProblem(x);
      if (found) return found;
    }
    return undefined;
  }
  if (v === null || typeof v !== "object") return undefined;
  const o = v as Record<string, unknown>;
  if (!names) {
    if (Array.isArray(o.enum) && o.enum.length === 0) return "an empty enum: no value can satisfy it";
    for (const [lo, hi] of BOUND_PAIRS)
      if (typeof o[lo] === "number" && typeof o[hi] === "number" && o[lo] > o[hi])
        return `${lo} ${o[lo]} above ${hi} ${o[hi]}: no value can satisfy it`;
  }
  for (const [k, x] of Object.entries(o)) {
    if (k.length > MAX_SCHEMA_NAME_CHARS)
      return `a property name of ${k.length} characters; the limit is ${MAX_SCHEMA_NAME_CHARS}`;
    if (names) {
      const found = schemaProblem(x);
      if (found) return found;
      continue;
    }
    if (k === "$ref" && typeof x === "string" && x.length > MAX_SCHEMA_NAME_CHARS)
      return `a $ref of ${x.length} characters; the limit is ${MAX_SCHEMA_NAME_CHARS}`;
    if (DATA_KEYWORDS.has(k)) continue;
    const found = schemaProblem(x, MAP_KEYWORDS.has(k));
    if (found) return found;
  }
  return undefined;
}

/**
 * The first `{m,n}` repetition in `gbnf` whose minimum is above its maximum, outside literals, classes and comments (scanGbnf).
 * llama.cpp's parser takes `n - m` unsigned there and expands rules until memory runs out (22 GB, then the kernel's
 * OOM killer), so such a grammar must never reach it.
 */
export function gbnfImpossibleRepetition(gbnf: string): { min: number; max: number } | undefined {
  let found: { min: number; max: number } | undefined;
  scanGbnf(gbnf, (c, i) => {
    if (c !== "{") return false;
    const m = /^\{\s*(\d+)\s*,\s*(\d+)\s*\}/.exec(gbnf.slice(i, i + 64));
    if (m && Number(m[1]) > Number(m[2])) found = { min: Number(m[1]), max: Number(m[2]) };
    return found !== undefined;
  });
  return found;
}

/**
 * Calls `visit` with each character of GBNF that is grammar syntax, as llama.cpp's parser reads it: "literals" and
 * [character classes] (both with backslash escapes) and # comments are skipped. `visit` returns true to stop.
 */
function scanGbnf(gbnf: string, visit: (c: string, i: number) => boolean | void): void {
  for (let i = 0; i < gbnf.length; i++) {
    const c = gbnf[i];
    if (c === '"' || c === "[") {
      const close = c === '"' ? '"' : "]";
      for (i++; i < gbnf.length && gbnf[i] !== close; i++) if (gbnf[i] === "\\") i++;
    } else if (c === "#") {
      while (i + 1 < gbnf.length && gbnf[i + 1] !== "\n" && gbnf[i + 1] !== "\r") i++;
    } else if (visit(c, i) === true) return;
  }
}

/** How deep parenthesised groups nest in GBNF (parentheses in literals, classes and comments do not count). */
export function gbnfGroupDepth(gbnf: string): number {
  let depth = 0;
  let max = 0;
  scanGbnf(gbnf, (c) => {
    if (c === "(") max = Math.max(max, ++depth);
    else if (c === ")") depth--;
  });
  return max;
}

/** Throws RFX_VALIDATION with llama.cpp's reason when `g` does not parse, or nests past MAX_STRUCTURE_DEPTH. */
export function checkGrammar(g: GrammarConstraint, what = "grammar"): void {
  if (typeof g.gbnf !== "string" || g.gbnf.trim() === "")
    throw new ReflexiaError("RFX_VALIDATION", `${what} must be a non-empty GBNF string`);
  const depth = gbnfGroupDepth(g.gbnf);
  if (depth > MAX_STRUCTURE_DEPTH) throw nestingError(`${what} (its parenthesised groups)`, depth, MAX_STRUCTURE_DEPTH);
  const impossible = gbnfImpossibleRepetition(g.gbnf);
  if (impossible)
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `${what} asks for between ${impossible.min} and ${impossible.max} repetitions (a minimum above its maximum: a {m,n} in GBNF, or minLength/maxLength, minItems/maxItems or a pattern's {m,n} in a JSON Schema); nothing can satisfy it`,
    );
  const why = loadNativeAddon().addon.checkGrammar(g.gbnf, g.root ?? "root");
  if (why !== null) throw new ReflexiaError("RFX_VALIDATION", `${what} is not valid GBNF: ${why}`);
}
