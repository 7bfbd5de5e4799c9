// Pulling a model by name from a registry that speaks Ollama's protocol (manifest by name:tag, then blobs by
// digest): resumable, digest-verified, GGUF-only, with Ollama's progress objects; text layers become settings.
import { existsSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Config } from "../config/index.ts";
import { ReflexiaError } from "../errors/index.ts";
import { modelProblem, readGgufHeader } from "../gguf/index.ts";
import { downloadWithResume } from "./download-with-resume.ts";
import { fetchFailureReason } from "./fetch-failure.ts";
import { digestHex, modelNotFound, type ModelCatalog, type StagedFile } from "./model-catalog.ts";
import { parseRegistryName, type RegistryBases } from "./parse-registry-name.ts";
import { OLLAMA_MODEL_MEDIA_TYPE } from "./read-ollama-models.ts";
import { acquirePidLock } from "./store-lock.ts";
import {
  OLLAMA_TEXT_LAYER_LIMIT,
  OLLAMA_TEXT_LAYERS,
  settingsOfTextLayers,
  type ParameterProblem,
} from "./ollama-text-layers.ts";
import type { ModelManifest } from "./types.ts";

/** One progress object, as Ollama streams them from /api/pull. */
export interface RegistryPullProgress {
  status: string;
  digest?: string;
  total?: number;
  completed?: number;
}

export interface RegistryPullOptions {
  bases: RegistryBases;
  onProgress?: (p: RegistryPullProgress) => void;
  /** Aborting keeps the partial blobs: the next pull of the same name resumes them. */
  signal?: AbortSignal;
  /** Stall/trickle window per request (config registry.pull_read_timeout_seconds). */
  readTimeoutSeconds?: number;
  /** Slowest accepted rate (config registry.pull_min_bytes_per_second). */
  minBytesPerSecond?: number;
  /** Allows an `http://host/…` name (Ollama's `insecure`); without it such a name is refused. */
  insecure?: boolean;
  /**
   * A params layer's parameters it names a problem for are left out of the stored settings (a progress status says
   * which), so no model is stored that every request then fails on. Defaults to the store's (ModelStoreOptions).
   */
  parameterProblem?: ParameterProblem;
}

/** The configured registries and transfer limits (config `registry.*`) as pull options: the server's and the CLI's. */
export function configuredPullOptions(
  registry: Config["registry"],
): Pick<RegistryPullOptions, "bases" | "readTimeoutSeconds" | "minBytesPerSecond"> {
  return {
    bases: { ollama: registry.ollama_base_url, huggingface: registry.huggingface_base_url },
    readTimeoutSeconds: registry.pull_read_timeout_seconds,
    minBytesPerSecond: registry.pull_min_bytes_per_second,
  };
}

export interface RegistryPullResult {
  manifest: ModelManifest;
  /** Bytes that were already on disk from an interrupted pull. */
  resumedBytes: number;
}

interface Layer {
  mediaType: string;
  digest: string;
  size: number;
}

const MANIFEST_ACCEPT = "application/vnd.docker.distribution.manifest.v2+json";
const IMAGE = "application/vnd.ollama.image.";
/** Layers Reflexia cannot serve, refused by name before anything is downloaded. */
const REFUSED_LAYERS: Record<string, string> = {
  [`${IMAGE}projector`]: "a vision projector (multimodal models are not supported)",
  [`${IMAGE}adapter`]: "a LoRA adapter (adapters are not supported)",
  [`${IMAGE}embed`]: "an embedding layer of an old format",
};

function parseManifest(text: string, where: string): Layer[] {
  let body: { layers?: unknown };
  try {
    body = JSON.parse(text) as { layers?: unknown };
  } catch {
    throw new ReflexiaError("RFX_DOWNLOAD_FAILED", `${where}: the manifest is not JSON`);
  }
  const layers = body.layers;
  if (!Array.isArray(layers)) throw new ReflexiaError("RFX_DOWNLOAD_FAILED", `${where}: the manifest has no layers`);
  return layers.map((l: Partial<Layer>) => {
    if (
      typeof l?.mediaType !== "string" ||
      typeof l.digest !== "string" ||
      !/^sha256:[0-9a-f]{64}$/.test(l.digest) ||
      typeof l.size !== "number" ||
      !Number.isSafeInteger(l.size) ||
      l.size < 0
    )
      throw new ReflexiaError("RFX_DOWNLOAD_FAILED", `${where}: a layer has no valid mediaType, digest or size`);
    return { mediaType: l.mediaType, digest: l.digest, size: l.size };
  });
}

