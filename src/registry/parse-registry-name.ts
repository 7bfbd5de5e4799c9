// How an Ollama-style pull name (`model[:tag]`, `ns/model:tag`, `host/ns/model:tag`, `hf.co/OWNER/REPO:QUANT`)
// maps to a registry URL and to the Reflexia name it is stored under, the way Ollama resolves it.
import { ReflexiaError } from "../errors/index.ts";
import { assertModelName, assertTag } from "./parse-model-ref.ts";

export const OLLAMA_REGISTRY_HOST = "registry.ollama.ai";
const DEFAULT_NAMESPACE = "library";
const DEFAULT_TAG = "latest";
const HUGGINGFACE_HOSTS = ["hf.co", "huggingface.co"];

export interface RegistryBases {
  /** Base URL for names without a host (config registry.ollama_base_url). */
  ollama: string;
  /** Base URL for hf.co/… names (config registry.huggingface_base_url). */
  huggingface: string;
}

export interface RegistryName {
  /** Where the registry protocol is spoken (no trailing slash). */
  baseUrl: string;
  /** `<namespace>/<model>` as the URL path carries it. */
  repository: string;
  tag: string;
  /** The Reflexia model name it is stored under (library models by their bare name, as Ollama lists them). */
  name: string;
  /** As Ollama prints it. */
  display: string;
}

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * Parses `name` as Ollama does; a first segment with a '.' or ':' is a host. A host may carry its scheme, as in
 * Ollama: `https://host/ns/model:tag`, or `http://…`, which only `insecure` allows. `insecure` (Ollama's
 * `insecure: true`, `ollama pull --insecure`) speaks plain http to whichever registry the name resolves to, as
 * Ollama's makeRequest does. Throws RFX_VALIDATION on bad names.
 */
export function parseRegistryName(
  ref: string,
  bases: RegistryBases,
  options: { insecure?: boolean } = {},
): RegistryName {
  const bad = (why: string) =>
    new ReflexiaError("RFX_VALIDATION", `invalid model name ${JSON.stringify(ref)} to pull: ${why}`, { model: ref });
  const done = (n: RegistryName): RegistryName =>
    options.insecure === true ? { ...n, baseUrl: n.baseUrl.replace(/^https:\/\//i, "http://") } : n;
  let trimmed = ref.trim();
  let scheme: "http" | "https" | undefined;
  const cut = trimmed.indexOf("://");
  if (cut >= 0) {
    const given = trimmed.slice(0, cut).toLowerCase();
    if (given !== "http" && given !== "https")
      throw bad(`invalid protocol scheme ${JSON.stringify(given)} (http or https)`);
    if (given === "http" && options.insecure !== true)
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `insecure protocol http in ${JSON.stringify(ref)}: pulling over plain http needs insecure: true (reflexia pull --insecure)`,
        { model: ref, field: "insecure" },
      );
    scheme = given;
    trimmed = trimmed.slice(cut + 3);
  }
  const slash = trimmed.lastIndexOf("/");
  const colon = trimmed.lastIndexOf(":");
  const hasTag = colon > slash;
  const path = hasTag ? trimmed.slice(0, colon) : trimmed;
  const tag = hasTag ? trimmed.slice(colon + 1) : DEFAULT_TAG;
  const parts = path.split("/");
  let host: string | undefined;
  if (parts.length > 1 && /[.:]/.test(parts[0])) host = parts.shift()!.toLowerCase();
  if (scheme !== undefined && host === undefined) throw bad(`a ${scheme}:// name names its registry host`);
  if (parts.length === 0 || parts.length > 2) throw bad("expected [host/][namespace/]model[:tag]");
  if (!parts.every((p) => SEGMENT.test(p))) throw bad("use letters, digits, '.', '_', '-'");
  assertTag(tag);
  const model = parts.at(-1)!;
  const namespace = parts.length === 2 ? parts[0] : DEFAULT_NAMESPACE;
  const repository = `${namespace}/${model}`;
  if (host === undefined || (host === OLLAMA_REGISTRY_HOST && scheme === undefined)) {
    const name = namespace === DEFAULT_NAMESPACE ? model : repository;
    return done({
      baseUrl: trimSlash(bases.ollama),
      repository,
      tag,
      name: assertModelName(name),
      display: `${name}:${tag}`,
    });
  }
  if (HUGGINGFACE_HOSTS.includes(host) && scheme === undefined) {
    if (parts.length !== 2) throw bad("Hugging Face names are hf.co/OWNER/REPO[:QUANT]");
    const name = `hf.co/${repository}`;
    return done({
      baseUrl: trimSlash(bases.huggingface),
      repository,
      tag,
      name: assertModelName(name),
      display: `${name}:${tag}`,
    });
  }
  // Any other host (or one named with its scheme) is a registry of its own, over https as Ollama speaks to it unless
  // the name says http. A port cannot be part of a Reflexia name (its ':' starts the tag), so it becomes '_' there,
  // as `models import-ollama` does.
  const name = `${host.replace(/:/g, "_")}/${repository}`;
  return done({
    baseUrl: `${scheme ?? "https"}://${host}`,
    repository,
    tag,
    name: assertModelName(name),
    display: `${host}/${repository}:${tag}`,
  });
}

function trimSlash(u: string): string {
  return u.replace(/\/+$/, "");
}
