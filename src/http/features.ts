// What this server offers beyond its fixed APIs, read from what the router registered, so clients (the web UI)
// show a control only when the request behind it will be served: a route that lands lights its feature up.
import type { RouteOptions } from "fastify";

/**
 * Capabilities a route declares in its options (`config: { capabilities: ["json_mode"] }`) when it honours the
 * request fields behind them: `json_mode` (OpenAI `response_format` / Ollama `format`), `tools` (tool calling).
 */
export const ROUTE_CAPABILITIES = ["json_mode", "tools"] as const;
export type RouteCapability = (typeof ROUTE_CAPABILITIES)[number];

export interface ServerFeatures {
  /** POST /api/pull: models by registry name. */
  pull: boolean;
  /** POST /api/benchmarks: background benchmark runs. */
  benchmarks: boolean;
  /** GET /api/metrics/live: the live metrics series. */
  live_metrics: boolean;
  /** POST /api/upload: documents for retrieval-augmented answers. */
  rag: boolean;
  json_mode: boolean;
  tools: boolean;
}

export interface FeatureRegistry {
  /** The onRoute hook: add it before any route is registered. */
  observe(route: RouteOptions): void;
  features(): ServerFeatures;
}

export function createFeatureRegistry(): FeatureRegistry {
  const routes = new Set<string>();
  const capabilities = new Set<string>();
  return {
    observe(route) {
      for (const m of Array.isArray(route.method) ? route.method : [route.method]) routes.add(`${m} ${route.url}`);
      const declared = (route.config as { capabilities?: unknown } | undefined)?.capabilities;
      if (Array.isArray(declared))
        for (const c of declared)
          if ((ROUTE_CAPABILITIES as readonly unknown[]).includes(c)) capabilities.add(String(c));
    },
    features: () => ({
      pull: routes.has("POST /api/pull"),
      benchmarks: routes.has("POST /api/benchmarks"),
      live_metrics: routes.has("GET /api/metrics/live"),
      rag: routes.has("POST /api/upload"),
      json_mode: capabilities.has("json_mode"),
      tools: capabilities.has("tools"),
    }),
  };
}
