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
