// The benchmark kinds the server runs in the background for POST /api/benchmarks (inference, throughput, rag):
// each checks its parameters up front, runs the very functions `reflexia benchmark` runs, one variant or size at
// a time so progress and cancellation have steps, and returns what the history stores.
import type { Config, LoadedConfig } from "../config/index.ts";
import type { Engine } from "../engine/types.ts";
import { ReflexiaError } from "../errors/index.ts";
import { compareByPrecision, type ModelStore } from "../registry/index.ts";
import type { BenchmarkKind, BenchmarkOutcome, BenchmarkRequest } from "../services/benchmark-jobs.ts";
import type { InferenceBenchmarkResult } from "./inference-bench.ts";
import type { RagBenchmarkResult } from "./rag-bench.ts";
import type { ThroughputBenchmarkResult } from "./throughput-bench.ts";

export interface ServerBenchmarksOptions {
  loaded: LoadedConfig;
  store: ModelStore;
  /** The server's engine: inference runs load their own copy of each variant on it, one at a time. */
  engine: Engine;
}

/** Bounds that keep one API-started run to minutes on a small machine. */
const LIMITS = {
  models: 8,
  tokens: [2, 4096],
  repetitions: [1, 20],
  concurrency: [1, 32],
  levels: 6,
  sizes: [1, 20_000],
  sizeCount: 4,
} as const;

function intIn(name: string, v: number | undefined, [lo, hi]: readonly [number, number]): void {
  if (v !== undefined && (!Number.isInteger(v) || v < lo || v > hi))
    throw new ReflexiaError("RFX_VALIDATION", `${name} must be an integer in [${lo}, ${hi}]; got ${String(v)}`);
}

function listIn(name: string, v: number[] | undefined, range: readonly [number, number], most: number): void {
  if (v === undefined) return;
  if (!Array.isArray(v) || v.length === 0 || v.length > most)
    throw new ReflexiaError("RFX_VALIDATION", `${name} must list 1 to ${most} values`);
  v.forEach((x, i) => intIn(`${name}[${i}]`, x, range));
}

