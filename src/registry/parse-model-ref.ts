// Parsing and validation of model references (`name` or `name:tag`), the only place that decides what a legal name is.
import { ReflexiaError } from "../errors/index.ts";

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

/** `reflexia-tiny:q4_0` → {name, tag}; `reflexia-tiny` → {name}. Throws RFX_VALIDATION on malformed input. */
export function parseModelRef(ref: string): ModelRef {
  const trimmed = ref.trim();
  const colon = trimmed.indexOf(":");
  if (colon === -1) return { name: assertModelName(trimmed) };
  const name = trimmed.slice(0, colon);
  const tag = trimmed.slice(colon + 1);
  assertModelName(name);
  assertTag(tag);
  return { name, tag };
}

export function formatModelRef(ref: ModelRef): string {
  return ref.tag ? `${ref.name}:${ref.tag}` : ref.name;
}
