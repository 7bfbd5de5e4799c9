// What makes a route an Ollama route: its config says so (set for every route of the Ollama scope), and that
// config alone decides the error shape and that any body is read as JSON, as Ollama's own server does.
import type { FastifyInstance, FastifyRequest } from "fastify";
import { depthLimitedJsonParser } from "./json-body-parser.ts";

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * True on the Ollama-compatible routes: errors are `{"error": "message", "code": "RFX_…"}` and a body is read
     * as JSON whatever its Content-Type (Ollama's README sends `curl -d`, i.e. form-urlencoded, or none at all).
     * Defaults to false.
     */
    ollama?: boolean;
  }
}

/**
 * Declares every route registered later in `scope` an Ollama route, and gives the scope a catch-all body parser
 * that reads JSON (fastify's own parser, with its prototype-poisoning checks, and the nesting limit) for any or no
 * Content-Type.
 */
export function declareScopeOllama(scope: FastifyInstance): void {
  scope.addHook("onRoute", (route) => {
    route.config = { ...route.config, ollama: true };
  });
  scope.addContentTypeParser("*", { parseAs: "string" }, depthLimitedJsonParser(scope));
}

/** Whether the router matched an Ollama route (unmatched URLs are not: they answer in the native shape). */
export function isOllamaRoute(request: FastifyRequest): boolean {
  if (request.is404) return false;
  return request.routeOptions.config?.ollama === true;
}
