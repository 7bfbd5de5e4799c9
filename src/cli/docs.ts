// `reflexia docs add|list|rm|query`: the RAG document store from the terminal.
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { Presets, SingleBar } from "cli-progress";
import type { Command } from "commander";
import { expandPaths } from "../services/rag/expand-paths.ts";
import type { CliContextFactory } from "./context.ts";
import { printJson, table } from "./output.ts";
import { parseIntOption } from "./parse-options.ts";

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
      const rag = await open();
      try {
        const page = await rag.service.list({ offset: 0, limit: opts.limit });
        if (opts.json) printJson(page);
        else
          process.stdout.write(
            table(
              page.documents.map((d) => ({
                id: d.id,
                title: d.title,
                type: d.type,
                size: d.size,
                chunks: d.chunkCount,
              })),
              ["id", "title", "type", "size", "chunks"],
            ) + "\n",
          );
      } finally {
        await rag.close();
      }
    });
  docs
    .command("rm")
    .argument("<id>")
    .action(async (id: string) => {
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
      const rag = await open();
      try {
        const r = await rag.service.query(question, { topK: opts.topK });
        if (opts.json) return printJson(r);
        for (const [i, x] of r.results.entries())
          process.stdout.write(
            `${i + 1}. [${x.score.toFixed(3)}] ${x.title} #${x.chunkIndex}\n   ${x.text.slice(0, 200).replace(/\s+/g, " ")}\n`,
          );
        process.stdout.write(`(${r.timings.totalMs.toFixed(1)} ms)\n`);
      } finally {
        await rag.close();
      }
    });
}
