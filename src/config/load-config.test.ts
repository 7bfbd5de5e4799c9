import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CONFIG_DEFAULTS, CONFIG_KEYS, describeConfig, isDebugEnabled, loadConfig } from "./index.ts";

function fileWith(data: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), "rfx-cfg-"));
  const p = join(dir, "reflexia.config.json");
  writeFileSync(p, JSON.stringify(data));
  return p;
}

describe("loadConfig", () => {
  it("uses the product guide's defaults", () => {
    const { config, sources } = loadConfig({ env: {}, file: fileWith({}) });
    expect(config.adaptive.enabled).toBe(true);
    expect(config.memory.max_memory_percent).toBe(80);
    expect(config.cache.enabled).toBe(true);
    expect(config.cache.size).toBe(1000);
    expect(config.rag.similarity_top_k).toBe(3);
    expect(config.rag.chunk_size).toBe(512);
    expect(config.rag.chunk_overlap).toBe(50);
    expect(config.vector_db.embedding_dim).toBe(384);
    expect(config.server.port).toBe(8000);
    expect(config.server.metrics_port).toBe(9090);
    expect(sources["rag.chunk_size"]).toBe("default");
  });

  it("lets env override the file and the file override defaults", () => {
    const file = fileWith({ rag: { chunk_size: 256, similarity_top_k: 7 }, MAX_MEMORY_PERCENT: 60 });
    const { config, sources } = loadConfig({
      env: { RAG_SIMILARITY_TOP_K: "5", ENABLE_RESPONSE_CACHE: "false" },
      file,
    });
    expect(config.rag.chunk_size).toBe(256);
    expect(sources["rag.chunk_size"]).toBe("file");
    expect(config.rag.similarity_top_k).toBe(5);
    expect(sources["rag.similarity_top_k"]).toBe("env");
    expect(config.memory.max_memory_percent).toBe(60);
    expect(config.cache.enabled).toBe(false);
  });

  it("rejects invalid values and names the key", () => {
    const bad = (env: Record<string, string>, key: string) => {
      try {
        loadConfig({ env, file: fileWith({}) });
      } catch (e) {
        expect((e as { code: string }).code).toBe("RFX_CONFIG_INVALID");
        expect((e as Error).message).toContain(key);
        return;
      }
      throw new Error(`expected ${key} to be rejected`);
    };
    bad({ MAX_MEMORY_PERCENT: "150" }, "memory.max_memory_percent");
    bad({ RESPONSE_CACHE_SIZE: "lots" }, "cache.size");
    bad({ ENABLE_ADAPTIVE_QUANTIZATION: "maybe" }, "adaptive.enabled");
    bad({ VECTOR_DB_DISTANCE_METRIC: "manhattan" }, "vector_db.distance_metric");
    bad({ RAG_CHUNK_SIZE: "100", RAG_CHUNK_OVERLAP: "100" }, "rag.chunk_overlap");
    bad({ PORT: "-1" }, "server.port");
  });

  it("rejects a config file that is not JSON", () => {
    const dir = mkdtempSync(join(tmpdir(), "rfx-cfg-"));
    const p = join(dir, "bad.json");
    writeFileSync(p, "{ not json");
    expect(() => loadConfig({ env: {}, file: p })).toThrow(/bad\.json/);
  });

  it("refuses a config file key it does not know, by its path (a typo must not be ignored quietly)", () => {
    expect(() => loadConfig({ env: {}, file: fileWith({ rag: { similarty_top_k: 3 } }) })).toThrow(
      /unknown key rag\.similarty_top_k/,
    );
    expect(() => loadConfig({ env: {}, file: fileWith({ MAX_MEMORY_PRECENT: 60 }) })).toThrow(
      /unknown key MAX_MEMORY_PRECENT/,
    );
    expect(() => loadConfig({ env: {}, file: fileWith({ rag: 5 }) })).toThrow(/unknown key rag\b/);
    expect(() => loadConfig({ env: {}, file: fileWith([]) })).toThrow(/not a JSON object/);
    // Structured keys are taken whole (their own schema checks them), env names at the top as before.
    const ok = loadConfig({ env: {}, file: fileWith({ adaptive: { enabled: false }, PARALLEL: 3 }) });
    expect(ok.config.scheduler.parallel).toBe(3);
  });

  it("freezes the result", () => {
    const { config } = loadConfig({ env: {}, file: fileWith({}) });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.rag)).toBe(true);
  });

  it("describes every key with env name, value and source", () => {
    const rows = describeConfig(loadConfig({ env: { PORT: "8080" }, file: fileWith({}) }));
    expect(rows).toHaveLength(CONFIG_KEYS.length);
    for (const r of rows) expect(r.description.length).toBeGreaterThan(10);
    expect(rows.find((r) => r.key === "server.port")).toMatchObject({ value: 8080, source: "env", env: "PORT" });
    expect(new Set(CONFIG_KEYS.map((k) => k.env)).size).toBe(CONFIG_KEYS.length);
  });

  it("derives the key list from the one schema, each key with its default applied", () => {
    const { config, sources } = loadConfig({ env: {}, file: fileWith({}) });
    expect(CONFIG_KEYS.length).toBeGreaterThan(30);
    for (const k of CONFIG_KEYS) {
      expect(sources[k.key]).toBe("default");
      const value = k.key.split(".").reduce<unknown>((o, part) => (o as Record<string, unknown>)[part], config);
      expect(value, k.key).toEqual(k.key === "home" ? config.home : k.default);
    }
    expect(CONFIG_DEFAULTS).toEqual(config);
  });

  it("refuses malformed structured values with RFX_CONFIG_INVALID, naming the part", () => {
    expect(() => loadConfig({ env: { REFLEXIA_CUSTOM_ROLES: "{not json" }, file: fileWith({}) })).toThrow(
      expect.objectContaining({ code: "RFX_CONFIG_INVALID" }),
    );
    expect(() => loadConfig({ env: { REFLEXIA_CUSTOM_ROLES: '[{"id":"a"}]' }, file: fileWith({}) })).toThrow(
      /roles\.custom .*0\.name/,
    );
    expect(() => loadConfig({ env: { COMPLEXITY_THRESHOLDS: "0.2,x" }, file: fileWith({}) })).toThrow(
      expect.objectContaining({ code: "RFX_CONFIG_INVALID" }),
    );
  });

  it("reads a number list in the JSON form `reflexia config` prints as well as comma-separated", () => {
    const env = { COMPLEXITY_THRESHOLDS: "[0.25, 0.7]", ADAPTIVE_QUALITY_FLOOR: "0,0.8,0.95" };
    const { config } = loadConfig({ env, file: fileWith({}) });
    expect(config.adaptive.thresholds).toEqual([0.25, 0.7]);
    expect(config.adaptive.quality_floor).toEqual([0, 0.8, 0.95]);
  });

  it("reads REFLEXIA_DEBUG through the key table, even without a valid configuration", () => {
    expect(CONFIG_KEYS.find((k) => k.env === "REFLEXIA_DEBUG")?.key).toBe("log.debug");
    expect(isDebugEnabled({ REFLEXIA_DEBUG: "1" })).toBe(true);
    expect(isDebugEnabled({ REFLEXIA_DEBUG: "no" })).toBe(false);
    expect(isDebugEnabled({ REFLEXIA_DEBUG: "garbage", PORT: "-5" })).toBe(false);
    expect(isDebugEnabled({})).toBe(false);
  });

  it("keeps the product guide's names", () => {
    const envs = CONFIG_KEYS.map((k) => k.env);
    for (const e of [
      "ENABLE_ADAPTIVE_QUANTIZATION",
      "MAX_MEMORY_PERCENT",
      "ENABLE_RESPONSE_CACHE",
      "RESPONSE_CACHE_SIZE",
      "REFLEXIA_HOME",
    ])
      expect(envs).toContain(e);
    const keys = CONFIG_KEYS.map((k) => k.key);
    for (const k of [
      "rag.similarity_top_k",
      "rag.chunk_size",
      "rag.chunk_overlap",
      "performance.thread_pool_size",
      "vector_db.embedding_dim",
      "vector_db.distance_metric",
    ])
      expect(keys).toContain(k);
  });
});
