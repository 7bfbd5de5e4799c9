// The shapes the model store reads and writes: manifests, variants, listings and operation results.
import type { Quantization } from "../config/index.ts";
import type { RemoteSpec } from "../upstream/index.ts";

export const MODEL_SOURCE_KINDS = [
  "file",
  "url",
  "ollama",
  "synth",
  "quantize",
  "copy",
  "registry",
  "create",
  "remote",
  "config",
] as const;
export type ModelSourceKind = (typeof MODEL_SOURCE_KINDS)[number];

/** Where a variant's bytes came from; kept so `show` can say how a model got into the store. */
export interface ModelSource {
  kind: ModelSourceKind;
  /** Path, URL, Ollama name, synthetic shape or source ref, depending on kind. */
  from: string;
}

/** One message of a model's stored conversation (Modelfile MESSAGE, /api/create `messages`). */
export interface ModelfileMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/**
 * What a Modelfile (or /api/create, or a registry manifest's text layers) adds to the weights; stored in the
 * variant's manifest and applied at inference: the system prompt when a request brings none, the parameters as
 * default options under the request's own, the messages before the request's.
 */
export interface ModelfileSettings {
  system?: string;
  /** Go-template prompt format (the Ollama subset src/services/render-go-template.ts renders). */
  template?: string;
  /** Default options by Ollama's names (temperature, top_p, top_k, min_p, seed, num_predict, stop, …). */
  parameters?: Record<string, unknown>;
  messages?: ModelfileMessage[];
  license?: string[];
}

/** One variant on disk: `$home/models/manifests/<name>/<tag>.json`, pointing at a content-addressed blob. */
export interface ModelManifest {
  name: string;
  tag: string;
  /** The file type read from the GGUF header, normalised (`q4_0`, `q4_k_m`, `f16`, …). */
  quantization: string;
  /** `sha256:<hex>` of the blob. */
  digest: string;
  sizeBytes: number;
  /** "remote" for a variant served by upstream servers (no blob; `remote` says where). */
  format: "gguf" | "remote";
  /** Absent on manifests written before remote variants existed: those are local. */
  kind?: VariantKind;
  /** Present on remote variants: endpoints, upstream model, where the API key is (never the key). */
  remote?: RemoteSpec;
  architecture: string;
  parameterCount: number;
  contextLength: number;
  /** File type as the GGUF header names it (same vocabulary as quantization). */
  fileType: string;
  source: ModelSource;
  /** ISO-8601 time the variant was added. */
  createdAt: string;
  /** System prompt, template, default parameters, messages and license stored with the variant (absent: none). */
  modelfile?: ModelfileSettings;
}

export const VARIANT_KINDS = ["local", "remote"] as const;
/** local: a GGUF blob run by the engine; remote: OpenAI-compatible upstream servers. */
export type VariantKind = (typeof VARIANT_KINDS)[number];

/** What `models add-remote` / `/api/create {remote}` / config remote.models declare. */
export interface AddRemoteOptions {
  name: string;
  tag: string;
  /** Defaults to the tag when it is a quantization name (so adaptive choice can weigh it), else "unknown". */
  quantization?: string;
  remote: RemoteSpec;
  force?: boolean;
}

export interface ModelListing {
  name: string;
  /** Variants ordered by precision, lowest first. */
  variants: ModelManifest[];
  /** Bytes on disk for this name, each blob counted once. */
  totalBytes: number;
}

export interface ResolvedModel {
  name: string;
  tag: string;
  quantization: string;
  /** Absolute path of the GGUF blob; `remote://name:tag` for a remote variant. */
  path: string;
  sizeBytes: number;
  manifest: ModelManifest;
  /** Present on remote variants. */
  remote?: RemoteSpec;
}

export interface ModelDetails extends ResolvedModel {
  /** Facts read from the GGUF header of the blob itself. */
  gguf: {
    version: number;
    architecture: string;
    parameterCount: number;
    contextLength: number;
    fileType: string;
    /** general.file_type as the integer llama.cpp writes (LLAMA_FTYPE); absent for a remote variant. */
    fileTypeId?: number;
    /** The GGUF's `tokenizer.chat_template` (Jinja), when it has one. */
    chatTemplate?: string;
    /** The tokenizer has fill-in-the-middle tokens (prefix, suffix, middle). */
    fillInMiddle?: boolean;
    tensorCount: number;
    [key: string]: unknown;
  };
  /** Estimated resident memory to run the variant with `contextSize` tokens of context (= estimatedMemory.totalBytes). */
  estimatedMemoryBytes: number;
  /** weights (the file) + repacked weight copies + KV cache + compute buffers. */
  estimatedMemory: {
    weightsBytes: number;
    repackBytes: number;
    kvCacheBytes: number;
    computeBytes: number;
    totalBytes: number;
  };
  /** Context the estimate is for: the configured size, capped at the model's training context as the engine does. */
  contextSize: number;
  /** Every tag stored under the same name. */
  variants: string[];
}

