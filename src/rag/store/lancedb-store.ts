// The embedded LanceDB VectorStore: a documents table and a chunks table whose commit protocol survives SIGKILL.
//
// Durability design (what must stay true):
// - Every LanceDB write (add, mergeInsert, delete, optimize) is one atomic commit: data files are written first
//   and a new manifest version is published last, so a killed process leaves each table at its previous or its
//   next version, never in between.
// - A document is committed in two such writes. (1) All its chunks, vectors included, are appended to `chunks` in
//   ONE add, tagged with a fresh `ingest_id`. (2) Its row is upserted into `documents` (mergeInsert on id) carrying
//   that `ingest_id`: this is the commit point, and commitDocument resolves (the caller acks) only after it.
//   A batch (commitDocuments) does the same with one append of all its chunks and one of all its new rows.
//   (3) Chunks of the superseded ingest of the same document, if any, are deleted.
// - A chunk is live only if its document row exists and names its ingest_id. Searches filter on that (in memory,
//   over-fetching by the number of rows that may be stale), so chunks of an ingest in flight, of a replaced
//   version not yet deleted, or of a deleted document are never returned.
// - Opening the store deletes every chunk whose ingest_id no document row names: the leftovers of a crash between
//   (1) and (2) (a document never acknowledged) or after (2) (old version, deleted document). It decides under the
//   cross-process lock on the latest version of both tables, as every write does, so a document another process
//   sharing the store committed is never taken for an orphan. Deleting a document
//   removes its row first (the commit point of a delete), then its chunks.
// So after any crash and reopen each document is either absent or present with exactly the chunks of its last
// acknowledged ingest.
//
// The in-memory index (memory-index.ts), when enabled, mirrors the live chunks and answers every search: it is
// filled from the table at open (after the recovery above, so it starts equal to what LanceDB holds live) and
// changed only at the commit points, in the same synchronous step that changes the in-memory document map: a
// commit's chunks enter it once their document row is committed, a delete's leave it once the row is gone. So it
// never returns a chunk LanceDB does not hold live, and verify() checks it chunk by chunk. It is dropped (searches
// go back to LanceDB, with its ANN index past `annThreshold`) when it would outgrow `memoryIndex.maxBytes`.
//
// Index maintenance: a refresh (LanceDB optimize) folds new rows into the BM25 and HNSW indexes. It runs when
// commits pause (debounced), and a full-text search first runs the refresh covering the commits made before it,
// so an acknowledged document is searchable by text as soon as by vector. Vector search is exact (every
// vector compared) until the table reaches `annThreshold` rows; then an IVF_HNSW_SQ index is built in the
// background, and rebuilt whenever the table has doubled since.
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import * as lancedb from "@lancedb/lancedb";
import { createRequire } from "node:module";
import type {
  Data,
  FixedSizeList as FixedSizeListType,
  Float32 as Float32Type,
  Schema as SchemaType,
  Table as ArrowTableType,
} from "apache-arrow";
import { CONFIG_DEFAULTS } from "../../config/index.ts";
import { ReflexiaError } from "../../errors/index.ts";
import { withStoreLock } from "../../registry/store-lock.ts";
import type { DistanceMetric, DocumentType, RagChunk, RagDocument } from "../types.ts";
import { createMemoryIndex, type MemoryIndex, type MemoryIndexQuantization } from "./memory-index.ts";
import {
  distanceToScore,
  type CommitItem,
  type DocumentRecord,
  type EmbeddedChunk,
  type ListDocumentsOptions,
  type MemoryIndexInfo,
  type SearchHit,
  type SearchOptions,
  type StoreIndexInfo,
  type StoreVerifyReport,
  type VectorStore,
} from "./vector-store.ts";

/**
 * Lance sizes its compute pool from the cores less two it keeps for I/O, and at two cores or fewer runs it on one
 * thread ("not a supported configuration", in its own words). `optimize` then deadlocks once a table grows: a task on
 * the only compute thread waits for another (seen at ~50,000 chunks on a 2-core machine: the process idle for good,
 * a "lance-cpu" thread parked in `EventListenerFuture::wait`). With four threads the same 100,000-document ingest
 * completes. Unless the user set it, the pool gets at least MIN_LANCE_CPU_THREADS; Lance reads the variable when it
 * first computes, after this module is loaded.
 */
const MIN_LANCE_CPU_THREADS = 4;
if (!process.env.LANCE_CPU_THREADS)
  process.env.LANCE_CPU_THREADS = String(Math.max(MIN_LANCE_CPU_THREADS, availableParallelism() - 2));

// Arrow through require: LanceDB loads apache-arrow's CommonJS build, and its `instanceof` checks only accept
// objects of that instance (an ESM import is a second copy whose tables LanceDB would have to rebuild).
const {
  Field,
  FixedSizeList,
  Float32,
  Float64,
  Int32,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table: ArrowTable,
  Utf8,
  vectorFromArray,
} = createRequire(import.meta.url)("apache-arrow") as typeof import("apache-arrow");

