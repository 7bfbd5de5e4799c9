// Optional API-key authentication: keys from config (api_key, keys_file), accepted as Bearer or X-API-Key,
// compared in constant time.
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Config } from "../config/index.ts";
import { ReflexiaError } from "../errors/index.ts";

/** The accepted keys: auth.api_key plus one per non-empty, non-# line of auth.keys_file. */
export function loadApiKeys(config: Pick<Config, "auth">): string[] {
  const keys: string[] = [];
  if (config.auth.api_key) keys.push(config.auth.api_key);
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
    for (const line of text.split(/\r?\n/)) {
      const k = line.trim();
      if (k && !k.startsWith("#")) keys.push(k);
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

const digest = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest();

/**
 * Returns a checker for presented keys. Hashing first gives equal-length buffers for timingSafeEqual, and every
 * stored key is compared (no early exit), so neither the key's length nor which key matched leaks through time.
 */
export function createApiKeyVerifier(keys: readonly string[]): (presented: string | undefined) => boolean {
  const hashes = keys.map(digest);
  return (presented) => {
    if (typeof presented !== "string" || presented.length === 0) return false;
    const h = digest(presented);
    let ok = false;
    for (const k of hashes) ok = timingSafeEqual(h, k) || ok;
    return ok;
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
