// A new model quantized from a GGUF file or from a stored model's variant, into a blob of its own: the source is
// never changed (as Ollama's create with quantize). /api/create and the embedded `reflexia create -q` share it.
import type { Quantization } from "../config/index.ts";
import { ReflexiaError } from "../errors/index.ts";
import { readModelHeader } from "../gguf/index.ts";
import { assertTagFitsFileType, fileTypePrecision } from "./file-types.ts";
import { mergeModelfile, modelExists, modelNotFound, type ModelCatalog } from "./model-catalog.ts";
import { assertTag, formatModelRef, parseModelRef } from "./parse-model-ref.ts";
import { quantizeFile, UNQUANTIZED_FILE_TYPES } from "./quantize-variants.ts";
import { isRemoteManifest } from "./remote-variants.ts";
import type { ModelfileSettings, ModelManifest, ModelSource } from "./types.ts";

/** What a new model is quantized from: a GGUF file anywhere, or a stored model (`name` or `name:tag`). */
export type QuantizeIntoSource = { file: string } | { model: string };

export interface QuantizeIntoOptions {
  /**
   * Settings of the new variant. From a model, each field given replaces the source variant's (absent fields keep
   * the source's), as a copy's do; from a file, they are the variant's settings. Defaults to none given.
   */
  modelfile?: ModelfileSettings;
  /** Recorded in the manifest. Defaults to {kind: "quantize", from: <source variant>} or {kind: "file", from: <path>}. */
  source?: ModelSource;
  /** Replace an existing destination variant instead of failing with RFX_MODEL_EXISTS. Defaults to false. */
  force?: boolean;
  /** How the caller's request names the quantization, for the refusal of a less precise source. Defaults to "quantize". */
  option?: string;
  /** How that refusal names a file source. Defaults to its path (a model source is named by its variant). */
  fileLabel?: string;
  /** Hears (0, 1) when quantizing starts, then llama.cpp's progress; never called when no quantizing is needed. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Makes `to` (`name`, or `name:tag`; the tag defaults to `latest` from a file, to `q` from a model) a `q` variant of
 * its own. From a file: the file quantized (added as it is when it already is `q`). From a model: the variant `model`
 * names, else, for an untagged name, the variant tagged `q` when there is one or else the most precise local variant;
 * a variant that already is `q` is copied (no bytes quantized), another is quantized; its settings come with it,
 * under `modelfile`'s. When `to` is the source's own stored `q` variant, that is returned as it is. The source gains
 * and loses nothing.
 * A source less precise than `q` is refused with RFX_VALIDATION (llama.cpp cannot restore precision).
 */
export async function quantizeInto(
  catalog: ModelCatalog,
  from: QuantizeIntoSource,
  q: Quantization,
  to: string,
  opts: QuantizeIntoOptions = {},
): Promise<ModelManifest> {
  const dest = parseModelRef(to);
  const force = opts.force === true;
  // Refused before any byte is quantized (commit checks again under the store lock).
  const assertFree = async (tag: string) => {
    if (!force && (await catalog.readManifest(dest.name, tag))) throw modelExists(`${dest.name}:${tag}`);
  };
  // The new file is q: a destination tag naming another quantization is refused before anything is quantized.
  const fits = (tag: string) => assertTagFitsFileType(dest.name, tag, q, (t) => `${dest.name}:${t}`);
  if ("file" in from) {
    const tag = assertTag(dest.tag ?? "latest");
    fits(tag);
    await assertFree(tag);
    const { fileType } = await readModelHeader(from.file);
    const source = opts.source ?? { kind: "file" as const, from: from.file };
    if (fileType === q)
      return catalog.add(from.file, { name: dest.name, tag, source, modelfile: opts.modelfile, force });
    return produce(
      catalog,
      from.file,
      fileType,
      q,
      { name: dest.name, tag },
      opts.fileLabel ?? from.file,
      source,
      opts,
    );
  }
  const src = parseModelRef(from.model);
  const tag = assertTag(dest.tag ?? q);
  fits(tag);
  const all = await catalog.variants(src.name);
  if (all.length === 0) throw modelNotFound(formatModelRef(src));
  const sibling = all.find((v) => v.tag === q && v.quantization === q);
  // Asking a model for its own q variant, which it holds, writes nothing.
  if (sibling && dest.name === src.name && tag === q) return sibling;
  const named = src.tag ? (await catalog.resolve(from.model)).manifest : sibling;
  if (named?.quantization === q) {
    await assertFree(tag);
    const [m] = await catalog.copy(`${src.name}:${named.tag}`, `${dest.name}:${tag}`, {
      modelfile: opts.modelfile,
      force,
      ...(opts.source ? { source: opts.source } : {}),
    });
    return m;
  }
  // variants() sorts most precise last; a remote variant has no file to quantize.
  const base = src.tag ? named! : all.filter((v) => !isRemoteManifest(v)).at(-1);
  if (!base || isRemoteManifest(base))
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `${base ? `${base.name}:${base.tag}` : src.name} is a remote variant: only a local GGUF variant can be quantized`,
      { model: from.model },
    );
  const what = `${base.name}:${base.tag}`;
  await assertFree(tag);
  return produce(
    catalog,
    catalog.blobPath(base.digest),
    base.quantization,
    q,
    { name: dest.name, tag },
    what,
    opts.source ?? { kind: "quantize", from: what },
    { ...opts, modelfile: mergeModelfile(base.modelfile, opts.modelfile) },
  );
}

/** `input` (of `fileType`) quantized to `q` in the store's tmp/ and committed as `dest` by rename (one write). */
async function produce(
  catalog: ModelCatalog,
  input: string,
  fileType: string,
  q: Quantization,
  dest: { name: string; tag: string },
  what: string,
  source: ModelSource,
  opts: QuantizeIntoOptions,
): Promise<ModelManifest> {
  if (fileTypePrecision(q) > fileTypePrecision(fileType))
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `${what} is ${fileType}, less precise than ${opts.option ?? "quantize"} ${q}; quantize from a more precise model or file (f16, f32)`,
      { quantize: q },
    );
  const [m] = await catalog.produceAndCommit(
    [
      {
        tag: dest.tag,
        source,
        modelfile: opts.modelfile,
        produce: async (out) => {
          opts.onProgress?.(0, 1);
          await quantizeFile(input, out, q, {
            allowRequantize: !UNQUANTIZED_FILE_TYPES.has(fileType),
            onProgress: opts.onProgress,
          });
        },
      },
    ],
    dest.name,
    opts.force === true,
  );
  return m;
}
