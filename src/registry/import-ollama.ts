// Importing an Ollama models directory: each GGUF model blob is copied in (checked against its digest) and committed.
import { rm } from "node:fs/promises";
import { isReflexiaError } from "../errors/index.ts";
import { digestHex, type ModelCatalog } from "./model-catalog.ts";
import { assertModelName, assertTag } from "./parse-model-ref.ts";
import { defaultOllamaModelsDir, readOllamaModels } from "./read-ollama-models.ts";
import type { OllamaImportResult } from "./types.ts";

export interface ImportOllamaOptions {
  onProgress?: (p: { index: number; total: number; ollamaName: string }) => void;
}

/** Adds every model of an Ollama models directory (defaults to ~/.ollama/models); a model that cannot come in is skipped with why. */
export async function importOllamaModels(
  catalog: ModelCatalog,
  dir: string = defaultOllamaModelsDir(),
  opts: ImportOllamaOptions = {},
): Promise<OllamaImportResult> {
  const entries = await readOllamaModels(dir);
  const result: OllamaImportResult = { imported: [], skipped: [] };
  for (const [index, e] of entries.entries()) {
    opts.onProgress?.({ index, total: entries.length, ollamaName: e.ollamaName });
    if (e.problem || !e.blobPath || !e.digest) {
      result.skipped.push({ ollamaName: e.ollamaName, reason: e.problem ?? "no model blob" });
      continue;
    }
    try {
      assertModelName(e.name);
      assertTag(e.tag);
      const existing = await catalog.readManifest(e.name, e.tag);
      if (existing) {
        result.skipped.push({
          ollamaName: e.ollamaName,
          reason:
            existing.digest === e.digest
              ? `already imported as ${e.name}:${e.tag}`
              : `${e.name}:${e.tag} exists with other content`,
        });
        continue;
      }
      const staged = await catalog.stageCopy(
        e.blobPath,
        e.name,
        e.tag,
        { kind: "ollama", from: e.ollamaName },
        false,
        digestHex(e.digest),
      );
      try {
        result.imported.push(...(await catalog.commit([staged], false)));
      } finally {
        await rm(staged.path, { force: true });
      }
    } catch (err) {
      if (!isReflexiaError(err)) throw err;
      result.skipped.push({ ollamaName: e.ollamaName, reason: err.message });
    }
  }
  return result;
}
