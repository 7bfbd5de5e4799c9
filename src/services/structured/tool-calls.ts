// Tool calling independent of API dialect: which tools a request offers, the grammar that forces a call, and the
// parsing of calls back out of generated text for the common template families.
import { randomBytes } from "node:crypto";
import { jsonSchemaToGbnf } from "../../engine/grammar.ts";
import type { GrammarConstraint, ToolCall, ToolChoice, ToolDefinition } from "../../engine/types.ts";
import { ReflexiaError } from "../../errors/index.ts";

export interface ToolPlan {
  /** What the template is shown (none when tool_choice is "none"). */
  tools?: ToolDefinition[];
  /** Set when a call is forced: the output is then exactly one call as JSON. */
  grammar?: GrammarConstraint;
  /**
   * tool_choice auto: a lazy grammar that applies once the model opens a `<tool_call>` (Hermes/Qwen and the fallback
   * format), so a call it starts is valid JSON matching its function. Yields to any other grammar of the request.
   */
  lazyGrammar?: GrammarConstraint;
  /** Whether the output is searched for calls. */
  parse: boolean;
}

/**
 * The one grammar a reply runs under: a forced call's, else the requested output format's, else the lazy tool-call
 * grammar. A forced call and an output format together are refused, `fields` naming the request's format field(s).
 */
export function replyGrammar(
  plan: ToolPlan,
  format: GrammarConstraint | undefined,
  fields: string,
): GrammarConstraint | undefined {
  if (plan.grammar && format)
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `tool_choice forces a call, and ${fields} would constrain the reply too: send one of them`,
      { field: "tool_choice" },
    );
  return plan.grammar ?? format ?? plan.lazyGrammar;
}

const NAME = /^[a-zA-Z0-9_.-]{1,64}$/;

/** Checks the tools and the choice and says how to generate; RFX_VALIDATION names what is wrong. */
export function planTools(
  tools: ToolDefinition[] | undefined,
  choice: ToolChoice | undefined,
  field = "tools",
): ToolPlan {
  const list = tools ?? [];
  const seen = new Set<string>();
  list.forEach((t, i) => {
    if (!NAME.test(t.name))
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `${field}[${i}].function.name must be 1–64 letters, digits, '_', '.' or '-' (got ${JSON.stringify(t.name)})`,
        { field: `${field}[${i}]` },
      );
    if (seen.has(t.name))
      throw new ReflexiaError("RFX_VALIDATION", `${field}: function ${t.name} is listed twice`, {
        field: `${field}[${i}]`,
      });
    seen.add(t.name);
  });
  const c = choice ?? "auto";
  if (c === "none" || list.length === 0) {
    if (c !== "none" && c !== "auto")
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `tool_choice ${JSON.stringify(c)} needs at least one tool in ${field}`,
        { field: "tool_choice" },
      );
    return { parse: false };
  }
  if (c === "auto")
    return {
      tools: list,
      parse: true,
      lazyGrammar: {
        // The call grammar's own root is wrapped: one or more tagged calls (later text is not part of the grammar).
        gbnf:
          callGrammar(list, field) +
          `\ntool-calls ::= tool-call (tc-ws tool-call)*\ntool-call ::= "<tool_call>" tc-ws root tc-ws "</tool_call>"\ntc-ws ::= [ \\t\\n]{0,4}\n`,
        root: "tool-calls",
        triggers: ["[\\s\\S]*?(<tool_call>[\\s\\S]*)"],
        triggerWords: ["<tool_call>"],
        source: { kind: "tool_call", choice: "auto" },
      },
    };
  const forced = c === "required" ? list : list.filter((t) => t.name === c.name);
  if (forced.length === 0 && c !== "required")
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `tool_choice names function ${JSON.stringify(c.name)}, which is not in ${field}`,
      { field: "tool_choice" },
    );
  return {
    tools: list,
    grammar: { gbnf: callGrammar(forced, field), closeJson: true, source: { kind: "tool_call", choice: c } },
    parse: true,
  };
}

/**
 * GBNF for one call `{"name": …, "arguments": …}` of one of `tools`, arguments matching its parameter schema. A
 * parameter schema whose `$ref`s point into itself (`#/$defs/P`, `#/definitions/__schema0` as zod writes a recursive
 * schema, `#` for the whole) is moved under the wrapper's `$defs` as `tool_<i>`, its refs rewritten to point there,
 * so they resolve from the wrapper's root and two tools' definitions of the same name stay apart.
 */
function callGrammar(tools: ToolDefinition[], field: string): string {
  const defs: Record<string, unknown> = {};
  const one = (t: ToolDefinition, i: number) => {
    const params = t.parameters ?? { type: "object" };
    let args: unknown = params;
    if (hasLocalRef(params)) {
      const key = `tool_${i}`;
      defs[key] = rebaseRefs(params, `#/$defs/${key}`);
      args = { $ref: `#/$defs/${key}` };
    }
    return {
      type: "object",
      properties: { name: { const: t.name }, arguments: args },
      required: ["name", "arguments"],
      additionalProperties: false,
    };
  };
  const calls = tools.map(one);
  const schema = {
    ...(tools.length === 1 ? calls[0] : { anyOf: calls }),
    ...(Object.keys(defs).length > 0 ? { $defs: defs } : {}),
  };
  const parts = tools.map((t) => ({ schema: t.parameters, what: `${field}: function ${t.name}'s parameters` }));
  try {
    return jsonSchemaToGbnf(schema, `${field} parameters`, parts);
  } catch (e) {
    // The converter names refs as it resolved them: say them as the client wrote them, and whose they are.
    if (!(e instanceof ReflexiaError)) throw e;
    const whose = new Set<string>();
    const message = e.message.replace(/#\/\$defs\/tool_(\d+)/g, (_, i: string) => {
      whose.add(tools[Number(i)].name);
      return "#";
    });
    const suffix = whose.size > 0 ? ` (in the parameters of function ${[...whose].join(", ")})` : "";
    throw new ReflexiaError(e.code, message + suffix, { ...e.details, field });
  }
}

