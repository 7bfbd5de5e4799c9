// Refuses body fields a route does not know, by name: a field that would be accepted and ignored is a bug.
import type { FastifyInstance, preValidationAsyncHookHandler } from "fastify";
import { ReflexiaError } from "../errors/index.ts";

export function assertKnownFields(body: unknown, known: readonly string[], where = "body"): void {
  if (!body || typeof body !== "object" || Array.isArray(body)) return;
  const unknown = Object.keys(body).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `${where} field${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => JSON.stringify(k)).join(", ")} not supported here (accepted: ${known.join(", ")})`,
      {
        fields: unknown,
      },
    );
  }
}

interface ObjectSchemaShape {
  type?: unknown;
  properties?: Record<string, unknown>;
  additionalProperties?: unknown;
}

/**
 * The top-level fields an object schema declares, or undefined when it takes others: not an object schema, or one
 * whose `additionalProperties` allows them (true, or a schema they must match). `additionalProperties: false` is a
 * declaration too: the validator would refuse the field without naming it.
 */
export function declaredFields(schema: unknown): string[] | undefined {
  const s = schema as ObjectSchemaShape | undefined;
  if (!s || s.type !== "object" || !s.properties) return undefined;
  if (s.additionalProperties !== undefined && s.additionalProperties !== false) return undefined;
  return Object.keys(s.properties);
}

interface NestedSchemaShape {
  type?: unknown;
  properties?: Record<string, unknown>;
  items?: unknown;
  anyOf?: unknown[];
}

/**
 * Refuses, by path, a field that `schema` does not declare anywhere inside `value`: its own fields, then those of
 * each nested object and array item the schema describes (`messages[2].tool_calls[0].function field "strict" …`).
 * A union is followed into the member of the value's kind (object or array); records, `additionalProperties` and
 * unknown values are not walked. The top-level check (refuseUnknownFields) stops at the body's own fields.
 */
export function assertKnownNested(value: unknown, schema: unknown, where: string): void {
  if (value === null || typeof value !== "object") return;
  const s = schema as NestedSchemaShape | undefined;
  if (!s) return;
  if (Array.isArray(s.anyOf)) {
    const kind = Array.isArray(value) ? "array" : "object";
    assertKnownNested(
      value,
      s.anyOf.find((m) => (m as NestedSchemaShape).type === kind),
      where,
    );
    return;
  }
  if (Array.isArray(value)) {
    if (s.type === "array") value.forEach((v, j) => assertKnownNested(v, s.items, `${where}[${j}]`));
    return;
  }
  const known = declaredFields(s);
  if (!known || !s.properties) return;
  assertKnownFields(value, known, where);
  for (const [k, v] of Object.entries(value)) assertKnownNested(v, s.properties[k], `${where}.${k}`);
}

/**
 * Every route registered later in `scope` whose body or query-string schema lists its fields refuses any other
 * top-level field by name (400, in the route's error shape), before the schema is checked. OpenAI's API refuses
 * unknown arguments too; Ollama's server ignores them, which is what lets a client's option silently do nothing.
 */
export function refuseUnknownFields(scope: FastifyInstance): void {
  scope.addHook("onRoute", (route) => {
    const schema = route.schema as { body?: unknown; querystring?: unknown } | undefined;
    const body = declaredFields(schema?.body);
    const query = declaredFields(schema?.querystring);
    if (!body && !query) return;
    const check: preValidationAsyncHookHandler = async (request) => {
      if (query) assertKnownFields(request.query, query, "query");
      if (body) assertKnownFields(request.body, body);
    };
    const existing = route.preValidation;
    route.preValidation =
      existing === undefined ? [check] : [...(Array.isArray(existing) ? existing : [existing]), check];
  });
}
