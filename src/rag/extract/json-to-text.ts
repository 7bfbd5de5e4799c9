// Flattens JSON (or JSON Lines) into readable "path: value" lines so its facts can be chunked and retrieved.
// JSON.parse reads any depth, but writing the part below depth 64 back as JSON (flatten's fallback) recurses, so a
// document nested past MAX_JSON_DEPTH is refused.
import { jsonDepth, MAX_JSON_DEPTH } from "../../config/index.ts";
import { ReflexiaError } from "../../errors/index.ts";

/** Parses JSON, then JSON Lines; returns undefined when neither parses. */
export function parseJsonOrLines(text: string): unknown[] | undefined {
  const trimmed = text.trim();
  if (trimmed === "") return undefined;
  try {
    return [JSON.parse(trimmed)];
  } catch {
    // fall through to JSON Lines
  }
  const lines = trimmed.split(/\r?\n/).filter((l) => l.trim() !== "");
  if (lines.length < 2) return undefined;
  const out: unknown[] = [];
  for (const line of lines) {
    try {
      out.push(JSON.parse(line));
    } catch {
      return undefined;
    }
  }
  return out;
}

function formatScalar(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "string") return v.replace(/\s*\n\s*/g, " ");
  return String(v);
}

function keyPath(prefix: string, key: string): string {
  // Keys that would read ambiguously as a path segment are quoted.
  const plain = /^[\p{L}\p{N}_$ -]+$/u.test(key) && !key.includes(".");
  const seg = plain ? key : JSON.stringify(key);
  return prefix === "" ? seg : `${prefix}.${seg}`;
}

function flatten(value: unknown, prefix: string, out: string[], depth: number): void {
  if (depth > 64) {
    out.push(`${prefix || "value"}: ${JSON.stringify(value)}`);
    return;
  }
  if (Array.isArray(value)) {
    if (value.length === 0 && prefix !== "") out.push(`${prefix}: []`);
    value.forEach((item, i) => flatten(item, `${prefix}[${i}]`, out, depth + 1));
    return;
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0 && prefix !== "") out.push(`${prefix}: {}`);
    for (const [k, v] of entries) flatten(v, keyPath(prefix, k), out, depth + 1);
    return;
  }
  out.push(prefix === "" ? formatScalar(value) : `${prefix}: ${formatScalar(value)}`);
}

/** Each top-level record becomes a paragraph of `path: value` lines. */
export function jsonToText(records: unknown[]): string {
  const paragraphs: string[] = [];
  for (const rec of records) {
    if (jsonDepth(rec) > MAX_JSON_DEPTH) {
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `the JSON document nests deeper than ${MAX_JSON_DEPTH} levels; flatten it or send it as plain text`,
      );
    }
    const lines: string[] = [];
    // A top-level array of records reads best as one paragraph per element.
    if (
      records.length === 1 &&
      Array.isArray(rec) &&
      rec.length > 0 &&
      rec.every((r) => r !== null && typeof r === "object")
    ) {
      rec.forEach((item, i) => {
        const inner: string[] = [];
        flatten(item, `[${i}]`, inner, 1);
        paragraphs.push(inner.join("\n"));
      });
      continue;
    }
    flatten(rec, "", lines, 0);
    paragraphs.push(lines.join("\n"));
  }
  return paragraphs.filter((p) => p.trim() !== "").join("\n\n");
}
