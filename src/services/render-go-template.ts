// The subset of Go's text/template that Ollama prompt templates use: {{ .Field }}, {{ $.Field }}, if / else if /
// else / end (with not, and, or, eq, ne), range .Messages, and the {{- -}} trim markers. Anything else is refused
// by name when the template is parsed, so a model is never created with a template it would render wrongly.
import { MAX_STRUCTURE_DEPTH, nestingError } from "../config/index.ts";
import { ReflexiaError } from "../errors/index.ts";

type Value = string | boolean | number | undefined | Record<string, unknown> | unknown[];
export type Node =
  | { kind: "text"; text: string }
  | { kind: "field"; expr: Expr }
  | { kind: "if"; branches: { cond: Expr | null; body: Node[] }[] }
  | { kind: "range"; over: Expr; body: Node[]; otherwise: Node[] };
type Expr =
  | { kind: "path"; root: "dot" | "dollar"; fields: string[] }
  | { kind: "string"; value: string }
  | { kind: "call"; fn: "not" | "and" | "or" | "eq" | "ne" | "len"; args: Expr[] };

const FUNCS = ["not", "and", "or", "eq", "ne", "len"] as const;

/**
 * The fields of the data Ollama executes a template with (server/template's Execute: its legacy, .Messages and
 * suffix forms together). Go refuses any other field at render time; Reflexia refuses it when the template is
 * parsed, since rendering it empty would silently drop what the author meant to put there.
 */
export const TEMPLATE_FIELDS = [
  "System",
  "Prompt",
  "Response",
  "Suffix",
  "Messages",
  "Tools",
  "Think",
  "ThinkLevel",
  "IsThinkSet",
] as const;

/** Go text/template's delimiters around an action, with the {{- -}} trim markers. */
const ACTION = /\{\{(-?)\s*([\s\S]*?)\s*(-?)\}\}/g;

function unsupported(what: string): ReflexiaError {
  return new ReflexiaError(
    "RFX_VALIDATION",
    `template: ${what} is not supported (Reflexia renders {{ .Field }}, if/else/end, range .Messages, not/and/or/eq/ne/len)`,
  );
}

function tokenizeExpr(src: string): string[] {
  const out: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|\(|\)|[^\s()]+)/gy;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(src)) !== null) {
    out.push(m[1]);
    end = re.lastIndex;
  }
  if (src.slice(end).trim()) throw unsupported(`the expression ${JSON.stringify(src)}`);
  return out;
}

function parseExpr(tokens: string[]): Expr {
  let open = 0;
  let deepest = 0;
  for (const t of tokens) {
    if (t === "(") deepest = Math.max(deepest, ++open);
    else if (t === ")") open--;
  }
  // operand and call recurse once per parenthesis.
  if (deepest > MAX_STRUCTURE_DEPTH)
    throw nestingError("a template expression (its parentheses)", deepest, MAX_STRUCTURE_DEPTH);
  let i = 0;
  const operand = (): Expr => {
    const t = tokens[i++];
    if (t === undefined) throw unsupported("an empty expression");
    if (t === "(") {
      const e = call();
      if (tokens[i++] !== ")") throw unsupported("an unclosed parenthesis");
      return e;
    }
    if (t.startsWith('"')) return { kind: "string", value: JSON.parse(t) as string };
    if (t === ".") return { kind: "path", root: "dot", fields: [] };
    if (t === "$") return { kind: "path", root: "dollar", fields: [] };
    const m = /^(\$?)((?:\.[A-Za-z_][A-Za-z0-9_]*)+)$/.exec(t);
    if (m) return { kind: "path", root: m[1] ? "dollar" : "dot", fields: m[2].slice(1).split(".") };
    throw unsupported(`"${t}"`);
  };
  const call = (): Expr => {
    const head = tokens[i];
    if ((FUNCS as readonly string[]).includes(head)) {
      i++;
      const args: Expr[] = [];
      while (i < tokens.length && tokens[i] !== ")") args.push(operand());
      return { kind: "call", fn: head as (typeof FUNCS)[number], args };
    }
    if (head !== undefined && /^[a-z]/.test(head)) throw unsupported(`the function "${head}"`);
    return operand();
  };
  const e = call();
  if (i !== tokens.length) throw unsupported(`the expression "${tokens.join(" ")}"`);
  return e;
}

