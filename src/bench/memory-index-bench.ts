// In-memory index benchmark: the index alone (no LanceDB) filled with the RAG benchmark's corpus, so the large
// sizes measure in minutes on a loaded machine: int8 + re-rank and float32 scans, recall@k of the int8 path
// against the float32 scan (exact: the full RAG benchmark checks it equals LanceDB's exact top-k), BM25 alone, the
// query paths as the service runs them (embedding, vector search, and for hybrid BM25 and reciprocal-rank fusion;
// the document lookup after them is a map read), and the memory it holds.
// Run: npx tsx src/bench/memory-index-bench.ts --sizes 10000,100000 [--queries 300]
import { cpus } from "node:os";
import { pathToFileURL } from "node:url";
import { CONFIG_DEFAULTS } from "../config/index.ts";
import { chunkText } from "../rag/chunking/chunk-text.ts";
import { toFloat32 } from "../rag/embeddings/embedder.ts";
import { createHashEmbedder } from "../rag/embeddings/hash-embedder.ts";
import { reciprocalRankFusion } from "../rag/retrieve/reciprocal-rank-fusion.ts";
import { createMemoryIndex, type MemoryIndexStats } from "../rag/store/memory-index.ts";
import { latencyStats, timeCalls, type LatencyStats } from "./bench-stats.ts";
import { generateRagCorpus } from "./rag-corpus.ts";

export interface MemoryIndexBenchRow {
  chunks: number;
  /** Seconds to chunk, embed and add the corpus (embedding dominates). */
  fillSeconds: number;
  stats: MemoryIndexStats;
  int8: LatencyStats;
  exact: LatencyStats;
  /** Mean share of the float32 scan's top-k that the int8 + re-rank top-k holds. */
  recallInt8: number;
  text: LatencyStats;
  /** Embedding + int8 search; and embedding + int8 and BM25 at fusion depth + reciprocal-rank fusion. */
  query: LatencyStats;
  hybrid: LatencyStats;
}

/** Candidates per side before fusion, as the service fetches them for top 3 (create-rag-service.ts). */
const FUSION_DEPTH = 20;

export async function runMemoryIndexBenchmark(options: {
  sizes: number[];
  queries?: number;
  k?: number;
  log?: (line: string) => void;
}): Promise<{ embedder: string; dim: number; k: number; queries: number; cpus: number; rows: MemoryIndexBenchRow[] }> {
  const embedder = createHashEmbedder();
  const k = options.k ?? 10;
  const nQueries = options.queries ?? 300;
  const chunkSize = CONFIG_DEFAULTS.rag.chunk_size;
  const chunkOverlap = CONFIG_DEFAULTS.rag.chunk_overlap;
  const log = options.log ?? (() => undefined);
  const rows: MemoryIndexBenchRow[] = [];
  for (const size of options.sizes) {
    // The RAG benchmark's corpus: ~475-token documents, one 512-token chunk each.
    const corpus = generateRagCorpus(size, { seed: 7, fillerSentences: Math.round((30 * chunkSize) / 512) });
    const index = createMemoryIndex({
      dim: embedder.dim,
      metric: CONFIG_DEFAULTS.vector_db.distance_metric,
      quantization: "int8",
    });
    const t0 = performance.now();
    for (const [d, doc] of corpus.entries()) {
      const spans = chunkText(doc.text, { chunkSize, chunkOverlap });
      const vectors = (await embedder.embed(spans.map((s) => s.text))).map(toFloat32);
      const id = `doc-${d}`;
      index.setDocument(
        id,
        "bench",
        spans.map((s, i) => ({
          id: `${id}:${s.index}`,
          documentId: id,
          index: s.index,
          text: s.text,
          start: s.start,
          end: s.end,
          tokenCount: s.tokenCount,
          vector: vectors[i],
        })),
      );
      if ((d + 1) % 20000 === 0) log(`  filled ${d + 1}/${size}`);
    }
    const fillSeconds = (performance.now() - t0) / 1000;
    const questions = Array.from({ length: nQueries }, (_, i) => corpus[(i * 7919) % size].question);
    const vectors = (await embedder.embed(questions)).map(toFloat32);
    const exact = await timeCalls(nQueries, async (i) => index.vectorSearch(vectors[i], { limit: k, exact: true }));
    const int8 = await timeCalls(nQueries, async (i) => index.vectorSearch(vectors[i], { limit: k }));
    let recall = 0;
    for (let i = 0; i < nQueries; i++) {
      const truth = new Set(index.vectorSearch(vectors[i], { limit: k, exact: true }).map((h) => h.chunk.id));
      const got = index.vectorSearch(vectors[i], { limit: k });
      recall += got.filter((h) => truth.has(h.chunk.id)).length / Math.max(1, truth.size);
    }
    const text = await timeCalls(nQueries, async (i) => index.textSearch(questions[i], { limit: k }));
    const embed = async (q: string) => toFloat32((await embedder.embed([q]))[0]);
    const query = await timeCalls(nQueries, async (i) => index.vectorSearch(await embed(questions[i]), { limit: 3 }));
    const hybrid = await timeCalls(nQueries, async (i) => {
      const v = await embed(questions[i]);
      return reciprocalRankFusion(
        {
          vector: index.vectorSearch(v, { limit: FUSION_DEPTH }),
          text: index.textSearch(questions[i], { limit: FUSION_DEPTH }),
        },
        { limit: 3 },
      );
    });
    const row: MemoryIndexBenchRow = {
      chunks: index.stats().chunks,
      fillSeconds,
      stats: index.stats(),
      int8: latencyStats(int8),
      exact: latencyStats(exact),
      recallInt8: recall / nQueries,
      text: latencyStats(text),
      query: latencyStats(query),
      hybrid: latencyStats(hybrid),
    };
    rows.push(row);
    log(formatMemoryIndexRow(row));
    index.clear();
  }
  return { embedder: embedder.id, dim: embedder.dim, k, queries: nQueries, cpus: cpus().length, rows };
}

const cell = (s: LatencyStats) =>
  `p50 ${s.p50.toFixed(2)} p95 ${s.p95.toFixed(2)} (cpu p95 ${s.cpuP95.toFixed(2)}, ${(100 * s.preempted).toFixed(0)}% preempted, others p95 ${s.unpreemptedP95?.toFixed(2) ?? "-"})`;

export function formatMemoryIndexRow(r: MemoryIndexBenchRow): string {
  return [
    `${r.chunks} chunks (${r.stats.scan} scan, ${(r.stats.bytes / 2 ** 20).toFixed(1)} MiB: vectors ${(r.stats.vectorBytes / 2 ** 20).toFixed(1)}, BM25 ${(r.stats.textBytes / 2 ** 20).toFixed(1)}, chunks ${(r.stats.chunkBytes / 2 ** 20).toFixed(1)}), filled in ${r.fillSeconds.toFixed(1)} s; ms:`,
    `  int8 + re-rank ${cell(r.int8)}, recall@k vs float32 scan ${r.recallInt8.toFixed(3)}`,
    `  float32 scan   ${cell(r.exact)}`,
    `  BM25           ${cell(r.text)}`,
    `  query          ${cell(r.query)}`,
    `  hybrid         ${cell(r.hybrid)}`,
  ].join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const result = await runMemoryIndexBenchmark({
    sizes: (arg("--sizes") ?? "10000,100000").split(",").filter(Boolean).map(Number),
    queries: arg("--queries") ? Number(arg("--queries")) : undefined,
    log: (l) => process.stdout.write(`${l}\n`),
  });
  process.stdout.write(`\n${JSON.stringify(result)}\n`);
}
