// Refuses body fields a route does not know, by name: a field that would be accepted and ignored is a bug.
import type { FastifyInstance, preValidationAsyncHookHandler } from "fastify";
import { ReflexiaError } from "../errors/index.ts";

export function assertKnownFields(body: unknown, known: readonly string[], where = "body"): void {
  if (!body || typeof body !== "object" || Array.isArray(body)) return;
  const unknown = Object.keys(body).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    const accepted =
      known.length > 0
        ? `accepted: ${known.join(", ")}`
        : where === "query"
          ? "this route takes no query string"
          : "none are accepted";
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `${where} field${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => JSON.stringify(k)).join(", ")} not supported here (${accepted})`,
      // The first as OpenAI's `param`: a path to the field.
      { fields: unknown, field: where === "body" ? unknown[0] : `${where}.${unknown[0]}` },
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
  properties?: Record<string, { const?: unknown } | undefined>;
  required?: string[];
  items?: unknown;
  anyOf?: unknown[];
}

/**
 * The member of a union that describes `value`: of its kind (object or array); among several objects, the one whose
 * `type` field is the literal the value carries (a discriminated union: Responses input items), or that leaves
 * `type` out when the value does. Undefined when none or more than one fits: the value is then not walked further,
 * and the route's own checks say what is wrong with it.
 */
function unionMember(value: object, members: unknown[]): NestedSchemaShape | undefined {
  const kind = Array.isArray(value) ? "array" : "object";
  // A union of unions (nullable(Type.Union(…))) is one union.
  const flat = (ms: unknown[]): NestedSchemaShape[] =>
    (ms as NestedSchemaShape[]).flatMap((m) => (Array.isArray(m.anyOf) && !m.properties ? flat(m.anyOf) : [m]));
  const ofKind = flat(members).filter((m) => m.type === kind);
  if (ofKind.length <= 1 || kind === "array") return ofKind[0];
  const tag = (value as { type?: unknown }).type;
  const tagged = ofKind.filter((m) =>
    tag === undefined ? !m.required?.includes("type") : m.properties?.type?.const === tag,
  );
  return tagged.length === 1 ? tagged[0] : undefined;
}

/**
 * Refuses, by path, a field that `schema` does not declare anywhere inside `value`: its own fields, then those of
 * each nested object and array item the schema describes (`messages[2].tool_calls[0].function field "strict" …`).
 * A union is followed into the member that describes the value (unionMember); records, `additionalProperties` and
 * unknown values are not walked. `where` is the value's path; a body is walked from "" (its fields by name).
 */
export function assertKnownNested(value: unknown, schema: unknown, where = ""): void {
  if (value === null || typeof value !== "object") return;
  const s = schema as NestedSchemaShape | undefined;
  if (!s) return;
  if (Array.isArray(s.anyOf) && !s.properties) {
    assertKnownNested(value, unionMember(value, s.anyOf), where);
    return;
  }
  if (Array.isArray(value)) {
    if (s.type === "array") value.forEach((v, j) => assertKnownNested(v, s.items, `${where}[${j}]`));
    return;
  }
  const known = declaredFields(s);
  if (!known || !s.properties) return;
  assertKnownFields(value, known, where || "body");
  for (const [k, v] of Object.entries(value)) assertKnownNested(v, s.properties[k], where ? `${where}.${k}` : k);
}

/**
 * Every route registered later in `scope` whose body or query-string schema lists its fields (or that has no
 * query-string schema: it takes no query string) refuses any other field by name (400, in the route's error shape),
 * before the schema is checked: a body's own fields and, through assertKnownNested, those of every object inside it
 * that the schema describes (messages, tools, response_format, options …). OpenAI's API refuses unknown arguments
 * too; Ollama's server ignores them, which is what lets a client's option silently do nothing.
 */
export function refuseUnknownFields(scope: FastifyInstance): void {
  scope.addHook("onRoute", (route) => {
    const schema = route.schema as { body?: unknown; querystring?: unknown } | undefined;
    const body = declaredFields(schema?.body);
    // A route without a query-string schema takes none (`?api-version=…` on a chat completion would do nothing);
    // public probes (/healthz, /readyz) stay lenient for checkers that add a cache buster.
    const isPublic = (route.config as { public?: boolean } | undefined)?.public === true;
    const query = schema?.querystring === undefined ? (isPublic ? undefined : []) : declaredFields(schema.querystring);
    if (!body && !query) return;
    const check: preValidationAsyncHookHandler = async (request) => {
      if (query) assertKnownFields(request.query, query, "query");
      if (body) assertKnownNested(request.body, schema?.body);
    };
    const existing = route.preValidation;
    route.preValidation =
      existing === undefined ? [check] : [...(Array.isArray(existing) ? existing : [existing]), check];
  });
}
