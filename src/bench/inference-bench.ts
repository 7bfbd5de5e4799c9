// Inference benchmark: per quantization variant, the time between generated tokens (avg / p50 / p95 / max from the
// engine's interTokenMs), decode and prompt tok/s and time to first token, on the engine the server runs; next to
// each, the decode rate the memory bandwidth allows and the fraction of it achieved.
import type { Engine } from "../engine/types.ts";
import { ReflexiaError } from "../errors/index.ts";
import { compareByPrecision, type ModelStore } from "../registry/index.ts";
import { percentile } from "./bench-stats.ts";

export interface InferenceBenchmarkOptions {
  store: ModelStore;
  /** The server's engine (createEngine), so the figures are what a request sees minus HTTP. */
  engine: Engine;
  /** `name:tag` variants (a bare name resolves to the default quantization); measured lowest precision first. */
  refs: string[];
  /** Tokens generated per run. Defaults to 128. */
  tokens?: number;
  /** Measured runs per variant after one warm-up run. Defaults to 3. */
  repetitions?: number;
  /** Decode threads; undefined uses the engine's default. */
  threads?: number;
  /** GPU layers for a load (GPU_LAYERS fitted as the server would: gpuLayersForLoad). Defaults to none (CPU). */
  gpuLayersFor?: (path: string, load: { contextSize: number; parallel: number }) => Promise<number>;
  /**
   * The memory-bandwidth bound on single-stream decode tok/s of a variant (measured bandwidth ÷ weight bytes one
   * token reads; null when unknown). Defaults to none: the rows carry no bound.
   */
  decodeBound?: (ref: string, contextSize: number) => Promise<number | null>;
  /** Measured bandwidth the bound came from, recorded in the result. */
  bandwidth?: { cpuBytesPerSecond?: number; gpuBytesPerSecond?: number };
  /** Receives each printed line. Defaults to console.log. */
  log?: (line: string) => void;
  /** Aborting stops the run mid-generation and rejects with RFX_CANCELLED (the server's background runs). */
  signal?: AbortSignal;
}

export interface TokenLatency {
  avg: number;
  p50: number;
  p95: number;
  max: number;
}

export interface InferenceVariantResult {
  ref: string;
  quantization: string;
  fileSizeBytes: number;
  runs: number;
  /** Generated tokens over all measured runs. */
  completionTokens: number;
  /** ms between consecutive generated tokens, pooled over the runs. */
  msPerToken: TokenLatency;
  /** 1000 / msPerToken.avg: single-stream decode rate. */
  tokensPerSecond: number;
  /** Prompt tokens / prompt evaluation time, median of the runs. */
  promptTokensPerSecond: number;
  /** Median time to first token, ms. */
  ttftMs: number;
  /** Single-stream decode tok/s the memory bandwidth allows (null when not measured). */
  boundTokensPerSecond: number | null;
  /** tokensPerSecond / boundTokensPerSecond. */
  achievedFraction: number | null;
}

export interface InferenceBenchmarkResult {
  engine: string;
  tokens: number;
  repetitions: number;
  prompt: string;
  /** Bytes/s of the copy benchmark the bounds use (best pass, read + write). */
  bandwidth: { cpuBytesPerSecond: number | null; gpuBytesPerSecond: number | null };
  variants: InferenceVariantResult[];
}

const PROMPT = "The quick brown fox jumps over the lazy dog. Tell me a story about it.";

function median(xs: number[]): number {
  return percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );
}

