// The in-memory LRU response cache: bounded entries, hit/miss/eviction counters and tag-based invalidation.
import { CONFIG_DEFAULTS } from "../config/index.ts";
import { ReflexiaError } from "../errors/index.ts";

/** Options of {@link createResponseCache}. */
export interface ResponseCacheOptions {
  /** Most entries kept; the least recently used entry is evicted beyond it. 0 disables storing. Defaults to config `cache.size`. */
  maxEntries?: number;
}

/** Options of a single {@link ResponseCache.set}. */
export interface CacheSetOptions {
  /** Labels the entry depends on (e.g. `"rag"`); {@link ResponseCache.invalidateTag} drops every entry carrying one. */
  tags?: readonly string[];
}

export interface ResponseCacheStats {
  size: number;
  maxEntries: number;
  hits: number;
  misses: number;
  /** hits / (hits + misses); 0 before any lookup. */
  hitRate: number;
  /** Entries dropped because the cache was full (not deletes, clears or invalidations). */
  evictions: number;
  /** Entries dropped by invalidateTag. */
  invalidations: number;
}

export interface ResponseCache<T> {
  /** Returns the value and marks it most recently used; counts a hit or a miss. */
  get(key: string): T | undefined;
  /** Stores (or replaces) the value as most recently used, evicting the least recently used beyond maxEntries. */
  set(key: string, value: T, options?: CacheSetOptions): void;
  /** True when the key is stored; neither counts nor changes recency. */
  has(key: string): boolean;
  delete(key: string): boolean;
  /** Drops every entry and resets nothing but the contents (counters keep their history). */
  clear(): void;
  /** Drops every entry tagged with `tag`; returns how many were dropped. */
  invalidateTag(tag: string): number;
  /** Keys from least to most recently used (for tests and debugging). */
  keys(): string[];
  stats(): ResponseCacheStats;
  readonly maxEntries: number;
}

interface Entry<T> {
  value: T;
  tags: readonly string[];
}

/**
 * Creates an LRU cache. A Map keeps insertion order, so deleting and re-inserting a key on access makes the
 * first key the least recently used: get, set and eviction are all O(1). A tag index (tag → keys) keeps
 * invalidation proportional to the entries carrying the tag.
 */
export function createResponseCache<T>(options: ResponseCacheOptions = {}): ResponseCache<T> {
  const maxEntries = options.maxEntries ?? CONFIG_DEFAULTS.cache.size;
  if (!Number.isInteger(maxEntries) || maxEntries < 0) {
    throw new ReflexiaError(
      "RFX_CONFIG_INVALID",
      `response cache maxEntries must be a non-negative integer, got ${String(maxEntries)}`,
    );
  }
  const entries = new Map<string, Entry<T>>();
  const byTag = new Map<string, Set<string>>();
  let hits = 0;
  let misses = 0;
  let evictions = 0;
  let invalidations = 0;

  const untag = (key: string, tags: readonly string[]): void => {
    for (const tag of tags) {
      const keys = byTag.get(tag);
      if (!keys) continue;
      keys.delete(key);
      if (keys.size === 0) byTag.delete(tag);
    }
  };

  const remove = (key: string): boolean => {
    const entry = entries.get(key);
    if (!entry) return false;
    entries.delete(key);
    untag(key, entry.tags);
    return true;
  };

  return {
    maxEntries,
    get(key) {
      const entry = entries.get(key);
      if (!entry) {
        misses++;
        return undefined;
      }
      hits++;
      entries.delete(key);
      entries.set(key, entry);
      return entry.value;
    },
    set(key, value, setOptions) {
      if (maxEntries === 0) return;
      remove(key);
      const tags = [...new Set(setOptions?.tags ?? [])];
      entries.set(key, { value, tags });
      for (const tag of tags) {
        let keys = byTag.get(tag);
        if (!keys) byTag.set(tag, (keys = new Set()));
        keys.add(key);
      }
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next().value as string;
        remove(oldest);
        evictions++;
      }
    },
    has: (key) => entries.has(key),
    delete: (key) => remove(key),
    clear() {
      entries.clear();
      byTag.clear();
    },
    invalidateTag(tag) {
      const keys = byTag.get(tag);
      if (!keys) return 0;
      let n = 0;
      for (const key of [...keys]) if (remove(key)) n++;
      invalidations += n;
      return n;
    },
    keys: () => [...entries.keys()],
    stats() {
      const lookups = hits + misses;
      return {
        size: entries.size,
        maxEntries,
        hits,
        misses,
        hitRate: lookups === 0 ? 0 : hits / lookups,
        evictions,
        invalidations,
      };
    },
  };
}
