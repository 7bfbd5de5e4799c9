// Remote variants in the catalog: their manifests (digest = hash of the spec, no blob), validation of a spec,
// and the variants config remote.models declares.
import { createHash } from "node:crypto";
import { parseQuantization, QUANTIZATIONS, type Config } from "../config/index.ts";
import { ReflexiaError } from "../errors/index.ts";
import { normalizeBaseUrl, type RemoteSpec } from "../upstream/index.ts";
import { assertModelName, assertTag } from "./parse-model-ref.ts";
import type { AddRemoteOptions, ModelManifest, ModelSource } from "./types.ts";

/** Checks a spec by name of the offending field; returns it with endpoints normalised and no unset keys. */
export function validateRemoteSpec(spec: RemoteSpec): RemoteSpec {
  if (!Array.isArray(spec.endpoints) || spec.endpoints.length === 0)
    throw new ReflexiaError("RFX_VALIDATION", "remote.urls must name at least one endpoint URL");
  const endpoints = spec.endpoints.map((u) => {
    if (typeof u !== "string" || !URL.canParse(u))
      throw new ReflexiaError("RFX_VALIDATION", `remote.urls: ${JSON.stringify(u)} is not a URL`);
    return normalizeBaseUrl(u);
  });
  if (new Set(endpoints).size !== endpoints.length)
    throw new ReflexiaError("RFX_VALIDATION", "remote.urls lists the same endpoint twice");
  if (typeof spec.upstreamModel !== "string" || spec.upstreamModel === "")
    throw new ReflexiaError("RFX_VALIDATION", "remote.upstream_model is required");
  if (spec.apiKeyFile && spec.apiKeyEnv)
    throw new ReflexiaError("RFX_VALIDATION", "remote: give api_key_file or api_key_env, not both");
  const positive = (v: number | undefined, field: string, int = false): void => {
    if (v !== undefined && (!(typeof v === "number" && v > 0) || (int && !Number.isInteger(v))))
      throw new ReflexiaError("RFX_VALIDATION", `remote.${field} must be a positive ${int ? "integer" : "number"}`);
  };
  positive(spec.timeoutSeconds, "timeout_seconds");
  positive(spec.requestTimeoutSeconds, "request_timeout_seconds");
  positive(spec.maxConcurrent, "max_concurrent", true);
  const eb = spec.extraBody;
  if (eb !== undefined && (eb === null || typeof eb !== "object" || Array.isArray(eb)))
    throw new ReflexiaError("RFX_VALIDATION", "remote.extra_body must be a JSON object");
  const out: RemoteSpec = { endpoints, upstreamModel: spec.upstreamModel };
  if (spec.apiKeyFile) out.apiKeyFile = spec.apiKeyFile;
  if (spec.apiKeyEnv) out.apiKeyEnv = spec.apiKeyEnv;
  if (spec.timeoutSeconds !== undefined) out.timeoutSeconds = spec.timeoutSeconds;
  if (spec.requestTimeoutSeconds !== undefined) out.requestTimeoutSeconds = spec.requestTimeoutSeconds;
  if (spec.maxConcurrent !== undefined) out.maxConcurrent = spec.maxConcurrent;
  if (eb !== undefined && Object.keys(eb).length > 0) out.extraBody = eb;
  return out;
}

/**
 * A remote variant's quantization: the tag when it is a quantization name (adaptive choice weighs the variant as its
 * tag, so a different `quantization` would make the response's quantization contradict the reason), else the one
 * given, else "unknown". A value that is no quantization name is refused rather than shown as one.
 */
function remoteQuantization(tag: string, given: string | undefined): string {
  const fromTag = (QUANTIZATIONS as readonly string[]).includes(tag) ? tag : undefined;
  if (given === undefined) return fromTag ?? "unknown";
  const q = parseQuantization(given);
  if (q === undefined)
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `remote.quantization ${JSON.stringify(given)} is not a quantization name (one of ${QUANTIZATIONS.join(", ")}); leave it out when the upstream's is not one of them`,
      { field: "quantization" },
    );
  if (fromTag !== undefined && q !== fromTag)
    throw new ReflexiaError(
      "RFX_VALIDATION",
      `remote.quantization ${q} contradicts the tag ${tag}, which is a quantization name that adaptive choice weighs the variant as; leave quantization out or use tag ${q}`,
      { field: "quantization" },
    );
  return q;
}

/** The manifest of a remote variant; its digest names the spec, so a changed spec is a different variant. */
export function remoteManifest(options: AddRemoteOptions, source: ModelSource): ModelManifest {
  assertModelName(options.name);
  assertTag(options.tag);
  const remote = validateRemoteSpec(options.remote);
  const quantization = remoteQuantization(options.tag, options.quantization);
  const digest = createHash("sha256").update(JSON.stringify({ quantization, remote })).digest("hex");
  return {
    name: options.name,
    tag: options.tag,
    quantization,
    digest: `sha256:${digest}`,
    sizeBytes: 0,
    format: "remote",
    kind: "remote",
    remote,
    architecture: "remote",
    parameterCount: 0,
    contextLength: 0,
    fileType: quantization,
    source,
    createdAt: new Date(0).toISOString(),
  };
}

/** A remote variant as config, CLI and API spell it (snake_case, `urls`). */
export interface RemoteFields {
  urls: string[];
  upstream_model: string;
  api_key_file?: string;
  api_key_env?: string;
  timeout_seconds?: number;
  request_timeout_seconds?: number;
  max_concurrent?: number;
  extra_body?: Record<string, unknown>;
}

export function remoteSpecFromFields(f: RemoteFields): RemoteSpec {
  return {
    endpoints: f.urls,
    upstreamModel: f.upstream_model,
    apiKeyFile: f.api_key_file,
    apiKeyEnv: f.api_key_env,
    timeoutSeconds: f.timeout_seconds,
    requestTimeoutSeconds: f.request_timeout_seconds,
    maxConcurrent: f.max_concurrent,
    extraBody: f.extra_body,
  };
}

/** What show/API answers say about a remote variant: where, never the key (only whether one is configured and how). */
export function publicRemoteSpec(spec: RemoteSpec) {
  return {
    endpoints: spec.endpoints.map((u) => {
      const url = new URL(u);
      return `${url.protocol}//${url.host}${url.pathname}`;
    }),
    upstream_model: spec.upstreamModel,
    api_key: spec.apiKeyFile ? "file" : spec.apiKeyEnv ? "env" : "none",
    timeout_seconds: spec.timeoutSeconds ?? null,
    request_timeout_seconds: spec.requestTimeoutSeconds ?? null,
    max_concurrent: spec.maxConcurrent ?? null,
    extra_body: spec.extraBody ?? null,
  };
}

/** The remote variants config remote.models declares (validated; a bad one is a config error naming it). */
export function remoteVariantsFromConfig(config: Pick<Config, "remote">): ModelManifest[] {
  return config.remote.models.map((m) => {
    try {
      return remoteManifest(
        {
          name: m.name,
          tag: m.tag,
          quantization: m.quantization,
          remote: remoteSpecFromFields(m),
        },
        { kind: "config", from: "remote.models" },
      );
    } catch (e) {
      throw new ReflexiaError("RFX_CONFIG_INVALID", `remote.models ${m.name}:${m.tag}: ${(e as Error).message}`, {
        key: "remote.models",
      });
    }
  });
}

/** Whether a manifest is a remote variant. */
export const isRemoteManifest = (m: Pick<ModelManifest, "kind">): boolean => m.kind === "remote";
