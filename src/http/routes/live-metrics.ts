// GET /api/metrics/live: the live metrics series (rates and quantiles of the last minutes) as JSON, for the
// web UI's charts; the browser never scrapes Prometheus text.
import type { FastifyInstance } from "fastify";
import type { LiveMetrics } from "../../services/live-metrics.ts";
import { assertKnownFields } from "../known-fields.ts";

const querySchema = {
  type: "object",
  // The app does not coerce types, so the number arrives as text: epoch milliseconds.
  properties: { since: { type: "string", pattern: "^[0-9]{1,16}$" } },
} as const;

export function registerLiveMetricsRoutes(app: FastifyInstance, live: LiveMetrics): void {
  app.get("/api/metrics/live", { schema: { querystring: querySchema } }, async (request) => {
    const query = request.query as { since?: string };
    assertKnownFields(query, ["since"], "query");
    return live.snapshot(query.since === undefined ? undefined : Number(query.since));
  });
}
