// The response cache: LRU store, key derivation and the cacheability rule; imports nothing above it.
export {
  createResponseCache,
  type ResponseCache,
  type ResponseCacheOptions,
  type ResponseCacheStats,
  type CacheSetOptions,
} from "./response-cache.ts";
export { deriveCacheKey, canonicalJson, verbatim, type CacheKeyParts } from "./derive-cache-key.ts";
export { isCacheable, type CacheabilityInput, type IsCacheableOptions } from "./is-cacheable.ts";
