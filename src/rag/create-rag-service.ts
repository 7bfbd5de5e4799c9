// The RAG use-case API: ingest documents (extract → chunk → embed → commit), list/get/delete them, and query.
//
// A document is acknowledged (ingest resolves) only after the store's commit point; see lancedb-store.ts for
// why a SIGKILL at any moment leaves each document whole or absent. Everything that can reject an upload
// (size, type, empty text) runs before the store is touched, so a rejected upload changes nothing.
import { randomUUID } from "node:crypto";
import { CONFIG_DEFAULTS } from "../config/index.ts";
import { ReflexiaError, toReflexiaError } from "../errors/index.ts";
import { chunkText } from "./chunking/chunk-text.ts";
import { createApproxTokenizer, type Tokenizer } from "./chunking/tokenizer.ts";
import { toFloat32, type Embedder } from "./embeddings/embedder.ts";
import { createHashEmbedder } from "./embeddings/hash-embedder.ts";
import { extractDocument, type ExtractInput } from "./extract/extract-document.ts";
import { sanitizeLabel, sanitizeTitle } from "./extract/sanitize-title.ts";
import { reciprocalRankFusion } from "./retrieve/reciprocal-rank-fusion.ts";
import { openLanceDbStore } from "./store/lancedb-store.ts";
import type { MemoryIndexQuantization } from "../config/keys.ts";
import type {
  CommitItem,
  EmbeddedChunk,
  MemoryIndexInfo,
  SearchHit,
  StoreIndexInfo,
  StoreVerifyReport,
  VectorStore,
} from "./store/vector-store.ts";
import { MAX_DOCUMENT_PAGE, type DistanceMetric, type RagChunk, type RagDocument } from "./types.ts";

/** Receives measurements for metrics; the service never imports a metrics library itself. */
export interface RagObserver {
  /** A query finished (embedding + search), in seconds. */
  onRetrieval?(seconds: number): void;
  /** An ingest finished, in seconds; ok is false when it was rejected or failed. */
  onIngest?(seconds: number, ok: boolean): void;
  /** Current totals, after open and after every change; `memoryIndex` when the store has an in-memory index. */
  onCounts?(documents: number, chunks: number, memoryIndex?: MemoryIndexInfo): void;
}

export interface RagServiceOptions {
  /** LanceDB directory (e.g. `$REFLEXIA_HOME/rag/lancedb`). Required unless `store` is given. */
  dir?: string;
  /** A store to use instead of opening LanceDB at `dir` (e.g. createMemoryStore in tests). */
  store?: VectorStore;
  /** Defaults to the built-in hash embedder at its default dimension. */
  embedder?: Embedder;
  /** Tokenizer for chunk sizes. Defaults to the approximate word-piece tokenizer. */
  tokenizer?: Tokenizer;
  /** Defaults to config `rag.chunk_size`. */
  chunkSize?: number;
  /** Defaults to config `rag.chunk_overlap`. */
  chunkOverlap?: number;
  /** Results per query. Defaults to config `rag.similarity_top_k`. */
  topK?: number;
  /** Defaults to config `vector_db.distance_metric`. */
  distance?: DistanceMetric;
  /** Chunks past which the ANN index is built. Defaults to config `rag.ann_threshold`. */
  annThreshold?: number;
  /**
   * Search an in-memory mirror of the live chunks (lancedb-store.ts) while it fits in `maxBytes`; false searches
   * LanceDB only. Defaults to config `rag.memory_index_max_bytes` and `rag.memory_index_quantization`.
   */
  memoryIndex?: { maxBytes: number; quantization: MemoryIndexQuantization } | false;
  /** Fuse vector and BM25 results by default. Defaults to config `rag.hybrid`. */
  hybrid?: boolean;
  /** Largest accepted document in bytes. Defaults to no limit (the HTTP layer passes `server.upload_limit_bytes`). */
  maxBytes?: number;
  /** Texts per embedder call during ingest. Defaults to 64. */
  embedBatchSize?: number;
  /** Commits between background compactions of the LanceDB store. Defaults to the store's own default. */
  optimizeEvery?: number;
  /** How often (ms) the store looks for documents another process added or deleted (0: only before own writes). */
  watchIntervalMs?: number;
  observer?: RagObserver;
}

