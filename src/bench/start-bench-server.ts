// Starts a real Reflexia server on 127.0.0.1 sized for an HTTP benchmark: free ports, no auth or rate limit.
import { loadConfig, type Config, type LoadedConfig } from "../config/index.ts";
import { createAppDeps } from "../create-app-deps.ts";
import type { Engine } from "../engine/types.ts";
import { buildApp } from "../http/index.ts";
import type { Services } from "../services/create-services.ts";

export interface StartBenchServerOptions {
  /** The configuration to start from (home, models, …). */
  base: LoadedConfig;
  /** Sequences per loaded variant: the highest concurrency measured. */
  parallel: number;
  /** Tokens each request generates; the context is sized so every sequence has room for prompt + answer. */
  tokens: number;
  /** Keep the response cache on (cache benchmarks) or off (every request must generate). */
  cache: boolean;
  engine?: Engine;
  /** Open the document store too. Defaults to false. */
  rag?: boolean;
  /** Exact context size (tokens of the KV pool). Defaults to room for `tokens` + 64 per sequence, at least the base's. */
  contextSize?: number;
  /** Further dotted config keys (e.g. "models.prefix_cache"). */
  overrides?: Record<string, unknown>;
}

/** A listening API server of the production wiring (no metrics listener, warm-up or signal handling). */
export interface BenchServer {
  /** http://127.0.0.1:port */
  url: string;
  services: Services;
  /** Closes the server, then RAG and the engine. */
  close(): Promise<void>;
}

/** Nested config → dotted keys, so a loaded config can be re-validated with overrides. */
export function flatten(obj: Record<string, unknown>, prefix = ""): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === "object" && !Array.isArray(v)) Object.assign(out, flatten(v as Record<string, unknown>, key));
    else out[key] = v;
  }
  return out;
}

export async function startBenchServer(
  options: StartBenchServerOptions,
): Promise<{ server: BenchServer; config: Config }> {
  const { base, parallel, tokens } = options;
  // Each sequence gets contextSize / parallel tokens: leave room for the prompt and the generation.
  const perSequence = Math.ceil((tokens + 64) / 256) * 256;
  const loaded = loadConfig({
    env: {},
    overrides: {
      ...flatten(base.config as unknown as Record<string, unknown>),
      "server.host": "127.0.0.1",
      "server.port": 0,
      "server.metrics_port": 0,
      "scheduler.parallel": parallel,
      "scheduler.queue_size": Math.max(64, parallel * 4),
      "models.context_size": options.contextSize ?? Math.max(base.config.models.context_size, perSequence * parallel),
      "cache.enabled": options.cache,
      "auth.enabled": false,
      "server.rate_limit_per_minute": 0,
      "log.level": "warn",
      ...options.overrides,
    },
  });
  const config = loaded.config;
  // Built like the real server (createAppDeps) but listened on here: bench/ sits below main.ts in src/layers.ts.
  const wiring = await createAppDeps(config, {
    engine: options.engine,
    rag: options.rag === true,
    logger: false,
    webDir: null,
  });
  const app = buildApp(wiring.deps);
  let address: string;
  try {
    address = await app.listen({ port: 0, host: "127.0.0.1" });
  } catch (e) {
    await wiring.close();
    throw e;
  }
  const close = async () => {
    await wiring.services.scheduler.drain();
    await app.close();
    await wiring.close();
  };
  return { server: { url: address, services: wiring.services, close }, config };
}
