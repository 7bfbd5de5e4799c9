// The shapes of remote inference: a remote variant's spec (what a manifest stores), endpoint health snapshots and
// the metrics seam the pool reports through.

/** How to reach a remote variant: stored in its manifest; holds where the API key is, never the key itself. */
export interface RemoteSpec {
  /** OpenAI-compatible base URLs (`http://host:8080/v1`; a URL without a path gets `/v1`). */
  endpoints: string[];
  /** The model name the upstream server knows (the `model` field sent to it). */
  upstreamModel: string;
  /** File whose first line is the upstream's API key. */
  apiKeyFile?: string;
  /** Environment variable holding the upstream's API key. */
  apiKeyEnv?: string;
  /** Seconds to the first byte of an answer before the attempt counts as a timeout. Defaults to config remote.timeout_seconds. */
  timeoutSeconds?: number;
  /** Seconds a whole request may take. Defaults to config remote.request_timeout_seconds. */
  requestTimeoutSeconds?: number;
  /** Requests in flight per endpoint. Defaults to config remote.max_concurrent. */
  maxConcurrent?: number;
  /**
   * Fields added to every request body sent upstream (the server's own options: llama-server's `cache_prompt`,
   * vLLM's `chat_template_kwargs`, …); the request's own fields win over them.
   */
  extraBody?: Record<string, unknown>;
}

export const UPSTREAM_ERROR_KINDS = [
  "connect",
  "reset",
  "timeout",
  "http_5xx",
  "http_4xx",
  "stream",
  "error_event",
  "cancelled",
] as const;
/**
 * Why an upstream attempt failed: connect/timeout/http_5xx/stream (a broken connection or garbled events) eject
 * the endpoint; http_4xx, error_event (the server answered with an error about this request) and cancelled do not;
 * reset (a kept-alive connection the server had closed, before any answer) is retried once on the same endpoint.
 */
export type UpstreamErrorKind = (typeof UPSTREAM_ERROR_KINDS)[number];

export interface EndpointHealth {
  /** The endpoint's base URL with any credentials removed (also the metrics' `endpoint` label). */
  endpoint: string;
  healthy: boolean;
  inFlight: number;
  maxConcurrent: number;
  /** Failures since the last success (the ejection backoff doubles with each). */
  consecutiveFailures: number;
  /** ISO time until which the endpoint is ejected; null when it is not. */
  ejectedUntil: string | null;
  lastError: string | null;
  /** ISO time of the last active health check; null before the first. */
  lastCheckAt: string | null;
}

/** The labels of one upstream series. */
export interface UpstreamLabels {
  model: string;
  quantization: string;
  endpoint: string;
}

/** Observations of the remote pool; src/metrics implements it. */
export interface UpstreamMetricsSink {
  /** One finished attempt: outcome "ok" or an error kind; seconds to the end and to the first token (when one came). */
  observeAttempt(
    labels: UpstreamLabels,
    outcome: "ok" | UpstreamErrorKind,
    seconds: number,
    ttftSeconds: number | undefined,
  ): void;
  setInFlight(labels: UpstreamLabels, n: number): void;
  setHealthy(labels: UpstreamLabels, healthy: boolean): void;
  /** Removes every series of an endpoint (its variant was deleted or its spec replaced). */
  forget(labels: UpstreamLabels): void;
}
