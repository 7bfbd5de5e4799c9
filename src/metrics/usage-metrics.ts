// Per-key usage metrics: tokens, requests and errors by API key name (names are bounded by the usage ledger).
import { Counter, type Registry } from "prom-client";

export interface UsageMetrics {
  tokens: Counter<"key" | "type">;
  requests: Counter<"key">;
  errors: Counter<"key">;
}

export function createUsageMetrics(registry: Registry): UsageMetrics {
  const registers = [registry];
  return {
    tokens: new Counter({
      name: "reflexia_tokens_total",
      help: "Tokens processed per API key name: type=prompt (in) or completion (out), as the responses' usage reports them.",
      labelNames: ["key", "type"],
      registers,
    }),
    requests: new Counter({
      name: "reflexia_key_requests_total",
      help: "API requests per key name (anonymous when auth is off).",
      labelNames: ["key"],
      registers,
    }),
    errors: new Counter({
      name: "reflexia_key_errors_total",
      help: "API requests per key name that ended with a 4xx or 5xx status.",
      labelNames: ["key"],
      registers,
    }),
  };
}
