// Memory benchmark: per quantization variant, RSS before and after loading (next to the registry's estimate), peak
// RSS during a long generation at each complexity level, and RSS after unloading. Run:
// npx tsx src/bench/memory-bench.ts --model NAME [--home DIR] [--context N] [--tokens N] [--interval-ms N] [--json]
import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { CONFIG_DEFAULTS, loadConfig } from "../config/index.ts";
import type { Engine, GenerationResult, LoadedModel } from "../engine/types.ts";
import { ReflexiaError } from "../errors/index.ts";
import { estimateMemoryBreakdown, type MemoryEstimate } from "../gguf/index.ts";
import { createMemoryMonitor, type MemoryMonitor } from "../memory/index.ts";
import { analyzeComplexity, COMPLEXITY_LEVELS, type ComplexityLevel } from "../policy/index.ts";
import { COMPLEXITY_FIXTURES } from "../policy/complexity-fixtures.ts";
import { compareByPrecision, type ModelDetails, type ModelStore } from "../registry/index.ts";

export interface MemoryBenchmarkOptions {
  store: ModelStore;
  /** The engine the server runs on (createEngine), so the figures are the server's. */
  engine: Engine;
  /** A model name: every stored variant of it is measured, lowest precision first. Either this or refs. */
  model?: string;
  /** Explicit `name:tag` variants; measured lowest precision first. */
  refs?: string[];
  /** KV cells of the loaded context (capped at the model's training context by the engine). Defaults to 4096. */
  contextSize?: number;
  /** Complexity levels to run (the guide's `--complexity low,medium,high`). Defaults to all three. */
  levels?: readonly ComplexityLevel[];
  /** Tokens generated per complexity level. Defaults to 256. */
  tokens?: number;
  /** RSS sampling period during generation, ms (≥ 10). Defaults to 20. */
  sampleIntervalMs?: number;
  /** Decode threads; undefined uses the engine's default. */
  threads?: number;
  /**
   * Loads and unloads the first variant with a small context before measuring, so the engine's one-time backend
   * start-up (shared libraries, thread pools) is not charged to the first variant. Defaults to true.
   */
  warmUp?: boolean;
  /** Defaults to a monitor of this process (the peak is the kernel's VmHWM where it can be reset). */
  monitor?: MemoryMonitor;
  /** Receives each printed line. Defaults to console.log. */
  log?: (line: string) => void;
}

export interface MemoryBenchmarkPrompt {
  level: ComplexityLevel;
  /** Fixture id in src/policy/complexity-fixtures.ts. */
  id: string;
  /** analyzeComplexity's score; its level equals `level` (checked). */
  score: number;
  text: string;
}

export interface LevelMemory {
  level: ComplexityLevel;
  promptId: string;
  promptTokens: number;
  completionTokens: number;
  finishReason: GenerationResult["finishReason"];
  /** RSS when this level's generation started (the peak window opens here, so a peak may sit below base). */
  rssAtStartBytes: number;
  /** Peak RSS from just before the generation to its end (kernel high-water mark where resettable). */
  peakRssBytes: number;
  /** Highest of the periodic samples (a lower bound of the true peak). */
  sampledPeakRssBytes: number;
  /** peakRssBytes − the variant's base RSS; negative when RSS fell since the load (freed heap, reclaimed pages). */
  deltaOverBaseBytes: number;
  samples: number;
  durationMs: number;
}

export interface VariantMemory {
  ref: string;
  quantization: string;
  fileSizeBytes: number;
  /** KV cells the engine really allocated. */
  contextSize: number;
  rssBeforeLoadBytes: number;
  /** RSS after loading the model and creating its context, before any generation. */
  baseRssBytes: number;
  /** baseRssBytes − rssBeforeLoadBytes. */
  loadDeltaBytes: number;
  /** The registry's estimate (weights + repacked copies + KV + compute) at `contextSize`. */
  estimatedMemoryBytes: number;
  estimatedMemory: MemoryEstimate;
  /** Highest peak over the levels − rssBeforeLoadBytes: what running the variant really cost. */
  measuredPeakBytes: number;
  /** (estimate − measuredPeakBytes) / measuredPeakBytes × 100: negative means the estimate is short. */
  estimateErrorPercent: number;
  /** (estimate − loadDeltaBytes) / loadDeltaBytes × 100. */
  estimateErrorVsLoadPercent: number;
  levels: LevelMemory[];
  rssAfterUnloadBytes: number;
}

