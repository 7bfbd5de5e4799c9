// The only reader of process.env and config files: validates every key, records its source and freezes the result.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { resolve } from "node:path";
import { ReflexiaError } from "../errors/index.ts";
import { CONFIG_KEYS, type MemoryIndexQuantization, type Quantization } from "./keys.ts";

export type ConfigSource = "default" | "file" | "env" | "override";

export interface Config {
  home: string;
  server: { host: string; port: number; metrics_port: number; body_limit_bytes: number; upload_limit_bytes: number; max_prompt_chars: number; cors_origins: string[]; rate_limit_per_minute: number };
  auth: { enabled: boolean; api_key: string; keys_file: string };
  models: { default: string; default_quantization: Quantization; context_size: number; default_max_tokens: number; keep_alive_seconds: number };
  scheduler: { parallel: number; queue_size: number; max_loaded_variants: number };
  engine: { backend: "auto" | "native" | "node-llama-cpp" };
  performance: { thread_pool_size: number };
  adaptive: { enabled: boolean; hysteresis: number; thresholds: [number, number] };
  memory: { max_memory_percent: number };
  cache: { enabled: boolean; size: number; deterministic_only: boolean };
  rag: { similarity_top_k: number; chunk_size: number; chunk_overlap: number; embedding_model: string; ann_threshold: number; memory_index_max_bytes: number; memory_index_quantization: MemoryIndexQuantization; hybrid: boolean };
  vector_db: { embedding_dim: number; distance_metric: "ip" | "cosine" | "l2" };
  roles: { custom: { id: string; name: string; category: string; system_prompt: string }[] };
  log: { level: string };
}

export interface LoadedConfig {
  config: Readonly<Config>;
  sources: Readonly<Record<string, ConfigSource>>;
  file?: string;
}

export interface LoadConfigOptions {
  /** Environment to read. Defaults to process.env. */
  env?: Record<string, string | undefined>;
  /** Config file path; defaults to $REFLEXIA_CONFIG, then ./reflexia.config.json when it exists. */
  file?: string;
  /** Values set programmatically (CLI flags, tests), by dotted key; they win over env and file. */
  overrides?: Record<string, unknown>;
}

function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split(".");
  let cur = obj;
  for (const part of parts.slice(0, -1)) cur = (cur[part] ??= {}) as Record<string, unknown>;
  cur[parts[parts.length - 1]] = value;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object") {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

function expandHome(p: string): string {
  return p === "~" || p.startsWith("~/") ? resolve(homedir(), p.slice(2)) : resolve(p);
}

export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const filePath = options.file ?? env.REFLEXIA_CONFIG ?? (existsSync("reflexia.config.json") ? "reflexia.config.json" : undefined);
  let fileData: unknown = {};
  if (filePath) {
    try {
      fileData = JSON.parse(readFileSync(filePath, "utf8"));
    } catch (e) {
      throw new ReflexiaError("RFX_CONFIG_INVALID", `config file ${filePath}: ${(e as Error).message}`);
    }
  }
  const out: Record<string, unknown> = {};
  const sources: Record<string, ConfigSource> = {};
  for (const def of CONFIG_KEYS) {
    let raw: unknown = def.default;
    let source: ConfigSource = "default";
    // A file may nest keys ({"rag": {"chunk_size": 512}}) or use the env name at top level.
    const fromFile = getPath(fileData, def.key) ?? (fileData as Record<string, unknown>)[def.env];
    if (fromFile !== undefined) { raw = fromFile; source = "file"; }
    const fromEnv = env[def.env];
    if (fromEnv !== undefined && fromEnv !== "") { raw = fromEnv; source = "env"; }
    if (options.overrides && def.key in options.overrides && options.overrides[def.key] !== undefined) {
      raw = options.overrides[def.key];
      source = "override";
    }
    const parsed = def.schema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ReflexiaError(
        "RFX_CONFIG_INVALID",
        `invalid value for ${def.key} (${def.env}) from ${source}: ${JSON.stringify(raw)} — ${issue?.message ?? "invalid"}`,
        { key: def.key, env: def.env, source },
      );
    }
    setPath(out, def.key, parsed.data);
    sources[def.key] = source;
  }
  const config = out as unknown as Config;
  config.home = expandHome(config.home);
  if (config.rag.chunk_overlap >= config.rag.chunk_size) {
    throw new ReflexiaError("RFX_CONFIG_INVALID", `invalid value for rag.chunk_overlap: ${config.rag.chunk_overlap} must be smaller than rag.chunk_size (${config.rag.chunk_size})`, { key: "rag.chunk_overlap" });
  }
  if (config.adaptive.thresholds[0] >= config.adaptive.thresholds[1]) {
    throw new ReflexiaError("RFX_CONFIG_INVALID", "invalid value for adaptive.thresholds: the first must be below the second", { key: "adaptive.thresholds" });
  }
  return { config: deepFreeze(config), sources: Object.freeze(sources), file: filePath };
}

/** Rows for `reflexia config` and `--help`: key, env name, value, source and description. */
export function describeConfig(loaded: LoadedConfig): { key: string; env: string; value: unknown; source: ConfigSource; description: string }[] {
  return CONFIG_KEYS.map((d) => ({ key: d.key, env: d.env, value: getPath(loaded.config, d.key), source: loaded.sources[d.key], description: d.description }));
}
