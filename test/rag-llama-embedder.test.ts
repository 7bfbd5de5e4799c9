// The GGUF embedder over the real engine and a synthetic tiny model: the shared conformance suite, then RAG on it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type Engine, type LoadedModel } from "../src/engine/index.ts";
import { writeSyntheticModel } from "../src/gguf/index.ts";
import { createLlamaEmbedder, createRagService } from "../src/rag/index.ts";
import { registerEmbedderConformance } from "../src/rag/embeddings/embedder-conformance.ts";

const dir = mkdtempSync(join(tmpdir(), "rfx-rag-llama-"));
let engine: Engine | undefined;
let modelPath: string;
const loaded: LoadedModel[] = [];

async function load(): Promise<LoadedModel> {
  if (!modelPath) {
    modelPath = join(dir, "tiny-embed.gguf");
    await writeSyntheticModel({ path: modelPath, shape: "tiny", seed: 11 });
  }
  engine ??= createEngine();
  const m = await engine.loadModel({ path: modelPath, embedding: true, contextSize: 512 });
  loaded.push(m);
  return m;
}

afterAll(async () => {
  for (const m of loaded) await m.dispose().catch(() => undefined);
  await engine?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

registerEmbedderConformance(
  "llama (synthetic tiny GGUF)",
  async () => createLlamaEmbedder(await load(), { id: "tiny-embed", batchSize: 3 }),
  async () => undefined,
);

describe("RAG service on the GGUF embedder", () => {
  let model: LoadedModel;
  beforeAll(async () => {
    model = await load();
  });

  it("ingests, stores the model's dimension and retrieves a chunk by its own text", async () => {
    const embedder = createLlamaEmbedder(model, { id: "tiny-embed" });
    const svc = await createRagService({
      dir: join(dir, "store"),
      embedder,
      chunkSize: 48,
      chunkOverlap: 4,
      hybrid: false,
    });
    try {
      const text = [
        "Blenport is the harbour capital of Zorvania.",
        "Varnholt, capital of Quellmark, has glass towers.",
        "Smoked trout with juniper is served at spring festivals.",
      ].join("\n\n");
      const r = await svc.ingest({ content: text, source: "atlas" });
      expect(r.chunks.length).toBeGreaterThan(0);
      expect((await svc.stats()).embedder).toEqual({ id: "tiny-embed", dim: model.info.embeddingSize });
      const probe = r.chunks[r.chunks.length - 1];
      const q = await svc.query(probe.text, { topK: 1 });
      expect(q.results[0].chunkId).toBe(probe.id);
      expect(q.results[0].score).toBeCloseTo(1, 3);
    } finally {
      await svc.close();
    }
  });
});
