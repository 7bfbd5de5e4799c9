// RAG benchmark: the in-memory index and LanceDB's own searches side by side at several corpus sizes (latency,
// recall against exact search, memory each uses, answer hit rate), and ingest throughput of small documents
// through ingestMany (`reflexia docs add`), concurrent single ingests and HTTP /api/upload.
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, request as httpRequest } from "node:http";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import Fastify from "fastify";
import { CONFIG_DEFAULTS, type MemoryIndexQuantization } from "../config/index.ts";
import { registerDocumentRoutes } from "../http/routes/documents.ts";
import { toFloat32 } from "../rag/embeddings/embedder.ts";
import { createHashEmbedder } from "../rag/embeddings/hash-embedder.ts";
import { openLanceDbStore } from "../rag/store/lancedb-store.ts";
import type { MemoryIndexInfo, SearchHit, VectorStore } from "../rag/store/vector-store.ts";
import { createRagService, type RagService } from "../rag/create-rag-service.ts";
import type { DistanceMetric } from "../rag/types.ts";
import { latencyStats, timeCalls, type LatencyStats } from "./bench-stats.ts";
import { generateRagCorpus, type CorpusDocument } from "./rag-corpus.ts";

export interface RagBenchmarkOptions {
  /** Corpus sizes in documents, one chunk each. Defaults to [1000, 10000] (add 100000 for the large size). */
  sizes?: number[];
  /** Timed queries per measurement. Defaults to 200. */
  queries?: number;
  /** k of recall@k and of every store search. Defaults to 10. */
  k?: number;
  /** Chunk size in tokens; documents are generated to fill about one chunk. Defaults to config `rag.chunk_size`. */
  chunkSize?: number;
  /** Defaults to config `vector_db.distance_metric`. */
  distance?: DistanceMetric;
  /** HNSW search breadth. Defaults to the store's default. */
  ef?: number;
  /** Threshold the product uses to switch LanceDB from exact to ANN search. Defaults to config `rag.ann_threshold`. */
  annThreshold?: number;
  /** The in-memory index as the product runs it. Defaults to config `rag.memory_index_*`. */
  memoryIndex?: { maxBytes: number; quantization: MemoryIndexQuantization };
  /** Small documents for the ingest measurement (0 skips it). Defaults to the largest size, at most 2000. */
  ingestDocuments?: number;
  /** Working directory; defaults to a temporary one that is removed afterwards. */
  dir?: string;
  /** Progress lines. Defaults to silence. */
  log?: (line: string) => void;
}

export type { LatencyStats };

export interface RagBenchmarkRow {
  documents: number;
  chunks: number;
  /** Seconds to extract, chunk, embed and commit the corpus (ingestMany). */
  ingestSeconds: number;
  /** Seconds to build LanceDB's HNSW index (absent when the table is too small for one). */
  annBuildSeconds?: number;
  /** LanceDB vector search, every vector compared, ms. */
  exact: LatencyStats;
  /** LanceDB vector search through its HNSW index, ms. */
  ann?: LatencyStats;
  /** Mean share of the exact top-k that LanceDB's HNSW top-k contains. */
  recallAtK?: number;
  /** What the product searches at this size: the in-memory index while it fits, else LanceDB exact or HNSW. */
  defaultPath: "memory" | "exact" | "ann";
  /** Service query (embed + search + document lookup) on the default path, ms. */
  queryVector: LatencyStats;
  /** Service hybrid query (vector + BM25, fused by reciprocal rank) on the default path, ms. */
  queryHybrid: LatencyStats;
  /** Share of the timed questions whose answer chunk is in the top 3, by path and mode. */
  hitAt3: {
    vectorExact: number;
    hybridExact: number;
    vectorAnn?: number;
    hybridAnn?: number;
    vectorMemory: number;
    hybridMemory: number;
  };
  /** LanceDB's paths beyond the vector search. */
  lancedb: {
    /** BM25 search alone, ms. */
    text: LatencyStats;
    /** Service queries searching LanceDB (exact below rag.ann_threshold, HNSW above), ms. */
    queryVector: LatencyStats;
    queryHybrid: LatencyStats;
    /** Growth of the process's resident memory from opening the store through the timed searches (approximate). */
    rssDeltaBytes: number;
  };
  /** The in-memory index (src/rag/store/memory-index.ts). */
  memory: {
    /** "serving" unless the corpus exceeds the memory bound (then LanceDB answered the "memory" searches too). */
    state: MemoryIndexInfo["state"];
    /** Seconds to fill it from the table when the store opens. */
    buildSeconds: number;
    /** What it holds, by part (its own accounting), and the process's resident growth while it was filled. */
    bytes: number;
    vectorBytes: number;
    textBytes: number;
    chunkBytes: number;
    rssDeltaBytes: number;
    /** Vector scan kernel. */
    scan: string;
    /** float32 scan of every vector, ms; recall against LanceDB's exact top-k (1.0 up to ties). */
    exact: LatencyStats;
    recallExact: number;
    /** The product's default: int8 pass + float32 re-rank of its best candidates, ms, and its recall. */
    int8: LatencyStats;
    recallInt8: number;
    /** BM25 search alone, ms. */
    text: LatencyStats;
  };
}

