// Per-key accounting at the HTTP edge: names the key a request authenticated with, refuses it past its quota,
// adds the tokens its generations report, and hands each finished request to the usage ledger.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { InferenceService } from "../services/inference-service.ts";
import type { UsageLedger } from "../services/usage-ledger.ts";
import { requestOf } from "./streaming.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** Name of the API key the request authenticated with ("anonymous" with auth off); set before parsing. */
    apiKeyName?: string;
    /** Tokens the request's generations reported (what the responses' usage fields say). */
    tokenUsage?: { prompt: number; completion: number };
  }
}

/** Key name of requests when auth is off. */
export const ANONYMOUS_KEY = "anonymous";

/** Inference that adds each outcome's token counts to the request it ran for. */
export function accountedInference(inner: InferenceService): InferenceService {
  return {
    limits: () => inner.limits(),
    async run(req, hooks) {
      const out = await inner.run(req, hooks);
      const request = requestOf(req.signal);
      if (request) {
        const u = (request.tokenUsage ??= { prompt: 0, completion: 0 });
        u.prompt += out.promptTokens;
        u.completion += out.completionTokens;
      }
      return out;
    },
  };
}

/** Records every non-public request that named a key (or every request, with auth off) when it ends. */
export function installUsageAccounting(
  app: FastifyInstance,
  ledger: UsageLedger,
  isPublic: (r: FastifyRequest) => boolean,
  authEnabled: boolean,
): void {
  app.addHook("onResponse", async (request, reply) => {
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
