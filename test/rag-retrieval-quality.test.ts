// Retrieval quality of the default embedder on a generated corpus with known answers (hit@3, vector and hybrid).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateRagCorpus, type CorpusDocument } from "../src/bench/rag-corpus.ts";
import { createRagService, type RagService } from "../src/rag/index.ts";

const DOCS = 1000;
/** Floors a little under the figures measured on this corpus (seed 1): vector 0.924, hybrid 0.966-0.967 (fused-score ties break on random chunk ids). */
const FLOOR = { vector: 0.9, hybrid: 0.95 };

describe(`retrieval quality on ${DOCS} generated documents`, () => {
  const dir = mkdtempSync(join(tmpdir(), "rfx-rag-quality-"));
  let svc: RagService;
  let corpus: CorpusDocument[];
  beforeAll(async () => {
    corpus = generateRagCorpus(DOCS, { seed: 1 });
    svc = await createRagService({ dir });
    const items = await svc.ingestMany(corpus.map((d) => ({ content: d.text, source: d.source, title: d.title })));
    expect(items.every((i) => i.ok && i.result.status === "created")).toBe(true);
    await svc.optimize();
  });
  afterAll(async () => {
    await svc?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function hitAt3(hybrid: boolean): Promise<number> {
    let hits = 0;
    for (const d of corpus) {
      const { results } = await svc.query(d.question, { topK: 3, hybrid });
      // A hit needs the answer's own document and a chunk that quotes the fact sentence.
      if (results.some((r) => r.source === d.source && r.text.includes(d.factSentence))) hits++;
    }
    return hits / corpus.length;
  }

  it("stores every document with its fact quotable", async () => {
    const stats = await svc.stats();
    expect(stats.documents).toBe(DOCS);
    expect(await svc.verify()).toMatchObject({ documents: DOCS, orphanChunks: 0, incompleteDocuments: [] });
  });

  it.each([
    ["vector", false],
    ["hybrid", true],
  ] as const)("finds the answer in the top 3 (%s search)", async (mode, hybrid) => {
    const h = await hitAt3(hybrid);
    console.log(`[rag-quality] ${DOCS} documents, hash-v1-384 embedder, ${mode} search: hit@3 = ${h.toFixed(3)}`);
    expect(h).toBeGreaterThanOrEqual(FLOOR[mode]);
  });
});