export interface RagIngestFigures {
  documents: number;
  /** Average words per document. */
  words: number;
  /** ingestMany of all documents at once (what `reflexia docs add DIR` runs), documents per second. */
  ingestManyPerSecond: number;
  /** Single-document ingests from `concurrency` concurrent callers (uploads one file each), documents per second. */
  concurrentSinglePerSecond: number;
  concurrency: number;
  /** POST /api/upload over HTTP (one file per request), `uploadsInFlight` requests at once, documents per second (client-side). */
  uploadPerSecond: number;
  uploadsInFlight: number;
  /**
   * The process's CPU time per document on each path (all its threads, the HTTP client included for uploads), ms:
   * what a loaded machine's wall figures hide.
   */
  cpuMsPerDocument: { ingestMany: number; concurrentSingle: number; upload: number };
}

export interface RagBenchmarkResult {
  embedder: string;
  dim: number;
  distance: DistanceMetric;
  k: number;
  queries: number;
  chunkSize: number;
  cpus: number;
  memoryIndex: { maxBytes: number; quantization: MemoryIndexQuantization };
  rows: RagBenchmarkRow[];
  ingest?: RagIngestFigures;
}

const rss = () => process.memoryUsage.rss();
const ids = (hits: SearchHit[]) => new Set(hits.map((h) => h.chunk.id));

/** Mean share of `truth[i]` found by `search(i)`. */
async function recall(n: number, truth: Set<string>[], search: (i: number) => Promise<SearchHit[]>): Promise<number> {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const got = await search(i);
    sum += got.filter((h) => truth[i].has(h.chunk.id)).length / Math.max(1, truth[i].size);
  }
  return sum / n;
}

/** Share of questions whose answer chunk comes back in the service's top 3. */
async function hitAt3(svc: RagService, picks: CorpusDocument[], hybrid: boolean, exact: boolean): Promise<number> {
  let hits = 0;
  for (const d of picks) {
    const r = await svc.query(d.question, { topK: 3, hybrid, exact });
    if (r.results.some((x) => x.source === d.source && x.text.includes(d.factSentence))) hits++;
  }
  return hits / picks.length;
}