/** The API request as `field=value` strings: what the history calls the run's args. */
function argsOf(r: BenchmarkRequest): string[] {
  return Object.entries(r)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(",") : String(v)}`);
}

export function createServerBenchmarks(options: ServerBenchmarksOptions): Record<string, BenchmarkKind> {
  const { store, engine } = options;
  const config = options.loaded.config as Config;
  const threads = config.performance.thread_pool_size > 0 ? config.performance.thread_pool_size : undefined;
  const defaultRefs = (): string[] => [`${config.models.default}:${config.models.default_quantization}`];

  /** The variants a run measures, resolved (RFX_MODEL_NOT_FOUND as a 4xx before the run starts), lowest precision first. */
  const resolveModels = async (r: BenchmarkRequest) => {
    const refs = r.models ?? defaultRefs();
    if (!Array.isArray(refs) || refs.length === 0 || refs.length > LIMITS.models)
      throw new ReflexiaError("RFX_VALIDATION", `models must list 1 to ${LIMITS.models} variants`);
    const resolved = await Promise.all(refs.map((ref) => store.resolve(ref)));
    return resolved.sort((a, b) => compareByPrecision(a.quantization, b.quantization));
  };
  const modelRefs = (rs: Awaited<ReturnType<typeof resolveModels>>): BenchmarkOutcome["models"] =>
    rs.map((v) => ({
      ref: `${v.name}:${v.tag}`,
      digest: v.manifest.digest,
      quantization: v.quantization,
      sizeBytes: v.sizeBytes,
    }));
  const cancelled = (signal: AbortSignal): void => {
    if (signal.aborted) throw new ReflexiaError("RFX_CANCELLED", "the benchmark was cancelled");
  };

  const inference: BenchmarkKind = {
    description: "ms per token (avg, p50, p95, max), tok/s and time to first token per variant, on the server's engine",
    params: ["models", "tokens", "repetitions"],
    async check(r) {
      intIn("tokens", r.tokens, LIMITS.tokens);
      intIn("repetitions", r.repetitions, LIMITS.repetitions);
      await resolveModels(r);
    },
    async run(r, ctx) {
      const variants = await resolveModels(r);
      const tokens = r.tokens ?? 128;
      const repetitions = r.repetitions ?? 3;
      const { runInferenceBenchmark } = await import("./inference-bench.ts");
      const parts: InferenceBenchmarkResult[] = [];
      for (const [i, v] of variants.entries()) {
        cancelled(ctx.signal);
        ctx.progress(i, variants.length);
        parts.push(
          await runInferenceBenchmark({
            store,
            engine,
            refs: [`${v.name}:${v.tag}`],
            tokens,
            repetitions,
            threads,
            log: ctx.log,
            signal: ctx.signal,
          }),
        );
      }
      ctx.progress(variants.length, variants.length);
      const result = { kind: "inference", ...parts[0], variants: parts.flatMap((p) => p.variants) };
      return {
        result,
        args: argsOf(r),
        config: { engine: engine.name, threads: threads ?? engine.defaultThreads, tokens, repetitions, source: "api" },
        models: modelRefs(variants),
        headline: result.variants.map((v) => `${v.quantization} ${v.tokensPerSecond.toFixed(1)} tok/s`).join(", "),
      };
    },
  };

  const throughput: BenchmarkKind = {
    description:
      "requests/s and aggregate tok/s by concurrency through the HTTP API (a second server on a free loopback port)",
    params: ["models", "tokens", "concurrency"],
    async check(r) {
      intIn("tokens", r.tokens, LIMITS.tokens);
      listIn("concurrency", r.concurrency, LIMITS.concurrency, LIMITS.levels);
      await resolveModels(r);
    },
    async run(r, ctx) {
      const variants = await resolveModels(r);
      const tokens = r.tokens ?? 64;
      const concurrency = r.concurrency ?? [1, 4, 8];
      // Loaded on use: the throughput bench starts a second server (start-bench-server.ts) and its engine.
      const { runThroughputBenchmark } = await import("./throughput-bench.ts");
      const runs: ThroughputBenchmarkResult[] = [];
      for (const [i, v] of variants.entries()) {
        cancelled(ctx.signal);
        ctx.progress(i, variants.length);
        runs.push(
          await runThroughputBenchmark({
            loaded: options.loaded,
            model: `${v.name}:${v.tag}`,
            tokens,
            concurrency,
            log: ctx.log,
          }),
        );
      }
      ctx.progress(variants.length, variants.length);
      return {
        result: { kind: "throughput", runs },
        args: argsOf(r),
        config: { threads: threads ?? engine.defaultThreads, tokens, concurrency, source: "api" },
        models: modelRefs(variants),
        headline: runs
          .map(
            (t) =>
              `${t.quantization} ${Math.max(...t.rows.map((x) => x.aggregateTokensPerSecond)).toFixed(1)} tok/s peak`,
          )
          .join(", "),
      };
    },
  };

  const rag: BenchmarkKind = {
    description: "retrieval p50/p95 by document count, exact vs HNSW, recall@k (synthetic corpus in a temp directory)",
    params: ["sizes"],
    async check(r) {
      listIn("sizes", r.sizes, LIMITS.sizes, LIMITS.sizeCount);
    },
    async run(r, ctx) {
      const sizes = r.sizes ?? [100, 1000];
      const { runRagBenchmark } = await import("./rag-bench.ts");
      const parts: RagBenchmarkResult[] = [];
      for (const [i, size] of sizes.entries()) {
        cancelled(ctx.signal);
        ctx.progress(i, sizes.length);
        parts.push(await runRagBenchmark({ sizes: [size], annThreshold: config.rag.ann_threshold, log: ctx.log }));
      }
      ctx.progress(sizes.length, sizes.length);
      const result = { kind: "rag", ...parts[0], rows: parts.flatMap((p) => p.rows) };
      return {
        result,
        args: argsOf(r),
        config: { sizes, ann_threshold: config.rag.ann_threshold, source: "api" },
        models: [],
        headline: result.rows.map((x) => `${x.documents} docs p95 ${x.exact.p95.toFixed(2)} ms`).join(", "),
      };
    },
  };

  return { inference, throughput, rag };
}
