// Remote inference: OpenAI-compatible upstream servers behind a remote variant (pool, routing, health, streaming).
export {
  createEndpointPool,
  endpointLabel,
  normalizeBaseUrl,
  type EndpointLease,
  type EndpointPool,
} from "./endpoint-pool.ts";
export {
  createRemoteBackend,
  type RemoteBackend,
  type RemoteDefaults,
  type RemoteVariantHealth,
  type RemoteVariantRef,
} from "./remote-backend.ts";
export { createRemoteModel, estimateTokens } from "./remote-model.ts";
export {
  UPSTREAM_ERROR_KINDS,
  type EndpointHealth,
  type RemoteSpec,
  type UpstreamErrorKind,
  type UpstreamLabels,
  type UpstreamMetricsSink,
} from "./types.ts";
