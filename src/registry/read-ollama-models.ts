// Reads an Ollama models directory (manifests/<host>/<namespace>/<model>/<tag> → blobs/sha256-<hex>) without Ollama.
import { existsSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join, relative, sep } from "node:path";
import { ReflexiaError } from "../errors/index.ts";
import { OLLAMA_TEXT_LAYERS } from "./ollama-text-layers.ts";

/** The layer of an Ollama manifest that holds the GGUF weights. */
export const OLLAMA_MODEL_MEDIA_TYPE = "application/vnd.ollama.image.model";
const OLLAMA_DEFAULT_HOST = "registry.ollama.ai";
const OLLAMA_DEFAULT_NAMESPACE = "library";

export interface OllamaModelEntry {
  /** As Ollama prints it: `llama3:8b`, `user/model:tag`, `host/ns/model:tag`. */
  ollamaName: string;
  /** Reflexia name: the model for library models, `namespace/model` otherwise (host kept for other registries). */
  name: string;
  tag: string;
  /** `sha256:<hex>` of the model layer, or undefined when the manifest has none. */
  digest?: string;
  /** Path of the GGUF blob, or undefined when it is missing from blobs/. */
  blobPath?: string;
  /** The manifest's text layers (template, system, params, messages, license), in its order, each with its blob. */
  textLayers?: { mediaType: string; digest: string; path: string }[];
  /** Why the entry cannot be imported, when it cannot. */
  problem?: string;
}

export function defaultOllamaModelsDir(): string {
  return join(homedir(), ".ollama", "models");
}

async function walkFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walkFiles(p)));
    else if (entry.isFile()) out.push(p);
  }
  return out;
}

/** Lists the models of an Ollama models directory; throws RFX_NOT_FOUND when it has no manifests directory. */
export async function readOllamaModels(dir: string = defaultOllamaModelsDir()): Promise<OllamaModelEntry[]> {
  const manifestsDir = join(dir, "manifests");
  if (!existsSync(manifestsDir) || !(await stat(manifestsDir)).isDirectory()) {
    throw new ReflexiaError("RFX_NOT_FOUND", `no Ollama models directory at ${dir} (expected ${manifestsDir})`, {
      dir,
    });
  }
  const entries: OllamaModelEntry[] = [];
  for (const file of (await walkFiles(manifestsDir)).sort()) {
    const parts = relative(manifestsDir, file).split(sep);
    if (parts.length < 3) continue;
    const tag = parts[parts.length - 1];
    const model = parts[parts.length - 2];
    const path = parts.slice(0, -2); // [host, namespace] normally
    const [host, ...namespaces] = path;
    const ns = namespaces.join("/");
    let name: string;
    let ollamaName: string;
    if (host === OLLAMA_DEFAULT_HOST && ns === OLLAMA_DEFAULT_NAMESPACE) {
      name = model;
      ollamaName = `${model}:${tag}`;
    } else if (host === OLLAMA_DEFAULT_HOST) {
      name = [ns, model].filter(Boolean).join("/");
      ollamaName = `${name}:${tag}`;
    } else {
      // A port in the host (`localhost:5000`) cannot appear in a Reflexia name, whose ':' starts the tag.
      name = [host.replace(/:/g, "_"), ns, model].filter(Boolean).join("/");
      ollamaName = `${[host, ns, model].filter(Boolean).join("/")}:${tag}`;
    }
    const entry: OllamaModelEntry = { ollamaName, name, tag };
    let manifest: { layers?: { mediaType?: string; digest?: string }[] };
    try {
      manifest = JSON.parse(await readFile(file, "utf8"));
    } catch (e) {
      entries.push({ ...entry, problem: `manifest is not JSON (${(e as Error).message})` });
      continue;
    }
    const layer = manifest.layers?.find((l) => l.mediaType === OLLAMA_MODEL_MEDIA_TYPE);
    if (!layer?.digest || !/^sha256[:-][0-9a-f]{64}$/.test(layer.digest)) {
      entries.push({ ...entry, problem: "manifest has no model layer" });
      continue;
    }
    entry.digest = `sha256:${layer.digest.slice(7)}`;
    const blobPath = blobOf(dir, layer.digest);
    if (!blobPath) {
      entries.push({ ...entry, problem: `blob ${entry.digest} is missing` });
      continue;
    }
    const textLayers: NonNullable<OllamaModelEntry["textLayers"]> = [];
    for (const l of manifest.layers ?? []) {
      if (!l.mediaType || !OLLAMA_TEXT_LAYERS.includes(l.mediaType)) continue;
      const path = l.digest && /^sha256[:-][0-9a-f]{64}$/.test(l.digest) ? blobOf(dir, l.digest) : undefined;
      if (!path) {
        entry.problem = `its ${l.mediaType} layer's blob ${l.digest ?? "(no digest)"} is missing`;
        break;
      }
      textLayers.push({ mediaType: l.mediaType, digest: `sha256:${l.digest!.slice(7)}`, path });
    }
    entries.push({ ...entry, blobPath, textLayers });
  }
  return entries;
}

/** The blob of `digest` in an Ollama models directory: current Ollama names it sha256-<hex>, older ones sha256:<hex>. */
function blobOf(dir: string, digest: string): string | undefined {
  const hex = digest.slice(7);
  return [join(dir, "blobs", `sha256-${hex}`), join(dir, "blobs", `sha256:${hex}`)].find((p) => existsSync(p));
}