/** Pulls `ref` (Ollama naming) into the catalog; pulling a name again replaces it, as `ollama pull` updates. */
export async function pullFromRegistry(
  catalog: ModelCatalog,
  ref: string,
  opts: RegistryPullOptions,
): Promise<RegistryPullResult> {
  const name = parseRegistryName(ref, opts.bases, { insecure: opts.insecure });
  const progress = opts.onProgress ?? (() => {});
  const manifestUrl = `${name.baseUrl}/v2/${name.repository}/manifests/${name.tag}`;
  progress({ status: "pulling manifest" });
  const timeout = AbortSignal.timeout((opts.readTimeoutSeconds ?? 30) * 1000);
  let res: Response;
  try {
    res = await fetch(manifestUrl, {
      headers: { accept: MANIFEST_ACCEPT },
      signal: opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout,
    });
  } catch (e) {
    if (opts.signal?.aborted) throw new ReflexiaError("RFX_CANCELLED", `pull of ${name.display} cancelled`);
    const why = fetchFailureReason(e, "if it speaks plain HTTP, pull with --insecure (the API's insecure: true)");
    throw new ReflexiaError("RFX_DOWNLOAD_FAILED", `pull model manifest ${manifestUrl}: ${why}`, {
      url: manifestUrl,
    });
  }
  const text = await res.text();
  if (res.status === 404) throw modelNotFound(name.display, ` in the registry ${name.baseUrl}`);
  if (!res.ok)
    throw new ReflexiaError("RFX_DOWNLOAD_FAILED", `pull model manifest ${manifestUrl}: HTTP ${res.status}`, {
      url: manifestUrl,
      status: res.status,
    });
  const layers = parseManifest(text, `pull ${name.display}`);

  // Everything that makes the model unusable is refused before the first blob byte.
  const models = layers.filter((l) => l.mediaType === OLLAMA_MODEL_MEDIA_TYPE);
  for (const l of layers) {
    const why = REFUSED_LAYERS[l.mediaType];
    if (why)
      throw new ReflexiaError(
        "RFX_UNSUPPORTED_MEDIA",
        `${name.display} has ${why}; only GGUF text models can be pulled`,
      );
    if (l.mediaType !== OLLAMA_MODEL_MEDIA_TYPE && !OLLAMA_TEXT_LAYERS.includes(l.mediaType))
      throw new ReflexiaError(
        "RFX_UNSUPPORTED_MEDIA",
        `${name.display} has a layer of type ${l.mediaType}, which Reflexia cannot use (only GGUF model layers and text layers)`,
      );
    if (l.mediaType !== OLLAMA_MODEL_MEDIA_TYPE && l.size > OLLAMA_TEXT_LAYER_LIMIT)
      throw new ReflexiaError("RFX_PAYLOAD_TOO_LARGE", `${name.display}: its ${l.mediaType} layer is ${l.size} bytes`);
  }
  if (models.length !== 1)
    throw new ReflexiaError(
      "RFX_UNSUPPORTED_MEDIA",
      `${name.display} has ${models.length} model layers; exactly one GGUF model layer is supported`,
    );

  await catalog.ensureDirs();
  let resumedBytes = 0;
  const fetchLayer = async (layer: Layer): Promise<string | undefined> => {
    const hex = digestHex(layer.digest);
    const status = `pulling ${hex.slice(0, 12)}`;
    // A model blob the store already holds is not fetched again (content addressing).
    if (layer.mediaType === OLLAMA_MODEL_MEDIA_TYPE && existsSync(catalog.blobPath(layer.digest))) {
      progress({ status, digest: layer.digest, total: layer.size, completed: layer.size });
      return undefined;
    }
    const partPath = join(catalog.partialDir, `registry-${hex}.part`);
    const metaPath = join(catalog.partialDir, `registry-${hex}.json`);
    const discard = async () => {
      await rm(partPath, { force: true });
      await rm(metaPath, { force: true });
    };
    const release = await acquirePidLock(
      join(catalog.partialDir, `registry-${hex}.lock`),
      0,
      `the download of ${layer.digest}`,
    );
    try {
      progress({ status, digest: layer.digest, total: layer.size, completed: 0 });
      const dl = await downloadWithResume({
        url: `${name.baseUrl}/v2/${name.repository}/blobs/${layer.digest}`,
        partPath,
        metaPath,
        signal: opts.signal,
        readTimeoutSeconds: opts.readTimeoutSeconds,
        minBytesPerSecond: opts.minBytesPerSecond,
        onProgress: (p) => progress({ status, digest: layer.digest, total: layer.size, completed: p.receivedBytes }),
      });
      resumedBytes += dl.resumedFrom;
      if (dl.sha256 !== hex || dl.sizeBytes !== layer.size) {
        await discard();
        throw new ReflexiaError(
          "RFX_DOWNLOAD_FAILED",
          `digest mismatch for ${layer.digest} of ${name.display}: got sha256:${dl.sha256} (${dl.sizeBytes} bytes, expected ${layer.size})`,
          { expected: layer.digest, actual: `sha256:${dl.sha256}` },
        );
      }
      await rm(metaPath, { force: true });
      return partPath;
    } finally {
      await release();
    }
  };

  const modelLayer = models[0];
  const modelPart = await fetchLayer(modelLayer);
  const texts: { mediaType: string; text: string }[] = [];
  for (const l of layers.filter((x) => x.mediaType !== OLLAMA_MODEL_MEDIA_TYPE)) {
    const part = (await fetchLayer(l))!;
    texts.push({ mediaType: l.mediaType, text: await readFile(part, "utf8").finally(() => rm(part, { force: true })) });
  }
  const { settings, leftOut } = settingsOfTextLayers(texts, {
    what: name.display,
    code: "RFX_DOWNLOAD_FAILED",
    parameterProblem: opts.parameterProblem,
  });
  for (const note of leftOut) progress({ status: note });

  progress({ status: "verifying sha256 digest" });
  const path = modelPart ?? catalog.blobPath(modelLayer.digest);
  let header;
  try {
    header = await readGgufHeader(path);
  } catch (e) {
    if (modelPart) await rm(modelPart, { force: true });
    throw new ReflexiaError(
      "RFX_INVALID_GGUF",
      `the model layer ${modelLayer.digest} of ${name.display} is not a GGUF file (${(e as Error).message.replace(/^.*: /, "")}); only GGUF models can be pulled`,
      { digest: modelLayer.digest },
    );
  }
  const problem = modelProblem(header);
  if (problem) {
    if (modelPart) await rm(modelPart, { force: true });
    const what = `the model layer ${modelLayer.digest} of ${name.display}`;
    throw new ReflexiaError("RFX_INVALID_GGUF", `${what} is ${problem}`, { digest: modelLayer.digest });
  }
  progress({ status: "writing manifest" });
  const staged: StagedFile = {
    // An already stored blob has no part file: commit keeps the blob and removes nothing.
    path: modelPart ?? join(catalog.partialDir, `registry-${digestHex(modelLayer.digest)}.absent`),
    sha256: digestHex(modelLayer.digest),
    sizeBytes: modelLayer.size,
    header,
    name: name.name,
    tag: name.tag,
    source: { kind: "registry", from: `${name.baseUrl}/v2/${name.repository}:${name.tag}` },
    modelfile: settings,
  };
  const [manifest] = await catalog.commit([staged], true);
  // A registry port cannot be in a stored name; the pulled spelling still finds the model (parseModelRef).
  if (`${name.name}:${name.tag}` !== name.display) progress({ status: `stored as ${name.name}:${name.tag}` });
  progress({ status: "success" });
  return { manifest, resumedBytes };
}