/** Whether a schema has a `$ref` into its own document, read as llama.cpp's converter reads refs. */
function hasLocalRef(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasLocalRef);
  if (typeof v !== "object" || v === null) return false;
  const ref = (v as Record<string, unknown>).$ref;
  if (ref !== undefined) return typeof ref === "string" && ref.startsWith("#");
  return Object.values(v).some(hasLocalRef);
}

/** `v` with every `$ref` into its own document (`#…`) rewritten to the same place under `base`. */
function rebaseRefs(v: unknown, base: string): unknown {
  if (Array.isArray(v)) return v.map((x) => rebaseRefs(x, base));
  if (typeof v !== "object" || v === null) return v;
  const o = v as Record<string, unknown>;
  // As the converter: an object with a $ref is a reference, its other keys are not searched.
  if (typeof o.$ref === "string") return o.$ref.startsWith("#") ? { ...o, $ref: base + o.$ref.slice(1) } : o;
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, rebaseRefs(x, base)]));
}

export const newToolCallId = (): string => `call_${randomBytes(12).toString("hex")}`;

export interface ParsedOutput {
  /** Text outside the calls. */
  content: string;
  calls: ToolCall[];
}

function tryJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

/** A call object in any of the usual spellings: {name, arguments|parameters}, or {function: {name, arguments}}. */
function asCall(v: unknown, known: ReadonlySet<string>): ToolCall | null {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  const f = (typeof o.function === "object" && o.function !== null ? o.function : o) as Record<string, unknown>;
  const name = f.name;
  let args: unknown = f.arguments ?? f.parameters ?? {};
  if (typeof args === "string") args = tryJson(args);
  if (typeof name !== "string" || !known.has(name)) return null;
  if (typeof args !== "object" || args === null || Array.isArray(args)) return null;
  return { id: newToolCallId(), name, arguments: args as Record<string, unknown> };
}

function callsOf(v: unknown, known: ReadonlySet<string>): ToolCall[] | null {
  const items = Array.isArray(v) ? v : [v];
  const calls = items.map((x) => asCall(x, known));
  return calls.length > 0 && calls.every((c) => c !== null) ? (calls as ToolCall[]) : null;
}

/** The texts that open a tool call in the formats parseToolCalls reads (a reply may also be a call as bare JSON). */
export const TOOL_CALL_OPENERS = ["<tool_call>", "[TOOL_CALLS]", "<|python_tag|>"] as const;

/**
 * Finds tool calls in generated text: Hermes/Qwen `<tool_call>{…}</tool_call>` (also the fallback format), Mistral
 * `[TOOL_CALLS][{…}]` or `[TOOL_CALLS]name[ARGS]{…}`, Llama 3.x `<|python_tag|>{…}` or a bare `{"name", "parameters"}`,
 * and a generic JSON object or array of calls. Only functions in `tools` count; anything else stays content.
 */
export function parseToolCalls(text: string, tools: readonly ToolDefinition[]): ParsedOutput {
  const known = new Set(tools.map((t) => t.name));
  const hermes = [...text.matchAll(/<tool_call>\s*([\s\S]*?)\s*(?:<\/tool_call>|$)/g)];
  if (hermes.length > 0) {
    const calls = hermes.map((m) => asCall(tryJson(m[1]), known));
    if (calls.every((c) => c !== null))
      return {
        content: text.replace(/<tool_call>[\s\S]*?(?:<\/tool_call>|$)/g, "").trim(),
        calls: calls as ToolCall[],
      };
  }
  const mistral = text.indexOf("[TOOL_CALLS]");
  if (mistral >= 0) {
    const rest = text.slice(mistral + "[TOOL_CALLS]".length).trim();
    const named = /^([a-zA-Z0-9_.-]+)\[ARGS\]([\s\S]*)$/.exec(rest);
    const calls = named
      ? callsOf({ name: named[1], arguments: tryJson(named[2]) }, known)
      : callsOf(tryJson(rest), known);
    if (calls) return { content: text.slice(0, mistral).trim(), calls };
  }
  const python = text.indexOf("<|python_tag|>");
  const body = (python >= 0 ? text.slice(python + "<|python_tag|>".length) : text).trim();
  // Llama 3.x may separate parallel calls with ';'.
  const parts = body.startsWith("{") && body.includes("};") ? body.split(/;\s*(?=\{)/) : [body];
  const calls = parts.flatMap((p) => callsOf(tryJson(p), known) ?? [null]);
  if (calls.length > 0 && calls.every((c) => c !== null))
    return { content: python >= 0 ? text.slice(0, python).trim() : "", calls: calls as ToolCall[] };
  return { content: text, calls: [] };
}
