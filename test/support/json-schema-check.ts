// A small JSON-schema checker for the keywords the route schemas use, so the fuzz suite can tell a value a route
// must refuse from one it may accept. Unknown keywords pass: a value is only called invalid when a keyword we
// understand says so, which keeps "must refuse" sound when schemas grow new keywords.

type Schema = Record<string, unknown>;

const typeOf = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

function typeMatches(type: string, v: unknown): boolean {
  if (type === "integer") return typeof v === "number" && Number.isInteger(v);
  if (type === "number") return typeof v === "number" && Number.isFinite(v);
  return typeOf(v) === type;
}

/** Code points, as ajv counts string lengths. */
const length = (s: string): number => [...s].length;

export function isValidFor(schema: unknown, v: unknown): boolean {
  if (schema === null || typeof schema !== "object") return true;
  const s = schema as Schema;
  if (Array.isArray(s.anyOf) && !s.anyOf.some((branch) => isValidFor(branch, v))) return false;
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    if (!types.some((t) => typeMatches(t, v))) return false;
  }
  if (Array.isArray(s.enum) && !s.enum.some((e) => e === v)) return false;
  if ("const" in s && s.const !== v) return false;
  if (typeof v === "string") {
    if (typeof s.minLength === "number" && length(v) < s.minLength) return false;
    if (typeof s.maxLength === "number" && length(v) > s.maxLength) return false;
    if (typeof s.pattern === "string" && !new RegExp(s.pattern, "u").test(v)) return false;
  }
  if (typeof v === "number") {
    if (typeof s.minimum === "number" && v < s.minimum) return false;
    if (typeof s.maximum === "number" && v > s.maximum) return false;
  }
  if (Array.isArray(v)) {
    if (typeof s.minItems === "number" && v.length < s.minItems) return false;
    if (typeof s.maxItems === "number" && v.length > s.maxItems) return false;
    if (s.items && !v.every((item) => isValidFor(s.items, item))) return false;
  }
  if (typeOf(v) === "object") {
    const o = v as Record<string, unknown>;
    if (Array.isArray(s.required) && !s.required.every((k) => Object.hasOwn(o, k as string))) return false;
    const props = (s.properties ?? {}) as Record<string, unknown>;
    for (const [k, sub] of Object.entries(props)) if (Object.hasOwn(o, k) && !isValidFor(sub, o[k])) return false;
    if (s.additionalProperties === false && Object.keys(o).some((k) => !Object.hasOwn(props, k))) return false;
  }
  return true;
}
