// Builds the API server (never listens): limits, security headers, auth, rate limiting, CORS, request metrics,
// the one error handler, every route family and the static web UI.
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import cors from "@fastify/cors";
import rateLimit from "@fastify/rate-limit";
import fastifyStatic from "@fastify/static";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { type FastifyInstance } from "fastify";
import { ReflexiaError } from "../errors/index.ts";
import { UNMATCHED_ENDPOINT } from "../metrics/index.ts";
import { createApiKeyIdentifier, presentedKey } from "./auth.ts";
import {
  clientErrorHandler,
  formatSchemaErrors,
  frameworkErrorHandler,
  httpErrorHandler,
  MAX_PARAM_LENGTH,
} from "./error-handler.ts";
import { createFeatureRegistry } from "./features.ts";
import { depthLimitedJsonParser } from "./json-body-parser.ts";
import { declareScopeOllama } from "./ollama-scope.ts";
import { declareCorsPreflightPublic, declareScopePublic, isPublicRoute, trackRouteAccess } from "./route-access.ts";
import { registerBenchmarkRoutes } from "./routes/benchmarks.ts";
import { registerDocumentRoutes } from "./routes/documents.ts";
import { registerOllamaRoutes } from "./routes/ollama.ts";
import { registerOllamaBlobRoutes } from "./routes/ollama/blobs.ts";
import { registerOllamaCreateShowRoutes } from "./routes/ollama/create-show.ts";
import { registerOllamaPullRoutes } from "./routes/ollama/pull-push.ts";
import { registerOpenAiRoutes } from "./routes/openai.ts";
import { registerResponsesRoutes } from "./routes/openai-responses.ts";
import { registerLiveMetricsRoutes } from "./routes/live-metrics.ts";
import { registerModelRoutes } from "./routes/models.ts";
import { registerReflexiaRoutes } from "./routes/reflexia.ts";
import { registerWebViewRoutes } from "./routes/web-ui.ts";
import { SECURITY_HEADERS } from "./security-headers.ts";
import { logEndUser } from "./end-user.ts";
import { refuseUnknownFields } from "./known-fields.ts";
import { installShutdownSignal } from "./shutdown-signal.ts";
import type { AppDeps } from "./types.ts";
import { accountedEmbeddings, accountedInference, installUsageAccounting } from "./usage-accounting.ts";

