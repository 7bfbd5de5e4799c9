// Which requests may skip the API key and the rate limit: decided from the route the router matched (each route
// declares itself public in its own config), never from how the client spelled the URL.
import type { FastifyInstance, FastifyRequest } from "fastify";

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * True on the few routes that must answer without an API key and outside the rate limit (liveness and
     * readiness probes, the static web UI, the CORS preflight). Every other route, and every unmatched URL, is
     * protected. Defaults to false.
     */
    public?: boolean;
  }
}

/** Route config of a public route: `app.get(url, { config: PUBLIC_ROUTE }, handler)`. */
export const PUBLIC_ROUTE = Object.freeze({ public: true as const });

/**
 * Whether the request reached a route that declared itself public. Unmatched requests (404) are never public:
 * otherwise a client could probe which protected paths exist by comparing 401s with 404s.
 */
export function isPublicRoute(request: FastifyRequest): boolean {
  if (request.is404) return false;
  return request.routeOptions.config?.public === true;
}

/** Declares every route registered later in `scope` (an encapsulated plugin) public, e.g. the static files. */
export function declareScopePublic(scope: FastifyInstance): void {
  scope.addHook("onRoute", (route) => {
    route.config = { ...route.config, public: true };
  });
}

/**
 * The CORS preflight route (@fastify/cors registers `OPTIONS *` itself, so it cannot carry our config): browsers
 * never send credentials on a preflight, so it must be public; it returns CORS headers and no data.
 */
export function declareCorsPreflightPublic(app: FastifyInstance): void {
  app.addHook("onRoute", (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (route.url === "*" && methods.length === 1 && methods[0] === "OPTIONS")
      route.config = { ...route.config, public: true };
  });
}

/** One registered route × method, whether it is public, and the JSON schema of its body (if it declares one). */
export interface RouteAccess {
  method: string;
  url: string;
  readonly public: boolean;
  /** Its requests run a model: a key's quota counts and refuses them (config.runsModel, usage-accounting.ts). */
  readonly runsModel: boolean;
  readonly bodySchema: unknown;
}

const inventories = new WeakMap<FastifyInstance, RouteAccess[]>();

/**
 * Records every route × method fastify registers on `app` (HEAD twins included), so tests and audits walk the
 * router's own list rather than a hand-kept one. Install it before any route is registered.
 */
export function trackRouteAccess(app: FastifyInstance): void {
  const list: RouteAccess[] = [];
  inventories.set(app, list);
  app.addHook("onRoute", (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    // Read lazily: onRoute hooks of inner scopes (declareScopePublic) run after this one on the same options.
    for (const method of methods) {
      list.push({
        method,
        url: route.url,
        get public() {
          return route.config?.public === true;
        },
        get runsModel() {
          return route.config?.runsModel === true;
        },
        get bodySchema() {
          return (route.schema as { body?: unknown } | undefined)?.body;
        },
      });
    }
  });
}

/** The routes recorded by trackRouteAccess (complete once the app is ready). */
export function routeAccessOf(app: FastifyInstance): readonly RouteAccess[] {
  return inventories.get(app) ?? [];
}
