// Document and retrieval routes: ingest (JSON and multipart upload), list/get/delete, retrieval-only queries,
// store stats and verification. buildApp registers them when given RAG, so auth, limits and the error handler apply.
import { RUNS_MODEL } from "../usage-accounting.ts";
import multipart from "@fastify/multipart";
import type { Config } from "../../config/index.ts";
import { ReflexiaError } from "../../errors/index.ts";
import type {
  IngestInput,
  IngestResult,
  MemoryIndexInfo,
  RagChunk,
  RagDocument,
  RagQueryResult,
  RagService,
} from "../../rag/index.ts";
import { readUpload } from "../read-upload.ts";
import {
  documentBodySchema,
  documentParamsSchema,
  getDocumentQuerySchema,
  listDocumentsQuerySchema,
  ragQueryBodySchema,
} from "../schemas/documents.ts";
import type { RouteApp } from "../types.ts";

export interface DocumentRoutesOptions {
  config: Config;
  rag: RagService;
}

/** A document as the API shows it (snake_case; the web UI reads id, title and chunk_count). */
export function documentJson(d: RagDocument) {
  return {
    id: d.id,
    title: d.title,
    source: d.source,
    type: d.type,
    mime_type: d.mimeType,
    size: d.size,
    sha256: d.sha256,
    added_at: d.addedAt,
    chunk_count: d.chunkCount,
    char_count: d.charCount,
    ...(d.text !== undefined ? { text: d.text } : {}),
  };
}

/** GET /api/documents: one page of documents (`reflexia docs list --json` prints it in either mode). */
export function documentListJson(page: Awaited<ReturnType<RagService["list"]>>) {
  return { documents: page.documents.map(documentJson), total: page.total, offset: page.offset, limit: page.limit };
}

/** POST /api/rag/query's answer (`reflexia docs query --json` prints it in either mode). */
export function ragQueryJson(query: string, r: RagQueryResult) {
  const ms = (x: number) => Math.round(x * 1000) / 1000;
  return {
    query,
    mode: r.mode,
    results: r.results.map((x) => ({
      document_id: x.documentId,
      title: x.title,
      source: x.source,
      chunk_id: x.chunkId,
      chunk_index: x.chunkIndex,
      score: x.score,
      text: x.text,
      start: x.start,
      end: x.end,
      ...(x.scores ? { scores: x.scores } : {}),
    })),
    timings: { embed_ms: ms(r.timings.embedMs), search_ms: ms(r.timings.searchMs), total_ms: ms(r.timings.totalMs) },
  };
}

function chunkJson(c: RagChunk) {
  return { id: c.id, index: c.index, text: c.text, start: c.start, end: c.end, token_count: c.tokenCount };
}

const TYPE_MIME: Record<string, string> = {
  text: "text/plain",
  markdown: "text/markdown",
  html: "text/html",
  pdf: "application/pdf",
  json: "application/json",
  csv: "text/csv",
  code: "text/plain",
};

/**
 * A client file name is a title and a type hint, never a path: names with separators, `..`, or control characters
 * are refused outright rather than silently trimmed, so a traversal attempt is visible to its sender.
 */
export function checkClientFilename(name: string | undefined): string | undefined {
  if (name === undefined || name === "") return undefined;
  if (/[\\/]/.test(name) || /[\u0000-\u001f\u007f]/.test(name) || /^\.+$/.test(name.trim())) {
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `file name ${JSON.stringify(name.slice(0, 100))} is not a plain name (no path separators, control characters or dot-only names)`,
    );
  }
  return name;
}

/** The in-memory RAG index as /api/status and /api/rag/stats show it. */
export function memoryIndexJson(m: MemoryIndexInfo) {
  return {
    state: m.state,
    chunks: m.chunks,
    bytes: m.bytes,
    max_bytes: m.maxBytes,
    vector_bytes: m.vectorBytes,
    text_bytes: m.textBytes,
    chunk_bytes: m.chunkBytes,
    quantization: m.quantization,
    scan: m.scan,
  };
}

function ingestReply(r: IngestResult) {
  return { status: r.status, document: documentJson(r.document) };
}

const isTrue = (v: string | undefined): boolean => v === "1" || v === "true";

