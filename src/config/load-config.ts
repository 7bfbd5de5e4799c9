// The only reader of process.env and config files: validates every key, records its source and freezes the result.
import { existsSync, readFileSync } from "node:fs";
import { ReflexiaError } from "../errors/index.ts";
import { CONFIG_KEYS, CONFIG_SCHEMA, type Config, type KeyDef } from "./keys.ts";

export type ConfigSource = "default" | "file" | "env" | "override";

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

/**
 * The options as dotted keys (`{models: {default: "x"}}` → `{"models.default": "x"}`); a name that is neither a key
 * nor a section is refused by name (`unknown ${what} rag.similarty_top_k`): a typo must not be ignored quietly. With
 * `envNames`, a key's environment name is taken at the top level too (a config file may use them).
 */
export function flattenConfigKeys(options: object, what = "option", envNames = false): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const walk = (obj: object, prefix: string): void => {
    for (const [name, value] of Object.entries(obj)) {
      const path = prefix + name;
      if (value === undefined) continue;
      const byEnv = envNames && prefix === "" ? CONFIG_KEYS.find((k) => k.env === name) : undefined;
      if (byEnv) out[byEnv.key] = value;
      else if (CONFIG_KEYS.some((k) => k.key === path)) out[path] = value;
      else if (CONFIG_KEYS.some((k) => k.key.startsWith(`${path}.`)) && value !== null && typeof value === "object")
        walk(value, `${path}.`);
      else throw new ReflexiaError("RFX_CONFIG_INVALID", `unknown ${what} ${path}`, { key: path });
    }
  };
  walk(options, "");
  return out;
}

export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const filePath =
    options.file ?? env.REFLEXIA_CONFIG ?? (existsSync("reflexia.config.json") ? "reflexia.config.json" : undefined);
  let fileData: unknown = {};
  if (filePath) {
    try {
      fileData = JSON.parse(readFileSync(filePath, "utf8"));
    } catch (e) {
      throw new ReflexiaError("RFX_CONFIG_INVALID", `config file ${filePath}: ${(e as Error).message}`);
    }
    if (fileData === null || typeof fileData !== "object" || Array.isArray(fileData))
      throw new ReflexiaError("RFX_CONFIG_INVALID", `config file ${filePath}: not a JSON object of configuration keys`);
    try {
      flattenConfigKeys(fileData, "key", true);
    } catch (e) {
      throw new ReflexiaError("RFX_CONFIG_INVALID", `config file ${filePath}: ${(e as Error).message}`, {
        key: (e as ReflexiaError).details?.key,
      });
    }
  }
  return { ...resolveConfig(fileData, env, options.overrides), file: filePath };
}

/** The key a zod issue path falls under (the longest key that prefixes it). */
function keyOfIssue(path: readonly PropertyKey[]): KeyDef | undefined {
  const dotted = path.map(String).join(".");
  return CONFIG_KEYS.filter((d) => dotted === d.key || dotted.startsWith(`${d.key}.`)).sort(
    (a, b) => b.key.length - a.key.length,
  )[0];
}

function resolveConfig(
  fileData: unknown,
  env: Record<string, string | undefined>,
  overrides: Record<string, unknown> | undefined,
): Omit<LoadedConfig, "file"> {
  const raw: Record<string, unknown> = {};
  const rawByKey = new Map<string, unknown>();
  const sources: Record<string, ConfigSource> = {};
  for (const def of CONFIG_KEYS) {
    let value: unknown = def.default;
    let source: ConfigSource = "default";
    // A file may nest keys ({"rag": {"chunk_size": 512}}) or use the env name at top level.
    const fromFile = getPath(fileData, def.key) ?? (fileData as Record<string, unknown> | null)?.[def.env];
    if (fromFile !== undefined) {
      value = fromFile;
      source = "file";
    }
    const fromEnv = env[def.env];
    if (fromEnv !== undefined && fromEnv !== "") {
      value = fromEnv;
      source = "env";
    }
    if (overrides && def.key in overrides && overrides[def.key] !== undefined) {
      value = overrides[def.key];
      source = "override";
    }
    setPath(raw, def.key, value);
    rawByKey.set(def.key, value);
    sources[def.key] = source;
  }
  const parsed = CONFIG_SCHEMA.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const def = issue ? keyOfIssue(issue.path) : undefined;
    if (!def) throw new ReflexiaError("RFX_CONFIG_INVALID", `invalid configuration: ${issue?.message ?? "invalid"}`);
    const source = sources[def.key];
    // Inside a structured key (roles.custom, adaptive.thresholds) say which part is wrong.
    const inner = issue.path.slice(def.key.split(".").length).map(String).join(".");
    throw new ReflexiaError(
      "RFX_CONFIG_INVALID",
      `invalid value for ${def.key} (${def.env}) from ${source}: ${JSON.stringify(rawByKey.get(def.key))} — ${inner ? `${inner}: ` : ""}${issue.message}`,
      { key: def.key, env: def.env, source },
    );
  }
  const config: Config = parsed.data;
  if (config.rag.chunk_overlap >= config.rag.chunk_size) {
    throw new ReflexiaError(
      "RFX_CONFIG_INVALID",
      `invalid value for rag.chunk_overlap: ${config.rag.chunk_overlap} must be smaller than rag.chunk_size (${config.rag.chunk_size})`,
      { key: "rag.chunk_overlap" },
    );
  }
  if (config.adaptive.thresholds[0] >= config.adaptive.thresholds[1]) {
    throw new ReflexiaError(
      "RFX_CONFIG_INVALID",
      "invalid value for adaptive.thresholds: the first must be below the second",
      { key: "adaptive.thresholds" },
    );
  }
  return { config: deepFreeze(config), sources: Object.freeze(sources) };
}

/**
 * Every key at its default: what a lower layer falls back to when its caller passes nothing, so no module restates
 * a default of the table.
 */
export const CONFIG_DEFAULTS: Readonly<Config> = resolveConfig({}, {}, undefined).config;

/** Whether REFLEXIA_DEBUG asks for stack traces; readable before (or without) a valid configuration. */
export function isDebugEnabled(env: Record<string, string | undefined> = process.env): boolean {
  const def = CONFIG_KEYS.find((d) => d.key === "log.debug");
  const parsed = def?.schema.safeParse(env[def.env]);
  return parsed?.success === true && parsed.data === true;
}

/** Rows for `reflexia config` and `--help`: key, env name, value, source and description. */
export function describeConfig(
  loaded: LoadedConfig,
): { key: string; env: string; value: unknown; source: ConfigSource; description: string }[] {
  return CONFIG_KEYS.map((d) => ({
    key: d.key,
    env: d.env,
    value: getPath(loaded.config, d.key),
    source: loaded.sources[d.key],
    description: d.description,
  }));
}