export interface MemoryBenchmarkResult {
  engine: string;
  tokens: number;
  sampleIntervalMs: number;
  /** How peaks were measured: the kernel's resettable VmHWM, or the periodic samples only. */
  peakSource: "kernel_hwm" | "samples";
  /** RSS when the benchmark started and after the warm-up load (engine start-up included). */
  rssAtStartBytes: number;
  rssAfterWarmUpBytes: number | null;
  prompts: MemoryBenchmarkPrompt[];
  variants: VariantMemory[];
}

const MiB = 1024 * 1024;
const mib = (n: number): string => (n / MiB).toFixed(1);
const signedMib = (n: number): string => (n < 0 ? "-" : "+") + mib(Math.abs(n));

/**
 * One prompt per complexity level from the labelled fixtures: the longest raw-prompt fixture whose analysed level
 * agrees with its label (longer prompts fill more KV cache, which is what a memory figure should include).
 */
export function pickLevelPrompts(): MemoryBenchmarkPrompt[] {
  return COMPLEXITY_LEVELS.map((level) => {
    const candidates = COMPLEXITY_FIXTURES.filter((f) => f.level === level && typeof f.input.prompt === "string")
      .map((f) => ({ f, r: analyzeComplexity(f.input) }))
      .filter(({ r }) => r.level === level)
      .sort((a, b) => b.f.input.prompt!.length - a.f.input.prompt!.length);
    const best = candidates[0];
    if (!best) throw new ReflexiaError("RFX_INTERNAL", `no complexity fixture is analysed as ${level}`);
    return { level, id: best.f.id, score: best.r.score, text: best.f.input.prompt! };
  });
}

/** The registry's estimate at the context the engine really allocated (show() estimates at the store's). */
function estimateAt(details: ModelDetails, contextSize: number): MemoryEstimate {
  if (details.contextSize === contextSize) return details.estimatedMemory;
  const g = details.gguf;
  try {
    const dims = {
      nVocab: Number(g.vocabSize),
      nEmbd: Number(g.embeddingLength),
      nLayer: Number(g.blockCount),
      nHead: Number(g.headCount),
      nHeadKv: Number(g.headCountKv),
      nFf: Number(g.feedForwardLength),
      nCtx: g.contextLength || contextSize,
    };
    const b = estimateMemoryBreakdown(dims, g.fileType, contextSize);
    // Same rule as the store: the mapped weights are the real file, not the estimator's layout.
    return {
      ...b,
      weightsBytes: details.sizeBytes,
      totalBytes: details.sizeBytes + b.repackBytes + b.kvCacheBytes + b.computeBytes,
    };
  } catch {
    return details.estimatedMemory;
  }
}

/** Whether the monitor's resetPeak() reaches the kernel (VmHWM) or its peaks come from samples only. */
function kernelPeakResettable(): boolean {
  try {
    writeFileSync("/proc/self/clear_refs", "5", { flag: "r+" });
    return true;
  } catch {
    return false;
  }
}

async function resolveRefs(options: MemoryBenchmarkOptions): Promise<string[]> {
  if (options.refs && options.refs.length > 0) {
    const resolved = await Promise.all(options.refs.map(async (r) => options.store.resolve(r)));
    return resolved.sort((a, b) => compareByPrecision(a.quantization, b.quantization)).map((r) => `${r.name}:${r.tag}`);
  }
  if (!options.model) throw new ReflexiaError("RFX_VALIDATION", "name a model or list refs to benchmark");
  const variants = await options.store.variants(options.model);
  if (variants.length === 0)
    throw new ReflexiaError("RFX_MODEL_NOT_FOUND", `model ${options.model} not found`, { model: options.model });
  return variants.map((v) => `${v.name}:${v.tag}`);
}

/** Generates up to three times with different seeds, keeping the longest: random weights may emit EOS early. */
async function longGeneration(model: LoadedModel, prompt: string, tokens: number): Promise<GenerationResult> {
  let best: GenerationResult | undefined;
  for (let seed = 1; seed <= 3; seed++) {
    const r = await model.generate(prompt, { maxTokens: tokens, temperature: 0.8, seed });
    if (!best || r.completionTokens > best.completionTokens) best = r;
    if (r.completionTokens >= tokens) break;
  }
  return best!;
}

