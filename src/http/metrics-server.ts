// The separate Prometheus listener: GET /metrics on its own port. With auth on it asks for the same API key as the
// API (Prometheus sends it as `authorization: Bearer`), since the listener must bind all interfaces in a container.
import Fastify, { type FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import { ReflexiaError } from "../errors/index.ts";
import { createApiKeyVerifier, presentedKey } from "./auth.ts";
import { clientErrorHandler, frameworkErrorHandler, httpErrorHandler } from "./error-handler.ts";
import { SECURITY_HEADERS } from "./security-headers.ts";

export interface MetricsServerOptions {
  registry: Registry;
  /** Keys accepted on every path of this listener; undefined or empty leaves it open (auth off). */
  apiKeys?: readonly string[];
}

/** Builds (does not listen) a tiny server exposing the registry at /metrics; everything else is 404. */
export function createMetricsServer(options: MetricsServerOptions): FastifyInstance {
  const app = Fastify({ logger: false, frameworkErrors: frameworkErrorHandler, clientErrorHandler });
  app.setErrorHandler(httpErrorHandler);
  app.setNotFoundHandler((request, reply) =>
    httpErrorHandler(
      new ReflexiaError("RFX_NOT_FOUND", `no route ${request.method} ${request.url.split("?")[0].slice(0, 200)}`),
      request,
      reply,
    ),
  );
  app.addHook("onRequest", async (_request, reply) => {
    reply.headers(SECURITY_HEADERS);
  });
  const keys = options.apiKeys ?? [];
  if (keys.length > 0) {
    const verify = createApiKeyVerifier(keys);
    // Every request, matched or not: this listener has no public route.
    app.addHook("onRequest", async (request, reply) => {
      if (!verify(presentedKey(request.headers))) {
        reply.header("www-authenticate", 'Bearer realm="reflexia-metrics"');
        throw new ReflexiaError(
          "RFX_UNAUTHORIZED",
          "a valid API key is required to scrape metrics (Prometheus: authorization: {type: Bearer, credentials_file: …})",
        );
      }
    });
  }
  app.get("/metrics", async (_req, reply) => {
    const body = await options.registry.metrics();
    return reply.header("content-type", options.registry.contentType).send(body);
  });
  app.get("/", async (_req, reply) => reply.type("text/plain").send("Reflexia metrics: see /metrics\n"));
  return app;
}
