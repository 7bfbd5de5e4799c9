// API benchmark: single-stream decode tok/s through the HTTP API next to the raw engine's on the same loaded
// variant in the same run, aggregate tok/s at several concurrencies (HTTP and raw), and the latency of
// response-cache hits over HTTP. Run: npx tsx src/bench/api-bench.ts [--model M] [--tokens N] [--concurrency 1,4,8]
import { Agent, request as httpRequest } from "node:http";
import { pathToFileURL } from "node:url";
import { deriveCacheKey } from "../cache/index.ts";
import { createReflexiaClient } from "../client/index.ts";
import { loadConfig, type LoadedConfig } from "../config/index.ts";
import type { Engine, GenerationResult } from "../engine/types.ts";
import { ReflexiaError } from "../errors/index.ts";
import { callTail, median, timeCall, type CallSample } from "./bench-stats.ts";
import { startBenchServer } from "./start-bench-server.ts";

export interface ApiBenchmarkOptions {
  /** `name:tag` to pin (a bare name uses the default quantization). Defaults to models.default:default_quantization. */
  model?: string;
  /** Tokens generated per request. Defaults to 128. */
  tokens?: number;
  /** Concurrent requests for the aggregate runs. Defaults to [1, 4, 8]. */
  concurrency?: number[];
  /** Runs of each measurement; the median is reported. Defaults to 3. */
  repetitions?: number;
  /** Cache-hit requests timed after one miss. Defaults to 200. */
  cacheRequests?: number;
  /**
   * Hits sent before the timed ones, per client, so the hit path is JIT-compiled and the heap settled ("a warmed
   * server"): after 50, p99 was 2.3-4.1 ms on a quiet 2-core machine; after 3,000, 0.98 ms. Defaults to 2,000.
   */
  cacheWarmup?: number;
  /** Config (home, threads…); ports are always chosen free on 127.0.0.1. Defaults to loadConfig(). */
  loaded?: LoadedConfig;
  /** Engine to run on. Defaults to the server's (createEngine). */
  engine?: Engine;
  /** Receives each printed line. Defaults to console.log. */
  log?: (line: string) => void;
}

export interface ConcurrencyFigures {
  concurrency: number;
  /** Generated tokens of all requests / wall time from first submit to last completion, over HTTP. */
  httpAggregateTokensPerSecond: number;
  /** The same on the raw LoadedModel (no HTTP, no services). */
  rawAggregateTokensPerSecond: number;
}

export interface ApiBenchmarkResult {
  model: string;
  quantization: string;
  engine: string;
  parallel: number;
  tokens: number;
  /** Client-side over HTTP streaming: (tokens − 1) / time from the first text chunk to the end of the stream. */
  httpDecodeTokensPerSecond: number;
  /** The engine's own decode rate for those same HTTP requests (eval_count − 1) / eval_duration. */
  httpServerDecodeTokensPerSecond: number;
  /** Raw engine on the same loaded variant: (tokens − 1) / evalMs. */
  rawDecodeTokensPerSecond: number;
  /** httpDecode / rawDecode. */
  httpOverRaw: number;
  httpTtftMs: number;
  rawTtftMs: number;
  concurrency: ConcurrencyFigures[];
  /**
   * Response-cache hits on the warmed server (after 50 untimed hits): `hit*` through a keep-alive node:http client
   * (one connection reused, as SDKs with an agent do), `fetch*` through the typed client on Node's fetch (undici),
   * whose own per-request cost is part of what those clients see. keyDerivationUs: deriving the key in process.
   */
  cache: {
    requests: number;
    missMs: number;
    hitP50Ms: number;
    hitP99Ms: number;
    hitMeanMs: number;
    /**
     * Process CPU time p99 per hit (server and client share the process), the share of hits during which the OS
     * preempted the process, and the wall p99 of the others: on a loaded machine the wall tail is the wait for a core.
     */
    hitCpuP99Ms: number;
    hitPreempted: number;
    hitUnpreemptedP99Ms?: number;
    fetchHitP50Ms: number;
    fetchHitP99Ms: number;
    keyDerivationUs: number;
  };
}

