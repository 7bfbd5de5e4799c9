// Derivation of response-cache keys: a sha256 over a canonical JSON of everything that determines the output.
import { createHash } from "node:crypto";

/** Everything that can change a response. Add a field here whenever a new request option changes the output. */
export interface CacheKeyParts {
  /** Resolved variant, e.g. `"reflexia-tiny:q4_0"` (the actual weights used, not the requested name). */
  variant: string;
  /** Endpoint family, e.g. `"generate"`, `"chat"`, `"completion"`, `"embed"`: the same text yields different shapes. */
  kind: string;
  prompt?: string;
  messages?: readonly unknown[];
  /** Expert role id (its system prompt changes the output). */
  role?: string;
  /** temperature, top_p, top_k, seed, max_tokens, stop, repeat penalties, grammar/format… */
  sampling: Record<string, unknown>;
  /** Fingerprint of the retrieved RAG context (e.g. chunk ids + content hashes); absent without RAG. */
  ragFingerprint?: string;
  /** Anything else output-determining the caller wants folded in (system prompt, template, context size). */
  extra?: Record<string, unknown>;
}

/** A JSON value whose key order is part of what it means: see `verbatim`. */
class Verbatim {
  constructor(readonly json: string) {}
}

/**
 * Marks JSON that reaches the model as text in the order it was sent (a tool call's `arguments` in an assistant
 * message, a tool's `parameters`): `{"a":1,"b":2}` and `{"b":2,"a":1}` are two prompts, so they must be two keys,
 * where everywhere else key order is only the shape of our own objects and is ignored.
 */
export function verbatim(value: unknown): unknown {
  return value === undefined ? undefined : new Verbatim(JSON.stringify(value));
}

/**
 * Serialises a value as JSON with object keys sorted at every depth and `undefined` members dropped, so two
 * requests that differ only in key order or in explicitly-undefined options share a key. Arrays keep order
 * (message order matters); non-finite numbers are tagged so NaN and null do not collide; a `verbatim` value keeps
 * its own key order, behind a `~` no other serialised value starts with.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return "null";
  if (value instanceof Verbatim) return `~${JSON.stringify(value.json)}`;
  switch (typeof value) {
    case "string":
    case "boolean":
      return JSON.stringify(value);
    case "number":
      return Number.isFinite(value) ? JSON.stringify(value) : JSON.stringify(`__num:${String(value)}`);
    case "bigint":
      return JSON.stringify(`__bigint:${value.toString()}`);
    case "undefined":
    case "function":
    case "symbol":
      return "null";
    default:
      break;
  }
  if (Array.isArray(value)) {
    return `[${value.map((v) => canonicalJson(v)).join(",")}]`;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined && typeof obj[k] !== "function" && typeof obj[k] !== "symbol")
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
}

/** Returns the lowercase sha256 hex of the canonical JSON of `parts`; any output-determining change changes it. */
export function deriveCacheKey(parts: CacheKeyParts): string {
  // A version prefix lets a future change of the key layout invalidate old keys instead of colliding with them.
  return createHash("sha256").update("rfx-cache-v1\n").update(canonicalJson(parts)).digest("hex");
}
