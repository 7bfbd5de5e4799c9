// Throughput benchmark over the HTTP API: closed-loop clients at each concurrency, reporting requests/s, aggregate
// generated tok/s and request latency p50/p95, on a server started in-process on a free port.
import { createReflexiaClient } from "../client/index.ts";
import { loadConfig, type LoadedConfig } from "../config/index.ts";
import type { Engine } from "../engine/types.ts";
import { ReflexiaError } from "../errors/index.ts";
import { percentile } from "./bench-stats.ts";
import { startBenchServer } from "./start-bench-server.ts";

export interface ThroughputBenchmarkOptions {
  /** `name:tag` to pin. Defaults to models.default:models.default_quantization. */
  model?: string;
  /** Tokens generated per request (num_predict). Defaults to 64. */
  tokens?: number;
  /** Concurrent clients per run. Defaults to [1, 4, 8]. */
  concurrency?: number[];
  /** Requests each client sends back to back per run. Defaults to 4. */
  requestsPerClient?: number;
  /** Config (home, threads…); ports are always chosen free on 127.0.0.1. Defaults to loadConfig(). */
  loaded?: LoadedConfig;
  /** Engine to run on. Defaults to the server's (createEngine). */
  engine?: Engine;
  /** Receives each printed line. Defaults to console.log. */
  log?: (line: string) => void;
}

export interface ThroughputRow {
  concurrency: number;
  requests: number;
  wallMs: number;
  requestsPerSecond: number;
  /** Generated tokens of all requests / wall time. */
  aggregateTokensPerSecond: number;
  completionTokens: number;
  latencyP50Ms: number;
  latencyP95Ms: number;
}

export interface ThroughputBenchmarkResult {
  model: string;
  quantization: string;
  engine: string;
  /** Sequences the server decodes together (scheduler.parallel = the highest concurrency). */
  parallel: number;
  tokens: number;
  rows: ThroughputRow[];
}

export async function runThroughputBenchmark(
  options: ThroughputBenchmarkOptions = {},
): Promise<ThroughputBenchmarkResult> {
  const log = options.log ?? ((l: string) => console.log(l));
  const tokens = options.tokens ?? 64;
  const concurrency = options.concurrency ?? [1, 4, 8];
  const perClient = options.requestsPerClient ?? 4;
  if (!Number.isInteger(tokens) || tokens < 1)
    throw new ReflexiaError("RFX_VALIDATION", "tokens must be a positive integer");
  if (concurrency.length === 0 || concurrency.some((c) => !Number.isInteger(c) || c < 1))
    throw new ReflexiaError("RFX_VALIDATION", "concurrency must list positive integers");
  if (!Number.isInteger(perClient) || perClient < 1)
    throw new ReflexiaError("RFX_VALIDATION", "requestsPerClient must be a positive integer");

  const base = options.loaded ?? loadConfig();
  const parallel = Math.max(...concurrency);
  // Every request must generate: a cache hit would measure the cache, not the engine.
  const { server, config } = await startBenchServer({ base, parallel, tokens, cache: false, engine: options.engine });
  try {
    const variant = await server.services.resolveVariant(
      options.model ?? `${config.models.default}:${config.models.default_quantization}`,
    );
    const ref = `${variant.name}:${variant.tag}`;
    const client = createReflexiaClient({ baseUrl: server.url });
    const sampling = { num_predict: tokens, temperature: 0.8, top_k: 40, top_p: 0.95, repeat_penalty: 1.1 };
    log(
      `throughput: ${ref} over HTTP, parallel ${parallel}, ${tokens} tokens per request, ${perClient} requests per client`,
    );
    await client.generate({ model: ref, prompt: "warm up", raw: true, options: { ...sampling, num_predict: 8 } });
    const result: ThroughputBenchmarkResult = {
      model: ref,
      quantization: variant.quantization,
      engine: server.services.engine.name,
      parallel,
      tokens,
      rows: [],
    };
    for (const n of concurrency) {
      const latencies: number[] = [];
      let completion = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: n }, async (_, c) => {
          for (let i = 0; i < perClient; i++) {
            const t = performance.now();
            const r = await client.generate({
              model: ref,
              prompt: `Request ${c}.${i}: tell me about the sea`,
              raw: true,
              options: sampling,
            });
            latencies.push(performance.now() - t);
            completion += r.eval_count;
          }
        }),
      );
      const wallMs = performance.now() - t0;
      const row: ThroughputRow = {
        concurrency: n,
        requests: latencies.length,
        wallMs,
        requestsPerSecond: (latencies.length / wallMs) * 1000,
        aggregateTokensPerSecond: (completion / wallMs) * 1000,
        completionTokens: completion,
        latencyP50Ms: percentile(latencies, 50),
        latencyP95Ms: percentile(latencies, 95),
      };
      result.rows.push(row);
      log(
        `${n} concurrent: ${row.requestsPerSecond.toFixed(2)} req/s, ${row.aggregateTokensPerSecond.toFixed(1)} tok/s aggregate, latency p50 ${row.latencyP50Ms.toFixed(0)} ms p95 ${row.latencyP95Ms.toFixed(0)} ms (${row.requests} requests)`,
      );
    }
    return result;
  } finally {
    await server.close();
  }
}
