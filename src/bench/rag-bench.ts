// RAG retrieval benchmark: p50/p95 latency at several corpus sizes, exact vs ANN search, and the ANN's recall@k.
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { CONFIG_DEFAULTS } from "../config/index.ts";
import { toFloat32 } from "../rag/embeddings/embedder.ts";
import { createHashEmbedder } from "../rag/embeddings/hash-embedder.ts";
import { openLanceDbStore } from "../rag/store/lancedb-store.ts";
import { createRagService } from "../rag/create-rag-service.ts";
import type { DistanceMetric } from "../rag/types.ts";
import { generateRagCorpus } from "./rag-corpus.ts";

export interface RagBenchmarkOptions {
  /** Corpus sizes in documents. Defaults to [100, 1000, 10000]. */
  sizes?: number[];
  /** Timed queries per measurement. Defaults to 200. */
  queries?: number;
  /** k of recall@k and of every search. Defaults to 10. */
  k?: number;
  /** Chunk size in tokens; documents are generated to fill about one chunk. Defaults to 512. */
  chunkSize?: number;
  /** Defaults to "ip". */
  distance?: DistanceMetric;
  /** HNSW search breadth. Defaults to the store's default. */
  ef?: number;
  /** Threshold the product uses to switch from exact to ANN search (reported, not forced). Defaults to config `rag.ann_threshold`. */
  annThreshold?: number;
  /** Working directory; defaults to a temporary one that is removed afterwards. */
  dir?: string;
  /** Progress lines. Defaults to silence. */
  log?: (line: string) => void;
}

export interface LatencyStats {
  p50: number;
  p95: number;
  mean: number;
}

export interface RagBenchmarkRow {
  documents: number;
  chunks: number;
  /** Seconds to extract, chunk, embed and commit the corpus (ingestMany). */
  ingestSeconds: number;
  /** Seconds to build the ANN index (absent when the table is too small for one). */
  annBuildSeconds?: number;
  /** Store-level vector search, ms: every vector compared. */
  exact: LatencyStats;
  /** Store-level vector search through the HNSW index, ms. */
  ann?: LatencyStats;
  /** Mean share of the exact top-k that the ANN top-k contains. */
  recallAtK?: number;
  /** Which of the two the product runs at this size (chunks vs rag.ann_threshold). */
  defaultPath: "exact" | "ann";
  /** Service query (embed + search + document lookup), ms, on the default path. */
  queryVector: LatencyStats;
  /** Service query with hybrid (vector + BM25, fused by reciprocal rank), ms, on the default path. */
  queryHybrid: LatencyStats;
  /** Share of the timed questions whose answer chunk is in the top 3, by search mode. */
  hitAt3: { vectorExact: number; hybridExact: number; vectorAnn?: number; hybridAnn?: number };
}

export interface RagBenchmarkResult {
  embedder: string;
  dim: number;
  distance: DistanceMetric;
  k: number;
  queries: number;
  chunkSize: number;
  cpus: number;
  rows: RagBenchmarkRow[];
}