/** How deep {{ if }} / {{ range }} blocks nest in `src` (rendering recurses once per level). */
function blockDepth(src: string): number {
  let depth = 0;
  let deepest = 0;
  for (const m of src.matchAll(ACTION)) {
    const word = m[2].split(/\s+/, 1)[0];
    if (word === "if" || word === "range") deepest = Math.max(deepest, ++depth);
    else if (word === "end") depth--;
  }
  return deepest;
}

/** Go's "unclosed action": text between actions that still holds a {{ (it would otherwise render as is). */
function assertNoOpenAction(src: string, from: number, to: number): void {
  const at = src.slice(from, to).indexOf("{{");
  if (at < 0) return;
  const index = from + at;
  const line = src.slice(0, index).split("\n").length;
  throw new ReflexiaError(
    "RFX_VALIDATION",
    `template: unclosed action at line ${line}: ${JSON.stringify(src.slice(index, index + 20))} has no closing }}`,
  );
}

/** RFX_VALIDATION unless each field read from the template's data (not from a range's element) is Ollama's. */
function assertKnownFields(e: Expr, dotIsData: boolean): void {
  if (e.kind === "call") for (const a of e.args) assertKnownFields(a, dotIsData);
  if (e.kind !== "path" || e.fields.length === 0 || (e.root === "dot" && !dotIsData)) return;
  if (!(TEMPLATE_FIELDS as readonly string[]).includes(e.fields[0]))
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `template: can't evaluate field ${e.fields[0]} (Ollama's template data has ${TEMPLATE_FIELDS.map((f) => `.${f}`).join(", ")})`,
    );
}

/**
 * Parses a template; RFX_VALIDATION naming the first construct outside the supported subset, an unclosed action, a
 * field Ollama's template data lacks, or blocks / parentheses nested past MAX_STRUCTURE_DEPTH.
 */
