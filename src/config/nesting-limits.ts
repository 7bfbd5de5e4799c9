// How deep client input may nest, stated once: JSON documents, and the structures that become recursive work
// (JSON Schemas turned into grammars, GBNF groups, Go template blocks and parentheses), with the one check and message.
import { ReflexiaError } from "../errors/index.ts";

/**
 * Deepest nesting of a JSON document the server reads: a request body (refused as it is parsed), JSON text inside
 * one (a tool call's `arguments` string), an uploaded JSON document. Everything that walks such a value
 * recursively afterwards (JSON.stringify, schema validation, the unknown-field walk, Jinja's tojson) stays well
 * inside the stack at this depth; past it, a few thousand levels overflow one of them.
 */
export const MAX_JSON_DEPTH = 1000;

/**
 * Deepest nesting of what turns into recursive parsing: a JSON Schema that becomes a grammar (counted as JSON:
 * `{"type":"array","items":{…}}` is one level per array, an object property two), parenthesised groups in GBNF,
 * `{{ if }}`/`{{ range }}` blocks and parentheses in a Go template. llama.cpp's GBNF parser is recursive descent (a
 * group 30,000 deep overflows the native stack and ends the process), its schema converter names rules by path,
 * so grammar size grows with the square of depth (a schema 1,000 deep is 4–7.5 MB of GBNF after 0.2–0.6 s on the
 * event loop; 64 deep, 33 KB in 3 ms), and the template renderer recurses per block. Real ones nest under 10.
 */
export const MAX_STRUCTURE_DEPTH = 64;

/** Levels of arrays and objects in `value`: a scalar is 0, `{}` and `[]` are 1, `{"a":[1]}` is 2. Iterative. */
export function jsonDepth(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (depth + 1 > max) max = depth + 1;
    for (const child of Array.isArray(v) ? v : Object.values(v as Record<string, unknown>))
      if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
  }
  return max;
}

/** RFX_VALIDATION: "`what` is nested 5,000 levels deep; the limit is 64". */
export function nestingError(what: string, depth: number, limit: number): ReflexiaError {
  return new ReflexiaError(
    "RFX_VALIDATION",
    `${what} is nested ${depth.toLocaleString("en-US")} levels deep; the limit is ${limit.toLocaleString("en-US")}`,
    { depth, limit },
  );
}

/** Throws nestingError when `value` (a parsed JSON value) nests deeper than `limit`. */
export function assertJsonDepth(value: unknown, what: string, limit: number = MAX_JSON_DEPTH): void {
  const depth = jsonDepth(value);
  if (depth > limit) throw nestingError(what, depth, limit);
}
