// Remote upstream metrics per {model, quantization, endpoint}: attempts, errors by kind, in-flight, latency, TTFT
// and endpoint health; implements the upstream room's sink.
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { UPSTREAM_ERROR_KINDS, type UpstreamLabels, type UpstreamMetricsSink } from "../upstream/index.ts";

type Labels = "model" | "quantization" | "endpoint";

export interface UpstreamMetrics {
  requests: Counter<Labels | "outcome">;
  errors: Counter<Labels | "kind">;
  inFlight: Gauge<Labels>;
  duration: Histogram<Labels>;
  ttft: Histogram<Labels>;
  healthy: Gauge<Labels>;
  sink: UpstreamMetricsSink;
}

export function createUpstreamMetrics(registry: Registry): UpstreamMetrics {
  const registers = [registry];
  const labelNames = ["model", "quantization", "endpoint"] as const;
  const m = {
    requests: new Counter({
      name: "reflexia_upstream_requests_total",
      help: "Attempts sent to a remote endpoint, by outcome (ok or the error kind).",
      labelNames: [...labelNames, "outcome"],
      registers,
    }),
    errors: new Counter({
      name: "reflexia_upstream_errors_total",
      help: "Failed attempts on a remote endpoint by kind: connect, reset (a reused connection the server had closed; retried once on the same endpoint), timeout, http_5xx, http_4xx, stream, error_event, cancelled.",
      labelNames: [...labelNames, "kind"],
      registers,
    }),
    inFlight: new Gauge({
      name: "reflexia_upstream_in_flight",
      help: "Requests in flight on a remote endpoint.",
      labelNames,
      registers,
    }),
    duration: new Histogram({
      name: "reflexia_upstream_request_duration_seconds",
      help: "Duration of an attempt on a remote endpoint (request sent to last byte).",
      labelNames,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    }),
    ttft: new Histogram({
      name: "reflexia_upstream_time_to_first_token_seconds",
      help: "Time from sending a request to a remote endpoint to its first generated token.",
      labelNames,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    healthy: new Gauge({
      name: "reflexia_upstream_endpoint_healthy",
      help: "1 while a remote endpoint is in rotation, 0 while it is ejected.",
      labelNames,
      registers,
    }),
  };
  const sink: UpstreamMetricsSink = {
    observeAttempt(labels: UpstreamLabels, outcome, seconds, ttftSeconds) {
      m.requests.inc({ ...labels, outcome });
      if (outcome !== "ok") m.errors.inc({ ...labels, kind: outcome });
      m.duration.observe(labels, seconds);
      if (ttftSeconds !== undefined) m.ttft.observe(labels, ttftSeconds);
    },
    setInFlight: (labels, n) => m.inFlight.set(labels, n),
    setHealthy: (labels, healthy) => m.healthy.set(labels, healthy ? 1 : 0),
    forget(labels) {
      for (const outcome of ["ok", ...UPSTREAM_ERROR_KINDS]) m.requests.remove({ ...labels, outcome });
      for (const kind of UPSTREAM_ERROR_KINDS) m.errors.remove({ ...labels, kind });
      for (const metric of [m.inFlight, m.duration, m.ttft, m.healthy]) metric.remove(labels);
    },
  };
  return { ...m, sink };
}
