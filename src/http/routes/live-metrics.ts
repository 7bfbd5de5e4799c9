// GET /api/metrics/live: the live metrics series (rates and quantiles of the last minutes) as JSON, for the
// web UI's charts; the browser never scrapes Prometheus text.
import { Type } from "typebox";
import type { LiveMetrics } from "../../services/live-metrics.ts";
import type { RouteApp } from "../types.ts";

// The app does not coerce types, so the number arrives as text: epoch milliseconds.
const querySchema = Type.Object({ since: Type.Optional(Type.String({ pattern: "^[0-9]{1,16}$" })) });

export function registerLiveMetricsRoutes(app: RouteApp, live: LiveMetrics): void {
  app.get("/api/metrics/live", { schema: { querystring: querySchema } }, async (request) => {
    const query = request.query;
    return live.snapshot(query.since === undefined ? undefined : Number(query.since));
  });
}
