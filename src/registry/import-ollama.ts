// Importing an Ollama models directory: each GGUF model blob is copied in (checked against its digest) and committed.
import { readFile, rm, stat } from "node:fs/promises";
import { isReflexiaError, ReflexiaError } from "../errors/index.ts";
import { digestHex, type ModelCatalog } from "./model-catalog.ts";
import { assertModelName, assertTag } from "./parse-model-ref.ts";
import { OLLAMA_TEXT_LAYER_LIMIT, settingsOfTextLayers, type ParameterProblem } from "./ollama-text-layers.ts";
import { defaultOllamaModelsDir, readOllamaModels, type OllamaModelEntry } from "./read-ollama-models.ts";
import type { ModelfileSettings, OllamaImportResult } from "./types.ts";

export interface ImportOllamaOptions {
  onProgress?: (p: { index: number; total: number; ollamaName: string }) => void;
  /**
   * A params layer's parameters it names a problem for are left out of the stored settings (`warnings` says which),
   * so no model is stored that every request then fails on. Defaults to the store's (ModelStoreOptions).
   */
  parameterProblem?: ParameterProblem;
}

/** The settings an entry's text layers stand for, read as `pull` reads a registry's (ollama-text-layers.ts). */
async function settingsOf(
  e: OllamaModelEntry,
  parameterProblem: ParameterProblem | undefined,
): Promise<{ settings: ModelfileSettings; leftOut: string[] }> {
  const texts: { mediaType: string; text: string }[] = [];
  for (const l of e.textLayers ?? []) {
    if ((await stat(l.path)).size > OLLAMA_TEXT_LAYER_LIMIT)
      throw new ReflexiaError(
        "RFX_PAYLOAD_TOO_LARGE",
        `its ${l.mediaType} layer is over ${OLLAMA_TEXT_LAYER_LIMIT} bytes`,
      );
    texts.push({ mediaType: l.mediaType, text: await readFile(l.path, "utf8") });
  }
  return settingsOfTextLayers(texts, { what: e.ollamaName, code: "RFX_VALIDATION", parameterProblem });
}

/** Adds every model of an Ollama models directory (defaults to ~/.ollama/models); a model that cannot come in is skipped with why. */
export async function importOllamaModels(
  catalog: ModelCatalog,
  dir: string = defaultOllamaModelsDir(),
  opts: ImportOllamaOptions = {},
): Promise<OllamaImportResult> {
  const entries = await readOllamaModels(dir);
  const result: OllamaImportResult = { imported: [], skipped: [], warnings: [] };
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
      const { settings, leftOut } = await settingsOf(e, opts.parameterProblem);
      const staged = await catalog.stageCopy(
        e.blobPath,
        e.name,
        e.tag,
        { kind: "ollama", from: e.ollamaName },
        false,
        digestHex(e.digest),
      );
      if (Object.keys(settings).length > 0) staged.modelfile = settings;
      try {
        result.imported.push(...(await catalog.commit([staged], false)));
        for (const warning of leftOut) result.warnings.push({ ollamaName: e.ollamaName, warning });
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