function stats(samples: number[]): LatencyStats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
  return { p50: at(0.5), p95: at(0.95), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

async function time<T>(n: number, fn: (i: number) => Promise<T>): Promise<number[]> {
  // Warm-up: the first searches load index pages and JIT the bindings.
  for (let i = 0; i < Math.min(20, n); i++) await fn(i);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}

export async function runRagBenchmark(options: RagBenchmarkOptions = {}): Promise<RagBenchmarkResult> {
  const sizes = options.sizes ?? [100, 1000, 10000];
  const nQueries = options.queries ?? 200;
  const k = options.k ?? 10;
  const chunkSize = options.chunkSize ?? CONFIG_DEFAULTS.rag.chunk_size;
  const distance = options.distance ?? CONFIG_DEFAULTS.vector_db.distance_metric;
  const annThreshold = options.annThreshold ?? CONFIG_DEFAULTS.rag.ann_threshold;
  const log = options.log ?? (() => undefined);
  const root = options.dir ?? mkdtempSync(join(tmpdir(), "rfx-rag-bench-"));
  const embedder = createHashEmbedder();
  const rows: RagBenchmarkRow[] = [];
  try {
    for (const size of sizes) {
      const dir = join(root, `n${size}`);
      rmSync(dir, { recursive: true, force: true });
      // 30 filler sentences make ~475-token documents (max ~500): one 512-token chunk each; scaled for other sizes.
      const corpus = generateRagCorpus(size, { seed: 7, fillerSentences: Math.max(4, Math.round((30 * chunkSize) / 512)) });
      // Ingest without ANN maintenance, then build the index once, timed on its own.
      const svc = await createRagService({ dir, embedder, chunkSize, chunkOverlap: CONFIG_DEFAULTS.rag.chunk_overlap, distance, annThreshold: Number.MAX_SAFE_INTEGER, hybrid: false });
      let t0 = performance.now();
      const items = await svc.ingestMany(
        corpus.map((d) => ({ content: d.text, source: d.source, title: d.title })),
        { batchDocuments: 256, batchChunks: 512, onProgress: (p) => p.done % 2000 === 0 && log(`  ingested ${p.done}/${size}`) },
      );
      const failed = items.filter((i) => !i.ok).length;
      if (failed > 0) throw new Error(`${failed} benchmark documents failed to ingest`);
      const ingestSeconds = (performance.now() - t0) / 1000;
      const { chunks } = await svc.stats();
      await svc.close();

      const store = await openLanceDbStore({ dir, dim: embedder.dim, embedderId: embedder.id, distance, annThreshold: 0, ef: options.ef });
      t0 = performance.now();
      await store.optimize();
      const hasAnn = (await store.indexInfo()).ann;
      const annBuildSeconds = hasAnn ? (performance.now() - t0) / 1000 : undefined;
      log(`${size} documents, ${chunks} chunks: ingested in ${ingestSeconds.toFixed(1)} s${annBuildSeconds !== undefined ? `, ANN index built in ${annBuildSeconds.toFixed(1)} s` : ""}`);
      const picks = Array.from({ length: nQueries }, (_, i) => corpus[(i * 7919) % corpus.length]);
      const questions = picks.map((d) => d.question);
      const vectors = (await embedder.embed(questions)).map(toFloat32);
      const exact = await time(nQueries, (i) => store.vectorSearch(vectors[i], { limit: k, exact: true }));
      let ann: number[] | undefined;
      let recallAtK: number | undefined;
      if (hasAnn) {
        ann = await time(nQueries, (i) => store.vectorSearch(vectors[i], { limit: k }));
        let overlap = 0;
        for (let i = 0; i < nQueries; i++) {
          const truth = new Set((await store.vectorSearch(vectors[i], { limit: k, exact: true })).map((h) => h.chunk.id));
          overlap += (await store.vectorSearch(vectors[i], { limit: k })).filter((h) => truth.has(h.chunk.id)).length / Math.max(1, truth.size);
        }
        recallAtK = overlap / nQueries;
      }
      await store.close();

      const defaultPath = hasAnn && chunks >= annThreshold ? "ann" : "exact";
      const q = await createRagService({ dir, embedder, chunkSize, chunkOverlap: CONFIG_DEFAULTS.rag.chunk_overlap, distance, annThreshold: 0 });
      const answered = async (hybrid: boolean, exactSearch: boolean) => {
        let hits = 0;
        for (let i = 0; i < nQueries; i++) {
          const r = await q.query(questions[i], { topK: 3, hybrid, exact: exactSearch });
          if (r.results.some((x) => x.source === picks[i].source && x.text.includes(picks[i].factSentence))) hits++;
        }
        return hits / nQueries;
      };
      const exactQuery = defaultPath === "exact";
      const queryVector = await time(nQueries, (i) => q.query(questions[i], { topK: 3, hybrid: false, exact: exactQuery }));
      const queryHybrid = await time(nQueries, (i) => q.query(questions[i], { topK: 3, hybrid: true, exact: exactQuery }));
      const hitAt3 = {
        vectorExact: await answered(false, true),
        hybridExact: await answered(true, true),
        ...(hasAnn ? { vectorAnn: await answered(false, false), hybridAnn: await answered(true, false) } : {}),
      };
      await q.close();

      const row: RagBenchmarkRow = {
        documents: size,
        chunks,
        ingestSeconds,
        ...(annBuildSeconds !== undefined ? { annBuildSeconds } : {}),
        exact: stats(exact),
        ...(ann ? { ann: stats(ann) } : {}),
        ...(recallAtK !== undefined ? { recallAtK } : {}),
        defaultPath,
        queryVector: stats(queryVector),
        queryHybrid: stats(queryHybrid),
        hitAt3,
      };
      rows.push(row);
      log(formatRow(row, k));
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    if (!options.dir) rmSync(root, { recursive: true, force: true });
  }
  return { embedder: embedder.id, dim: embedder.dim, distance, k, queries: nQueries, chunkSize, cpus: cpus().length, rows };
}

const ms = (s: LatencyStats | undefined) => (s ? `${s.p50.toFixed(2)} / ${s.p95.toFixed(2)}` : "-");

function formatRow(r: RagBenchmarkRow, k: number): string {
  return [
    String(r.documents).padStart(6),
    String(r.chunks).padStart(6),
    ms(r.exact).padStart(15),
    ms(r.ann).padStart(15),
    (r.recallAtK !== undefined ? r.recallAtK.toFixed(3) : "-").padStart(9 + String(k).length - 2),
    r.defaultPath.padStart(7),
    ms(r.queryVector).padStart(15),
    ms(r.queryHybrid).padStart(15),
    [r.hitAt3.vectorExact, r.hitAt3.vectorAnn, r.hitAt3.hybridExact, r.hitAt3.hybridAnn].map((h) => (h === undefined ? "-" : h.toFixed(2))).join(" ").padStart(19),
  ].join("  ");
}

/** The table printed by the standalone command. */
export function formatRagBenchmark(result: RagBenchmarkResult): string {
  const head = [
    "  docs".padStart(6),
    "chunks".padStart(6),
    "exact p50/p95".padStart(15),
    "ann p50/p95".padStart(15),
    `recall@${result.k}`.padStart(9),
    "default".padStart(7),
    "query p50/p95".padStart(15),
    "hybrid p50/p95".padStart(15),
    "hit@3 vE vA hE hA".padStart(19),
  ].join("  ");
  const lines = [
    `RAG retrieval, ${result.embedder} (${result.dim}-d, ${result.distance}), chunks of ${result.chunkSize} tokens, ${result.queries} queries, k=${result.k}, ${result.cpus} CPUs; times in ms`,
    "exact/ann: store vector search only; query/hybrid: service query (embed + search + lookup) on the default path",
    "hit@3: answer chunk in the top 3 — vector exact, vector ANN, hybrid exact, hybrid ANN",
    head,
    ...result.rows.map((r) => formatRow(r, result.k)),
  ];
  return lines.join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const sizes = arg("--sizes")?.split(",").map(Number);
  const result = await runRagBenchmark({
    sizes,
    queries: arg("--queries") ? Number(arg("--queries")) : undefined,
    ef: arg("--ef") ? Number(arg("--ef")) : undefined,
    log: (l) => process.stderr.write(`${l}\n`),
  });
  process.stdout.write(`${formatRagBenchmark(result)}\n\n${JSON.stringify(result, null, 2)}\n`);
}
