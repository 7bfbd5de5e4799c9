// Optional API-key authentication: keys from config (api_key, keys_file), accepted as Bearer or X-API-Key,
// compared in constant time.
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Config } from "../config/index.ts";
import { ReflexiaError } from "../errors/index.ts";

/** An accepted key and the name its usage is counted under. */
export interface NamedApiKey {
  name: string;
  key: string;
}

type AuthKeyConfig = { auth: Pick<Config["auth"], "enabled" | "api_key" | "keys_file"> };

/** The accepted keys: auth.api_key plus one per non-empty, non-# line of auth.keys_file. */
export function loadApiKeys(config: AuthKeyConfig): string[] {
  return loadNamedApiKeys(config).map((k) => k.key);
}

/** `name:key` with a name of letters, digits, `_`, `.`, `-` (at most 64); anything else on a line is a bare key. */
const NAMED_LINE = /^([A-Za-z0-9_.-]{1,64}):(.+)$/;

/**
 * The accepted keys with their names: auth.api_key is "default"; a keys_file line `name:key` is named, a bare key
 * is `key-<line number>` (so its usage is still told apart without writing the key anywhere).
 */
export function loadNamedApiKeys(config: AuthKeyConfig): NamedApiKey[] {
  const keys: NamedApiKey[] = [];
  if (config.auth.api_key) keys.push({ name: "default", key: config.auth.api_key });
  if (config.auth.keys_file) {
    let text: string;
    try {
      text = readFileSync(config.auth.keys_file, "utf8");
    } catch (e) {
      throw new ReflexiaError(
        "RFX_CONFIG_INVALID",
        `auth.keys_file (API_KEYS_FILE) ${config.auth.keys_file}: ${(e as Error).message}`,
        { key: "auth.keys_file" },
      );
    }
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const k = lines[i].trim();
      if (!k || k.startsWith("#")) continue;
      const m = NAMED_LINE.exec(k);
      const entry = m ? { name: m[1], key: m[2].trim() } : { name: `key-${i + 1}`, key: k };
      if (keys.some((e) => e.name === entry.name))
        throw new ReflexiaError(
          "RFX_CONFIG_INVALID",
          `auth.keys_file (API_KEYS_FILE) line ${i + 1}: the key name ${entry.name} is used twice`,
          { key: "auth.keys_file" },
        );
      keys.push(entry);
    }
  }
  if (config.auth.enabled && keys.length === 0) {
    throw new ReflexiaError(
      "RFX_CONFIG_INVALID",
      "auth.enabled (ENABLE_AUTH) is true but no key is configured: set API_KEY or API_KEYS_FILE",
      { key: "auth.enabled" },
    );
  }
  return keys;
}

/**
 * Refuses a quota whose key names no accepted key (a typo would leave that key unlimited) or that sets no limit
 * (neither tokens nor requests: it would limit nothing). Checked where the keys are loaded, with auth on.
 */
export function assertQuotaKeys(quotas: Config["auth"]["quotas"], keys: readonly (string | NamedApiKey)[]): void {
  // Bare strings (AppDeps.apiKeys) are named key-1, key-2, … as the auth hook names them.
  const names = keys.map((k, i) => (typeof k === "string" ? `key-${i + 1}` : k.name));
  quotas.forEach((q, i) => {
    if (!names.includes(q.key))
      throw new ReflexiaError(
        "RFX_CONFIG_INVALID",
        `auth.quotas (API_KEY_QUOTAS) [${i}]: key ${JSON.stringify(q.key)} names no API key (named: ${names.join(", ")}), so its quota would never apply; use one of those names (API_KEYS_FILE lines name:key, API_KEY is default)`,
        { key: "auth.quotas" },
      );
    if (q.tokens === undefined && q.requests === undefined)
      throw new ReflexiaError(
        "RFX_CONFIG_INVALID",
        `auth.quotas (API_KEY_QUOTAS) [${i}]: the quota of ${q.key} sets neither tokens nor requests, so it limits nothing; give one or both`,
        { key: "auth.quotas" },
      );
  });
}

const digest = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest();

/**
 * Returns a checker for presented keys. Hashing first gives equal-length buffers for timingSafeEqual, and every
 * stored key is compared (no early exit), so neither the key's length nor which key matched leaks through time.
 */
export function createApiKeyVerifier(keys: readonly string[]): (presented: string | undefined) => boolean {
  const identify = createApiKeyIdentifier(keys.map((key, i) => ({ name: String(i), key })));
  return (presented) => identify(presented) !== undefined;
}

/** As createApiKeyVerifier, answering the name of the matching key (undefined when none matches). */
export function createApiKeyIdentifier(
  keys: readonly NamedApiKey[],
): (presented: string | undefined) => string | undefined {
  const hashes = keys.map((k) => ({ name: k.name, hash: digest(k.key) }));
  return (presented) => {
    if (typeof presented !== "string" || presented.length === 0) return undefined;
    const h = digest(presented);
    let name: string | undefined;
    for (const k of hashes) if (timingSafeEqual(h, k.hash) && name === undefined) name = k.name;
    return name;
  };
}

/** The key a request presents: `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function presentedKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === "string") {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m) return m[1].trim();
  }
  const x = headers["x-api-key"];
  return typeof x === "string" ? x.trim() : undefined;
}
