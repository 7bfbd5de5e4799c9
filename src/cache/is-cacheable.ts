// The rule deciding whether a request's response may be served from or stored in the response cache.

export interface CacheabilityInput {
  temperature?: number | null;
  seed?: number | null;
  /** Streaming does not matter (both kinds are served from the cache); listed so callers can pass the request as is. */
  stream?: boolean;
}

export interface IsCacheableOptions {
  /** Cache only deterministic requests: temperature 0 or an explicit seed. Defaults to true. */
  deterministicOnly?: boolean;
}

/**
 * True when caching cannot change what the client would have received: greedy decoding (temperature 0) or a
 * fixed seed makes the output a function of the key. With `deterministicOnly: false` every request is cacheable
 * (the operator accepts replaying one sample of a random process).
 */
export function isCacheable(input: CacheabilityInput, options: IsCacheableOptions = {}): boolean {
  if (options.deterministicOnly === false) return true;
  const { temperature, seed } = input;
  if (typeof seed === "number" && Number.isFinite(seed)) return true;
  return temperature === 0;
}