export function parseGoTemplate(src: string): Node[] {
  const depth = blockDepth(src);
  if (depth > MAX_STRUCTURE_DEPTH)
    throw nestingError("the template ({{ if }} / {{ range }} blocks)", depth, MAX_STRUCTURE_DEPTH);
  const actions = new RegExp(ACTION);
  const root: Node[] = [];
  // dotIsData: dot is the template's data, not the element of an enclosing range.
  const stack: { nodes: Node[]; node?: Node; dotIsData: boolean }[] = [{ nodes: root, dotIsData: true }];
  const expr = (text: string, dotIsData: boolean): Expr => {
    const e = parseExpr(tokenizeExpr(text));
    assertKnownFields(e, dotIsData);
    return e;
  };
  let last = 0;
  let trimNext = false;
  let m: RegExpExecArray | null;
  while ((m = actions.exec(src)) !== null) {
    assertNoOpenAction(src, last, m.index);
    let text = src.slice(last, m.index);
    if (trimNext) text = text.replace(/^\s+/, "");
    if (m[1] === "-") text = text.replace(/\s+$/, "");
    if (text) stack.at(-1)!.nodes.push({ kind: "text", text });
    last = actions.lastIndex;
    trimNext = m[3] === "-";
    const body = m[2];
    if (body.startsWith("/*")) continue;
    const [word, ...rest] = body.split(/\s+/);
    const top = stack.at(-1)!;
    if (word === "if") {
      const node: Node = { kind: "if", branches: [{ cond: expr(rest.join(" "), top.dotIsData), body: [] }] };
      top.nodes.push(node);
      stack.push({ nodes: node.branches[0].body, node, dotIsData: top.dotIsData });
    } else if (word === "range") {
      const over = rest.join(" ");
      if (/[:=]/.test(over)) throw unsupported("range with variables");
      const node: Node = { kind: "range", over: expr(over, top.dotIsData), body: [], otherwise: [] };
      top.nodes.push(node);
      stack.push({ nodes: node.body, node, dotIsData: false });
    } else if (word === "else") {
      const node = top.node;
      if (!node || (node.kind !== "if" && node.kind !== "range")) throw unsupported("{{ else }} outside if/range");
      stack.pop();
      // The enclosing block's dot: an if's branches and a range's {{ else }} see what the block itself saw.
      const outer = stack.at(-1)!.dotIsData;
      if (node.kind === "if") {
        const cond = rest[0] === "if" ? expr(rest.slice(1).join(" "), outer) : null;
        if (rest.length > 0 && rest[0] !== "if") throw unsupported(`{{ else ${rest.join(" ")} }}`);
        node.branches.push({ cond, body: [] });
        stack.push({ nodes: node.branches.at(-1)!.body, node, dotIsData: outer });
      } else stack.push({ nodes: node.otherwise, node, dotIsData: outer });
    } else if (word === "end") {
      if (stack.length === 1) throw unsupported("an {{ end }} without if/range");
      stack.pop();
    } else if (["with", "define", "template", "block", "break", "continue"].includes(word)) {
      throw unsupported(`{{ ${word} }}`);
    } else {
      if (/:=|=/.test(body) || body.includes("|")) throw unsupported(`{{ ${body} }}`);
      top.nodes.push({ kind: "field", expr: expr(body, top.dotIsData) });
    }
  }
  assertNoOpenAction(src, last, src.length);
  let tail = src.slice(last);
  if (trimNext) tail = tail.replace(/^\s+/, "");
  if (tail) stack.at(-1)!.nodes.push({ kind: "text", text: tail });
  if (stack.length !== 1) throw unsupported("an if/range without {{ end }}");
  return root;
}

const truthy = (v: Value): boolean =>
  Array.isArray(v) ? v.length > 0 : typeof v === "object" && v !== null ? Object.keys(v).length > 0 : Boolean(v);

function evaluate(e: Expr, dot: Value, root: Value): Value {
  if (e.kind === "string") return e.value;
  if (e.kind === "path") {
    let v: Value = e.root === "dot" ? dot : root;
    for (const f of e.fields) v = v && typeof v === "object" && !Array.isArray(v) ? (v[f] as Value) : undefined;
    return v;
  }
  const a = e.args.map((x) => evaluate(x, dot, root));
  switch (e.fn) {
    case "not":
      return !truthy(a[0]);
    case "and":
      return a.every(truthy);
    case "or":
      return a.some(truthy);
    case "eq":
      return a.slice(1).some((x) => x === a[0]);
    case "ne":
      return a[0] !== a[1];
    case "len":
      return Array.isArray(a[0]) ? a[0].length : typeof a[0] === "string" ? a[0].length : 0;
  }
}

function render(nodes: Node[], dot: Value, root: Value): string {
  let out = "";
  for (const n of nodes) {
    if (n.kind === "text") out += n.text;
    else if (n.kind === "field") {
      const v = evaluate(n.expr, dot, root);
      out += v === undefined || v === null || typeof v === "object" ? "" : String(v);
    } else if (n.kind === "if") {
      const branch = n.branches.find((b) => b.cond === null || truthy(evaluate(b.cond, dot, root)));
      if (branch) out += render(branch.body, dot, root);
    } else {
      const list = evaluate(n.over, dot, root);
      if (Array.isArray(list) && list.length > 0) for (const item of list) out += render(n.body, item as Value, root);
      else out += render(n.otherwise, dot, root);
    }
  }
  return out;
}

/** Renders parsed nodes with `data` as dot (and $). */
export function renderParsed(nodes: Node[], data: Record<string, unknown>): string {
  return render(nodes, data, data);
}

/** Renders `src` with `data` as dot (and $). */
export function renderGoTemplate(src: string, data: Record<string, unknown>): string {
  return render(parseGoTemplate(src), data, data);
}