export interface IngestInput extends ExtractInput {
  /**
   * Identity of the document's origin (the CLI passes the absolute path, uploads their file name). Re-ingesting
   * changed content with the same source replaces the document. Defaults to the sanitised file name, else to
   * `sha256:<hash>`. Stored as an opaque label, never opened.
   */
  source?: string;
}

export const INGEST_STATUSES = ["created", "unchanged", "replaced"] as const;
export type IngestStatus = (typeof INGEST_STATUSES)[number];

export interface IngestResult {
  document: RagDocument;
  chunks: RagChunk[];
  /** created: new; unchanged: identical content was already stored (nothing written); replaced: same source, new content. */
  status: IngestStatus;
}

/** Outcome of one input of ingestMany: its result, or the error that rejected it (others go on). */
export type IngestManyItem = { ok: true; result: IngestResult } | { ok: false; error: ReflexiaError };

export interface IngestManyOptions {
  /** Documents committed together at most. Defaults to 256. */
  batchDocuments?: number;
  /** Chunks committed together at most (bounds memory of a batch and of the vectors waiting for it). Defaults to 2048. */
  batchChunks?: number;
  /** Called as each input is settled (committed, unchanged or rejected), e.g. for a progress bar. */
  onProgress?(progress: { done: number; total: number; index: number; item: IngestManyItem }): void;
}

export interface RagQueryOptions {
  /** Defaults to the service's topK. */
  topK?: number;
  /** Defaults to the service's hybrid setting. */
  hybrid?: boolean;
  /** Bypass the ANN index. Defaults to false. */
  exact?: boolean;
}

export interface RagResult {
  documentId: string;
  title: string;
  source: string;
  chunkId: string;
  chunkIndex: number;
  /** Higher is better: vector similarity, or the reciprocal-rank-fusion score in hybrid mode. */
  score: number;
  /** Exact quote: the document's extracted text sliced at [start, end). */
  text: string;
  start: number;
  end: number;
  /** Per-retriever scores in hybrid mode ({vector, text}). */
  scores?: Record<string, number>;
}

export interface RagQueryResult {
  results: RagResult[];
  mode: "vector" | "hybrid";
  timings: { embedMs: number; searchMs: number; totalMs: number };
}

export interface RagStats {
  documents: number;
  chunks: number;
  store: string;
  dir?: string;
  embedder: { id: string; dim: number };
  distance: DistanceMetric;
  index: StoreIndexInfo;
  chunkSize: number;
  chunkOverlap: number;
  topK: number;
  hybrid: boolean;
  annThreshold: number;
}

export interface RagService {
  readonly embedder: Embedder;
  readonly tokenizer: Tokenizer;
  /** Ingests one document; resolves once it is durably stored (or found unchanged). */
  ingest(input: IngestInput): Promise<IngestResult>;
  /**
   * Ingests many documents, committing them in batches (far fewer store writes than one ingest each). An input
   * is settled, and reported through onProgress, only once its batch is durably stored; a rejected input does
   * not stop the others.
   */
  ingestMany(inputs: IngestInput[], options?: IngestManyOptions): Promise<IngestManyItem[]>;
  list(options?: {
    offset?: number;
    limit?: number;
  }): Promise<{ documents: RagDocument[]; total: number; offset: number; limit: number }>;
  /** The document stored under this source, else one with this content hash; undefined when none. */
  find(query: { source?: string; sha256?: string }): Promise<RagDocument | undefined>;
  /** Throws RFX_DOCUMENT_NOT_FOUND when unknown. */
  get(
    id: string,
    options?: { withText?: boolean; withChunks?: boolean },
  ): Promise<RagDocument & { chunks?: RagChunk[] }>;
  /** Throws RFX_DOCUMENT_NOT_FOUND when unknown; returns the deleted document. */
  delete(id: string): Promise<RagDocument>;
  query(text: string, options?: RagQueryOptions): Promise<RagQueryResult>;
  stats(): Promise<RagStats>;
  /** Checks that every document has exactly its chunks and no orphan chunk exists. */
  verify(): Promise<StoreVerifyReport>;
  /** Compacts the store and builds/refreshes indexes now (otherwise done in the background). */
  optimize(): Promise<void>;
  /** Resolves once the store's in-memory index has filled after open (at once for a store without one). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** Documents and chunks committed together at most by default (IngestManyOptions). */
const DEFAULT_BATCH_DOCUMENTS = 256;
const DEFAULT_BATCH_CHUNKS = 2048;
/** Candidates fetched from each retriever before fusion: fusion needs depth beyond topK to reward agreement. */
const FUSION_DEPTH_FACTOR = 4;
const MIN_FUSION_DEPTH = 20;
const MAX_TOP_K = 100;
/** The longest a commit waits for concurrent uploads to join it (see gatherCommits). */
const COMMIT_LINGER_MAX_MS = 20;

function checkInt(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max)
    throw new ReflexiaError("RFX_VALIDATION", `${name} must be an integer in [${min}, ${max}], got ${v}`);
  return v;
}

