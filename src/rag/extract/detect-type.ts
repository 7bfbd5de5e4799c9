// Chooses a text document's type from its content, with the file extension and MIME type only as hints.
import type { DocumentType } from "../types.ts";

/** Source-code extensions → language name recorded in the MIME type (text/x-<language>). */
export const CODE_EXTENSIONS: Record<string, string> = {
  ts: "typescript",
  tsx: "typescript",
  mts: "typescript",
  cts: "typescript",
  js: "javascript",
  jsx: "javascript",
  mjs: "javascript",
  cjs: "javascript",
  py: "python",
  pyi: "python",
  rb: "ruby",
  go: "go",
  rs: "rust",
  java: "java",
  kt: "kotlin",
  kts: "kotlin",
  scala: "scala",
  swift: "swift",
  c: "c",
  h: "c",
  cc: "cpp",
  cpp: "cpp",
  cxx: "cpp",
  hpp: "cpp",
  hh: "cpp",
  cs: "csharp",
  php: "php",
  pl: "perl",
  lua: "lua",
  r: "r",
  jl: "julia",
  sh: "shell",
  bash: "shell",
  zsh: "shell",
  fish: "shell",
  ps1: "powershell",
  sql: "sql",
  css: "css",
  scss: "scss",
  less: "less",
  vue: "vue",
  svelte: "svelte",
  dart: "dart",
  ex: "elixir",
  exs: "elixir",
  erl: "erlang",
  hs: "haskell",
  ml: "ocaml",
  clj: "clojure",
  zig: "zig",
  nim: "nim",
  yaml: "yaml",
  yml: "yaml",
  toml: "toml",
  ini: "ini",
  cfg: "ini",
  xml: "xml",
  proto: "protobuf",
  graphql: "graphql",
  gql: "graphql",
  tf: "hcl",
  dockerfile: "dockerfile",
  makefile: "makefile",
  cmake: "cmake",
  gradle: "gradle",
  groovy: "groovy",
  m: "objective-c",
  mm: "objective-c",
  asm: "assembly",
  s: "assembly",
};

const EXTENSION_TYPES: Record<string, DocumentType> = {
  txt: "text",
  text: "text",
  log: "text",
  rst: "text",
  adoc: "text",
  md: "markdown",
  markdown: "markdown",
  mdx: "markdown",
  mdown: "markdown",
  html: "html",
  htm: "html",
  xhtml: "html",
  json: "json",
  jsonl: "json",
  ndjson: "json",
  geojson: "json",
  csv: "csv",
  tsv: "csv",
  pdf: "pdf",
};

const MIME_TYPES: Record<string, DocumentType> = {
  "text/plain": "text",
  "text/markdown": "markdown",
  "text/x-markdown": "markdown",
  "text/html": "html",
  "application/xhtml+xml": "html",
  "application/json": "json",
  "application/x-ndjson": "json",
  "application/jsonl": "json",
  "text/csv": "csv",
  "text/tab-separated-values": "csv",
  "application/pdf": "pdf",
};

export interface TypeHint {
  type?: DocumentType;
  language?: string;
  extension?: string;
}

/** Reads the hint carried by a file name's extension and a declared MIME type (extension wins when both exist). */
export function typeHint(filename: string | undefined, mimeType: string | undefined): TypeHint {
  let ext: string | undefined;
  if (filename) {
    const base = filename.split(/[\\/]/).pop() ?? "";
    const lower = base.toLowerCase();
    if (lower === "dockerfile" || lower === "makefile") ext = lower;
    else if (base.includes(".")) ext = lower.slice(lower.lastIndexOf(".") + 1);
  }
  if (ext && CODE_EXTENSIONS[ext]) return { type: "code", language: CODE_EXTENSIONS[ext], extension: ext };
  if (ext && EXTENSION_TYPES[ext]) return { type: EXTENSION_TYPES[ext], extension: ext };
  const mime = mimeType?.split(";")[0].trim().toLowerCase();
  if (mime && MIME_TYPES[mime]) return { type: MIME_TYPES[mime], extension: ext };
  if (mime?.startsWith("text/x-")) return { type: "code", language: mime.slice(7), extension: ext };
  return { extension: ext };
}

function looksLikeHtml(head: string): boolean {
  return (
    /^\s*(?:<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>])/i.test(head) ||
    /<html[\s>][\s\S]*<\/(?:body|html)>/i.test(head)
  );
}

function looksLikeMarkdown(head: string): boolean {
  let signals = 0;
  if (/^#{1,6} \S/m.test(head)) signals++;
  if (/^```/m.test(head)) signals++;
  if (/^\s*[-*] \S/m.test(head)) signals++;
  if (/\[[^\]]+\]\([^)]+\)/.test(head)) signals++;
  if (/^\|.*\|\s*$/m.test(head) && /^\|?\s*:?-{3,}/m.test(head)) signals++;
  return signals >= 2;
}

/**
 * Decides the type of decoded text. Content that is unmistakably HTML or JSON is treated so whatever its name;
 * an extension or MIME type decides between plain text, Markdown, CSV and code, which content cannot tell apart
 * reliably. A hint that the content contradicts (".json" that does not parse) falls back to plain text.
 */
export function detectTextType(text: string, hint: TypeHint): DocumentType {
  const head = text.slice(0, 4096);
  if (hint.type === "html" || looksLikeHtml(head)) return "html";
  const first = head.trimStart()[0];
  if (hint.type === "json" || ((first === "{" || first === "[") && hint.type !== "code")) {
    // Parsing is done by the caller; this only says "try JSON".
    return "json";
  }
  if (hint.type === "csv" || hint.type === "code" || hint.type === "markdown" || hint.type === "text") return hint.type;
  if (head.startsWith("#!")) return "code";
  if (looksLikeMarkdown(head)) return "markdown";
  return "text";
}
