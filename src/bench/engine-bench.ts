// Engine speed benchmark: single-stream decode and prompt tok/s, aggregate tok/s at several concurrencies, and the
// share of wall time inside llama.cpp's decode, on the native engine (optionally beside llama-bench on the same file).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ReflexiaError } from "../errors/index.ts";
import {
  createNativeEngine,
  type BatchSplitMode,
  type NativeEngine,
  type NativeEngineStats,
  type NativeLoadedModel,
} from "../engine/native/native-engine.ts";
import { loadConfig, type Config } from "../config/index.ts";
import { median } from "./bench-stats.ts";
import { runLlamaBench } from "./llama-bench.ts";
import { loadBenchModel, checkReferenceSet, describeBenchGpu, type BenchGpu } from "./gpu-load.ts";

export interface EngineBenchmarkOptions {
  modelPath: string;
  /** Decode threads; 0 or undefined uses the engine's thread policy. */
  threads?: number;
  /** ggml threadpool polling level 0–100. Defaults to the engine's (0). */
  poll?: number;
  /** Least ms between text hand-overs to JS (engine option flushIntervalMs). Defaults to the engine's (0). */
  flushIntervalMs?: number;
  /** Engine option batchSplit (one batched call vs one call per sequence). Defaults to the engine's ("auto"). */
  batchSplit?: BatchSplitMode;
  /** Tokens generated per request. Defaults to 128. */
  tokens?: number;
  /** Concurrent sequences for the aggregate runs. Defaults to [1, 4, 8]. */
  concurrency?: number[];
  /** Prompt length for the prompt-processing measurement. Defaults to 256 tokens. */
  promptTokens?: number;
  /** Runs of each measurement; the median is reported. Defaults to 3. */
  repetitions?: number;
  /** A llama-bench binary (built from node-llama-cpp's bundled llama.cpp) to run on the same file and threads. */
  llamaBench?: string;
  /** GPU=… and GPU_LAYERS of this config place the layers as the server would. Defaults to the CPU. */
  config?: Config;
  /** Receives each printed line. Defaults to console.log. */
  log?: (line: string) => void;
}

export interface ConcurrencyResult {
  sequences: number;
  /** Generated tokens of all sequences / wall time from first submit to last completion. */
  aggregateTokensPerSecond: number;
  /** Share of that wall time spent inside llama_decode. */
  decodeShare: number;
  /** Share of decode steps that ran as one one-token call per sequence (batchSplit). */
  splitShare: number;
  wallMs: number;
}

export interface EngineBenchmarkResult {
  modelPath: string;
  fileType: string;
  parameterCount: number;
  threads: number;
  poll: number;
  cpuBackend: string;
  /** Where the layers ran (GPU=…, GPU_LAYERS): the figures are for this backend. */
  gpu: BenchGpu;
  tokens: number;
  /** Single stream: generated tokens after the first / time from first to last token (sampling included). */
  decodeTokensPerSecond: number;
  /**
   * llama.cpp's own decode speed in the same run: one-token llama_decode calls (+ sync) of the same generation,
   * timed around the call — what llama-bench's tg test times. On a GPU backend llama_decode returns once the graph is
   * queued, before the device finishes, so there it is llama_perf_context's eval rate (which waits for the device).
   */
  llamaDecodeTokensPerSecond: number;
  /** The same calls by llama_perf_context's eval time (graph compute only, without llama_decode's set-up). */
  llamaPerfEvalTokensPerSecond: number;
  /** decodeTokensPerSecond / llamaDecodeTokensPerSecond: what the loop outside llama_decode costs. */
  decodeRatio: number;
  /** Single stream: prompt tokens / prompt evaluation time. */
  promptTokensPerSecond: number;
  /** Single stream: share of decode wall time inside llama_decode. */
  decodeShare: number;
  concurrency: ConcurrencyResult[];
  llamaBench?: {
    decodeTokensPerSecond: number;
    promptTokensPerSecond: number;
    command: string;
    backends: string;
    gpuLayers: number;
  };
}

