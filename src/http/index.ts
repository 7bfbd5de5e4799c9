// The HTTP layer: buildApp and what it needs.
export { buildApp } from "./build-app.ts";
export { isPublicRoute, PUBLIC_ROUTE, routeAccessOf, type RouteAccess } from "./route-access.ts";
export { httpErrorHandler, toHttpError, errorBody } from "./error-handler.ts";
export {
  assertQuotaKeys,
  loadApiKeys,
  loadNamedApiKeys,
  createApiKeyIdentifier,
  createApiKeyVerifier,
  presentedKey,
  type NamedApiKey,
} from "./auth.ts";
export { parseKeepAlive } from "./keep-alive.ts";
export { shutdownReason } from "./shutdown-signal.ts";
export type { AppDeps, AppRag, Readiness } from "./types.ts";
