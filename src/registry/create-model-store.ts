// The model store: the catalog on disk plus every way a model comes in (pull, Ollama import, synthesis, quantization).
import type { Config, Quantization } from "../config/index.ts";
import { createBlobUploads, type BlobUploads } from "./blob-uploads.ts";
import { importOllamaModels, type ImportOllamaOptions } from "./import-ollama.ts";
import type { ParameterProblem } from "./ollama-text-layers.ts";
import {
  createModelCatalog,
  type CopyModelOptions,
  type ModelCatalog,
  type ModelCatalogOptions,
} from "./model-catalog.ts";
import { pullFromRegistry, type RegistryPullOptions, type RegistryPullResult } from "./pull-from-registry.ts";
import { pullModel } from "./pull-model.ts";
import { remoteVariantsFromConfig } from "./remote-variants.ts";
import { quantizeVariants, type QuantizeVariantsOptions } from "./quantize-variants.ts";
import { quantizeInto, type QuantizeIntoOptions, type QuantizeIntoSource } from "./quantize-into.ts";
import { ensureDefaultModel, synthModel } from "./synth-model.ts";
import type {
  ModelManifest,
  EnsureDefaultModelOptions,
  EnsureDefaultModelResult,
  OllamaImportResult,
  PullOptions,
  PullResult,
  QuantizeResult,
  SynthOptions,
  SynthResult,
} from "./types.ts";

export interface ModelStoreOptions extends ModelCatalogOptions {
  /**
   * Why a parameter of a pulled or imported model's params layer would make every request to it fail; such parameters
   * are left out (and said so) instead of stored as published. Defaults to none (everything is stored as published).
   */
  parameterProblem?: ParameterProblem;
}
export type { CopyModelOptions, ImportOllamaOptions, QuantizeIntoOptions, QuantizeIntoSource, QuantizeVariantsOptions };

/** What callers get: the catalog's public half (the staging primitives stay with the ways in) plus the ways in. */
export interface ModelStore extends Pick<
  ModelCatalog,
  | "root"
  | "list"
  | "variants"
  | "catalogStamp"
  | "resolve"
  | "show"
  | "add"
  | "addRemote"
  | "remove"
  | "copy"
  | "checkCopy"
> {
  /** Downloads a GGUF over HTTP(S) with resume, checks size, sha256 and format, then adds it. */
  pull(url: string, options: PullOptions): Promise<PullResult>;
  /** Blobs uploaded by digest (POST /api/blobs/:digest) for a later create. */
  readonly uploads: BlobUploads;
  /** Pulls an Ollama-style name (`model:tag`, `ns/model`, `hf.co/OWNER/REPO:QUANT`) from a registry by Ollama's protocol. */
  pullFromRegistry(name: string, options: RegistryPullOptions): Promise<RegistryPullResult>;
  /** Adds every model of an Ollama models directory. Defaults to ~/.ollama/models. */
  importOllama(dir?: string, options?: ImportOllamaOptions): Promise<OllamaImportResult>;
  /** Writes a synthetic model and adds one variant per requested quantization (or only estimates, with dryRun). */
  synth(options: SynthOptions): Promise<SynthResult>;
  /**
   * Creates variants `to` of a model from its most precise stored variant (or from the variant `ref` names); `to`
   * names quantizations in any case (Q4_K_M is q4_k_m), an unknown one is refused with RFX_VALIDATION.
   */
  quantize(ref: string, to: readonly string[], options?: QuantizeVariantsOptions): Promise<QuantizeResult>;
  /**
   * A new model `to` quantized to `q` from a GGUF file or a stored model's variant, in a blob of its own: the source
   * model gains no variant (create with quantize, over HTTP and embedded). See quantizeInto.
   */
  quantizeInto(
    from: QuantizeIntoSource,
    q: Quantization,
    to: string,
    options?: QuantizeIntoOptions,
  ): Promise<ModelManifest>;
  /** Creates the missing variants of the offline default model; `created` says whether anything was written. */
  ensureDefaultModel(options?: EnsureDefaultModelOptions): Promise<EnsureDefaultModelResult>;
}

/** The store under config.home, resolving bare names and estimating memory as the config says. */
export function createStoreFromConfig(
  config: Config,
  extra: Pick<ModelStoreOptions, "parameterProblem"> = {},
): ModelStore {
  return createModelStore({
    ...extra,
    home: config.home,
    defaultQuantization: config.models.default_quantization,
    contextSize: config.models.context_size,
    declared: remoteVariantsFromConfig(config),
  });
}

export function createModelStore(options: ModelStoreOptions): ModelStore {
  const catalog = createModelCatalog(options);
  const { root, list, variants, catalogStamp, resolve, show, add, addRemote, remove, copy, checkCopy } = catalog;
  return {
    root,
    list,
    variants,
    catalogStamp,
    resolve,
    show,
    add,
    addRemote,
    remove,
    copy,
    checkCopy,
    pull: (url, opts) => pullModel(catalog, url, opts),
    pullFromRegistry: (name, opts) =>
      pullFromRegistry(catalog, name, { parameterProblem: options.parameterProblem, ...opts }),
    uploads: createBlobUploads(root, catalog.blobPath),
    importOllama: (dir, opts) =>
      importOllamaModels(catalog, dir, { parameterProblem: options.parameterProblem, ...opts }),
    synth: (opts) => synthModel(catalog, opts),
    quantize: (ref, to, opts) => quantizeVariants(catalog, ref, to, opts),
    quantizeInto: (from, q, to, opts) => quantizeInto(catalog, from, q, to, opts),
    ensureDefaultModel: (opts) => ensureDefaultModel(catalog, opts),
  };
}