/** A prompt that tokenizes to exactly `n` tokens (BOS included) on this model. */
function promptOfLength(model: NativeLoadedModel, n: number): string {
  const words = ["alpha", "river", "stone", "cloud", "green", "sound", "paper", "light", "north", "table"];
  let text = "";
  for (let i = 0; model.tokenize(text).length + 1 < n; i++) text += (i ? " " : "") + words[i % words.length];
  // Trim whole words until it fits, then it is at most a word short: good enough for a rate.
  while (model.tokenize(text).length + 1 > n) text = text.slice(0, text.lastIndexOf(" "));
  return text;
}

function statsDelta(a: NativeEngineStats, b: NativeEngineStats): NativeEngineStats {
  const out = { ...b };
  for (const k of Object.keys(b) as Array<keyof NativeEngineStats>) out[k] = b[k] - a[k];
  return out;
}

function llamaBenchFigures(
  bin: string,
  modelPath: string,
  threads: number,
  gpuLayers: number,
  promptTokens: number,
  tokens: number,
  repetitions: number,
) {
  // -ngl always: llama-bench offloads 99 layers by default, which on a GPU build is not what the engine ran.
  const { rows, command } = runLlamaBench(bin, [
    "-m",
    modelPath,
    "-t",
    String(threads),
    "-ngl",
    String(gpuLayers),
    "-p",
    String(promptTokens),
    "-n",
    String(tokens),
    "-r",
    String(repetitions),
  ]);
  return {
    promptTokensPerSecond: rows.find((r) => r.n_prompt > 0 && r.n_gen === 0)?.avg_ts ?? 0,
    decodeTokensPerSecond: rows.find((r) => r.n_gen > 0 && r.n_prompt === 0)?.avg_ts ?? 0,
    command,
    backends: rows[0]?.backends ?? "unknown",
    gpuLayers: rows[0]?.n_gpu_layers ?? gpuLayers,
  };
}