export function buildApp(appDeps: AppDeps): FastifyInstance {
  const { config, metrics } = appDeps;
  // Every generation and embedding adds its token counts to the request it ran for (per-key usage, below).
  const deps: AppDeps = appDeps.usage
    ? {
        ...appDeps,
        inference: accountedInference(appDeps.inference),
        embeddings: accountedEmbeddings(appDeps.embeddings),
      }
    : appDeps;
  const app = Fastify({
    logger: deps.logger ?? false,
    bodyLimit: config.server.body_limit_bytes,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Wrong types are errors, not silently coerced; unknown top-level fields are refused by name before validation
    // (refuseUnknownFields), not removed.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false } },
    // One sentence per failure, naming the field as a path (`temperature must be <= 2`).
    schemaErrorFormatter: formatSchemaErrors,
    // Refusals while draining come from the hook below, in the one error shape, with Retry-After.
    return503OnClosing: false,
    // Errors raised before fastify has a route (router, HTTP parser) go through the one mapper too.
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
  });

  trackRouteAccess(app);
  installShutdownSignal(app, deps.shutdown);
  declareCorsPreflightPublic(app);

  // JSON only: a text/plain body is 415, not a string that fails validation further down.
  app.removeContentTypeParser("text/plain");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, depthLimitedJsonParser(app));
  app.setErrorHandler(httpErrorHandler);
  // Security headers first, so errors, streams and static files all carry them.
  app.addHook("onRequest", async (_request, reply) => {
    reply.headers(SECURITY_HEADERS);
  });

  // While the server drains, its listener stays open so that a new request is told (503, Retry-After) rather than
  // refused a connection; Connection: close sends the client's next request to another instance.
  app.addHook("onRequest", async (request, reply) => {
    if (!isPublicRoute(request) && (deps.scheduler.isDraining() || deps.readiness?.().draining === true)) {
      reply.header("connection", "close");
      throw new ReflexiaError("RFX_NOT_READY", "the server is shutting down and no longer accepts requests", {
        retryAfterSeconds: 5,
      });
    }
  });

  // The endpoint label is the route pattern (bounded cardinality); unmatched URLs share one label.
  app.addHook("onResponse", async (request, reply) => {
    const endpoint = request.is404 ? UNMATCHED_ENDPOINT : (request.routeOptions.url ?? UNMATCHED_ENDPOINT);
    const method = request.method;
    metrics.http.requests.inc({ method, endpoint, status: String(reply.statusCode) });
    metrics.http.duration.observe({ method, endpoint }, reply.elapsedTime / 1000);
  });

  if (deps.usage) installUsageAccounting(app, deps.usage, isPublicRoute, config.auth.enabled);

  if (config.auth.enabled) {
    // Bare strings (tests, older callers) are named by position, as a keys_file line without a name is.
    const named = (deps.apiKeys ?? []).map((k, i) => (typeof k === "string" ? { name: `key-${i + 1}`, key: k } : k));
    const identify = createApiKeyIdentifier(named);
    if ((deps.apiKeys ?? []).length === 0) {
      throw new ReflexiaError(
        "RFX_CONFIG_INVALID",
        "auth.enabled (ENABLE_AUTH) is true but no API key is configured (API_KEY or API_KEYS_FILE)",
      );
    }
    // preParsing, not onRequest: the rate limit (a route-level onRequest hook) runs first, so unauthenticated
    // guesses count against it; the body is still unread, so nothing is parsed for a client without a key.
    app.addHook("preParsing", async (request) => {
      if (isPublicRoute(request)) return;
      const name = identify(presentedKey(request.headers));
      if (name === undefined) {
        throw new ReflexiaError(
          "RFX_UNAUTHORIZED",
          "a valid API key is required (Authorization: Bearer <key> or X-API-Key: <key>)",
        );
      }
      request.apiKeyName = name;
      request.quotaAdmission = deps.usage?.admit(name, request.routeOptions.config?.runsModel === true);
    });
  }

  if (config.server.cors_origins.length > 0) {
    const origins = config.server.cors_origins;
    void app.register(cors, {
      origin: origins.includes("*") ? true : origins,
      methods: ["GET", "POST", "DELETE", "OPTIONS"],
      allowedHeaders: ["content-type", "authorization", "x-api-key"],
      exposedHeaders: [
        "x-reflexia-quantization",
        "x-reflexia-variant",
        "x-reflexia-reason",
        "x-reflexia-cache",
        "retry-after",
      ],
      // A preflight without Origin gets an empty 204 rather than the plugin's text/plain 400 (no RFX_ shape).
      strictPreflight: false,
    });
  }

  if (config.server.rate_limit_per_minute > 0) {
    void app.register(rateLimit, {
      global: true,
      max: config.server.rate_limit_per_minute,
      timeWindow: "1 minute",
      allowList: (request) => isPublicRoute(request),
      errorResponseBuilder: (_request, context) =>
        Object.assign(
          new ReflexiaError(
            "RFX_RATE_LIMITED",
            `rate limit of ${context.max} requests per minute exceeded; retry in ${context.after}`,
          ),
          {
            statusCode: 429,
          },
        ),
    });
  }

  // Unmatched URLs are protected like any route (drain, key, rate limit): without a key they answer 401, exactly
  // as an existing protected route does, so the route map cannot be probed; with a key, 404. A not-found handler
  // takes no onRequest hook of its own, so its rate limit is a root onRequest hook for unmatched requests: it must
  // run before the key check (preParsing), as a route's does, so that wrong keys sent to unknown URLs count and
  // their 401 carries the same rate-limit headers as a route's.
  app.after(() => {
    if (config.server.rate_limit_per_minute > 0) {
      const limit = app.rateLimit();
      app.addHook("onRequest", async function (request, reply) {
        if (request.is404) await limit.call(this, request, reply);
      });
    }
    app.setNotFoundHandler((request, reply) =>
      httpErrorHandler(
        new ReflexiaError("RFX_NOT_FOUND", `no route ${request.method} ${request.url.split("?")[0].slice(0, 200)}`),
        request,
        reply,
      ),
    );
  });

  // What the router registers is what /api/status advertises to clients (features.ts).
  const features = createFeatureRegistry();
  app.addHook("onRoute", features.observe);

  // Routes live in a child plugin so that they load after rate-limit (its onRoute hook must see them); through `api`
  // each route's body, params and query string are typed from its TypeBox schema.
  void app.register(async (scope) => {
    refuseUnknownFields(scope);
    logEndUser(scope);
    const api = scope.withTypeProvider<TypeBoxTypeProvider>();
    registerReflexiaRoutes(api, deps, features);
    registerOpenAiRoutes(api, deps);
    registerResponsesRoutes(api, deps);
    await api.register(async (ollama) => {
      declareScopeOllama(ollama);
      const typed = ollama.withTypeProvider<TypeBoxTypeProvider>();
      registerOllamaRoutes(typed, deps);
      registerOllamaPullRoutes(typed, deps);
      registerOllamaCreateShowRoutes(typed, deps);
      registerOllamaBlobRoutes(typed, deps);
    });
    registerModelRoutes(api, deps);
    if (deps.liveMetrics) registerLiveMetricsRoutes(api, deps.liveMetrics);
    if (deps.benchmarks) registerBenchmarkRoutes(api, deps.benchmarks);
    if (deps.rag) await registerDocumentRoutes(api, { config, rag: deps.rag.service });
  });

  const webDir = deps.webDir ? resolve(deps.webDir) : null;
  if (webDir && existsSync(webDir) && statSync(webDir).isDirectory()) {
    // wildcard:false registers one route per file at startup, so unknown paths reach the JSON 404 handler. The UI's
    // files are public (the page asks for the key itself); its API calls are not.
    void app.register(async (scope) => {
      declareScopePublic(scope);
      await scope.register(fastifyStatic, {
        root: webDir,
        prefix: "/",
        wildcard: false,
        index: ["index.html"],
        cacheControl: true,
        maxAge: 60_000,
      });
      registerWebViewRoutes(scope, webDir);
    });
  }

  if (deps.rag) metrics.rag.bindStats(deps.rag.counts);
  return app;
}