export interface LanceDbStoreOptions {
  /** Directory of the database, e.g. `$REFLEXIA_HOME/rag/lancedb`; created when missing. */
  dir: string;
  dim: number;
  /** Identity of the embedder whose vectors the store holds; reopening with another one is refused. */
  embedderId: string;
  /** Defaults to config `vector_db.distance_metric`. */
  distance?: DistanceMetric;
  /** Chunk rows past which an ANN (IVF_HNSW_SQ) index is built; exact search below. Defaults to config `rag.ann_threshold`. */
  annThreshold?: number;
  /** Commits after which the documents table is compacted in the background. Defaults to 50. */
  optimizeEvery?: number;
  /** HNSW search breadth; higher is more accurate and slower. Defaults to 300 (see src/bench/rag-bench.ts). */
  ef?: number;
  /** HNSW graph degree and build breadth. Default to 32 and 400: hashed-feature vectors are nearly orthogonal,
   * and a sparser graph (LanceDB's 20/300) lost a third more true neighbours at 10k chunks. */
  hnsw?: { m?: number; efConstruction?: number };
  /**
   * Mirror the live chunks in memory and search them there (see the module comment). Off when absent; the
   * product passes config `rag.memory_index_max_bytes` and `rag.memory_index_quantization`.
   */
  memoryIndex?: { maxBytes: number; quantization: MemoryIndexQuantization; candidates?: number; forceJs?: boolean };
  /** Receives errors of background maintenance (they never fail a commit). Defaults to console.warn. */
  onBackgroundError?: (e: unknown) => void;
  /**
   * How often (ms) to look for changes another process made to the store (documents added or deleted by a CLI
   * with --local), so a long-lived server lists and searches them within that time. 0 looks only before this
   * process's own writes. Defaults to 0.
   */
  watchIntervalMs?: number;
  /** Called (outside the store's lock) after the view was reloaded because another process changed the store. */
  onExternalChange?: () => void;
  /**
   * Fault-injection seam for tests: called after each write of a commit (`chunks`: step 1 appended, `documents`:
   * step 2 committed). Throwing from it leaves the tables exactly as a crash at that point would.
   */
  onCommitStep?: (step: "chunks" | "documents") => void | Promise<void>;
}

interface StoreMeta {
  format: 1;
  embedderId: string;
  dim: number;
  /** Distance metric the ANN index was built for, when one exists. */
  annDistance?: DistanceMetric;
  /** Rows in the table when the ANN index was built. */
  annRows?: number;
  createdAt: string;
}

/** Document metadata held in memory (no text) plus the ingest that owns its live chunks. */
interface DocState extends Omit<RagDocument, "text"> {
  ingestId: string;
}

const DOCS = "documents";
const CHUNKS = "chunks";
const CHUNK_COLUMNS = [
  "id",
  "document_id",
  "ingest_id",
  "chunk_index",
  "text",
  "char_start",
  "char_end",
  "token_count",
];
const DOC_META_COLUMNS = [
  "id",
  "source",
  "title",
  "type",
  "mime_type",
  "size",
  "sha256",
  "added_at",
  "chunk_count",
  "char_count",
  "ingest_id",
];
const CHUNK_FIELDS = [
  "id",
  "documentId",
  "index",
  "text",
  "start",
  "end",
  "tokenCount",
] as const satisfies readonly (keyof RagChunk)[];
const LANCE_DISTANCE: Record<DistanceMetric, "dot" | "cosine" | "l2"> = { ip: "dot", cosine: "cosine", l2: "l2" };
/**
 * Distance the ANN index is trained and searched with. LanceDB 0.31's IVF_HNSW_SQ with "dot" returns near-random
 * neighbours (recall@10 0.13 against exact search on 400 random unit vectors, where "cosine" and "l2" reach 0.99),
 * so inner product is served by a cosine index: every Embedder returns unit vectors, for which both rank alike.
 */
const ANN_DISTANCE: Record<DistanceMetric, "cosine" | "l2"> = { ip: "cosine", cosine: "cosine", l2: "l2" };
/** Quiet time after a commit before the index refresh runs, and the longest a refresh is put off. */
const REFRESH_DEBOUNCE_MS = 200;
const REFRESH_MAX_DELAY_MS = 2000;
/**
 * During a burst of commits the refresh waits at least this many times its own last duration: folding rows into the
 * BM25 index took 2.5-6 s at 5,000-36,000 chunks of 512 tokens (it holds the write lock), so at most about a fifth
 * of a long ingest goes to it instead of most of it.
 */
const REFRESH_DUTY_FACTOR = 4;
/** Small fragments found at open past which a refresh (compaction) is started at once. */
const SMALL_FRAGMENTS_AT_OPEN = 16;
/** The ANN index is rebuilt once the table has grown by this factor since it was built (deltas degrade it). */
const ANN_REBUILD_GROWTH = 2;
/** Rows below which an IVF_HNSW_SQ index cannot be trained meaningfully. */
const MIN_ANN_ROWS = 256;
/** Versions younger than this survive cleanup, so a search started on an older version can still read it. */
const KEEP_VERSIONS_MS = 60_000;

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function documentsSchema(): SchemaType {
  return new Schema([
    new Field("id", new Utf8(), false),
    new Field("source", new Utf8(), false),
    new Field("title", new Utf8(), false),
    new Field("type", new Utf8(), false),
    new Field("mime_type", new Utf8(), false),
    new Field("size", new Float64(), false),
    new Field("sha256", new Utf8(), false),
    new Field("added_at", new Utf8(), false),
    new Field("chunk_count", new Int32(), false),
    new Field("char_count", new Int32(), false),
    new Field("ingest_id", new Utf8(), false),
    new Field("text", new Utf8(), false),
  ]);
}

function chunksSchema(dim: number): SchemaType {
  return new Schema([
    new Field("id", new Utf8(), false),
    new Field("document_id", new Utf8(), false),
    new Field("ingest_id", new Utf8(), false),
    new Field("chunk_index", new Int32(), false),
    new Field("text", new Utf8(), false),
    new Field("char_start", new Int32(), false),
    new Field("char_end", new Int32(), false),
    new Field("token_count", new Int32(), false),
    new Field("vector", new FixedSizeList(dim, new Field("item", new Float32(), true)), false),
  ]);
}

type Row = Record<string, unknown>;

/**
 * Chunk rows as one Arrow table built column by column (the vectors copied once into one Float32Array): row
 * objects would make LanceDB infer a schema and box every float, the largest cost of an ingest batch.
 */
