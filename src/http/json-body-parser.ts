// The JSON body parser of every scope: fastify's own (its prototype-poisoning checks, its empty and invalid body
// errors), then MAX_JSON_DEPTH, so no route and nothing below one ever walks a body nested deeper.
import type { FastifyBodyParser, FastifyInstance, FastifyRequest } from "fastify";
import { jsonDepth, MAX_JSON_DEPTH, nestingError } from "../config/index.ts";

/** The top-level field a too-deep body goes deep in, for the message ("the request body (through "format")"). */
function deepestField(body: unknown): string | undefined {
  if (body === null || typeof body !== "object") return undefined;
  let best: [string, number] | undefined;
  for (const [k, v] of Object.entries(body)) {
    const d = jsonDepth(v);
    if (!best || d > best[1]) best = [k, d];
  }
  return best?.[0];
}

/** fastify's JSON parser for `scope`, refusing (RFX_VALIDATION, 400) a body nested past MAX_JSON_DEPTH. */
export function depthLimitedJsonParser(scope: FastifyInstance): FastifyBodyParser<string> {
  // The callback form (what fastify's default parser is).
  const parse = scope.getDefaultJsonParser("error", "error") as (
    request: FastifyRequest,
    body: string,
    done: (error: Error | null, value?: unknown) => void,
  ) => void;
  return (request, body, done) =>
    parse(request, body, (error, value?: unknown) => {
      if (error) return done(error);
      const depth = jsonDepth(value);
      if (depth <= MAX_JSON_DEPTH) return done(null, value);
      const field = Array.isArray(value) ? undefined : deepestField(value);
      done(
        nestingError(`the request body${field ? ` (through ${JSON.stringify(field)})` : ""}`, depth, MAX_JSON_DEPTH),
      );
    });
}