export async function runRagBenchmark(options: RagBenchmarkOptions = {}): Promise<RagBenchmarkResult> {
  const sizes = options.sizes ?? [1000, 10000];
  const nQueries = options.queries ?? 200;
  const k = options.k ?? 10;
  const chunkSize = options.chunkSize ?? CONFIG_DEFAULTS.rag.chunk_size;
  const chunkOverlap = CONFIG_DEFAULTS.rag.chunk_overlap;
  const distance = options.distance ?? CONFIG_DEFAULTS.vector_db.distance_metric;
  const annThreshold = options.annThreshold ?? CONFIG_DEFAULTS.rag.ann_threshold;
  const memoryIndex = options.memoryIndex ?? {
    maxBytes: CONFIG_DEFAULTS.rag.memory_index_max_bytes,
    quantization: CONFIG_DEFAULTS.rag.memory_index_quantization,
  };
  const log = options.log ?? (() => undefined);
  const root = options.dir ?? mkdtempSync(join(tmpdir(), "rfx-rag-bench-"));
  const embedder = createHashEmbedder();
  const storeOptions = (dir: string) => ({ dir, dim: embedder.dim, embedderId: embedder.id, distance });
  const rows: RagBenchmarkRow[] = [];
  let ingest: RagIngestFigures | undefined;
  try {
    for (const size of sizes) {
      const dir = join(root, `n${size}`);
      rmSync(dir, { recursive: true, force: true });
      // 30 filler sentences make ~475-token documents (max ~500): one 512-token chunk each; scaled for other sizes.
      const corpus = generateRagCorpus(size, {
        seed: 7,
        fillerSentences: Math.max(4, Math.round((30 * chunkSize) / 512)),
      });
      // Ingest without ANN maintenance; LanceDB's index is built once below, timed on its own.
      const svc = await createRagService({
        dir,
        embedder,
        chunkSize,
        chunkOverlap,
        distance,
        annThreshold: Number.MAX_SAFE_INTEGER,
        hybrid: false,
        memoryIndex: false,
      });
      let t0 = performance.now();
      const items = await svc.ingestMany(
        corpus.map((d) => ({ content: d.text, source: d.source, title: d.title })),
        { onProgress: (p) => p.done % 5000 === 0 && log(`  ingested ${p.done}/${size}`) },
      );
      const failed = items.filter((i) => !i.ok).length;
      if (failed > 0) throw new Error(`${failed} benchmark documents failed to ingest`);
      const ingestSeconds = (performance.now() - t0) / 1000;
      const { chunks } = await svc.stats();
      await svc.close();

      const picks = Array.from({ length: nQueries }, (_, i) => corpus[(i * 7919) % corpus.length]);
      const questions = picks.map((d) => d.question);
      const vectors = (await embedder.embed(questions)).map(toFloat32);

      // LanceDB: exact scan, then its HNSW index (built here whatever the size, to compare).
      let rss0 = rss();
      const lance: VectorStore = await openLanceDbStore({ ...storeOptions(dir), annThreshold: 0, ef: options.ef });
      t0 = performance.now();
      await lance.optimize();
      const hasAnn = (await lance.indexInfo()).ann;
      const annBuildSeconds = hasAnn ? (performance.now() - t0) / 1000 : undefined;
      log(
        `${size} documents, ${chunks} chunks: ingested in ${ingestSeconds.toFixed(1)} s${annBuildSeconds !== undefined ? `, LanceDB HNSW built in ${annBuildSeconds.toFixed(1)} s` : ""}`,
      );
      const exact = await timeCalls(nQueries, (i) => lance.vectorSearch(vectors[i], { limit: k, exact: true }));
      const truth: Set<string>[] = [];
      for (let i = 0; i < nQueries; i++)
        truth.push(ids(await lance.vectorSearch(vectors[i], { limit: k, exact: true })));
      const ann = hasAnn ? await timeCalls(nQueries, (i) => lance.vectorSearch(vectors[i], { limit: k })) : undefined;
      const recallAtK = hasAnn
        ? await recall(nQueries, truth, (i) => lance.vectorSearch(vectors[i], { limit: k }))
        : undefined;
      const lanceText = await timeCalls(nQueries, (i) => lance.textSearch(questions[i], { limit: k }));
      const lanceRss = rss() - rss0;
      await lance.close();

      // The in-memory index, filled as the product's store fills it at open.
      rss0 = rss();
      t0 = performance.now();
      const mem = await openLanceDbStore({ ...storeOptions(dir), annThreshold: Number.MAX_SAFE_INTEGER, memoryIndex });
      await mem.memoryIndexReady?.();
      const buildSeconds = (performance.now() - t0) / 1000;
      const info: MemoryIndexInfo = mem.memoryIndexInfo!();
      const memRss = rss() - rss0;
      const memExact = await timeCalls(nQueries, (i) => mem.vectorSearch(vectors[i], { limit: k, exact: true }));
      const memInt8 = await timeCalls(nQueries, (i) => mem.vectorSearch(vectors[i], { limit: k }));
      const recallExact = await recall(nQueries, truth, (i) => mem.vectorSearch(vectors[i], { limit: k, exact: true }));
      const recallInt8 = await recall(nQueries, truth, (i) => mem.vectorSearch(vectors[i], { limit: k }));
      const memText = await timeCalls(nQueries, (i) => mem.textSearch(questions[i], { limit: k }));
      await mem.close();
      log(
        `  in-memory index: ${info.state}, ${(info.bytes / 2 ** 20).toFixed(1)} MiB (${info.scan} scan), filled in ${buildSeconds.toFixed(2)} s`,
      );

      // Service queries on each path (embedding, search, fusion, document lookup).
      const lanceSvc = await createRagService({
        dir,
        embedder,
        chunkSize,
        chunkOverlap,
        distance,
        annThreshold,
        memoryIndex: false,
      });
      const lanceExact = chunks < annThreshold || !hasAnn;
      const lanceQueryVector = await timeCalls(nQueries, (i) =>
        lanceSvc.query(questions[i], { topK: 3, hybrid: false, exact: lanceExact }),
      );
      const lanceQueryHybrid = await timeCalls(nQueries, (i) =>
        lanceSvc.query(questions[i], { topK: 3, hybrid: true, exact: lanceExact }),
      );
      const hits = {
        vectorExact: await hitAt3(lanceSvc, picks, false, true),
        hybridExact: await hitAt3(lanceSvc, picks, true, true),
        ...(hasAnn
          ? {
              vectorAnn: await hitAt3(lanceSvc, picks, false, false),
              hybridAnn: await hitAt3(lanceSvc, picks, true, false),
            }
          : {}),
      };
      await lanceSvc.close();
      const memSvc = await createRagService({
        dir,
        embedder,
        chunkSize,
        chunkOverlap,
        distance,
        annThreshold,
        memoryIndex,
      });
      await memSvc.ready();
      const memQueryVector = await timeCalls(nQueries, (i) => memSvc.query(questions[i], { topK: 3, hybrid: false }));
      const memQueryHybrid = await timeCalls(nQueries, (i) => memSvc.query(questions[i], { topK: 3, hybrid: true }));
      const memHits = {
        vectorMemory: await hitAt3(memSvc, picks, false, false),
        hybridMemory: await hitAt3(memSvc, picks, true, false),
      };
      await memSvc.close();

      const defaultPath = info.state === "serving" ? "memory" : lanceExact ? "exact" : "ann";
      const row: RagBenchmarkRow = {
        documents: size,
        chunks,
        ingestSeconds,
        ...(annBuildSeconds !== undefined ? { annBuildSeconds } : {}),
        exact: latencyStats(exact),
        ...(ann ? { ann: latencyStats(ann) } : {}),
        ...(recallAtK !== undefined ? { recallAtK } : {}),
        defaultPath,
        queryVector: latencyStats(defaultPath === "memory" ? memQueryVector : lanceQueryVector),
        queryHybrid: latencyStats(defaultPath === "memory" ? memQueryHybrid : lanceQueryHybrid),
        hitAt3: { ...hits, ...memHits },
        lancedb: {
          text: latencyStats(lanceText),
          queryVector: latencyStats(lanceQueryVector),
          queryHybrid: latencyStats(lanceQueryHybrid),
          rssDeltaBytes: lanceRss,
        },
        memory: {
          state: info.state,
          buildSeconds,
          bytes: info.bytes,
          vectorBytes: info.vectorBytes,
          textBytes: info.textBytes,
          chunkBytes: info.chunkBytes,
          rssDeltaBytes: memRss,
          scan: info.scan,
          exact: latencyStats(memExact),
          recallExact,
          int8: latencyStats(memInt8),
          recallInt8,
          text: latencyStats(memText),
        },
      };
      rows.push(row);
      if (rows.length === 1) log(TABLE_HEAD);
      log(formatRow(row));
      const rowTail = formatTail(row);
      if (rowTail) log(rowTail);
      rmSync(dir, { recursive: true, force: true });
    }
    const nIngest = options.ingestDocuments ?? Math.min(2000, Math.max(0, ...sizes));
    if (nIngest > 0) ingest = await measureIngest(join(root, "ingest"), nIngest, memoryIndex, log);
  } finally {
    if (!options.dir) rmSync(root, { recursive: true, force: true });
  }
  return {
    embedder: embedder.id,
    dim: embedder.dim,
    distance,
    k,
    queries: nQueries,
    chunkSize,
    cpus: cpus().length,
    memoryIndex,
    rows,
    ...(ingest ? { ingest } : {}),
  };
}

