// The HTTP layer: buildApp and what it needs.
export { buildApp, isApiPath } from "./build-app.ts";
export { httpErrorHandler, toHttpError, errorBody } from "./error-handler.ts";
export { loadApiKeys, createApiKeyVerifier, presentedKey } from "./auth.ts";
export { parseKeepAlive } from "./keep-alive.ts";
export type { AppDeps, AppRag, Readiness } from "./types.ts";