export interface AddModelOptions {
  name: string;
  /** Defaults to the file type read from the GGUF header (`q4_0`, `f16`, …). */
  tag?: string;
  /** Replace an existing variant of the same name and tag instead of failing with RFX_MODEL_EXISTS. */
  force?: boolean;
  /** Recorded in the manifest. Defaults to {kind: "file", from: <absolute path>}. */
  source?: ModelSource;
  /** Settings stored with the variant (system prompt, parameters, …). */
  modelfile?: ModelfileSettings;
  /** The file must hash to this (hex); RFX_INVALID_GGUF otherwise. */
  expectedSha256?: string;
}

export interface DownloadProgress {
  receivedBytes: number;
  /** Undefined when the server sends no length. */
  totalBytes?: number;
  /** Bytes already on disk from an earlier, interrupted attempt. */
  resumedFrom: number;
}

export interface PullOptions {
  name: string;
  tag?: string;
  /** Expected sha256 (hex, optionally prefixed `sha256:`); a mismatch fails the pull and discards the download. */
  sha256?: string;
  force?: boolean;
  onProgress?: (p: DownloadProgress) => void;
  /** Aborting keeps the partial file, so the next pull of the same URL resumes. */
  signal?: AbortSignal;
  /** Stall/trickle window in seconds. Defaults to 30 (config `registry.pull_read_timeout_seconds`). */
  readTimeoutSeconds?: number;
  /** Slowest accepted average rate per window, bytes/s. Defaults to 1024 (config `registry.pull_min_bytes_per_second`). */
  minBytesPerSecond?: number;
}

export interface PullResult {
  manifest: ModelManifest;
  /** Byte offset the download resumed from (0 for a fresh download). */
  resumedFrom: number;
  /** HTTP requests made (a restart after an ignored Range counts twice). */
  requests: number;
}

export interface OllamaImportResult {
  /** With the model's template, system, params, messages and license layers as their settings. */
  imported: ModelManifest[];
  skipped: { ollamaName: string; reason: string }[];
  /** What an imported model came in without, and why (a parameter no request could carry). */
  warnings: { ollamaName: string; warning: string }[];
}

export interface SynthProgress {
  phase: "write" | "quantize" | "add";
  quantization?: Quantization;
  /** Steps done of total within the phase (bytes, tensors or variants, whatever the step reports). */
  done: number;
  total: number;
}

export interface SynthOptions {
  /** Named synthetic shape: tiny, small, 1b, 3b, 7b. */
  shape: string;
  quant: Quantization[];
  name: string;
  seed?: number;
  /** Give the vocabulary fill-in-the-middle tokens (WriteSyntheticModelOptions.fim). Defaults to false. */
  fim?: boolean;
  force?: boolean;
  /** Only estimate the size of each variant; nothing is written. */
  dryRun?: boolean;
  onProgress?: (p: SynthProgress) => void;
}

export interface SynthEstimate {
  quantization: Quantization;
  /** Size of the GGUF file llama.cpp would write. */
  estimatedBytes: number;
  /** Memory to run it with the store's context size (capped at the shape's training context). */
  estimatedMemoryBytes: number;
  contextSize: number;
}

export interface SynthResult {
  dryRun: boolean;
  name: string;
  shape: string;
  /** Present for dry runs. */
  estimates: SynthEstimate[];
  /** Present for real runs. */
  created: ModelManifest[];
}

export interface QuantizeResult {
  /** The variant the new ones were made from. */
  from: ModelManifest;
  created: ModelManifest[];
  skipped: { tag: string; reason: string }[];
  /** True when the source was already quantized (no f32/f16/bf16 variant), so the new variants compound its loss. */
  requantized: boolean;
}

export interface EnsureDefaultModelOptions {
  /** Defaults to config `models.default`. */
  name?: string;
  /** Defaults to every supported quantization. */
  quants?: Quantization[];
  /** Defaults to "tiny". */
  shape?: string;
  /** Defaults to 42 so every first run writes the same model. */
  seed?: number;
  onProgress?: (p: SynthProgress) => void;
}

export interface EnsureDefaultModelResult {
  created: boolean;
  name: string;
  /** Tags created by this call (empty when the model was already complete). */
  createdTags: string[];
}