export async function registerDocumentRoutes(app: RouteApp, options: DocumentRoutesOptions): Promise<void> {
  const { config, rag } = options;
  const uploadLimit = config.server.upload_limit_bytes;
  // JSON escaping can double a text's size; the service then enforces the upload limit on the real bytes.
  const jsonBodyLimit = Math.max(config.server.body_limit_bytes, uploadLimit * 2 + 64 * 1024);

  app.post(
    "/api/documents",
    { schema: { body: documentBodySchema }, bodyLimit: jsonBodyLimit, config: RUNS_MODEL },
    async (request, reply) => {
      const body = request.body;
      if (body.content !== undefined && body.content_base64 !== undefined) {
        throw new ReflexiaError("RFX_VALIDATION", "send either content or content_base64, not both");
      }
      const content = body.content !== undefined ? body.content : Buffer.from(body.content_base64 ?? "", "base64");
      const input: IngestInput = {
        content,
        title: body.title,
        source: body.source,
        filename: checkClientFilename(body.filename),
        mimeType: body.mime_type ?? (body.type ? TYPE_MIME[body.type] : undefined),
      };
      const r = await rag.ingest(input);
      return reply.status(r.status === "created" ? 201 : 200).send(ingestReply(r));
    },
  );

  // Multipart parsing only in this scope: every other route keeps refusing non-JSON bodies.
  await app.register(async (scope) => {
    await scope.register(multipart, {
      throwFileSizeLimit: true,
      // Keep the client's name as sent, so a traversal attempt is refused instead of silently cut to a basename.
      preservePath: true,
      // files: 2 so that readUpload sees a second file and refuses it by name (busboy would only say "limit").
      limits: { fileSize: uploadLimit, files: 2, fields: 8, fieldSize: 64 * 1024, parts: 10, headerPairs: 100 },
    });
    scope.post("/api/upload", { config: RUNS_MODEL }, async (request, reply) => {
      const upload = await readUpload(request, checkClientFilename);
      const r = await rag.ingest({
        content: upload.content,
        filename: upload.filename,
        mimeType: upload.mimeType,
        title: upload.title,
        source: upload.source,
      });
      return reply.status(r.status === "created" ? 201 : 200).send(ingestReply(r));
    });
  });

  app.get("/api/documents", { schema: { querystring: listDocumentsQuerySchema } }, async (request) => {
    const q = request.query;
    const page = await rag.list({
      offset: q.offset !== undefined ? Number(q.offset) : undefined,
      limit: q.limit !== undefined ? Number(q.limit) : undefined,
    });
    return documentListJson(page);
  });

  app.get(
    "/api/documents/:id",
    { schema: { params: documentParamsSchema, querystring: getDocumentQuerySchema } },
    async (request) => {
      const { id } = request.params;
      const q = request.query;
      const d = await rag.get(id, { withText: isTrue(q.text), withChunks: isTrue(q.chunks) });
      return { ...documentJson(d), ...(d.chunks ? { chunks: d.chunks.map(chunkJson) } : {}) };
    },
  );

  app.delete("/api/documents/:id", { schema: { params: documentParamsSchema } }, async (request) => {
    const { id } = request.params;
    const d = await rag.delete(id);
    return { deleted: true, document: documentJson(d) };
  });

  app.post("/api/rag/query", { schema: { body: ragQueryBodySchema }, config: RUNS_MODEL }, async (request) => {
    const body = request.body;
    return ragQueryJson(
      body.query,
      await rag.query(body.query, { topK: body.top_k, hybrid: body.hybrid, exact: body.exact }),
    );
  });

  app.get("/api/rag/stats", async () => {
    const s = await rag.stats();
    return {
      documents: s.documents,
      chunks: s.chunks,
      store: s.store,
      embedder: s.embedder,
      distance: s.distance,
      index: {
        ann: s.index.ann,
        fts: s.index.fts,
        unindexed_rows: s.index.unindexedRows,
        memory: s.index.memory ? memoryIndexJson(s.index.memory) : null,
      },
      chunk_size: s.chunkSize,
      chunk_overlap: s.chunkOverlap,
      top_k: s.topK,
      hybrid: s.hybrid,
      ann_threshold: s.annThreshold,
    };
  });

  // Full consistency check (every document has exactly its chunks; no orphan chunk): scans the store.
  app.get("/api/rag/verify", async () => {
    const v = await rag.verify();
    const memoryOk = (v.memoryIndex?.mismatched.length ?? 0) === 0;
    return {
      ok: v.orphanChunks === 0 && v.incompleteDocuments.length === 0 && memoryOk,
      documents: v.documents,
      chunks: v.chunks,
      orphan_chunks: v.orphanChunks,
      incomplete_documents: v.incompleteDocuments,
      memory_index: v.memoryIndex ? { chunks: v.memoryIndex.chunks, mismatched: v.memoryIndex.mismatched } : null,
    };
  });
}