export async function runEngineBenchmark(options: EngineBenchmarkOptions): Promise<EngineBenchmarkResult> {
  const log = options.log ?? ((l: string) => console.log(l));
  const tokens = options.tokens ?? 128;
  const concurrency = options.concurrency ?? [1, 4, 8];
  const promptTokens = options.promptTokens ?? 256;
  const reps = options.repetitions ?? 3;
  if (!existsSync(options.modelPath))
    throw new ReflexiaError("RFX_MODEL_NOT_FOUND", `model file not found: ${options.modelPath}`);
  if (!Number.isInteger(tokens) || tokens < 2)
    throw new ReflexiaError("RFX_VALIDATION", "tokens must be an integer >= 2");
  if (concurrency.some((c) => !Number.isInteger(c) || c < 1))
    throw new ReflexiaError("RFX_VALIDATION", "concurrency must list positive integers");

  const engine: NativeEngine = createNativeEngine({
    threads: options.threads,
    poll: options.poll,
    flushIntervalMs: options.flushIntervalMs,
    batchSplit: options.batchSplit,
    gpu: options.config?.gpu.backend ?? "off",
    // The prompt is timed on the same text several times, and llama-bench keeps no cache: every repetition must
    // evaluate the whole prompt (with the prefix cache the later ones evaluated one token and reported ~10× llama-bench).
    prefixCache: false,
  });
  if (options.llamaBench) checkReferenceSet(options.llamaBench, engine.gpu.backend);
  const parallel = Math.max(1, ...concurrency);
  // Each sequence needs room for the long prompt plus its generation.
  const perSeq = Math.ceil((promptTokens + tokens + 16) / 256) * 256;
  const model = await loadBenchModel(engine, options.config, options.modelPath, {
    contextSize: perSeq * parallel,
    parallel,
    threads: options.threads,
  });
  try {
    const threads = model.threads;
    const poll = engine.poll;
    const gpu = describeBenchGpu(engine, model.offload);
    log(
      `model ${options.modelPath} (${model.info.fileType}, ${(model.info.parameterCount / 1e6).toFixed(1)} M params), ${threads} threads, poll ${poll}, CPU backend ${engine.cpuBackend}`,
    );
    log(
      `compute: ${gpu.backend}${gpu.devices.length ? ` on ${gpu.devices.join(", ")}` : ""}, ${gpu.gpuLayers}/${gpu.totalLayers} layers on the GPU`,
    );
    const gen = { maxTokens: tokens, ignoreEos: true, seed: 1 };
    await model.generate("warm up", { ...gen, maxTokens: 8 });

    // Single stream: decode rate, llama.cpp's own eval rate over the same calls, and the decode share.
    const decode: number[] = [];
    const llamaDecode: number[] = [];
    const perfEval: number[] = [];
    const ratios: number[] = [];
    const shares: number[] = [];
    for (let r = 0; r < reps; r++) {
      const before = model.stats();
      const t0 = performance.now();
      const res = await model.generate("The quick brown fox", gen);
      const wall = performance.now() - t0;
      const d = statsDelta(before, model.stats());
      const rate = ((res.completionTokens - 1) / res.timings.evalMs) * 1000;
      const perf = (d.llamaEvalCount / d.llamaEvalMs) * 1000;
      const reference = gpu.backend === "cpu" ? (d.singleTokenDecodeCalls / d.singleTokenDecodeMs) * 1000 : perf;
      decode.push(rate);
      llamaDecode.push(reference);
      perfEval.push(perf);
      ratios.push(rate / reference);
      shares.push(d.decodeMs / wall);
    }
    const prompt = promptOfLength(model, promptTokens);
    const pp: number[] = [];
    for (let r = 0; r < reps; r++) {
      const res = await model.generate(prompt, { maxTokens: 1, ignoreEos: true });
      pp.push((res.promptTokens / res.timings.promptEvalMs) * 1000);
    }
    const result: EngineBenchmarkResult = {
      modelPath: options.modelPath,
      fileType: model.info.fileType,
      parameterCount: model.info.parameterCount,
      threads,
      poll,
      cpuBackend: engine.cpuBackend,
      gpu,
      tokens,
      decodeTokensPerSecond: median(decode),
      llamaDecodeTokensPerSecond: median(llamaDecode),
      llamaPerfEvalTokensPerSecond: median(perfEval),
      decodeRatio: median(ratios),
      promptTokensPerSecond: median(pp),
      decodeShare: median(shares),
      concurrency: [],
    };
    log(
      `single stream: decode ${result.decodeTokensPerSecond.toFixed(1)} tok/s; llama.cpp on the same tokens: ${gpu.backend === "cpu" ? "llama_decode" : "device-synchronised eval"} ${result.llamaDecodeTokensPerSecond.toFixed(1)} tok/s ` +
        `(perf eval ${result.llamaPerfEvalTokensPerSecond.toFixed(1)}); ratio ${result.decodeRatio.toFixed(3)}; decode share ${(result.decodeShare * 100).toFixed(1)} %`,
    );
    log(`single stream: prompt ${result.promptTokensPerSecond.toFixed(1)} tok/s (${promptTokens} tokens)`);

    // Aggregate: n concurrent requests with short distinct prompts, as a server would receive them.
    for (const n of concurrency) {
      const rates: number[] = [];
      const nShares: number[] = [];
      const splits: number[] = [];
      const walls: number[] = [];
      for (let r = 0; r < reps; r++) {
        const before = model.stats();
        const t0 = performance.now();
        const rs = await Promise.all(
          Array.from({ length: n }, (_, i) =>
            model.generate(`Request ${i}: tell me about the sea`, { ...gen, seed: i + 1 }),
          ),
        );
        const wall = performance.now() - t0;
        const d = statsDelta(before, model.stats());
        rates.push((rs.reduce((s, x) => s + x.completionTokens, 0) / wall) * 1000);
        nShares.push(d.decodeMs / wall);
        splits.push(d.decodeSteps > 0 ? d.splitSteps / d.decodeSteps : 0);
        walls.push(wall);
      }
      const c: ConcurrencyResult = {
        sequences: n,
        aggregateTokensPerSecond: median(rates),
        decodeShare: median(nShares),
        splitShare: median(splits),
        wallMs: median(walls),
      };
      result.concurrency.push(c);
      log(
        `${n} concurrent: aggregate ${c.aggregateTokensPerSecond.toFixed(1)} tok/s, decode share ${(c.decodeShare * 100).toFixed(1)} %, ` +
          `split steps ${(c.splitShare * 100).toFixed(0)} %`,
      );
    }

    if (options.llamaBench) {
      await model.dispose(); // free the cores' caches and memory before the reference run
      result.llamaBench = llamaBenchFigures(
        options.llamaBench,
        options.modelPath,
        threads,
        gpu.gpuLayers,
        promptTokens,
        tokens,
        reps,
      );
      const lb = result.llamaBench;
      log(
        `llama-bench (same file, ${threads} threads, ${lb.backends}, -ngl ${lb.gpuLayers}): decode ${lb.decodeTokensPerSecond.toFixed(1)} tok/s, prompt ${lb.promptTokensPerSecond.toFixed(1)} tok/s`,
      );
      log(
        `ratio native/llama-bench: decode ${(result.decodeTokensPerSecond / lb.decodeTokensPerSecond).toFixed(3)}, prompt ${(result.promptTokensPerSecond / lb.promptTokensPerSecond).toFixed(3)}`,
      );
    }
    return result;
  } finally {
    await model.dispose();
    await engine.dispose();
  }
}

