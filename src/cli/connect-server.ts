// Whether a CLI command talks to a running server (one loaded model, one view of the stores) or runs embedded:
// the server at client.host (REFLEXIA_HOST, else this config's port) when it answers, unless --local.
import type { Config } from "../config/index.ts";
import { createReflexiaClient, type ReflexiaClient } from "../client/index.ts";
import { ReflexiaError } from "../errors/index.ts";

/** Where the CLI looks for a server: REFLEXIA_HOST, else the configured port on loopback. */
export function serverUrlOf(config: Config): string {
  if (config.client.host) return config.client.host.replace(/\/+$/, "");
  const host = ["0.0.0.0", "::", ""].includes(config.server.host) ? "127.0.0.1" : config.server.host;
  return `http://${host.includes(":") ? `[${host}]` : host}:${config.server.port}`;
}

/**
 * The client of the server that answers at serverUrlOf(config), or null (embedded); says which on stderr, so
 * scripts reading stdout see only the answer.
 */
export async function connectServer(
  config: Config,
  options: { local?: boolean; quiet?: boolean } = {},
): Promise<ReflexiaClient | null> {
  const say = (s: string): void => {
    if (!options.quiet) process.stderr.write(`reflexia: ${s}\n`);
  };
  if (options.local) {
    say("--local: running embedded");
    return null;
  }
  const baseUrl = serverUrlOf(config);
  const client = createReflexiaClient({ baseUrl, apiKey: config.auth.api_key || undefined });
  try {
    const res = await fetch(`${baseUrl}/api/version`, {
      signal: AbortSignal.timeout(config.client.connect_timeout_ms),
      headers: config.auth.api_key ? { authorization: `Bearer ${config.auth.api_key}` } : {},
    });
    const body = (await res.json()) as { version?: unknown; code?: unknown; error?: unknown };
    if (res.ok && typeof body.version === "string") {
      say(`using the server at ${baseUrl}`);
      return client;
    }
    if (refusedKey(res.status, body)) throw keyRefused(baseUrl, config.auth.api_key !== "");
    say(`${baseUrl} answered ${res.status}, not as a Reflexia server; running embedded`);
  } catch (e) {
    if (e instanceof ReflexiaError) throw e;
    say(`no server at ${baseUrl}; running embedded`);
  }
  return null;
}

/**
 * A Reflexia server that wants a key (its 401 carries RFX_UNAUTHORIZED, in Ollama's shape or the native one): running
 * embedded instead would load a second copy of the model and write the stores here, behind the server's back.
 */
function refusedKey(status: number, body: { code?: unknown; error?: unknown }): boolean {
  const code =
    typeof body.error === "object" && body.error !== null ? (body.error as { code?: unknown }).code : body.code;
  return (status === 401 || status === 403) && typeof code === "string" && code.startsWith("RFX_");
}

function keyRefused(baseUrl: string, keyGiven: boolean): ReflexiaError {
  return new ReflexiaError(
    "RFX_UNAUTHORIZED",
    `the server at ${baseUrl} requires an API key and ${keyGiven ? "refused the one in API_KEY" : "API_KEY is not set"}: set API_KEY to one of its keys, or pass --local to run embedded`,
  );
}
