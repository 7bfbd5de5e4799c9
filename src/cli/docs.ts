// `reflexia docs add|list|rm|query`: the RAG document store from the terminal.
import { basename } from "node:path";
import { Presets, SingleBar } from "cli-progress";
import type { Command } from "commander";
import type { DocumentBody, DocumentListBody, RagQueryBody, ReflexiaClient } from "../client/index.ts";
import { documentListJson, ragQueryJson } from "../http/routes/documents.ts";
import { MAX_DOCUMENT_PAGE } from "../rag/types.ts";
import { expandPaths } from "../services/rag/expand-paths.ts";
import { readDocumentFile } from "../services/rag/read-document-file.ts";
import type { CliContextFactory } from "./context.ts";
import { printJson, table } from "./output.ts";
import { parseIntOption } from "./parse-options.ts";

/** `docs list`: the page as GET /api/documents answers, whether from the server or built here (one --json shape). */
function printDocuments(page: DocumentListBody, json: boolean | undefined): void {
  if (json) return printJson(page);
  const rows = page.documents.map((d) => ({ ...d, chunks: d.chunk_count }));
  process.stdout.write(table(rows, ["id", "title", "type", "size", "chunks"]) + "\n");
}

/** `docs query`: the answer as POST /api/rag/query gives it, from the server or built here (one --json shape). */
function printQuery(r: RagQueryBody, json: boolean | undefined): void {
  if (json) return printJson(r);
  for (const [i, x] of r.results.entries())
    process.stdout.write(
      `${i + 1}. [${x.score.toFixed(3)}] ${x.title} #${x.chunk_index}\n   ${x.text.slice(0, 200).replace(/\s+/g, " ")}\n`,
    );
  process.stdout.write(`(${r.timings.total_ms.toFixed(1)} ms)\n`);
}

type AddResult = Record<string, unknown> & { file: string; status: string };

const failedRow = (file: string, e: unknown): AddResult => {
  const err = e as { message: string; code?: string };
  return { file, status: "failed", error: `${err.message} (${err.code ?? ""})` };
};

function printAdded(results: AddResult[], json: boolean | undefined): void {
  if (json) printJson(results);
  else process.stdout.write(table(results, ["file", "status", "chunks", "error"]) + "\n");
  if (results.some((r) => r.status === "failed")) process.exitCode = 1;
}

/**
 * `docs add` through the running server: each file posted to /api/documents, so the server sees it at once. The
 * server's own upload limit (its /api/status) is checked against each file's size before the file is read.
 */
async function addThroughServer(
  server: ReflexiaClient,
  files: string[],
  opts: { json?: boolean },
  localLimit: number,
): Promise<void> {
  const status = await server.status().catch(() => undefined);
  const limits = status?.limits as { upload_bytes?: unknown } | undefined;
  const maxBytes = typeof limits?.upload_bytes === "number" ? limits.upload_bytes : localLimit;
  const results: AddResult[] = [];
  for (const file of files) {
    try {
      const r = await server.call<{ status: string; document: DocumentBody }>("POST", "/api/documents", {
        content_base64: (await readDocumentFile(file, maxBytes)).toString("base64"),
        filename: basename(file),
        source: file,
      });
      results.push({ file, status: r.status, id: r.document.id, chunks: r.document.chunk_count });
    } catch (e) {
      results.push(failedRow(file, e));
    }
  }
  printAdded(results, opts.json);
}

export function registerDocsCommand(program: Command, getContext: CliContextFactory): void {
  const docs = program.command("docs").description("manage the documents used for retrieval-augmented answers");
  const open = async () => {
    const ctx = await getContext();
    const { openRag } = await import("../services/rag/open-rag.ts");
    // One command, then exit: filling the in-memory index would cost more than the one query it could serve.
    return openRag(ctx.loaded.config, { getEngine: ctx.getEngine, store: ctx.store, withoutMemoryIndex: true });
  };
  docs
    .command("add")
    .description("ingest files or directories (text, Markdown, HTML, PDF, JSON, CSV, source code)")
    .argument("<paths...>")
    .option("--json", "machine-readable output")
    .action(async (paths: string[], opts: { json?: boolean }) => {
      const ctx = await getContext();
      const maxBytes = ctx.loaded.config.server.upload_limit_bytes;
      const files = await expandPaths(paths);
      const server = await ctx.server();
      if (server) return addThroughServer(server, files, opts, maxBytes);
      // Each file is checked (regular, within the upload limit) before it is read; a refused one is a failed row.
      const read = await Promise.all(
        files.map((file) =>
          readDocumentFile(file, maxBytes).then(
            (content) => ({ file, content }),
            (e: unknown) => ({ file, failed: failedRow(file, e) }),
          ),
        ),
      );
      const rag = await open();
      try {
        const inputs = read.flatMap((r) =>
          "content" in r ? [{ content: r.content, filename: basename(r.file), source: r.file }] : [],
        );
        const bar =
          !opts.json && process.stderr.isTTY
            ? new SingleBar({ format: "ingesting [{bar}] {value}/{total} documents" }, Presets.shades_classic)
            : undefined;
        bar?.start(inputs.length, 0);
        // One batched ingest: documents are committed together (each still all-or-nothing), far faster than one by one.
        const items = await rag.service.ingestMany(inputs, { onProgress: (p) => bar?.update(p.done) });
        bar?.stop();
        let next = 0;
        const results = read.map((r): AddResult => {
          if (!("content" in r)) return r.failed;
          const item = items[next++];
          return item.ok
            ? {
                file: r.file,
                status: item.result.status,
                id: item.result.document.id,
                chunks: item.result.chunks.length,
              }
            : { file: r.file, status: "failed", error: `${item.error.message} (${item.error.code})` };
        });
        printAdded(results, opts.json);
      } finally {
        await rag.close();
      }
    });
  docs
    .command("list")
    .option("--json", "machine-readable output")
    .option(
      "--limit <n>",
      `page size (at most ${MAX_DOCUMENT_PAGE})`,
      parseIntOption("--limit", 1, MAX_DOCUMENT_PAGE),
      100,
    )
    .action(async (opts: { json?: boolean; limit: number }) => {
      const server = await (await getContext()).server();
      if (server)
        return printDocuments(
          await server.call<DocumentListBody>("GET", `/api/documents?limit=${opts.limit}`),
          opts.json,
        );
      const rag = await open();
      try {
        printDocuments(documentListJson(await rag.service.list({ offset: 0, limit: opts.limit })), opts.json);
      } finally {
        await rag.close();
      }
    });
  docs
    .command("rm")
    .argument("<id>")
    .action(async (id: string) => {
      const server = await (await getContext()).server();
      if (server) return void (await server.call("DELETE", `/api/documents/${encodeURIComponent(id)}`));
      const rag = await open();
      try {
        await rag.service.delete(id);
      } finally {
        await rag.close();
      }
    });
  docs
    .command("query")
    .description("retrieve the chunks closest to a question (no generation)")
    .argument("<question>")
    .option("-k, --top-k <n>", "results", parseIntOption("--top-k", 1, 100))
    .option("--json", "machine-readable output")
    .action(async (question: string, opts: { topK?: number; json?: boolean }) => {
      const server = await (await getContext()).server();
      if (server)
        return printQuery(
          await server.call<RagQueryBody>("POST", "/api/rag/query", { query: question, top_k: opts.topK }),
          opts.json,
        );
      const rag = await open();
      try {
        printQuery(ragQueryJson(question, await rag.service.query(question, { topK: opts.topK })), opts.json);
      } finally {
        await rag.close();
      }
    });
}