/** Loads each variant in turn (one at a time, as a fair comparison needs), measures it and unloads it. */
export async function runInferenceBenchmark(options: InferenceBenchmarkOptions): Promise<InferenceBenchmarkResult> {
  const log = options.log ?? ((l: string) => console.log(l));
  const tokens = options.tokens ?? 128;
  const reps = options.repetitions ?? 3;
  if (!Number.isInteger(tokens) || tokens < 2)
    throw new ReflexiaError("RFX_VALIDATION", "tokens must be an integer >= 2");
  if (!Number.isInteger(reps) || reps < 1)
    throw new ReflexiaError("RFX_VALIDATION", "repetitions must be a positive integer");
  if (options.refs.length === 0) throw new ReflexiaError("RFX_VALIDATION", "name at least one model variant");
  const resolved = (await Promise.all(options.refs.map((r) => options.store.resolve(r)))).sort((a, b) =>
    compareByPrecision(a.quantization, b.quantization),
  );
  const result: InferenceBenchmarkResult = {
    engine: options.engine.name,
    tokens,
    repetitions: reps,
    prompt: PROMPT,
    bandwidth: {
      cpuBytesPerSecond: options.bandwidth?.cpuBytesPerSecond ?? null,
      gpuBytesPerSecond: options.bandwidth?.gpuBytesPerSecond ?? null,
    },
    variants: [],
  };
  log(
    `inference benchmark on ${options.engine.name} (${options.engine.gpu?.backend ?? "cpu"}): ${tokens} tokens × ${reps} runs per variant`,
  );
  // Room for the prompt and the generation, rounded up: a bigger context would only cost memory.
  const contextSize = Math.ceil((tokens + 128) / 256) * 256;
  for (const v of resolved) {
    const ref = `${v.name}:${v.tag}`;
    const gpuLayers = (await options.gpuLayersFor?.(v.path, { contextSize, parallel: 1 })) ?? 0;
    const model = await options.engine.loadModel({
      path: v.path,
      contextSize,
      threads: options.threads,
      ...(gpuLayers > 0 ? { gpuLayers } : {}),
    });
    try {
      await model.generate(PROMPT, { maxTokens: 8, seed: 1 });
      const gaps: number[] = [];
      const pp: number[] = [];
      const ttft: number[] = [];
      let completion = 0;
      for (let r = 0; r < reps; r++) {
        const g = await model.generate(PROMPT, {
          maxTokens: tokens,
          temperature: 0.8,
          seed: r + 1,
          signal: options.signal,
        });
        if (options.signal?.aborted) throw new ReflexiaError("RFX_CANCELLED", "the benchmark was cancelled");
        gaps.push(...g.timings.interTokenMs);
        completion += g.completionTokens;
        if (g.timings.promptEvalMs > 0) pp.push((g.promptTokens / g.timings.promptEvalMs) * 1000);
        ttft.push(g.timings.ttftMs);
      }
      const sorted = [...gaps].sort((a, b) => a - b);
      const avg = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
      const tokensPerSecond = avg > 0 ? 1000 / avg : Number.NaN;
      const bound = (await options.decodeBound?.(ref, contextSize)) ?? null;
      const row: InferenceVariantResult = {
        ref,
        quantization: v.quantization,
        fileSizeBytes: v.sizeBytes,
        runs: reps,
        completionTokens: completion,
        msPerToken: { avg, p50: percentile(sorted, 50), p95: percentile(sorted, 95), max: sorted.at(-1) ?? Number.NaN },
        tokensPerSecond,
        promptTokensPerSecond: median(pp),
        ttftMs: median(ttft),
        boundTokensPerSecond: bound,
        achievedFraction: bound && Number.isFinite(tokensPerSecond) ? tokensPerSecond / bound : null,
      };
      result.variants.push(row);
    } finally {
      await model.dispose();
    }
  }
  const head = [
    "variant",
    "ms/tok avg",
    "p50",
    "p95",
    "max",
    "tok/s",
    "prompt tok/s",
    "TTFT ms",
    "bound tok/s",
    "of bound",
  ];
  const rows = result.variants.map((r) => [
    r.ref,
    r.msPerToken.avg.toFixed(2),
    r.msPerToken.p50.toFixed(2),
    r.msPerToken.p95.toFixed(2),
    r.msPerToken.max.toFixed(2),
    r.tokensPerSecond.toFixed(1),
    r.promptTokensPerSecond.toFixed(1),
    r.ttftMs.toFixed(1),
    r.boundTokensPerSecond === null ? "-" : r.boundTokensPerSecond.toFixed(1),
    r.achievedFraction === null ? "-" : `${(r.achievedFraction * 100).toFixed(0)}%`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  log(line(head));
  for (const r of rows) log(line(r));
  if (result.bandwidth.cpuBytesPerSecond !== null)
    log(
      `bound: memory bandwidth ${(result.bandwidth.cpuBytesPerSecond / 1e9).toFixed(1)} GB/s (CPU, ggml copy)${result.bandwidth.gpuBytesPerSecond !== null ? `, ${(result.bandwidth.gpuBytesPerSecond / 1e9).toFixed(1)} GB/s (GPU)` : ""} ÷ weight bytes read per token`,
    );
  log("");
  for (const l of guideTable(result.variants)) log(l);
  return result;
}

/** The product guide's table: Quantization | Model Size | Avg. Latency | 95th Percentile | Max Latency (per token). */
export function guideTable(variants: readonly InferenceVariantResult[]): string[] {
  const size = (b: number) => (b >= 1e9 ? `${(b / 1e9).toFixed(1)} GB` : `${(b / 1e6).toFixed(0)} MB`);
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  return [
    "| Quantization | Model Size | Avg. Latency | 95th Percentile | Max Latency |",
    "|---|---|---|---|---|",
    ...variants.map(
      (v) =>
        `| ${v.quantization} | ${size(v.fileSizeBytes)} | ${ms(v.msPerToken.avg)} | ${ms(v.msPerToken.p95)} | ${ms(v.msPerToken.max)} |`,
    ),
    "(latency per generated token)",
  ];
}
