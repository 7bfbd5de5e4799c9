// `reflexia docs add|list|rm|query`: the RAG document store from the terminal.
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { Presets, SingleBar } from "cli-progress";
import type { Command } from "commander";
import type { DocumentBody, DocumentListBody, RagQueryBody, ReflexiaClient } from "../client/index.ts";
import { documentListJson, ragQueryJson } from "../http/routes/documents.ts";
import { expandPaths } from "../services/rag/expand-paths.ts";
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

/** `docs add` through the running server: each file posted to /api/documents, so the server sees it at once. */
async function addThroughServer(server: ReflexiaClient, files: string[], opts: { json?: boolean }): Promise<void> {
  const results: Record<string, unknown>[] = [];
  for (const file of files) {
    try {
      const r = await server.call<{ status: string; document: DocumentBody }>("POST", "/api/documents", {
        content_base64: (await readFile(file)).toString("base64"),
        filename: basename(file),
        source: file,
      });
      results.push({ file, status: r.status, id: r.document.id, chunks: r.document.chunk_count });
    } catch (e) {
      const err = e as { message: string; code?: string };
      results.push({ file, status: "failed", error: `${err.message} (${err.code ?? ""})` });
    }
  }
  if (opts.json) printJson(results);
  else process.stdout.write(table(results, ["file", "status", "chunks", "error"]) + "\n");
  if (results.some((r) => r.status === "failed")) process.exitCode = 1;
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
      const server = await (await getContext()).server();
      if (server) return addThroughServer(server, await expandPaths(paths), opts);
      const rag = await open();
      try {
        const files = await expandPaths(paths);
        // One batched ingest: documents are committed together (each still all-or-nothing), far faster than one by one.
        const inputs = await Promise.all(
          files.map(async (file) => ({ content: await readFile(file), filename: basename(file), source: file })),
        );
        const bar =
          !opts.json && process.stderr.isTTY
            ? new SingleBar({ format: "ingesting [{bar}] {value}/{total} documents" }, Presets.shades_classic)
            : undefined;
        bar?.start(files.length, 0);
        const items = await rag.service.ingestMany(inputs, { onProgress: (p) => bar?.update(p.done) });
        bar?.stop();
        const results = items.map((item, i) =>
          item.ok
            ? {
                file: files[i],
                status: item.result.status,
                id: item.result.document.id,
                chunks: item.result.chunks.length,
              }
            : { file: files[i], status: "failed", error: `${item.error.message} (${item.error.code})` },
        );
        const failed = results.filter((r) => r.status === "failed").length;
        if (opts.json) printJson(results);
        else
          process.stdout.write(
            table(results as Record<string, unknown>[], ["file", "status", "chunks", "error"]) + "\n",
          );
        if (failed) process.exitCode = 1;
      } finally {
        await rag.close();
      }
    });
  docs
    .command("list")
    .option("--json", "machine-readable output")
    .option("--limit <n>", "page size", parseIntOption("--limit", 1, 10_000), 100)
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
