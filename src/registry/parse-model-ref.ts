// Parsing and validation of model references (`name` or `name:tag`), the only place that decides what a legal name is.
import { ReflexiaError } from "../errors/index.ts";
import { isQuantizationTag } from "./file-types.ts";

/** A name is one or more `/`-separated segments; each starts with a letter or digit, so `..` can never escape the store. */
const NAME_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const TAG = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface ModelRef {
  name: string;
  /** Undefined when the reference names the model without a variant. */
  tag?: string;
}

export function isValidModelName(name: string): boolean {
  const segments = name.split("/");
  return segments.length <= 4 && segments.every((s) => NAME_SEGMENT.test(s));
}

export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}

export function assertModelName(name: string): string {
  if (!isValidModelName(name)) {
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `invalid model name ${JSON.stringify(name)}: use letters, digits, '.', '_', '-' (and '/' between parts)`,
      { name },
    );
  }
  return name;
}

export function assertTag(tag: string): string {
  if (!isValidTag(tag)) {
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `invalid model tag ${JSON.stringify(tag)}: use letters, digits, '.', '_', '-'`,
      { tag },
    );
  }
  return tag;
}

/** A registry host with its port, as the first part of a pulled name (`127.0.0.1:5000`, `localhost:5000`). */
const HOST_PORT = /^([A-Za-z0-9][A-Za-z0-9.-]*):(\d{1,5})$/;

/**
 * `reflexia-tiny:q4_0` → {name, tag}; `reflexia-tiny` → {name}. The tag follows the first ':' after the last '/', so
 * a name pulled from a registry with a port reads as Ollama spells it: `host:5000/ns/model[:tag]` is the model stored
 * as `host_5000/ns/model` (a ':' cannot be in a stored name), the form pull and import-ollama store it under.
 * Throws RFX_VALIDATION on malformed input.
 */
export function parseModelRef(ref: string): ModelRef {
  const trimmed = ref.trim();
  const colon = trimmed.indexOf(":", trimmed.lastIndexOf("/") + 1);
  const name = storedName(colon === -1 ? trimmed : trimmed.slice(0, colon));
  assertModelName(name);
  if (colon === -1) return { name };
  return { name, tag: assertTag(trimmed.slice(colon + 1)) };
}

function storedName(name: string): string {
  const slash = name.indexOf("/");
  const host = slash > 0 ? HOST_PORT.exec(name.slice(0, slash)) : null;
  return host ? `${host[1].toLowerCase()}_${host[2]}${name.slice(slash)}` : name;
}

/**
 * A reference as a lookup among the tags stored under its name (never as a destination: create and copy to
 * `name:latest` write a real `latest` tag). A stored tag spelled as asked is that variant. Ollama reads an untagged
 * name as `name:latest`, and many clients append `:latest`; here the untagged name is the choice among the variants
 * (adaptive for requests, the default variant for show and delete), so `name:latest` means the untagged `name`
 * unless a variant is tagged `latest`, which then wins. A tag that is a quantization name is taken in any case, as
 * quantizations are everywhere (`m:Q4_K_M` is the stored `m:q4_k_m`, and `m:q4_k_m` a pulled `m:Q4_K_M`); the
 * lower-case spelling wins where both are stored. The name is matched as spelled (names are case-sensitive).
 */
export function lookupRef(ref: ModelRef, storedTags: readonly string[]): ModelRef {
  const { tag } = ref;
  if (tag === undefined || storedTags.includes(tag)) return ref;
  if (tag === "latest") return { name: ref.name };
  if (!isQuantizationTag(tag)) return ref;
  const lower = tag.toLowerCase();
  const same = storedTags.filter((t) => t.toLowerCase() === lower).sort();
  if (same.length === 0) return ref;
  return { name: ref.name, tag: same.includes(lower) ? lower : same[0] };
}

export function formatModelRef(ref: ModelRef): string {
  return ref.tag ? `${ref.name}:${ref.tag}` : ref.name;
}
