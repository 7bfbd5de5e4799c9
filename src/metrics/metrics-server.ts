// The separate Prometheus listener: GET /metrics on its own port, apart from the API and its auth.
import Fastify, { type FastifyInstance } from "fastify";
import type { Registry } from "prom-client";

export interface MetricsServerOptions {
  registry: Registry;
}

/** Builds (does not listen) a tiny server exposing the registry at /metrics; everything else is 404. */
export function createMetricsServer(options: MetricsServerOptions): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get("/metrics", async (_req, reply) => {
    const body = await options.registry.metrics();
    return reply.header("content-type", options.registry.contentType).send(body);
  });
  app.get("/", async (_req, reply) => reply.type("text/plain").send("Reflexia metrics: see /metrics\n"));
  return app;
}