function chunksTableOf(rows: { c: EmbeddedChunk; ingestId: string }[]): ArrowTableType {
  const dim = rows[0]?.c.vector.length ?? 0;
  const n = rows.length;
  const vectors = new Float32Array(n * dim);
  rows.forEach(({ c }, i) => vectors.set(c.vector, i * dim));
  const schema = chunksSchema(dim);
  const ints = (f: (c: EmbeddedChunk) => number) =>
    makeData({ type: new Int32(), length: n, nullCount: 0, data: Int32Array.from(rows, ({ c }) => f(c)) });
  const strings = (values: string[]) => vectorFromArray(values, new Utf8()).data[0];
  const vectorType = schema.fields.find((f) => f.name === "vector")!.type as FixedSizeListType<Float32Type>;
  const columns: Record<string, Data> = {
    id: strings(rows.map(({ c }) => c.id)),
    document_id: strings(rows.map(({ c }) => c.documentId)),
    ingest_id: strings(rows.map(({ ingestId }) => ingestId)),
    chunk_index: ints((c) => c.index),
    text: strings(rows.map(({ c }) => c.text)),
    char_start: ints((c) => c.start),
    char_end: ints((c) => c.end),
    token_count: ints((c) => c.tokenCount),
    vector: makeData({
      type: vectorType,
      length: n,
      nullCount: 0,
      child: makeData({ type: new Float32(), length: n * dim, nullCount: 0, data: vectors }),
    }),
  };
  const struct = makeData({
    type: new Struct(schema.fields),
    length: n,
    nullCount: 0,
    children: schema.fields.map((f) => columns[f.name]),
  });
  return new ArrowTable(schema, [new RecordBatch(schema, struct)]);
}

function rowToDoc(r: Row): DocState {
  return {
    id: r.id as string,
    source: r.source as string,
    title: r.title as string,
    type: r.type as DocumentType,
    mimeType: r.mime_type as string,
    size: Number(r.size),
    sha256: r.sha256 as string,
    addedAt: r.added_at as string,
    chunkCount: Number(r.chunk_count),
    charCount: Number(r.char_count),
    ingestId: r.ingest_id as string,
  };
}

function rowToChunk(r: Row): RagChunk {
  return {
    id: r.id as string,
    documentId: r.document_id as string,
    index: Number(r.chunk_index),
    text: r.text as string,
    start: Number(r.char_start),
    end: Number(r.char_end),
    tokenCount: Number(r.token_count),
  };
}

function publicDoc(d: DocState): RagDocument {
  const { ingestId: _i, ...doc } = d;
  return doc;
}

/** Serialises writes: LanceDB allows concurrent commits, but the commit protocol above assumes one writer. */
function createMutex() {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}

function readMeta(path: string): StoreMeta | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, "utf8")) as StoreMeta;
  } catch (e) {
    throw new ReflexiaError(
      "RFX_CONFIG_INVALID",
      `vector store metadata ${path} is unreadable: ${(e as Error).message}`,
    );
  }
}

function writeMeta(path: string, meta: StoreMeta): void {
  // Write-then-rename so a crash never leaves a truncated metadata file.
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(meta, null, 2));
  renameSync(tmp, path);
}

