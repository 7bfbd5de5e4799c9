// Per-key accounting at the HTTP edge: names the key a request authenticated with, admits it under its quota (the
// auth hook in build-app.ts), adds the tokens its generations report, gives the reserved request back when it ran no
// model, and hands each finished request to the usage ledger.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { EmbedService } from "../services/embed-service.ts";
import type { InferenceService } from "../services/inference-service.ts";
import type { QuotaAdmission, UsageLedger } from "../services/usage-ledger.ts";
import { requestOf } from "./streaming.ts";

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * True on the routes whose requests run a model (generation, embeddings, document ingestion and retrieval, a
     * benchmark run): the only ones a key's quota counts and refuses. Defaults to false.
     */
    runsModel?: boolean;
  }
  interface FastifyRequest {
    /** Name of the API key the request authenticated with ("anonymous" with auth off); set before parsing. */
    apiKeyName?: string;
    /** Tokens the request's generations reported (what the responses' usage fields say). */
    tokenUsage?: { prompt: number; completion: number };
    /** The quota's reservation for this request (a model route of a key with a quota); set with apiKeyName. */
    quotaAdmission?: QuotaAdmission;
    /** A generation of the request started (a sequence held or a cache hit found): it counts, whatever follows. */
    modelStarted?: boolean;
  }
}

/** The route config of a route whose requests run a model (see FastifyContextConfig.runsModel). */
export const RUNS_MODEL = { runsModel: true } as const;

/** Key name of requests when auth is off. */
export const ANONYMOUS_KEY = "anonymous";

/** Inference that adds each outcome's token counts to the request it ran for. */
export function accountedInference(inner: InferenceService): InferenceService {
  return {
    limits: () => inner.limits(),
    async run(req, hooks) {
      const request = requestOf(req.signal);
      const out = await inner.run(req, {
        ...hooks,
        onStart(meta, applied) {
          if (request) request.modelStarted = true;
          hooks?.onStart?.(meta, applied);
        },
      });
      if (request) {
        const u = (request.tokenUsage ??= { prompt: 0, completion: 0 });
        u.prompt += out.promptTokens;
        u.completion += out.completionTokens;
        request.quotaAdmission?.addTokens(out.promptTokens + out.completionTokens);
      }
      return out;
    },
  };
}

/** Embeddings that add each request's prompt tokens to the request it ran for, as generations do. */
export function accountedEmbeddings(inner: EmbedService): EmbedService {
  return {
    isBuiltin: (model) => inner.isBuiltin(model),
    async embed(req) {
      const request = requestOf(req.signal);
      const out = await inner.embed(req);
      if (request) {
        request.modelStarted = true;
        const u = (request.tokenUsage ??= { prompt: 0, completion: 0 });
        u.prompt += out.promptTokens;
        request.quotaAdmission?.addTokens(out.promptTokens);
      }
      return out;
    },
  };
}

/**
 * Records every non-public request that named a key (or every request, with auth off) when it ends, and gives back
 * the quota's reservation of a request that failed before any generation started (a 429, a 4xx of validation, a
 * 503 queue refusal): only requests that ran a model, or succeeded, stay counted.
 */
export function installUsageAccounting(
  app: FastifyInstance,
  ledger: UsageLedger,
  isPublic: (r: FastifyRequest) => boolean,
  authEnabled: boolean,
): void {
  app.addHook("onResponse", async (request, reply) => {
    if (request.quotaAdmission && reply.statusCode >= 400 && !request.modelStarted) request.quotaAdmission.release();
    if (isPublic(request) || request.is404) return;
    ledger.record({
      // With auth on, a request without a valid key never reached a key: its 401 is counted apart.
      key: request.apiKeyName ?? (authEnabled ? "unauthenticated" : ANONYMOUS_KEY),
      method: request.method,
      route: request.routeOptions.url ?? "",
      status: reply.statusCode,
      prompt_tokens: request.tokenUsage?.prompt ?? 0,
      completion_tokens: request.tokenUsage?.completion ?? 0,
    });
  });
}
