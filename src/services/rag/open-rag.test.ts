import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, type Config } from "../../config/index.ts";
import type { Engine } from "../../engine/types.ts";
import { createStoreFromConfig } from "../../registry/index.ts";
import { openRag } from "./open-rag.ts";

let home: string;
let config: Config;
beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "rfx-open-rag-"));
  config = loadConfig({ env: {}, overrides: { home, "rag.embedding_model": "no-such-embedder" } }).config;
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

describe("openRag: a rag.embedding_model that cannot be used is a configuration error", () => {
  const neverEngine = async (): Promise<Engine> => {
    throw new Error("the engine must not be asked for");
  };

  it("names the key when the model is not in the store", async () => {
    const err = await openRag(config, { getEngine: neverEngine, store: createStoreFromConfig(config) }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: "RFX_CONFIG_INVALID", details: { key: "rag.embedding_model" } });
    expect((err as Error).message).toContain("no-such-embedder");
  });

  it("names the key when no engine or store was given to load it", async () => {
    await expect(openRag(config)).rejects.toMatchObject({
      code: "RFX_CONFIG_INVALID",
      details: { key: "rag.embedding_model" },
    });
  });

  it("opens with the builtin embedder without an engine, and reports counts", async () => {
    const builtin = loadConfig({ env: {}, overrides: { home } }).config;
    const rag = await openRag(builtin);
    try {
      expect(rag.counts()).toMatchObject({ documents: 0, chunks: 0 });
      await rag.service.ready();
      await rag.service.ingest({ content: "Quantized variants are kept per model.", filename: "a.txt" });
      // The in-memory index (on by config default) is reported with the counts.
      expect(rag.counts()).toMatchObject({ documents: 1, chunks: 1, memoryIndex: { state: "serving", chunks: 1 } });
    } finally {
      await rag.close();
    }
  });
});
