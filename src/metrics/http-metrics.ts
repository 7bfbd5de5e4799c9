// HTTP request metrics: counts and durations by method, route pattern and status.
import { Counter, Histogram, type Registry } from "prom-client";

/** Endpoint label for requests that matched no route: keeps label cardinality bounded against URL scans. */
export const UNMATCHED_ENDPOINT = "unmatched";

export interface HttpMetrics {
  /** reflexia_http_requests_total{method,endpoint,status}; endpoint is the route pattern, never the raw URL. */
  requests: Counter<"method" | "endpoint" | "status">;
  /** reflexia_http_request_duration_seconds{method,endpoint}: until the response is fully sent (streams included). */
  duration: Histogram<"method" | "endpoint">;
}

export function createHttpMetrics(registry: Registry): HttpMetrics {
  return {
    requests: new Counter({
      name: "reflexia_http_requests_total",
      help: "HTTP requests handled, by method, route pattern (endpoint) and status code.",
      labelNames: ["method", "endpoint", "status"],
      registers: [registry],
    }),
    duration: new Histogram({
      name: "reflexia_http_request_duration_seconds",
      help: "Time from request to the last byte of the response, by method and route pattern.",
      labelNames: ["method", "endpoint"],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
  };
}
