// The model store: content-addressed GGUF blobs + per-variant manifests, pull with resume, Ollama import, synthesis.
export {
  createModelStore,
  createStoreFromConfig,
  type ModelStore,
  type ModelStoreOptions,
  type CopyModelOptions,
  type ImportOllamaOptions,
  type QuantizeVariantsOptions,
  type QuantizeIntoOptions,
  type QuantizeIntoSource,
} from "./create-model-store.ts";
export { modelExists } from "./model-catalog.ts";
export { parseModelRef, formatModelRef, isValidModelName, isValidTag, type ModelRef } from "./parse-model-ref.ts";
export {
  readOllamaModels,
  defaultOllamaModelsDir,
  OLLAMA_MODEL_MEDIA_TYPE,
  type OllamaModelEntry,
} from "./read-ollama-models.ts";
export { feedHash } from "./atomic-fs.ts";
export { type ParameterProblem } from "./ollama-text-layers.ts";
export { assertTagFitsFileType, compareByPrecision, fileTypePrecision } from "./file-types.ts";
export { quantizeFile, UNQUANTIZED_FILE_TYPES, validateQuantizations } from "./quantize-variants.ts";
export { tempPath } from "./atomic-fs.ts";
export * from "./types.ts";
export {
  configuredPullOptions,
  type RegistryPullOptions,
  type RegistryPullProgress,
  type RegistryPullResult,
} from "./pull-from-registry.ts";
export { parseRegistryName, type RegistryBases, type RegistryName } from "./parse-registry-name.ts";
export { assertDigest, UPLOAD_KEEP_MS, type BlobUploads, type HeldBlob } from "./blob-uploads.ts";
export {
  isRemoteManifest,
  publicRemoteSpec,
  remoteManifest,
  remoteSpecFromFields,
  remoteVariantsFromConfig,
  validateRemoteSpec,
  type RemoteFields,
} from "./remote-variants.ts";
