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

/**
 * Serialises a value as JSON with object keys sorted at every depth and `undefined` members dropped, so two
 * requests that differ only in key order or in explicitly-undefined options share a key. Arrays keep order
 * (message order matters); non-finite numbers are tagged so NaN and null do not collide.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return "null";
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
