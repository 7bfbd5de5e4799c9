// The subset of Go's text/template that Ollama prompt templates use: {{ .Field }}, {{ $.Field }}, if / else if /
// else / end (with not, and, or, eq, ne), range .Messages, and the {{- -}} trim markers. Anything else is refused
// by name when the template is parsed, so a model is never created with a template it would render wrongly.
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

/** Parses a template; RFX_VALIDATION naming the first construct outside the supported subset. */
export function parseGoTemplate(src: string): Node[] {
  const actions = /\{\{(-?)\s*([\s\S]*?)\s*(-?)\}\}/g;
  const root: Node[] = [];
  const stack: { nodes: Node[]; node?: Node }[] = [{ nodes: root }];
  let last = 0;
  let trimNext = false;
  let m: RegExpExecArray | null;
  while ((m = actions.exec(src)) !== null) {
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
      const node: Node = { kind: "if", branches: [{ cond: parseExpr(tokenizeExpr(rest.join(" "))), body: [] }] };
      top.nodes.push(node);
      stack.push({ nodes: node.branches[0].body, node });
    } else if (word === "range") {
      const expr = rest.join(" ");
      if (/[:=]/.test(expr)) throw unsupported("range with variables");
      const node: Node = { kind: "range", over: parseExpr(tokenizeExpr(expr)), body: [], otherwise: [] };
      top.nodes.push(node);
      stack.push({ nodes: node.body, node });
    } else if (word === "else") {
      const node = top.node;
      if (!node || (node.kind !== "if" && node.kind !== "range")) throw unsupported("{{ else }} outside if/range");
      stack.pop();
      if (node.kind === "if") {
        const cond = rest[0] === "if" ? parseExpr(tokenizeExpr(rest.slice(1).join(" "))) : null;
        if (rest.length > 0 && rest[0] !== "if") throw unsupported(`{{ else ${rest.join(" ")} }}`);
        node.branches.push({ cond, body: [] });
        stack.push({ nodes: node.branches.at(-1)!.body, node });
      } else stack.push({ nodes: node.otherwise, node });
    } else if (word === "end") {
      if (stack.length === 1) throw unsupported("an {{ end }} without if/range");
      stack.pop();
    } else if (["with", "define", "template", "block", "break", "continue"].includes(word)) {
      throw unsupported(`{{ ${word} }}`);
    } else {
      if (/:=|=/.test(body) || body.includes("|")) throw unsupported(`{{ ${body} }}`);
      top.nodes.push({ kind: "field", expr: parseExpr(tokenizeExpr(body)) });
    }
  }
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