function printTable(result: MemoryBenchmarkResult, log: (l: string) => void): void {
  const head = [
    "variant",
    "file MiB",
    "estimate MiB",
    "before MiB",
    "base MiB",
    "load Δ MiB",
    "peak low",
    "peak medium",
    "peak high",
    "est. err %",
    "after unload MiB",
  ];
  const rows = result.variants.map((v) => {
    const peak = (lvl: ComplexityLevel) => {
      const l = v.levels.find((x) => x.level === lvl);
      return l ? `${mib(l.peakRssBytes)} (${signedMib(l.deltaOverBaseBytes)})` : "";
    };
    return [
      v.ref,
      mib(v.fileSizeBytes),
      mib(v.estimatedMemoryBytes),
      mib(v.rssBeforeLoadBytes),
      mib(v.baseRssBytes),
      mib(v.loadDeltaBytes),
      peak("low"),
      peak("medium"),
      peak("high"),
      v.estimateErrorPercent.toFixed(1),
      mib(v.rssAfterUnloadBytes),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  log(line(head));
  for (const r of rows) log(line(r));
  log(
    `peaks are RSS in MiB (± vs base), source ${result.peakSource}; est. err = (estimate − (peak − before)) / (peak − before)`,
  );
}

/** Measures each variant in turn on `engine`, prints a table and returns the figures. */
export async function runMemoryBenchmark(options: MemoryBenchmarkOptions): Promise<MemoryBenchmarkResult> {
  const log = options.log ?? ((l: string) => console.log(l));
  const tokens = options.tokens ?? 256;
  const contextSize = options.contextSize ?? CONFIG_DEFAULTS.models.context_size;
  const interval = options.sampleIntervalMs ?? 20;
  if (!Number.isInteger(tokens) || tokens < 1)
    throw new ReflexiaError("RFX_VALIDATION", "tokens must be a positive integer");
  if (!Number.isInteger(contextSize) || contextSize < 16)
    throw new ReflexiaError("RFX_VALIDATION", "contextSize must be an integer >= 16");
  if (!Number.isFinite(interval) || interval < 10)
    throw new ReflexiaError("RFX_VALIDATION", "sampleIntervalMs must be at least 10");
  const refs = await resolveRefs(options);
  const levels = options.levels ?? COMPLEXITY_LEVELS;
  if (levels.length === 0 || levels.some((l) => !COMPLEXITY_LEVELS.includes(l)))
    throw new ReflexiaError("RFX_VALIDATION", `levels must list some of ${COMPLEXITY_LEVELS.join(", ")}`);
  const prompts = pickLevelPrompts().filter((p) => levels.includes(p.level));
  const monitor = options.monitor ?? createMemoryMonitor({ maxMemoryPercent: 100 });
  const rss = () => monitor.sample().rssBytes;

  const rssAtStart = rss();
  let rssAfterWarmUp: number | null = null;
  if (options.warmUp ?? true) {
    const first = await options.store.resolve(refs[0]);
    const m = await options.engine.loadModel({ path: first.path, contextSize: 64, threads: options.threads });
    try {
      await m.generate("warm up", { maxTokens: 2, seed: 1 });
    } finally {
      await m.dispose();
    }
    rssAfterWarmUp = rss();
  }

  const kernel = kernelPeakResettable();
  const result: MemoryBenchmarkResult = {
    engine: options.engine.name,
    tokens,
    sampleIntervalMs: interval,
    peakSource: kernel ? "kernel_hwm" : "samples",
    rssAtStartBytes: rssAtStart,
    rssAfterWarmUpBytes: rssAfterWarmUp,
    prompts,
    variants: [],
  };
  log(
    `memory benchmark on ${options.engine.name}: ${refs.join(", ")}; context ${contextSize}, ${tokens} tokens per level, RSS every ${interval} ms`,
  );
  for (const p of prompts) log(`  ${p.level}: fixture ${p.id} (score ${p.score.toFixed(2)}, ${p.text.length} chars)`);

  for (const ref of refs) {
    const details = await options.store.show(ref);
    const before = rss();
    const model = await options.engine.loadModel({ path: details.path, contextSize, threads: options.threads });
    const levels: LevelMemory[] = [];
    let base = 0;
    let estimate: MemoryEstimate;
    try {
      base = rss();
      estimate = estimateAt(details, model.contextSize);
      // Refuse up front rather than after some levels ran: the longest prompt plus the generation must fit.
      const longest = Math.max(...prompts.map((p) => model.tokenize(p.text).length + 1));
      if (longest + tokens > model.contextSize)
        throw new ReflexiaError(
          "RFX_CONTEXT_OVERFLOW",
          `context of ${model.contextSize} tokens cannot hold the longest prompt (${longest} tokens on ${ref}) plus ${tokens} generated; raise contextSize`,
          { contextSize: model.contextSize, promptTokens: longest, tokens },
        );
      for (const p of prompts) {
        const atStart = rss();
        let sampledPeak = atStart;
        let samples = 0;
        const off = monitor.onSample((s) => {
          samples++;
          if (s.rssBytes > sampledPeak) sampledPeak = s.rssBytes;
        });
        monitor.resetPeak();
        monitor.startSampling(interval);
        const t0 = performance.now();
        let gen: GenerationResult;
        try {
          gen = await longGeneration(model, p.text, tokens);
        } finally {
          monitor.stop();
          off();
        }
        const durationMs = performance.now() - t0;
        const last = rss();
        if (last > sampledPeak) sampledPeak = last;
        const peak = Math.max(monitor.peakRssBytes, sampledPeak);
        levels.push({
          level: p.level,
          promptId: p.id,
          promptTokens: gen.promptTokens,
          completionTokens: gen.completionTokens,
          finishReason: gen.finishReason,
          rssAtStartBytes: atStart,
          peakRssBytes: peak,
          sampledPeakRssBytes: sampledPeak,
          deltaOverBaseBytes: peak - base,
          samples,
          durationMs,
        });
      }
    } finally {
      await model.dispose();
    }
    const after = rss();
    const measuredPeak = Math.max(base, ...levels.map((l) => l.peakRssBytes)) - before;
    const loadDelta = base - before;
    const pct = (est: number, measured: number) => (measured > 0 ? ((est - measured) / measured) * 100 : Number.NaN);
    const v: VariantMemory = {
      ref,
      quantization: details.quantization,
      fileSizeBytes: details.sizeBytes,
      contextSize: model.contextSize,
      rssBeforeLoadBytes: before,
      baseRssBytes: base,
      loadDeltaBytes: loadDelta,
      estimatedMemoryBytes: estimate.totalBytes,
      estimatedMemory: estimate,
      measuredPeakBytes: measuredPeak,
      estimateErrorPercent: pct(estimate.totalBytes, measuredPeak),
      estimateErrorVsLoadPercent: pct(estimate.totalBytes, loadDelta),
      levels,
      rssAfterUnloadBytes: after,
    };
    result.variants.push(v);
    log(
      `${ref}: before ${mib(before)} MiB, base ${mib(base)} MiB (load +${mib(loadDelta)}; estimate ${mib(estimate.totalBytes)}), ` +
        levels
          .map(
            (l) =>
              `${l.level} peak ${mib(l.peakRssBytes)} (${signedMib(l.deltaOverBaseBytes)}, ${l.completionTokens} tok)`,
          )
          .join(", ") +
        `, after unload ${mib(after)} MiB`,
    );
  }
  printTable(result, log);
  return result;
}

function parseArgs(argv: string[]) {
  const out: {
    model?: string;
    home?: string;
    contextSize?: number;
    tokens?: number;
    sampleIntervalMs?: number;
    threads?: number;
    json: boolean;
  } = { json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new ReflexiaError("RFX_VALIDATION", `${a} needs a value`);
      return x;
    };
    if (a === "--model") out.model = v();
    else if (a === "--home") out.home = v();
    else if (a === "--context") out.contextSize = Number(v());
    else if (a === "--tokens") out.tokens = Number(v());
    else if (a === "--interval-ms") out.sampleIntervalMs = Number(v());
    else if (a === "--threads") out.threads = Number(v());
    else if (a === "--json") out.json = true;
    else throw new ReflexiaError("RFX_VALIDATION", `unknown option ${a}`);
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const main = async () => {
    const { json, home, model, ...opts } = parseArgs(process.argv.slice(2));
    const { config } = loadConfig({ overrides: { home } });
    const { createStoreFromConfig } = await import("../registry/index.ts");
    const { createEngine } = await import("../engine/index.ts");
    const store = createStoreFromConfig(config);
    const engine = createEngine({
      backend: config.engine.backend,
      threads: opts.threads ?? (config.performance.thread_pool_size || undefined),
    });
    try {
      const r = await runMemoryBenchmark({
        store,
        engine,
        model: model ?? config.models.default,
        contextSize: opts.contextSize ?? config.models.context_size,
        tokens: opts.tokens,
        sampleIntervalMs: opts.sampleIntervalMs,
        threads: opts.threads,
        log: json ? () => {} : undefined,
      });
      if (json) console.log(JSON.stringify(r, null, 2));
    } finally {
      await engine.dispose();
    }
  };
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exitCode = 1;
  });
}