/** Opens (creating when missing) the store under `dir` and removes what an interrupted ingest left behind. */
export async function openLanceDbStore(options: LanceDbStoreOptions): Promise<VectorStore & { readonly dir: string }> {
  const { dir, dim, embedderId } = options;
  const metric = options.distance ?? CONFIG_DEFAULTS.vector_db.distance_metric;
  const annThreshold = options.annThreshold ?? CONFIG_DEFAULTS.rag.ann_threshold;
  const optimizeEvery = options.optimizeEvery ?? 50;
  const ef = options.ef ?? 300;
  const hnswM = options.hnsw?.m ?? 32;
  const hnswEfConstruction = options.hnsw?.efConstruction ?? 400;
  const onBackgroundError =
    options.onBackgroundError ??
    ((e: unknown) => console.warn(`[rag] background optimize failed: ${(e as Error).message}`));
  mkdirSync(dir, { recursive: true });
  const metaPath = join(dir, "reflexia-store.json");

  const docs = new Map<string, DocState>();
  const bySource = new Map<string, string>();
  /** Content hash → ids of the documents with it, so a duplicate check is a lookup, not a scan of every document. */
  const bySha = new Map<string, Set<string>>();
  const indexSha = (d: { id: string; sha256: string }) =>
    (bySha.get(d.sha256) ?? bySha.set(d.sha256, new Set()).get(d.sha256)!).add(d.id);
  const unindexSha = (d: { id: string; sha256: string }) => {
    const ids = bySha.get(d.sha256);
    ids?.delete(d.id);
    if (ids?.size === 0) bySha.delete(d.sha256);
  };
  let sortedCache: DocState[] | undefined;
  /** The sum of the documents' chunk counts, kept with `docs` (a sum per commit cost O(documents) each time). */
  let liveChunks = 0;
  /** Called whenever `docs` changes, with the change in live chunks: updates what is derived from it. */
  const docsChanged = (chunkDelta: number) => {
    sortedCache = undefined;
    liveChunks += chunkDelta;
  };
  /** Rebuilds the in-memory view of committed documents from the table (the source of truth). */
  async function loadDocs(table: lancedb.Table): Promise<void> {
    // Read first, then swap in one synchronous step: a listing that runs during the read sees the old view whole,
    // never a half-filled map (nor caches one).
    const rows = (await table.query().select(DOC_META_COLUMNS).toArray()) as Row[];
    docs.clear();
    bySource.clear();
    bySha.clear();
    docsChanged(-liveChunks);
    for (const r of rows) {
      const d = rowToDoc(r);
      docs.set(d.id, d);
      liveChunks += d.chunkCount;
      bySource.set(d.source, d.id);
      indexSha(d);
    }
  }
  // Another process may share this store (a CLI with --local beside the server): every write, refresh and the
  // recovery below run under a lock file as well as the in-process mutex, so its in-flight chunks are never taken
  // for orphans and two commit protocols never interleave. A table handle shows the version it was opened or last
  // checked out at, not what the other process committed since: whatever deletes or replaces data decides on both
  // tables at their latest version, read under the lock (the tables are opened under it here; `exclusive` checks
  // them out again). Opened before the lock, the recovery would take the chunks of a document the other process
  // committed meanwhile for orphans and delete them.
  const lockPath = join(dir, ".write.lock");
  const db = await lancedb.connect(dir);
  let meta: StoreMeta | undefined;
  let hasAnn = false;
  let annBuiltRows = 0;
  const { docsTable, chunksTable, indices, orphans, openedVersion } = await withStoreLock(lockPath, async () => {
    meta = readMeta(metaPath);
    if (meta && (meta.embedderId !== embedderId || meta.dim !== dim)) {
      throw new ReflexiaError(
        "RFX_CONFIG_INVALID",
        `the vector store at ${dir} holds vectors of embedder ${meta.embedderId} (${meta.dim}-d), not ${embedderId} (${dim}-d); ` +
          "use the same embedder (rag.embedding_model, vector_db.embedding_dim) or another store directory",
      );
    }
    if (!meta) {
      meta = { format: 1, embedderId, dim, createdAt: new Date().toISOString() };
      writeMeta(metaPath, meta);
    }
    const names = new Set(await db.tableNames());
    const docsTable = names.has(DOCS) ? await db.openTable(DOCS) : await db.createEmptyTable(DOCS, documentsSchema());
    const chunksTable = names.has(CHUNKS)
      ? await db.openTable(CHUNKS)
      : await db.createEmptyTable(CHUNKS, chunksSchema(dim));

    const indices = await chunksTable.listIndices();
    if (!indices.some((i) => i.columns.includes("text") && i.indexType === "FTS")) {
      // BM25 index. LanceDB 0.31's search of rows not yet indexed drops matches unpredictably, so searches use only
      // the index (fastSearch) and every commit is followed by a refresh that folds new rows into it.
      await chunksTable.createIndex("text", { config: lancedb.Index.fts({ withPosition: false }), replace: true });
    }
    hasAnn = indices.some((i) => i.columns.includes("vector"));
    annBuiltRows = hasAnn ? (meta.annRows ?? 0) : 0;
    if (hasAnn && meta.annDistance !== metric) {
      // An index trained for another distance would rank wrongly: drop it, optimize() rebuilds it.
      const vectorIndex = indices.find((i) => i.columns.includes("vector"))!;
      await chunksTable.dropIndex(vectorIndex.name);
      hasAnn = false;
    }

    // Recovery: drop chunks no committed document owns (see the module comment).
    await loadDocs(docsTable);
    const liveIngests = new Set([...docs.values()].map((d) => d.ingestId));
    const seen = new Set<string>();
    for (const r of (await chunksTable.query().select(["ingest_id"]).toArray()) as Row[])
      seen.add(r.ingest_id as string);
    const orphans = [...seen].filter((g) => !liveIngests.has(g));
    for (let i = 0; i < orphans.length; i += 200) {
      await chunksTable.delete(
        `ingest_id IN (${orphans
          .slice(i, i + 200)
          .map(sqlString)
          .join(", ")})`,
      );
    }
    return { docsTable, chunksTable, indices, orphans, openedVersion: await docsTable.version() };
  });
  const reloadDocs = () => loadDocs(docsTable);

  const mutex = createMutex();
  let watchTimer: NodeJS.Timeout | undefined;
  /** The documents table's version this process's view (docs, memory index) was built from. */
  let knownVersion = openedVersion;
  /**
   * Runs `fn` alone, in this process and across processes. First it brings the view up to date when another
   * process changed the store since (its commits move the documents table's version): the document map is
   * reloaded and the in-memory index refilled, so what that process added or deleted is listed and searched here.
   */
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> =>
    mutex(() =>
      withStoreLock(lockPath, async () => {
        if (!closed) await catchUpWithOtherWriters();
        try {
          return await fn();
        } finally {
          if (!closed) knownVersion = await docsTable.version();
        }
      }),
    );
  async function catchUpWithOtherWriters(): Promise<void> {
    await docsTable.checkoutLatest();
    await chunksTable.checkoutLatest();
    const latest = await docsTable.version();
    if (latest === knownVersion) return;
    knownVersion = latest;
    await reloadDocs();
    if (options.onExternalChange) setImmediate(options.onExternalChange);
    if (mem && memOptions && memState === "serving") {
      // Searches go to LanceDB while the index refills (it answers only when "serving").
      const index = mem;
      memState = "loading";
      index.clear();
      await loadMemoryIndex(index, memOptions.maxBytes);
      if (mem === index) memState = "serving";
    }
  }
  /** Upper bound of chunk rows in the table that are not live (in flight, superseded, deleted). */
  let staleRows = 0;
  let commitsSinceCompaction = orphans.length > 0 ? optimizeEvery : 0;
  let closed = false;
  /** Commits so far, and the last one whose rows the full-text index covers. */
  let commitGen = 0;
  let indexedGen = 0;
  /** A refresh enqueued behind the writes but not started yet: later commits can ride on it. */
  let queuedRefresh: Promise<void> | undefined;
  let lastRefresh: Promise<void> = Promise.resolve();
  let annJob: Promise<void> | undefined;

  const live = () => {
    if (closed) throw new ReflexiaError("RFX_INTERNAL", "the vector store is closed");
  };
  const liveChunkCount = () => liveChunks;
  const isLive = (r: Row) => docs.get(r.document_id as string)?.ingestId === r.ingest_id;
  const keepAfter = () => new Date(Date.now() - KEEP_VERSIONS_MS);

  // The in-memory index starts from the table as recovered: exactly the live chunks. It fills in the background
  // under the write lock (no commit or delete can interleave, so it sees one consistent state), and searches go to
  // LanceDB until it is ready: opening a large store does not wait for it (≈ 0.3 ms of CPU per 512-token chunk).
  const memOptions = options.memoryIndex && options.memoryIndex.maxBytes > 0 ? options.memoryIndex : undefined;
  let mem: MemoryIndex | undefined;
  let memState: MemoryIndexInfo["state"] = memOptions ? "loading" : "off";
  let memLoaded: Promise<void> = Promise.resolve();
  if (memOptions) {
    const index = createMemoryIndex({
      dim,
      metric,
      quantization: memOptions.quantization,
      candidates: memOptions.candidates,
      forceJs: memOptions.forceJs,
      maxBytes: memOptions.maxBytes,
    });
    mem = index;
    memLoaded = exclusive(async () => {
      if (closed) return dropMemoryIndex();
      await loadMemoryIndex(index, memOptions.maxBytes);
      if (mem === index) memState = "serving";
    }).catch((e) => {
      onBackgroundError(e);
      dropMemoryIndex();
    });
  }
  if (options.watchIntervalMs && options.watchIntervalMs > 0) {
    watchTimer = setInterval(() => {
      if (!closed) exclusive(async () => undefined).catch(onBackgroundError);
    }, options.watchIntervalMs);
    watchTimer.unref();
  }
  /** The index when it answers searches (not while it fills). */
  const serving = () => (memState === "serving" ? mem : undefined);

  /** Fills the index from the table, a document at a time (its rows come from one append, so they arrive together). */
  async function loadMemoryIndex(index: MemoryIndex, maxBytes: number): Promise<void> {
    // The float32 rows alone would not fit: do not even start.
    if (liveChunks * dim * 4 > maxBytes) return dropMemoryIndex();
    index.reserve(liveChunks);
    const partial = new Map<string, EmbeddedChunk[]>();
    for await (const batch of chunksTable.query().select([...CHUNK_COLUMNS, "vector"])) {
      // Column by column: a row object per chunk (toJSON) and a vector copied element by element cost more than
      // the BM25 analysis of its text. The vectors are one contiguous float32 column, viewed (the index copies).
      const column = (name: string) => batch.getChild(name)!.toArray() as ArrayLike<unknown>;
      const [ids, documentIds, ingestIds, indexes, texts, starts, ends, tokens] = CHUNK_COLUMNS.map(column);
      const vectors = batch.getChild("vector")!.getChildAt(0)!.toArray() as Float32Array;
      for (let i = 0; i < batch.numRows; i++) {
        const documentId = documentIds[i] as string;
        const d = docs.get(documentId);
        if (!d || d.ingestId !== ingestIds[i]) continue;
        const list = partial.get(documentId) ?? partial.set(documentId, []).get(documentId)!;
        list.push({
          id: ids[i] as string,
          documentId,
          index: Number(indexes[i]),
          text: texts[i] as string,
          start: Number(starts[i]),
          end: Number(ends[i]),
          tokenCount: Number(tokens[i]),
          vector: vectors.subarray(i * dim, (i + 1) * dim),
        });
        if (list.length === d.chunkCount) {
          index.setDocument(
            documentId,
            d.ingestId,
            list.sort((a, b) => a.index - b.index),
          );
          partial.delete(documentId);
        }
      }
      if (index.stats().bytes > maxBytes) return dropMemoryIndex();
    }
    // A document whose rows did not all arrive cannot be mirrored exactly: LanceDB serves instead.
    if (partial.size > 0) {
      onBackgroundError(
        new Error(`in-memory index: ${partial.size} document(s) with missing chunk rows; searching LanceDB instead`),
      );
      dropMemoryIndex();
    }
  }

  /** Frees the in-memory index; searches go to LanceDB (and its ANN index is built once due). */
  function dropMemoryIndex(): void {
    mem?.clear();
    mem = undefined;
    if (memState === "serving" || memState === "loading") memState = "over_limit";
  }

  /** After a commit or delete changed `docs`: drops the index when it has outgrown its bound. */
  function checkMemoryBound(): void {
    if (mem && memOptions && mem.stats().bytes > memOptions.maxBytes) dropMemoryIndex();
  }

  /** Folds new rows into the FTS (and ANN) indexes; compacts the documents table now and then. */
  /** How long the last refresh took (it bounds how often a burst of commits triggers one). */
  let lastRefreshMs = 0;
  let lastRefreshEnd = 0;
  async function refreshLocked(): Promise<void> {
    const gen = commitGen;
    const t0 = performance.now();
    await chunksTable.optimize({ cleanupOlderThan: keepAfter() });
    lastRefreshEnd = performance.now();
    lastRefreshMs = lastRefreshEnd - t0;
    indexedGen = Math.max(indexedGen, gen);
    if (commitsSinceCompaction >= optimizeEvery) {
      commitsSinceCompaction = 0;
      await docsTable.optimize({ cleanupOlderThan: keepAfter() });
    }
  }

  // While the in-memory index serves, an HNSW index would only cost CPU (minutes at 100k rows): it is built once
  // LanceDB serves again.
  const annWanted = (rows: number) =>
    !mem && rows >= Math.max(annThreshold, MIN_ANN_ROWS) && (!hasAnn || rows >= annBuiltRows * ANN_REBUILD_GROWTH);

  async function buildAnnLocked(): Promise<void> {
    const rows = await chunksTable.countRows();
    if (!annWanted(rows)) return;
    await chunksTable.createIndex("vector", {
      // One partition: a single HNSW graph, the layout LanceDB recommends below millions of rows.
      config: lancedb.Index.hnswSq({
        distanceType: ANN_DISTANCE[metric],
        numPartitions: 1,
        m: hnswM,
        efConstruction: hnswEfConstruction,
      }),
      replace: true,
    });
    hasAnn = true;
    annBuiltRows = rows;
    // Read again: another process sharing the store may have rewritten the file since this one read it.
    meta = { ...(readMeta(metaPath) ?? meta!), annDistance: metric, annRows: rows };
    writeMeta(metaPath, meta);
  }

  /** A refresh is queued or running (from queueRefresh until it ends). */
  let refreshPending = false;
  /** Queues one refresh behind the writes unless one is already waiting to start. */
  function queueRefresh(): Promise<void> {
    if (queuedRefresh) return queuedRefresh;
    refreshPending = true;
    const p: Promise<void> = exclusive(async () => {
      queuedRefresh = undefined;
      try {
        if (closed) return;
        await refreshLocked();
        // Commits that came in while it was queued or ran wait for the next one, timed from this one's end.
        if (commitGen > indexedGen) scheduleRefresh();
      } finally {
        refreshPending = false;
      }
    }).catch(onBackgroundError);
    queuedRefresh = p;
    lastRefresh = p;
    return p;
  }

  let refreshTimer: NodeJS.Timeout | undefined;
  let dirtySince = 0;
  /**
   * A refresh rewrites small fragments (cost grows with the table), so bursts of commits share one: it runs once
   * writes pause for REFRESH_DEBOUNCE_MS, at the latest REFRESH_MAX_DELAY_MS after the first unindexed commit, and
   * never sooner than REFRESH_DUTY_FACTOR × the last refresh's duration after it ended; at once when a full-text
   * search of LanceDB needs it.
   */
  function scheduleRefresh(): void {
    const now = Date.now();
    if (dirtySince === 0) dirtySince = now;
    if (refreshTimer) clearTimeout(refreshTimer);
    // Never sooner than REFRESH_DUTY_FACTOR × its last duration after the last one ended: commits that pause
    // briefly (concurrent uploads) would otherwise start a refresh in every pause.
    const gap = REFRESH_DUTY_FACTOR * lastRefreshMs;
    const maxDelay = Math.max(REFRESH_MAX_DELAY_MS, gap);
    const wait = Math.max(
      0,
      lastRefreshEnd + gap - performance.now(),
      Math.min(REFRESH_DEBOUNCE_MS, dirtySince + maxDelay - now),
    );
    refreshTimer = setTimeout(() => {
      refreshTimer = undefined;
      dirtySince = 0;
      // One already queued covers these commits; one running reschedules for them when it ends. Queuing another
      // behind a running one gave back-to-back refreshes, the second for a single commit (half of them wasted).
      if (!refreshPending) void queueRefresh();
    }, wait);
    refreshTimer.unref();
  }

  /** Called inside the write lock after every change: schedules the index refresh, and the ANN build when due. */
  function afterWrite(): void {
    commitGen++;
    commitsSinceCompaction++;
    scheduleRefresh();
    if (!annJob && annWanted(liveChunkCount())) {
      annJob = exclusive(async () => {
        if (!closed) await buildAnnLocked();
      })
        .catch(onBackgroundError)
        .finally(() => {
          annJob = undefined;
        });
    }
  }

  /** Resolves once the full-text index covers every commit made before the call (read-your-writes for BM25). */
  async function ftsCaughtUp(): Promise<void> {
    const need = commitGen;
    while (indexedGen < need && !closed) {
      const p = queueRefresh();
      await p;
      // A failed refresh leaves indexedGen behind; searching the index as it is beats waiting forever.
      if (indexedGen < need && p === lastRefresh) return;
    }
  }

  // A crash loop or a long burst can leave many small fragments (each commit adds one) that slow every scan:
  // compact them and bring the indexes up to date in the background right away. A kill after an acknowledged
  // commit but before its debounced refresh leaves rows the full-text index does not cover (searches use only the
  // index): counting that as a commit makes the first text search wait for the refresh, as after any commit.
  const fragments = (await chunksTable.stats()).fragmentStats;
  // `indices` is from before open created a missing FTS index; a freshly created one covers every row already.
  const ftsIndex = indices.find((i) => i.columns.includes("text") && i.indexType === "FTS");
  const ftsUnindexed = ftsIndex ? ((await chunksTable.indexStats(ftsIndex.name))?.numUnindexedRows ?? 0) : 0;
  if (orphans.length > 0 || ftsUnindexed > 0 || fragments.numSmallFragments > SMALL_FRAGMENTS_AT_OPEN) {
    commitGen++;
    void queueRefresh();
  }

  function memoryInfo(): MemoryIndexInfo {
    const st = mem?.stats();
    return {
      state: memState,
      maxBytes: memOptions?.maxBytes ?? 0,
      chunks: st?.chunks ?? 0,
      bytes: st?.bytes ?? 0,
      vectorBytes: st?.vectorBytes ?? 0,
      textBytes: st?.textBytes ?? 0,
      chunkBytes: st?.chunkBytes ?? 0,
      quantization: memOptions?.quantization ?? "none",
      scan: st?.scan ?? "none",
    };
  }

  const store: VectorStore & { readonly dir: string } = {
    memoryIndexInfo: memoryInfo,
    memoryIndexReady: () => memLoaded,
    kind: "lancedb",
    dir,
    dim,
    distance: metric,

    commitDocument(doc: DocumentRecord, chunks: EmbeddedChunk[]) {
      return store.commitDocuments([{ doc, chunks }]);
    },

    commitDocuments(items: CommitItem[]) {
      return exclusive(async () => {
        live();
        if (items.length === 0) return;
        const ids = new Set<string>();
        for (const { doc, chunks } of items) {
          if (ids.has(doc.id))
            throw new ReflexiaError("RFX_INTERNAL", `document ${doc.id} appears twice in one commit`);
          ids.add(doc.id);
          for (const c of chunks) {
            if (c.vector.length !== dim)
              throw new ReflexiaError(
                "RFX_INTERNAL",
                `chunk vector has ${c.vector.length} dimensions, the store ${dim}`,
              );
            if (c.documentId !== doc.id)
              throw new ReflexiaError("RFX_INTERNAL", `chunk ${c.id} belongs to ${c.documentId}, not ${doc.id}`);
          }
        }
        const staged = items.map(({ doc, chunks }) => ({
          doc,
          chunks,
          ingestId: crypto.randomUUID(),
          previous: docs.get(doc.id),
        }));
        const chunkRows = chunksTableOf(staged.flatMap(({ chunks, ingestId }) => chunks.map((c) => ({ c, ingestId }))));
        const docRow = ({ doc, chunks, ingestId }: (typeof staged)[number]) => ({
          id: doc.id,
          source: doc.source,
          title: doc.title,
          type: doc.type,
          mime_type: doc.mimeType,
          size: doc.size,
          sha256: doc.sha256,
          added_at: doc.addedAt,
          chunk_count: chunks.length,
          char_count: doc.charCount,
          ingest_id: ingestId,
          text: doc.text,
        });
        const fresh = staged.filter((s) => !s.previous);
        const replacing = staged.filter((s) => s.previous);
        staleRows += chunkRows.numRows;
        try {
          // Step 1: every chunk of the batch in one atomic append, invisible until step 2 names its ingest.
          if (chunkRows.numRows > 0) await chunksTable.add(chunkRows);
          await options.onCommitStep?.("chunks");
          // Step 2, the commit point: document rows now name the new ingests. New documents are one atomic
          // append; a replacement must swap its row in one commit (mergeInsert), never delete-then-add, or a crash
          // in between would lose an acknowledged document. mergeInsert joins against the whole table, so it is
          // kept to replacements.
          if (fresh.length > 0) await docsTable.add(fresh.map(docRow));
          if (replacing.length > 0)
            await docsTable
              .mergeInsert("id")
              .whenMatchedUpdateAll()
              .whenNotMatchedInsertAll()
              .execute(replacing.map(docRow));
        } catch (e) {
          // Rows of step 1 are now orphans: searches must keep skipping them until the next open removes them.
          afterWrite();
          // Whatever step 1 wrote is unreachable (no document names it) and removed at the next open; rows
          // already committed in step 2 are complete, so memory is resynchronised from the table.
          await reloadDocs().catch(() => undefined);
          // The index follows the reloaded map: documents of this batch whose row did commit, and no others.
          if (mem) {
            for (const id of [...mem.documentIds()])
              if (docs.get(id)?.ingestId !== mem.ingestOf(id)) mem.removeDocument(id);
            for (const { doc, chunks, ingestId } of staged)
              if (docs.get(doc.id)?.ingestId === ingestId) mem.setDocument(doc.id, ingestId, chunks);
            // A document the map names but the index lacks (the reload itself failed): only LanceDB can serve.
            if (mem.stats().documents !== docs.size) dropMemoryIndex();
          }
          checkMemoryBound();
          throw new ReflexiaError(
            "RFX_INTERNAL",
            `storing ${items.length} document(s) failed: ${(e as Error).message}`,
            undefined,
            { cause: e },
          );
        }
        for (const { doc, chunks, ingestId, previous } of staged) {
          const { text: _t, ...metaOnly } = doc;
          if (previous && previous.source !== doc.source && bySource.get(previous.source) === doc.id)
            bySource.delete(previous.source);
          if (previous) unindexSha(previous);
          docs.set(doc.id, { ...metaOnly, chunkCount: chunks.length, ingestId });
          docsChanged(chunks.length - (previous?.chunkCount ?? 0));
          bySource.set(doc.source, doc.id);
          indexSha(doc);
          mem?.setDocument(doc.id, ingestId, chunks);
        }
        checkMemoryBound();
        staleRows -= chunkRows.numRows;
        const superseded = replacing.map((r) => r.previous!);
        const oldRows = superseded.reduce((n, p) => n + p.chunkCount, 0);
        staleRows += oldRows;
        try {
          await options.onCommitStep?.("documents");
          // Step 3: the superseded chunks; a crash here leaves them to the recovery at open.
          if (superseded.length > 0)
            await chunksTable.delete(`ingest_id IN (${superseded.map((p) => sqlString(p.ingestId)).join(", ")})`);
          staleRows -= oldRows;
        } finally {
          afterWrite();
        }
      });
    },

    deleteDocument(id: string) {
      return exclusive(async () => {
        live();
        const d = docs.get(id);
        if (!d) return false;
        staleRows += d.chunkCount;
        // The row goes first: once it is gone the chunks are unreachable whatever happens next.
        await docsTable.delete(`id = ${sqlString(id)}`);
        docs.delete(id);
        mem?.removeDocument(id);
        if (bySource.get(d.source) === id) bySource.delete(d.source);
        unindexSha(d);
        docsChanged(-d.chunkCount);
        await chunksTable.delete(`document_id = ${sqlString(id)}`);
        staleRows -= d.chunkCount;
        afterWrite();
        return true;
      });
    },

    async getDocument(id: string, opts?: { withText?: boolean }) {
      live();
      const d = docs.get(id);
      if (!d) return undefined;
      if (!opts?.withText) return publicDoc(d);
      const rows = (await docsTable
        .query()
        .where(`id = ${sqlString(id)}`)
        .select(["text", "ingest_id"])
        .toArray()) as Row[];
      const row = rows.find((r) => r.ingest_id === docs.get(id)?.ingestId) ?? rows[0];
      return row ? { ...publicDoc(d), text: row.text as string } : undefined;
    },

    async findDocument({ source, sha256 }) {
      live();
      if (source !== undefined) {
        const id = bySource.get(source);
        if (id) return publicDoc(docs.get(id)!);
      }
      if (sha256 !== undefined) {
        const id = bySha.get(sha256)?.values().next().value;
        if (id !== undefined) return publicDoc(docs.get(id)!);
      }
      return undefined;
    },

    async listDocuments(opts: ListDocumentsOptions = {}) {
      live();
      const offset = Math.max(0, opts.offset ?? 0);
      const limit = Math.max(0, opts.limit ?? 50);
      sortedCache ??= [...docs.values()].sort((a, b) =>
        a.addedAt < b.addedAt ? -1 : a.addedAt > b.addedAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
      );
      return { documents: sortedCache.slice(offset, offset + limit).map(publicDoc), total: sortedCache.length };
    },

    async getChunks(documentId: string) {
      live();
      const d = docs.get(documentId);
      if (!d) return [];
      const rows = (await chunksTable
        .query()
        .where(`document_id = ${sqlString(documentId)} AND ingest_id = ${sqlString(d.ingestId)}`)
        .select(CHUNK_COLUMNS)
        .toArray()) as Row[];
      return rows.map(rowToChunk).sort((a, b) => a.index - b.index);
    },

    async vectorSearch(vector: Float32Array, opts: SearchOptions): Promise<SearchHit[]> {
      live();
      if (vector.length !== dim)
        throw new ReflexiaError("RFX_INTERNAL", `query vector has ${vector.length} dimensions, the store ${dim}`);
      if (opts.limit <= 0 || docs.size === 0) return [];
      const m = serving();
      if (m) return m.vectorSearch(vector, opts);
      const useAnn = hasAnn && !opts.exact;
      let q = chunksTable
        .vectorSearch(vector)
        .distanceType(useAnn ? ANN_DISTANCE[metric] : LANCE_DISTANCE[metric])
        .select([...CHUNK_COLUMNS, "_distance"])
        .limit(opts.limit + staleRows);
      if (useAnn) q = q.ef(Math.max(ef, opts.limit + staleRows));
      else q = q.bypassVectorIndex();
      const rows = (await q.toArray()) as Row[];
      rows.sort((a, b) => Number(a._distance) - Number(b._distance));
      const hits: SearchHit[] = [];
      for (const r of rows) {
        if (!isLive(r)) continue;
        const distance = Number(r._distance);
        hits.push({ chunk: rowToChunk(r), score: distanceToScore(distance, metric), distance });
        if (hits.length === opts.limit) break;
      }
      return hits;
    },

    async textSearch(query: string, opts: SearchOptions): Promise<SearchHit[]> {
      live();
      if (opts.limit <= 0 || docs.size === 0 || !/[\p{L}\p{N}]/u.test(query)) return [];
      const m = serving();
      if (m) return m.textSearch(query, opts);
      await ftsCaughtUp();
      const rows = (await chunksTable
        .query()
        .fullTextSearch(new lancedb.MatchQuery(query, "text"))
        .fastSearch()
        .select([...CHUNK_COLUMNS, "_score"])
        .limit(opts.limit + staleRows)
        .toArray()) as Row[];
      // Ranked here: LanceDB does not promise an order when it merges index segments.
      rows.sort((a, b) => Number(b._score) - Number(a._score));
      const hits: SearchHit[] = [];
      for (const r of rows) {
        if (!isLive(r)) continue;
        hits.push({ chunk: rowToChunk(r), score: Number(r._score) });
        if (hits.length === opts.limit) break;
      }
      return hits;
    },

    async counts() {
      live();
      return { documents: docs.size, chunks: liveChunkCount() };
    },

    async indexInfo(): Promise<StoreIndexInfo> {
      live();
      const list = await chunksTable.listIndices();
      const vec = list.find((i) => i.columns.includes("vector"));
      let unindexedRows = 0;
      if (vec) unindexedRows = (await chunksTable.indexStats(vec.name))?.numUnindexedRows ?? 0;
      return {
        ann: Boolean(vec),
        unindexedRows,
        fts: list.some((i) => i.indexType === "FTS"),
        ...(memOptions || memState !== "off" ? { memory: memoryInfo() } : {}),
      };
    },

    optimize() {
      return exclusive(async () => {
        live();
        commitsSinceCompaction = optimizeEvery;
        await refreshLocked();
        await buildAnnLocked();
      });
    },

    verify() {
      return exclusive(async (): Promise<StoreVerifyReport> => {
        live();
        const texts = new Map<string, string>();
        for (const r of (await docsTable.query().select(["id", "text"]).toArray()) as Row[])
          texts.set(r.id as string, r.text as string);
        const byDoc = new Map<string, RagChunk[]>();
        let orphanChunks = 0;
        let total = 0;
        // Live rows by chunk id, for the comparison with the in-memory index.
        const liveRows = new Map<string, { chunk: RagChunk; ingestId: string; vector: Float32Array }>();
        for await (const batch of chunksTable.query().select([...CHUNK_COLUMNS, "vector"])) {
          const vectors = batch.getChild("vector")!;
          for (let i = 0; i < batch.numRows; i++) {
            const r = batch.get(i)!.toJSON() as Row;
            total++;
            if (!isLive(r)) {
              orphanChunks++;
              continue;
            }
            const c = rowToChunk(r);
            (byDoc.get(c.documentId) ?? byDoc.set(c.documentId, []).get(c.documentId)!).push(c);
            if (mem)
              liveRows.set(c.id, {
                chunk: c,
                ingestId: r.ingest_id as string,
                vector: vectors.get(i)!.toArray() as Float32Array,
              });
          }
        }
        const incompleteDocuments: string[] = [];
        for (const d of docs.values()) {
          const cs = (byDoc.get(d.id) ?? []).sort((a, b) => a.index - b.index);
          const text = texts.get(d.id);
          const ok =
            text !== undefined &&
            cs.length === d.chunkCount &&
            cs.every((c, i) => c.index === i && text.slice(c.start, c.end) === c.text);
          if (!ok) incompleteDocuments.push(d.id);
        }
        const report: StoreVerifyReport = {
          documents: docs.size,
          chunks: total - orphanChunks,
          orphanChunks,
          incompleteDocuments,
        };
        if (mem) {
          const mismatched: string[] = [];
          let held = 0;
          for (const e of mem.entries()) {
            held++;
            const want = liveRows.get(e.chunk.id);
            liveRows.delete(e.chunk.id);
            const same =
              want !== undefined &&
              want.ingestId === e.ingestId &&
              CHUNK_FIELDS.every((f) => want.chunk[f] === e.chunk[f]) &&
              want.vector.length === e.vector.length &&
              want.vector.every((x, i) => x === e.vector[i]);
            if (!same) mismatched.push(e.chunk.id);
          }
          mismatched.push(...liveRows.keys());
          report.memoryIndex = { chunks: held, mismatched };
        }
        return report;
      });
    },

    async close() {
      if (closed) return;
      if (watchTimer) clearInterval(watchTimer);
      // Pending maintenance runs first, so the next open starts from fresh indexes.
      if (refreshTimer) {
        clearTimeout(refreshTimer);
        refreshTimer = undefined;
        if (indexedGen < commitGen) void queueRefresh();
      }
      await exclusive(async () => undefined);
      await lastRefresh;
      await annJob;
      closed = true;
      mem?.clear();
      docsTable.close();
      chunksTable.close();
      db.close();
    },
  };
  return store;
}
