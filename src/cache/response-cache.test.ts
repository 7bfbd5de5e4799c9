import { describe, expect, it } from "vitest";
import { createResponseCache } from "./response-cache.ts";
import { ReflexiaError } from "../errors/index.ts";

describe("createResponseCache", () => {
  it("evicts the least recently used entry, where get refreshes recency", () => {
    const c = createResponseCache<number>({ maxEntries: 3 });
    c.set("a", 1);
    c.set("b", 2);
    c.set("c", 3);
    expect(c.get("a")).toBe(1); // a becomes most recent; b is now the oldest
    c.set("d", 4);
    expect(c.has("b")).toBe(false);
    expect(c.keys()).toEqual(["c", "a", "d"]);
    expect(c.stats().evictions).toBe(1);
  });

  it("re-setting a key replaces the value and refreshes recency without evicting", () => {
    const c = createResponseCache<string>({ maxEntries: 2 });
    c.set("a", "1");
    c.set("b", "2");
    c.set("a", "1b");
    expect(c.keys()).toEqual(["b", "a"]);
    c.set("c", "3");
    expect(c.keys()).toEqual(["a", "c"]);
    expect(c.get("a")).toBe("1b");
    expect(c.stats()).toMatchObject({ size: 2, evictions: 1 });
  });

  it("has() neither counts nor refreshes recency", () => {
    const c = createResponseCache<number>({ maxEntries: 2 });
    c.set("a", 1);
    c.set("b", 2);
    expect(c.has("a")).toBe(true);
    c.set("c", 3);
    expect(c.has("a")).toBe(false);
    expect(c.stats()).toMatchObject({ hits: 0, misses: 0 });
  });

  it("counts hits, misses and hit rate", () => {
    const c = createResponseCache<number>({ maxEntries: 10 });
    expect(c.stats().hitRate).toBe(0);
    c.set("a", 1);
    c.get("a");
    c.get("a");
    c.get("a");
    c.get("zz");
    expect(c.stats()).toEqual({
      size: 1,
      maxEntries: 10,
      hits: 3,
      misses: 1,
      hitRate: 0.75,
      evictions: 0,
      invalidations: 0,
    });
  });

  it("stores falsy values and tells them from misses", () => {
    const c = createResponseCache<number | string>({ maxEntries: 4 });
    c.set("zero", 0);
    c.set("empty", "");
    expect(c.get("zero")).toBe(0);
    expect(c.get("empty")).toBe("");
    expect(c.stats().hits).toBe(2);
  });

  it("delete and clear remove entries", () => {
    const c = createResponseCache<number>({ maxEntries: 4 });
    c.set("a", 1, { tags: ["rag"] });
    c.set("b", 2);
    expect(c.delete("a")).toBe(true);
    expect(c.delete("a")).toBe(false);
    expect(c.invalidateTag("rag")).toBe(0); // the tag index forgot the deleted key
    c.clear();
    expect(c.stats().size).toBe(0);
    expect(c.get("b")).toBeUndefined();
  });

  it("invalidateTag drops exactly the tagged entries", () => {
    const c = createResponseCache<number>({ maxEntries: 10 });
    c.set("plain", 1);
    c.set("rag1", 2, { tags: ["rag", "doc:1"] });
    c.set("rag2", 3, { tags: ["rag"] });
    c.set("doc1only", 4, { tags: ["doc:1"] });
    expect(c.invalidateTag("rag")).toBe(2);
    expect(c.keys()).toEqual(["plain", "doc1only"]);
    expect(c.invalidateTag("doc:1")).toBe(1);
    expect(c.keys()).toEqual(["plain"]);
    expect(c.stats().invalidations).toBe(3);
    expect(c.invalidateTag("unknown")).toBe(0);
  });

  it("re-setting a key without tags removes its old tags", () => {
    const c = createResponseCache<number>({ maxEntries: 10 });
    c.set("k", 1, { tags: ["rag"] });
    c.set("k", 2);
    expect(c.invalidateTag("rag")).toBe(0);
    expect(c.get("k")).toBe(2);
  });

  it("evicted entries leave the tag index", () => {
    const c = createResponseCache<number>({ maxEntries: 1 });
    c.set("a", 1, { tags: ["rag"] });
    c.set("b", 2);
    expect(c.invalidateTag("rag")).toBe(0);
    expect(c.keys()).toEqual(["b"]);
  });

  it("maxEntries 0 stores nothing; a negative size is a config error", () => {
    const c = createResponseCache<number>({ maxEntries: 0 });
    c.set("a", 1);
    expect(c.get("a")).toBeUndefined();
    expect(c.stats().size).toBe(0);
    expect(() => createResponseCache({ maxEntries: -1 })).toThrow(ReflexiaError);
    expect(() => createResponseCache({ maxEntries: 1.5 })).toThrow(/non-negative integer/);
  });

  it("holds maxEntries under a long stream of inserts", () => {
    const c = createResponseCache<number>({ maxEntries: 100 });
    for (let i = 0; i < 10_000; i++) c.set(`k${i}`, i);
    expect(c.stats()).toMatchObject({ size: 100, evictions: 9_900 });
    expect(c.keys()[0]).toBe("k9900");
  });
});