/**
 * Small documents (two filler sentences and the fact, ≈ 35 words) into a fresh store three ways, each with its
 * own documents: one ingestMany, single ingests from concurrent callers, and multi-file HTTP uploads.
 */
/** The process's CPU time since `since`, per document, ms. */
function cpuMsPer(n: number, since: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1000 / n;
}

/** Upload requests the ingest measurement keeps in flight. */
const UPLOADS_IN_FLIGHT = 32;

async function measureIngest(
  dir: string,
  n: number,
  memoryIndex: RagBenchmarkResult["memoryIndex"],
  log: (l: string) => void,
): Promise<RagIngestFigures> {
  const concurrency = 8;
  const corpus = (seed: number) => generateRagCorpus(n, { seed, fillerSentences: 2 });
  rmSync(dir, { recursive: true, force: true });
  const svc = await createRagService({ dir, memoryIndex });
  await svc.ready();
  const app = Fastify();
  try {
    const a = corpus(11);
    const words = a.reduce((s, d) => s + d.text.split(/\s+/).length, 0) / n;
    let cpu0 = process.cpuUsage();
    let t0 = performance.now();
    const items = await svc.ingestMany(a.map((d) => ({ content: d.text, source: `many/${d.source}` })));
    if (items.some((i) => !i.ok)) throw new Error("ingestMany failed for some benchmark documents");
    const ingestManyPerSecond = n / ((performance.now() - t0) / 1000);
    const manyCpu = cpuMsPer(n, cpu0);

    const b = corpus(12);
    let next = 0;
    cpu0 = process.cpuUsage();
    t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < n) {
          const d = b[next++];
          await svc.ingest({ content: d.text, source: `single/${d.source}` });
        }
      }),
    );
    const concurrentSinglePerSecond = n / ((performance.now() - t0) / 1000);
    const singleCpu = cpuMsPer(n, cpu0);

    await registerDocumentRoutes(app, { config: CONFIG_DEFAULTS, rag: svc });
    const url = await app.listen({ host: "127.0.0.1", port: 0 });
    const c = corpus(13);
    // Bodies built before the clock starts, sent by a keep-alive node:http client: the client shares this process
    // and its two cores with the server, so the figure is the server's, not undici's FormData and fetch.
    const boundary = "----reflexia-rag-bench";
    const bodies = c.map((d) =>
      Buffer.from(
        `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${d.source.replace(/[^A-Za-z0-9-]+/g, "-")}.txt"\r\n` +
          `content-type: text/plain\r\n\r\n${d.text}\r\n--${boundary}--\r\n`,
      ),
    );
    const agent = new Agent({ keepAlive: true, maxSockets: UPLOADS_IN_FLIGHT });
    const upload = (body: Buffer) =>
      new Promise<void>((resolve, reject) => {
        const req = httpRequest(
          `${url}/api/upload`,
          {
            method: "POST",
            agent,
            headers: { "content-type": `multipart/form-data; boundary=${boundary}`, "content-length": body.length },
          },
          (res) => {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (d: string) => (text += d));
            res.on("end", () =>
              res.statusCode === 201
                ? resolve()
                : reject(new Error(`/api/upload answered ${res.statusCode}: ${text.slice(0, 300)}`)),
            );
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    let nextUpload = 0;
    cpu0 = process.cpuUsage();
    t0 = performance.now();
    // One file per request (the route's contract), several requests in flight as a client uploading a folder keeps:
    // the service commits whatever has gathered together.
    await Promise.all(
      Array.from({ length: UPLOADS_IN_FLIGHT }, async () => {
        while (nextUpload < n) await upload(bodies[nextUpload++]);
      }),
    );
    agent.destroy();
    const uploadPerSecond = n / ((performance.now() - t0) / 1000);
    const uploadCpu = cpuMsPer(n, cpu0);
    const figures = {
      documents: n,
      words,
      ingestManyPerSecond,
      concurrentSinglePerSecond,
      concurrency,
      uploadPerSecond,
      uploadsInFlight: UPLOADS_IN_FLIGHT,
      cpuMsPerDocument: { ingestMany: manyCpu, concurrentSingle: singleCpu, upload: uploadCpu },
    };
    log(formatIngest(figures));
    return figures;
  } finally {
    await app.close();
    await svc.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const ms = (s: LatencyStats | undefined) => (s ? `${s.p50.toFixed(2)} / ${s.p95.toFixed(2)}` : "-");
const tail = (s: LatencyStats) =>
  `${s.p95.toFixed(2)} cpu ${s.cpuP95.toFixed(2)} (${(100 * s.preempted).toFixed(0)}% preempted, others ${s.unpreemptedP95?.toFixed(2) ?? "-"})`;
const num = (x: number | undefined, d = 3) => (x === undefined ? "-" : x.toFixed(d));
const MiB = (b: number) => `${(b / 2 ** 20).toFixed(1)}`;

/** The per-size table the run logs as it goes (`reflexia benchmark rag`): one row per corpus size. */
export const TABLE_HEAD = [
  " chunks".padStart(7),
  "mem int8 p50/95".padStart(14),
  "rec".padStart(6),
  "mem f32 p50/95".padStart(14),
  "rec".padStart(6),
  "lance exact p50/95".padStart(16),
  "lance hnsw".padStart(14),
  "rec".padStart(6),
  "mem bm25".padStart(13),
  "lance bm25".padStart(14),
  "hybrid (mem)".padStart(14),
  "hybrid (lance)".padStart(15),
  "mem MiB (rss)".padStart(15),
  "lance rss".padStart(9),
  "hit@3 vec/hyb".padStart(13),
].join(" ");

/** Answer hit@3 (vector / hybrid) on the path the product searches at this size. */
function defaultHits(r: RagBenchmarkRow): string {
  const h = r.hitAt3;
  const [v, y] =
    r.defaultPath === "memory"
      ? [h.vectorMemory, h.hybridMemory]
      : r.defaultPath === "ann"
        ? [h.vectorAnn, h.hybridAnn]
        : [h.vectorExact, h.hybridExact];
  return `${num(v, 2)} / ${num(y, 2)}`;
}

/** The in-memory paths' wall tail next to their CPU time and preemption (undefined when the index did not serve). */
function formatTail(r: RagBenchmarkRow): string | undefined {
  if (r.memory.state !== "serving") return undefined;
  const paths = [
    ["int8", r.memory.int8],
    ["f32", r.memory.exact],
    ["bm25", r.memory.text],
    ["query", r.queryVector],
    ["hybrid", r.queryHybrid],
  ] as const;
  return `  ${String(r.chunks).padStart(7)} chunks: ${paths.map(([name, x]) => `${name} ${tail(x)}`).join("; ")}`;
}

export function formatRow(r: RagBenchmarkRow): string {
  const cells = [
    String(r.chunks).padStart(7),
    ms(r.memory.int8).padStart(14),
    num(r.memory.recallInt8).padStart(6),
    ms(r.memory.exact).padStart(14),
    num(r.memory.recallExact).padStart(6),
    ms(r.exact).padStart(16),
    ms(r.ann).padStart(14),
    num(r.recallAtK).padStart(6),
    ms(r.memory.text).padStart(13),
    ms(r.lancedb.text).padStart(14),
    ms(r.defaultPath === "memory" ? r.queryHybrid : undefined).padStart(14),
    ms(r.lancedb.queryHybrid).padStart(15),
    (r.memory.state === "serving"
      ? `${MiB(r.memory.bytes)} (${MiB(r.memory.rssDeltaBytes)})`
      : r.memory.state
    ).padStart(15),
    MiB(r.lancedb.rssDeltaBytes).padStart(9),
    defaultHits(r).padStart(13),
  ];
  return cells.join(" ");
}

function formatIngest(f: RagIngestFigures): string {
  return (
    `ingest of ${f.documents} small documents (~${f.words.toFixed(0)} words): ingestMany ${f.ingestManyPerSecond.toFixed(0)} docs/s; ` +
    `${f.concurrency} concurrent single ingests ${f.concurrentSinglePerSecond.toFixed(0)} docs/s; HTTP /api/upload (one file per request, ${f.uploadsInFlight} in flight) ${f.uploadPerSecond.toFixed(0)} docs/s; ` +
    `CPU ms per document ${f.cpuMsPerDocument.ingestMany.toFixed(2)} / ${f.cpuMsPerDocument.concurrentSingle.toFixed(2)} / ${f.cpuMsPerDocument.upload.toFixed(2)}`
  );
}

/** The tables printed by the standalone command. */
export function formatRagBenchmark(result: RagBenchmarkResult): string {
  const lines = [
    `RAG retrieval, ${result.embedder} (${result.dim}-d, ${result.distance}), chunks of ${result.chunkSize} tokens, ${result.queries} queries, k=${result.k}, ${result.cpus} CPUs; times in ms (p50 / p95)`,
    `mem: the in-memory index (${result.memoryIndex.quantization}, ${MiB(result.memoryIndex.maxBytes)} MiB limit): int8 pass + float32 re-rank, and the float32 scan of every vector; lance: LanceDB exact and HNSW`,
    "rec: recall@k against LanceDB's exact top-k; bm25: full-text search alone; hybrid: service query (embed + vector + BM25 + fusion + lookup)",
    "mem MiB: the index's own accounting (resident growth while filling it); lance rss: resident growth from opening LanceDB through its searches",
    "hit@3: share of questions whose answer chunk is in the top 3, on the path the product searches at that size (every path below)",
    TABLE_HEAD,
    ...result.rows.map(formatRow),
    "",
    "the in-memory paths, wall p95 vs the process's CPU p95 per call, share of calls the OS preempted, and wall p95 of the others (on a loaded machine the wall tail is the wait for a core):",
    ...result.rows.flatMap((r) => formatTail(r) ?? []),
    "",
    "answer hit@3 (share of questions whose answer chunk is in the top 3):",
    ...result.rows.map(
      (r) =>
        `  ${String(r.chunks).padStart(7)} chunks: memory vector ${num(r.hitAt3.vectorMemory, 2)} hybrid ${num(r.hitAt3.hybridMemory, 2)}; LanceDB exact vector ${num(r.hitAt3.vectorExact, 2)} hybrid ${num(r.hitAt3.hybridExact, 2)}; HNSW vector ${num(r.hitAt3.vectorAnn, 2)} hybrid ${num(r.hitAt3.hybridAnn, 2)}`,
    ),
  ];
  if (result.ingest) lines.push("", formatIngest(result.ingest));
  return lines.join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const sizes = arg("--sizes")?.split(",").filter(Boolean).map(Number);
  const result = await runRagBenchmark({
    sizes,
    queries: arg("--queries") ? Number(arg("--queries")) : undefined,
    ef: arg("--ef") ? Number(arg("--ef")) : undefined,
    ingestDocuments: arg("--ingest-documents") ? Number(arg("--ingest-documents")) : undefined,
    log: (l) => process.stderr.write(`${l}\n`),
  });
  process.stdout.write(`${formatRagBenchmark(result)}\n\n${JSON.stringify(result, null, 2)}\n`);
}