export async function createRagService(options: RagServiceOptions): Promise<RagService> {
  const embedder = options.embedder ?? createHashEmbedder();
  const tokenizer = options.tokenizer ?? createApproxTokenizer();
  const chunkSize = options.chunkSize ?? CONFIG_DEFAULTS.rag.chunk_size;
  const chunkOverlap = options.chunkOverlap ?? CONFIG_DEFAULTS.rag.chunk_overlap;
  const defaultTopK = checkInt("topK", options.topK ?? CONFIG_DEFAULTS.rag.similarity_top_k, 1, MAX_TOP_K);
  const defaultHybrid = options.hybrid ?? CONFIG_DEFAULTS.rag.hybrid;
  const distance = options.distance ?? CONFIG_DEFAULTS.vector_db.distance_metric;
  const annThreshold = options.annThreshold ?? CONFIG_DEFAULTS.rag.ann_threshold;
  const embedBatchSize = Math.max(1, options.embedBatchSize ?? 64);
  const observer = options.observer ?? {};
  const memoryIndex =
    options.memoryIndex === false
      ? undefined
      : (options.memoryIndex ?? {
          maxBytes: CONFIG_DEFAULTS.rag.memory_index_max_bytes,
          quantization: CONFIG_DEFAULTS.rag.memory_index_quantization,
        });
  // Validates chunk settings up front so a bad config fails at startup, not on the first upload.
  chunkText("probe", { chunkSize, chunkOverlap, tokenizer });
  if (!options.store && !options.dir)
    throw new ReflexiaError("RFX_CONFIG_INVALID", "createRagService needs a store directory (dir) or a store");
  const store =
    options.store ??
    (await openLanceDbStore({
      dir: options.dir!,
      dim: embedder.dim,
      embedderId: embedder.id,
      distance,
      annThreshold,
      optimizeEvery: options.optimizeEvery,
      memoryIndex,
      watchIntervalMs: options.watchIntervalMs,
      onExternalChange: () => void reportCounts().catch(() => undefined),
    }));
  if (store.dim !== embedder.dim)
    throw new ReflexiaError(
      "RFX_CONFIG_INVALID",
      `store has ${store.dim} dimensions, embedder ${embedder.id} ${embedder.dim}`,
    );

  let lastAddedAt = 0;
  let tail: Promise<unknown> = Promise.resolve();
  /** Serialises the check-then-commit step so two uploads of one source cannot both "create" it. */
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
  const reportCounts = async () => {
    if (!observer.onCounts) return;
    const c = await store.counts();
    observer.onCounts(c.documents, c.chunks, store.memoryIndexInfo?.());
  };
  await reportCounts();
  // The in-memory index fills after open: report again once it serves (or was dropped over its bound).
  let closing = false;
  const ready = store.memoryIndexReady?.() ?? Promise.resolve();
  if (store.memoryIndexInfo?.().state === "loading") void ready.then(() => (closing ? undefined : reportCounts()));

  async function embedAll(texts: string[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += embedBatchSize) {
      const vs = await embedder.embed(texts.slice(i, i + embedBatchSize));
      for (const v of vs) out.push(toFloat32(v));
    }
    return out;
  }

  async function unchanged(doc: RagDocument): Promise<IngestResult> {
    return { document: doc, chunks: await store.getChunks(doc.id), status: "unchanged" };
  }

  /** An extracted, chunked and embedded document waiting for its commit. */
  interface Prepared {
    source: string;
    extracted: Awaited<ReturnType<typeof extractDocument>>;
    spans: ReturnType<typeof chunkText>;
    vectors: Float32Array[];
  }

  /** The stored document that makes this content a no-op: same source and hash, or (new source) same hash. */
  async function existingFor(source: string, sha256: string): Promise<{ same?: RagDocument; current?: RagDocument }> {
    const current = await store.findDocument({ source });
    if (current) return current.sha256 === sha256 ? { same: current } : { current };
    const dup = await store.findDocument({ sha256 });
    return dup ? { same: dup } : {};
  }

  /** Sources and content hashes of documents queued or being committed (counts: one may be queued twice). */
  const queuedKeys = new Map<string, number>();
  const countKey = (k: string, d: number) => {
    const n = (queuedKeys.get(k) ?? 0) + d;
    if (n > 0) queuedKeys.set(k, n);
    else queuedKeys.delete(k);
  };

  /** Everything that can reject an input happens here, before the store is written. */
  async function prepare(input: IngestInput): Promise<Prepared | IngestResult> {
    const extracted = await extractDocument(input, { maxBytes: options.maxBytes });
    const source =
      (input.source !== undefined ? sanitizeLabel(input.source) : "") ||
      sanitizeTitle(input.filename) ||
      `sha256:${extracted.sha256}`;
    // A queued document with this source or content may change the answer: the commit decides then (it re-checks).
    if (!queuedKeys.has(`s:${source}`) && !queuedKeys.has(`h:${extracted.sha256}`)) {
      const { same } = await existingFor(source, extracted.sha256);
      if (same) return unchanged(same);
    }
    const spans = chunkText(extracted.text, { chunkSize, chunkOverlap, tokenizer });
    const vectors = await embedAll(spans.map((c) => c.text));
    return { source, extracted, spans, vectors };
  }

  /** Commits prepared documents (distinct sources and hashes) in one store batch; returns a result per item. */
  function commit(batch: Prepared[]): Promise<IngestResult[]> {
    return serial(async () => {
      const results: IngestResult[] = new Array(batch.length);
      const items: CommitItem[] = [];
      const slots: { index: number; document: RagDocument; replaced: boolean; chunks: EmbeddedChunk[] }[] = [];
      for (let k = 0; k < batch.length; k++) {
        const { source, extracted, spans, vectors } = batch[k];
        // Re-checked under the lock: a concurrent ingest may have stored the same source or content meanwhile.
        const { same, current } = await existingFor(source, extracted.sha256);
        if (same) {
          results[k] = await unchanged(same);
          continue;
        }
        const id = current?.id ?? randomUUID();
        // Strictly increasing timestamps keep listing order equal to ingest order.
        lastAddedAt = Math.max(Date.now(), lastAddedAt + 1);
        const ingestTag = randomUUID().slice(0, 8);
        const chunks: EmbeddedChunk[] = spans.map((sp, i) => ({
          id: `${id}:${ingestTag}:${sp.index}`,
          documentId: id,
          index: sp.index,
          text: sp.text,
          start: sp.start,
          end: sp.end,
          tokenCount: sp.tokenCount,
          vector: vectors[i],
        }));
        const document: RagDocument = {
          id,
          source,
          title: extracted.title,
          type: extracted.type,
          mimeType: extracted.mimeType,
          size: extracted.size,
          sha256: extracted.sha256,
          addedAt: new Date(lastAddedAt).toISOString(),
          chunkCount: chunks.length,
          charCount: extracted.text.length,
        };
        items.push({ doc: { ...document, text: extracted.text }, chunks });
        slots.push({ index: k, document, replaced: Boolean(current), chunks });
      }
      if (items.length > 0) {
        await store.commitDocuments(items);
        await reportCounts();
      }
      for (const sl of slots) {
        results[sl.index] = {
          document: sl.document,
          chunks: sl.chunks.map(({ vector: _v, ...c }) => c),
          status: sl.replaced ? "replaced" : "created",
        };
      }
      return results;
    });
  }

  /**
   * Group commit: prepared documents wait here and one committer writes whatever has gathered as one store batch
   * while the callers go on extracting and embedding the next ones. Concurrent uploads share commits this way, and
   * a long ingestMany overlaps embedding (JS thread) with LanceDB's writes (its own threads). FIFO order keeps the
   * outcome of a source or content sent twice what one-by-one ingestion gives.
   */
  interface Queued {
    p: Prepared;
    maxDocs: number;
    maxChunks: number;
    resolve(r: IngestResult): void;
    reject(e: unknown): void;
  }
  const commitQueue: Queued[] = [];
  /** Chunks of the documents in commitQueue. */
  let queuedChunks = 0;
  /** The committer while it runs (close waits for it); `draining` drops synchronously as its loop ends. */
  let committing: Promise<void> = Promise.resolve();
  let draining = false;
  /**
   * The last commit's documents plus those that queued while it ran (the concurrency it saw), and its duration:
   * what the next commit waits for, and for how long at most.
   */
  let lastCommitDocs = 1;
  let lastCommitMs = 0;
  /** Wakes a committer waiting for more documents (set while it waits), once the queue holds `gatherTarget`. */
  let wakeCommitter: (() => void) | undefined;
  let gatherTarget = 0;

  /** The queue holds `target` documents, or a full commit's worth of chunks. */
  const gathered = (target: number) =>
    commitQueue.length >= target || (commitQueue.length > 0 && queuedChunks >= commitQueue[0].maxChunks);

  /**
   * Concurrent uploads arrive staggered: the first document in after a commit would otherwise be committed alone
   * while the others queue behind it (commits of 1 and 15 alternated with 16 uploads in flight, two commits per
   * round, and every commit costs two LanceDB appends whatever its size). So the committer waits for as many
   * documents as the last commit carried plus those that queued during it, at most half that commit's duration
   * (and COMMIT_LINGER_MAX_MS): a lone sequential upload never waits (its last commit carried one and nothing
   * queued), and when uploads stop, the next commit carries fewer and the wait shrinks with it. A full commit's
   * worth of chunks never waits.
   */
  async function gatherCommits(): Promise<void> {
    const target = Math.min(lastCommitDocs, commitQueue[0].maxDocs);
    const linger = Math.min(COMMIT_LINGER_MAX_MS, lastCommitMs / 2);
    if (linger < 1 || gathered(target)) return;
    gatherTarget = target;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => wakeCommitter?.(), linger);
      wakeCommitter = () => {
        clearTimeout(timer);
        wakeCommitter = undefined;
        resolve();
      };
    });
  }

  function enqueueCommit(p: Prepared, maxDocs: number, maxChunks: number): Promise<IngestResult> {
    countKey(`s:${p.source}`, 1);
    countKey(`h:${p.extracted.sha256}`, 1);
    const done = new Promise<IngestResult>((resolve, reject) =>
      commitQueue.push({ p, maxDocs, maxChunks, resolve, reject }),
    );
    queuedChunks += p.spans.length;
    if (gathered(gatherTarget)) wakeCommitter?.();
    if (!draining) {
      draining = true;
      committing = drainCommits();
    }
    return done.finally(() => {
      countKey(`s:${p.source}`, -1);
      countKey(`h:${p.extracted.sha256}`, -1);
    });
  }

  async function drainCommits(): Promise<void> {
    // Documents enqueued in the same synchronous run (a prepared batch) join the first commit together.
    await Promise.resolve();
    try {
      while (commitQueue.length > 0) {
        await gatherCommits();
        // The next batch: in queue order, within every member's limits, each source and content at most once.
        const batch: Queued[] = [];
        const keys = new Set<string>();
        let chunks = 0;
        let maxDocs = Infinity;
        let maxChunks = Infinity;
        while (commitQueue.length > 0) {
          const q = commitQueue[0];
          const docsCap = Math.min(maxDocs, q.maxDocs);
          const chunksCap = Math.min(maxChunks, q.maxChunks);
          const clash = keys.has(`s:${q.p.source}`) || keys.has(`h:${q.p.extracted.sha256}`);
          if (batch.length > 0 && (clash || batch.length >= docsCap || chunks + q.p.spans.length > chunksCap)) break;
          batch.push(commitQueue.shift()!);
          queuedChunks -= q.p.spans.length;
          keys.add(`s:${q.p.source}`).add(`h:${q.p.extracted.sha256}`);
          chunks += q.p.spans.length;
          maxDocs = docsCap;
          maxChunks = chunksCap;
        }
        const t0 = performance.now();
        try {
          const results = await commit(batch.map((b) => b.p));
          batch.forEach((b, k) => b.resolve(results[k]));
        } catch (e) {
          for (const b of batch) b.reject(e);
        }
        lastCommitDocs = batch.length + commitQueue.length;
        lastCommitMs = performance.now() - t0;
      }
    } finally {
      draining = false;
    }
  }

  async function ingestMany(inputs: IngestInput[], opts: IngestManyOptions = {}): Promise<IngestManyItem[]> {
    const maxDocs = Math.max(1, opts.batchDocuments ?? DEFAULT_BATCH_DOCUMENTS);
    const maxChunks = Math.max(1, opts.batchChunks ?? DEFAULT_BATCH_CHUNKS);
    const out: IngestManyItem[] = new Array(inputs.length);
    let done = 0;
    const finish = (index: number, started: number, item: IngestManyItem) => {
      out[index] = item;
      observer.onIngest?.((performance.now() - started) / 1000, item.ok);
      opts.onProgress?.({ done: ++done, total: inputs.length, index, item });
    };
    const waiting = new Set<Promise<void>>();
    let waitingChunks = 0;
    // Prepared documents are handed to the committer a batch at a time, so one commit takes them together while
    // the next batch is being prepared.
    let local: { i: number; started: number; p: Prepared }[] = [];
    let localChunks = 0;
    const handOver = () => {
      for (const { i, started, p } of local) {
        const n = p.spans.length;
        waitingChunks += n;
        const settled: Promise<void> = enqueueCommit(p, maxDocs, maxChunks).then(
          (result) => finish(i, started, { ok: true, result }),
          (e) => finish(i, started, { ok: false, error: toReflexiaError(e) }),
        );
        waiting.add(settled);
        void settled.finally(() => {
          waiting.delete(settled);
          waitingChunks -= n;
        });
      }
      local = [];
      localChunks = 0;
    };
    for (let i = 0; i < inputs.length; i++) {
      const started = performance.now();
      let p: Prepared | IngestResult;
      try {
        p = await prepare(inputs[i]);
      } catch (e) {
        finish(i, started, { ok: false, error: toReflexiaError(e) });
        continue;
      }
      if ("status" in p) {
        finish(i, started, { ok: true, result: p });
        continue;
      }
      local.push({ i, started, p });
      localChunks += p.spans.length;
      if (local.length >= maxDocs || localChunks >= maxChunks) handOver();
      // Embedded vectors wait in memory until committed: keep at most about two batches of them.
      while (waitingChunks > 2 * maxChunks && waiting.size > 0) await Promise.race(waiting);
    }
    handOver();
    await Promise.all(waiting);
    return out;
  }

  async function resultsFor(
    hits: SearchHit[],
    scores?: (h: SearchHit) => Record<string, number> | undefined,
  ): Promise<RagResult[]> {
    const out: RagResult[] = [];
    const docCache = new Map<string, RagDocument | undefined>();
    for (const h of hits) {
      const id = h.chunk.documentId;
      if (!docCache.has(id)) docCache.set(id, await store.getDocument(id));
      const doc = docCache.get(id);
      // A document deleted between search and lookup is skipped rather than cited without a title.
      if (!doc) continue;
      const s = scores?.(h);
      out.push({
        documentId: id,
        title: doc.title,
        source: doc.source,
        chunkId: h.chunk.id,
        chunkIndex: h.chunk.index,
        score: h.score,
        text: h.chunk.text,
        start: h.chunk.start,
        end: h.chunk.end,
        ...(s ? { scores: s } : {}),
      });
    }
    return out;
  }

  return {
    embedder,
    tokenizer,

    async ingest(input) {
      const [item] = await ingestMany([input]);
      if (!item.ok) throw item.error;
      return item.result;
    },

    ingestMany,

    async list(opts = {}) {
      const offset = checkInt("offset", opts.offset ?? 0, 0, Number.MAX_SAFE_INTEGER);
      const limit = checkInt("limit", opts.limit ?? 50, 1, MAX_DOCUMENT_PAGE);
      const page = await store.listDocuments({ offset, limit });
      return { ...page, offset, limit };
    },

    find: (query) => store.findDocument(query),

    async get(id, opts = {}) {
      const doc = await store.getDocument(id, { withText: opts.withText });
      if (!doc) throw new ReflexiaError("RFX_DOCUMENT_NOT_FOUND", `no document with id ${JSON.stringify(id)}`);
      return opts.withChunks ? { ...doc, chunks: await store.getChunks(id) } : doc;
    },

    delete(id) {
      return serial(async () => {
        const doc = await store.getDocument(id);
        if (!doc || !(await store.deleteDocument(id)))
          throw new ReflexiaError("RFX_DOCUMENT_NOT_FOUND", `no document with id ${JSON.stringify(id)}`);
        await reportCounts();
        return doc;
      });
    },

    async query(text, opts = {}) {
      if (typeof text !== "string" || text.trim() === "")
        throw new ReflexiaError("RFX_VALIDATION", "the query text is empty");
      const topK = checkInt("topK", opts.topK ?? defaultTopK, 1, MAX_TOP_K);
      const hybrid = opts.hybrid ?? defaultHybrid;
      const t0 = performance.now();
      const [vector] = await embedAll([text]);
      const t1 = performance.now();
      let results: RagResult[];
      if (hybrid) {
        const depth = Math.max(topK * FUSION_DEPTH_FACTOR, MIN_FUSION_DEPTH);
        const [vec, txt] = await Promise.all([
          store.vectorSearch(vector, { limit: depth, exact: opts.exact }),
          store.textSearch(text, { limit: depth }),
        ]);
        const fused = reciprocalRankFusion({ vector: vec, text: txt }, { limit: topK });
        results = await resultsFor(fused, (h) => (h as (typeof fused)[number]).scores);
      } else {
        results = await resultsFor(await store.vectorSearch(vector, { limit: topK, exact: opts.exact }));
      }
      const t2 = performance.now();
      observer.onRetrieval?.((t2 - t0) / 1000);
      return {
        results,
        mode: hybrid ? "hybrid" : "vector",
        timings: { embedMs: t1 - t0, searchMs: t2 - t1, totalMs: t2 - t0 },
      };
    },

    async stats() {
      const c = await store.counts();
      return {
        documents: c.documents,
        chunks: c.chunks,
        store: store.kind,
        ...("dir" in store ? { dir: (store as { dir: string }).dir } : {}),
        embedder: { id: embedder.id, dim: embedder.dim },
        distance: store.distance,
        index: await store.indexInfo(),
        chunkSize,
        chunkOverlap,
        topK: defaultTopK,
        hybrid: defaultHybrid,
        annThreshold,
      };
    },

    verify: () => store.verify(),
    optimize: () => store.optimize(),
    ready: () => ready,

    async close() {
      closing = true;
      await committing;
      await serial(async () => undefined);
      await store.close();
    },
  };
}