function parseArgs(argv: string[]): EngineBenchmarkOptions & { json: boolean } {
  const out: EngineBenchmarkOptions & { json: boolean } = { modelPath: "", json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new ReflexiaError("RFX_VALIDATION", `${a} needs a value`);
      return x;
    };
    if (a === "--model") out.modelPath = v();
    else if (a === "--threads") out.threads = Number(v());
    else if (a === "--poll") out.poll = Number(v());
    else if (a === "--tokens") out.tokens = Number(v());
    else if (a === "--flush-ms") out.flushIntervalMs = Number(v());
    else if (a === "--batch-split") out.batchSplit = v() as BatchSplitMode;
    else if (a === "--prompt-tokens") out.promptTokens = Number(v());
    else if (a === "--repetitions") out.repetitions = Number(v());
    else if (a === "--concurrency") out.concurrency = v().split(",").map(Number);
    else if (a === "--llama-bench") out.llamaBench = v();
    else if (a === "--gpu")
      out.config = loadConfig({ overrides: { "gpu.backend": v(), "gpu.layers": out.config?.gpu.layers } }).config;
    else if (a === "--json") out.json = true;
    else throw new ReflexiaError("RFX_VALIDATION", `unknown option ${a}`);
  }
  if (!out.modelPath) throw new ReflexiaError("RFX_VALIDATION", "--model PATH is required");
  // GPU and GPU_LAYERS come from the environment / config file as for the server; --gpu overrides GPU.
  out.config ??= loadConfig().config;
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  // npx tsx src/bench/engine-bench.ts --model PATH [--threads N] [--poll P] [--tokens N] [--concurrency 1,4,8]
  //   [--prompt-tokens N] [--repetitions N] [--flush-ms N] [--batch-split auto|never|always] [--llama-bench PATH] [--json]
  //   [--gpu auto|cuda|vulkan|off]   (GPU_LAYERS from the environment; default GPU is the config's)
  const { json, ...opts } = parseArgs(process.argv.slice(2));
  runEngineBenchmark(json ? { ...opts, log: () => {} } : opts).then(
    (r) => {
      if (json) console.log(JSON.stringify(r, null, 2));
    },
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : String(e));
      process.exitCode = 1;
    },
  );
}