const PROMPT = "The quick brown fox";

export async function runApiBenchmark(options: ApiBenchmarkOptions = {}): Promise<ApiBenchmarkResult> {
  const log = options.log ?? ((l: string) => console.log(l));
  const tokens = options.tokens ?? 128;
  const concurrency = options.concurrency ?? [1, 4, 8];
  const reps = options.repetitions ?? 3;
  const cacheRequests = options.cacheRequests ?? 200;
  const cacheWarmup = options.cacheWarmup ?? 2000;
  if (!Number.isInteger(tokens) || tokens < 2)
    throw new ReflexiaError("RFX_VALIDATION", "tokens must be an integer >= 2");
  if (concurrency.length === 0 || concurrency.some((c) => !Number.isInteger(c) || c < 1))
    throw new ReflexiaError("RFX_VALIDATION", "concurrency must list positive integers");
  if (!Number.isInteger(cacheRequests) || cacheRequests < 1 || !Number.isInteger(cacheWarmup) || cacheWarmup < 0)
    throw new ReflexiaError("RFX_VALIDATION", "cache requests must be an integer >= 1 and cache warm-up >= 0");

  const base = options.loaded ?? loadConfig();
  const parallel = Math.max(...concurrency);
  const { server, config } = await startBenchServer({
    base,
    parallel,
    tokens,
    cache: true,
    engine: options.engine,
    rag: true,
  });
  try {
    const requested = options.model ?? `${config.models.default}:${config.models.default_quantization}`;
    const variant = await server.services.resolveVariant(requested);
    const ref = `${variant.name}:${variant.tag}`;
    const client = createReflexiaClient({ baseUrl: server.url });
    const sampling = { num_predict: tokens, temperature: 0.8, top_k: 40, top_p: 0.95, repeat_penalty: 1.1 };
    const rawOpts = { maxTokens: tokens, temperature: 0.8, topK: 40, topP: 0.95, repeatPenalty: 1.1 };
    log(
      `api-bench: ${ref} (${variant.quantization}), engine ${server.services.engine.name}, parallel ${parallel}, ${tokens} tokens per request, ${reps} repetitions`,
    );

    // Warm-up: loads the variant through the API and runs the first (slower) generation on each path.
    await client.generate({ model: ref, prompt: PROMPT, raw: true, options: { ...sampling, num_predict: 8, seed: 1 } });
    await server.services.scheduler.run(ref, {}, (l) =>
      l.model.generate(PROMPT, { ...rawOpts, maxTokens: 8, seed: 1 }),
    );

    const rawSingle = async (seed: number, prompt = PROMPT): Promise<GenerationResult> =>
      server.services.scheduler.run(ref, {}, (l) => l.model.generate(prompt, { ...rawOpts, seed }));
    const httpSingle = async (seed: number) => {
      let first = 0;
      const t0 = performance.now();
      const final = await client.generateStream(
        { model: ref, prompt: PROMPT, raw: true, options: { ...sampling, seed } },
        {
          onText: (_t, at) => {
            if (!first) first = at;
          },
        },
      );
      return { final, first, t0, end: performance.now() };
    };

    const httpRates: number[] = [];
    const httpServerRates: number[] = [];
    const rawRates: number[] = [];
    const httpTtft: number[] = [];
    const rawTtft: number[] = [];
    for (let r = 0; r < reps; r++) {
      // Alternate the two paths so drift (thermal, other load) affects both alike.
      const raw = await rawSingle(r + 1);
      if (raw.completionTokens > 1) rawRates.push(((raw.completionTokens - 1) / raw.timings.evalMs) * 1000);
      rawTtft.push(raw.timings.ttftMs);
      const h = await httpSingle(r + 1);
      // First token to end of stream: engines may coalesce streamed text (the native one flushes every 16 ms), so
      // the gap between the first and last text chunk can be zero on a fast model; the stream's end is always after.
      if (h.final.eval_count > 1 && h.end > h.first)
        httpRates.push(((h.final.eval_count - 1) / (h.end - h.first)) * 1000);
      if (h.final.eval_count > 1) httpServerRates.push(((h.final.eval_count - 1) / h.final.eval_duration) * 1e9);
      httpTtft.push(h.first - h.t0);
    }
    const result: ApiBenchmarkResult = {
      model: ref,
      quantization: variant.quantization,
      engine: server.services.engine.name,
      parallel,
      tokens,
      httpDecodeTokensPerSecond: median(httpRates),
      httpServerDecodeTokensPerSecond: median(httpServerRates),
      rawDecodeTokensPerSecond: median(rawRates),
      httpOverRaw: median(httpRates) / median(rawRates),
      httpTtftMs: median(httpTtft),
      rawTtftMs: median(rawTtft),
      concurrency: [],
      cache: {
        requests: 0,
        missMs: 0,
        hitP50Ms: 0,
        hitP99Ms: 0,
        hitMeanMs: 0,
        hitCpuP99Ms: 0,
        hitPreempted: 0,
        fetchHitP50Ms: 0,
        fetchHitP99Ms: 0,
        keyDerivationUs: 0,
      },
    };
    log(
      `single stream decode: HTTP ${result.httpDecodeTokensPerSecond.toFixed(1)} tok/s (server-side ${result.httpServerDecodeTokensPerSecond.toFixed(1)}) vs raw engine ${result.rawDecodeTokensPerSecond.toFixed(1)} tok/s → ratio ${result.httpOverRaw.toFixed(3)}; TTFT HTTP ${result.httpTtftMs.toFixed(1)} ms vs raw ${result.rawTtftMs.toFixed(1)} ms`,
    );

    for (const n of concurrency) {
      const httpAgg: number[] = [];
      const rawAgg: number[] = [];
      for (let r = 0; r < reps; r++) {
        let t0 = performance.now();
        // Seeds are unique per (level, repetition, request): a seeded request is cacheable, and a repeat of an earlier
        // (prompt, seed) pair would be served from the response cache instead of generating.
        const seedOf = (i: number) => 10_000 * n + 100 * r + i + 1;
        const rs = await Promise.all(Array.from({ length: n }, (_, i) => rawSingle(seedOf(i), `${PROMPT} ${i}`)));
        rawAgg.push((rs.reduce((a, x) => a + x.completionTokens, 0) / (performance.now() - t0)) * 1000);
        t0 = performance.now();
        const hs = await Promise.all(
          Array.from({ length: n }, (_, i) =>
            client.generateStream({
              model: ref,
              prompt: `${PROMPT} ${i}`,
              raw: true,
              options: { ...sampling, seed: seedOf(i) },
            }),
          ),
        );
        httpAgg.push((hs.reduce((a, x) => a + x.eval_count, 0) / (performance.now() - t0)) * 1000);
      }
      const c: ConcurrencyFigures = {
        concurrency: n,
        httpAggregateTokensPerSecond: median(httpAgg),
        rawAggregateTokensPerSecond: median(rawAgg),
      };
      result.concurrency.push(c);
      log(
        `${n} concurrent: aggregate HTTP ${c.httpAggregateTokensPerSecond.toFixed(1)} tok/s vs raw ${c.rawAggregateTokensPerSecond.toFixed(1)} tok/s`,
      );
    }

    // Cache hits: a deterministic request (temperature 0) repeated; the first one generates and fills the cache.
    const det = {
      model: ref,
      prompt: "Cache benchmark: name three primary colours.",
      options: { num_predict: 32, temperature: 0 },
    };
    await client.generate({
      ...det,
      prompt: "warm up the chat template",
      options: { num_predict: 4, temperature: 0.5 },
    });
    const t = performance.now();
    const miss = await client.generate(det);
    const missMs = performance.now() - t;
    if (miss.reflexia.cache !== "miss")
      throw new ReflexiaError("RFX_INTERNAL", `expected a cache miss first, got ${miss.reflexia.cache}`);
    // A connection-reusing client: what a hit costs the server plus one round trip on loopback.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const body = JSON.stringify({ ...det, stream: false });
    const target = new URL("/api/generate", server.url);
    const post = () =>
      new Promise<string>((resolve, reject) => {
        const req = httpRequest(
          target,
          {
            method: "POST",
            agent,
            headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
          },
          (res) => {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (d: string) => (text += d));
            res.on("end", () => resolve(text));
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    const timeHits = async (send: () => Promise<{ reflexia: { cache: string } }>): Promise<CallSample[]> => {
      for (let i = 0; i < cacheWarmup; i++) await send();
      const out: CallSample[] = [];
      for (let i = 0; i < cacheRequests; i++) {
        const { value: r, sample } = await timeCall(send);
        out.push(sample);
        if (r.reflexia.cache !== "hit")
          throw new ReflexiaError("RFX_INTERNAL", `request ${i + 1} after the first was not a cache hit`);
      }
      return out;
    };
    const hits = await timeHits(async () => JSON.parse(await post()));
    agent.destroy();
    const fetchHits = await timeHits(() => client.generate(det));
    const parts = {
      variant: `${ref}@${variant.manifest.digest}`,
      kind: "completion",
      prompt: det.prompt,
      sampling: { maxTokens: 32, temperature: 0 },
      extra: { contextSize: config.models.context_size },
    };
    const hitTail = callTail(hits, 99);
    const t2 = performance.now();
    for (let i = 0; i < 10_000; i++) deriveCacheKey(parts);
    result.cache = {
      requests: cacheRequests,
      missMs,
      hitP50Ms: callTail(hits, 50).wall,
      hitP99Ms: hitTail.wall,
      hitMeanMs: hits.reduce((a, b) => a + b.wall, 0) / Math.max(1, hits.length),
      hitCpuP99Ms: hitTail.cpu,
      hitPreempted: hitTail.preempted,
      ...(hitTail.unpreempted !== undefined ? { hitUnpreemptedP99Ms: hitTail.unpreempted } : {}),
      fetchHitP50Ms: callTail(fetchHits, 50).wall,
      fetchHitP99Ms: callTail(fetchHits, 99).wall,
      keyDerivationUs: ((performance.now() - t2) / 10_000) * 1000,
    };
    log(
      `cache hit over HTTP (${cacheRequests} requests after ${cacheWarmup} warm ones, 32-token answer): keep-alive node:http p50 ${result.cache.hitP50Ms.toFixed(2)} ms, p99 ${result.cache.hitP99Ms.toFixed(2)} ms ` +
        `(CPU p99 ${result.cache.hitCpuP99Ms.toFixed(2)} ms; ${(100 * result.cache.hitPreempted).toFixed(0)}% preempted, p99 of the others ${result.cache.hitUnpreemptedP99Ms?.toFixed(2) ?? "-"} ms); ` +
        `fetch p50 ${result.cache.fetchHitP50Ms.toFixed(2)} ms, p99 ${result.cache.fetchHitP99Ms.toFixed(2)} ms; key derivation ${result.cache.keyDerivationUs.toFixed(1)} µs (the generating miss took ${missMs.toFixed(1)} ms)`,
    );
    return result;
  } finally {
    await server.close();
  }
}

function parseArgs(argv: string[]): ApiBenchmarkOptions & { json: boolean } {
  const out: ApiBenchmarkOptions & { json: boolean } = { json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new ReflexiaError("RFX_VALIDATION", `${a} needs a value`);
      return x;
    };
    if (a === "--model") out.model = v();
    else if (a === "--tokens") out.tokens = Number(v());
    else if (a === "--concurrency") out.concurrency = v().split(",").map(Number);
    else if (a === "--repetitions") out.repetitions = Number(v());
    else if (a === "--cache-requests") out.cacheRequests = Number(v());
    else if (a === "--cache-warmup") out.cacheWarmup = Number(v());
    else if (a === "--json") out.json = true;
    else
      throw new ReflexiaError(
        "RFX_VALIDATION",
        `unknown option ${a} (use --model, --tokens, --concurrency, --repetitions, --cache-requests, --cache-warmup, --json)`,
      );
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const args = parseArgs(process.argv.slice(2));
    const result = await runApiBenchmark({ ...args, log: args.json ? () => {} : undefined });
    if (args.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    process.exit(0);
  } catch (e) {
    process.stderr.write(`api-bench: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
