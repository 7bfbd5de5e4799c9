// `reflexia benchmark [kind]` / `reflexia --benchmark [--test kind]`: runs benchmarks from src/bench, prints their
// tables (stderr) or JSON (stdout), can write the JSON to a file, and stores every run in the benchmark history
// (`reflexia benchmark history`, `--compare A B`).
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, hostname } from "node:os";
import type { Command } from "commander";
import { ReflexiaError } from "../errors/index.ts";
import type { CliContext, CliContextFactory } from "./context.ts";
import type { BenchmarkModelRef } from "../bench/history.ts";
import { headlineOf, trendOf } from "../bench/run-metrics.ts";
import { COMPLEXITY_LEVELS, type ComplexityLevel } from "../policy/index.ts";
import { checkOutputPath, printJson } from "./output.ts";
import { parseIntOption, parseListOption, parseQuantizationList } from "./parse-options.ts";

/**
 * The product guide's kinds (inference, rag, memory, throughput), the quality of each quantization against the most
 * precise variant, the engine/api deep dives, the serving/contention comparisons with llama.cpp and the cost of a
 * grammar; suite runs a short mix.
 */
export const BENCHMARK_KINDS = [
  "suite",
  "inference",
  "memory",
  "throughput",
  "rag",
  "quality",
  "engine",
  "api",
  "serving",
  "contention",
  "grammar",
] as const;
export type BenchmarkKind = (typeof BENCHMARK_KINDS)[number];

const DEFAULT_TOKENS: Record<BenchmarkKind, number> = {
  suite: 128,
  inference: 128,
  memory: 256,
  throughput: 64,
  rag: 0,
  quality: 0,
  engine: 128,
  api: 128,
  serving: 64,
  contention: 64,
  grammar: 128,
};

interface BenchmarkOptions {
  test?: string;
  model?: string;
  tokens?: number;
  context?: number;
  repetitions?: number;
  concurrency?: string[];
  sizes?: string[];
  documents?: string[];
  quantization?: string[];
  complexity?: string[];
  shape?: string;
  keep?: boolean;
  text?: string;
  compare?: string[];
  history?: boolean;
  llamaBench?: string;
  llamaServer?: string;
  trials?: number;
  turns?: number;
  llamaKvUnified?: boolean;
  json?: boolean;
  output?: string;
  html?: string;
}

/** The kinds that measure variants picked by --model/--quantization/--shape (prepareBenchmarkVariants). */
const VARIANT_KINDS = ["suite", "inference", "memory", "throughput", "quality", "engine", "api"] as const;

/**
 * Which runs read each option, by its commander attribute name: the kinds listed, `run` for every benchmark run,
 * `history` for `benchmark history` / `--compare`, `any` for both. A flag given where it would be ignored is refused
 * by name; the Record type and a test (every registered option is a key here) keep a new flag from being forgotten.
 */
export const BENCHMARK_FLAG_SCOPES: Readonly<
  Record<keyof BenchmarkOptions, readonly BenchmarkKind[] | "run" | "history" | "any">
> = {
  test: "run",
  model: ["suite", "inference", "memory", "throughput", "quality", "engine", "api", "serving", "contention", "grammar"],
  quantization: VARIANT_KINDS,
  shape: VARIANT_KINDS,
  keep: VARIANT_KINDS,
  tokens: ["suite", "inference", "memory", "throughput", "engine", "api", "serving", "contention", "grammar"],
  context: ["suite", "memory", "quality", "serving"],
  repetitions: ["suite", "inference", "contention", "grammar"],
  concurrency: ["suite", "throughput", "engine", "api", "serving"],
  complexity: ["suite", "memory"],
  documents: ["suite", "rag"],
  sizes: ["suite", "rag"],
  text: ["quality"],
  llamaBench: ["engine", "contention", "serving"],
  llamaServer: ["serving"],
  trials: ["serving"],
  turns: ["serving"],
  llamaKvUnified: ["serving"],
  compare: "history",
  history: "run",
  json: "any",
  output: "run",
  html: "run",
};

/**
 * Refuses, by name, each option given on the command line that `what` (a kind, or "history") would not read.
 * `given` lists the attribute names the user gave; `flagOf` spells one as typed (--llama-bench, --no-history).
 */
export function checkBenchmarkFlags(
  what: BenchmarkKind | "history",
  given: string[],
  flagOf: (name: string) => string,
): void {
  for (const name of given) {
    const scope = BENCHMARK_FLAG_SCOPES[name as keyof BenchmarkOptions];
    if (scope === undefined || scope === "any") continue;
    const applies =
      what === "history" ? scope === "history" : scope === "run" || (Array.isArray(scope) && scope.includes(what));
    if (!applies)
      throw new ReflexiaError(
        "RFX_VALIDATION",
        what === "history"
          ? `${flagOf(name)} does not apply to benchmark history or --compare`
          : `${flagOf(name)} does not apply to the ${what} benchmark`,
      );
  }
}

export function registerBenchmarkCommand(program: Command, getContext: CliContextFactory): void {
  program
    .command("benchmark")
    .description(
      `run a benchmark: ${BENCHMARK_KINDS.join(" | ")}; \`benchmark history\` lists stored runs. Without a kind, the ` +
        "suite: inference and memory on the default model's q4_0/q8_0/f16, throughput over HTTP and RAG search, all short",
    )
    .argument("[kind]", "what to measure (default: suite), or `history`")
    .option("--test <kind>", "same as the positional kind (the guide's `reflexia benchmark --test memory`)")
    .option(
      "-m, --model <ref>",
      "name:tag for one variant, a bare name for all its variants (default: the default model's q4_0, q8_0, f16)",
    )
    .option(
      "--quantization <list>",
      "variants of the default (or --model) model to measure, e.g. q4_0,q5_k_m,f16; missing ones are quantized for the run",
      (v: string) => parseQuantizationList("--quantization", v),
    )
    .option("--shape <shape>", "synthesize a model of this shape (tiny, small, 1b, 3b, 7b) first, as bench-<shape>")
    .option("--keep", "keep the variants --shape / --quantization made (default: removed after the run)")
    .option(
      "--tokens <n>",
      "tokens generated per run (default: inference/engine/api 128, memory 256, throughput 64)",
      parseIntOption("--tokens", 1, 100_000),
    )
    .option(
      "--context <n>",
      "memory: context size in tokens (default: models.context_size); quality: tokens per evaluated chunk (default 256)",
      parseIntOption("--context", 16, 1 << 20),
    )
    .option(
      "--repetitions <n>",
      "inference: measured runs per variant (default 3)",
      parseIntOption("--repetitions", 1, 1000),
    )
    .option("--complexity <list>", "memory: complexity levels to run (default low,medium,high)", parseListOption)
    .option(
      "--concurrency <list>",
      "engine/api/throughput: concurrency levels (default 1,4,8; suite 1,4)",
      parseListOption,
    )
    .option("--documents <list>", "rag: document counts (default 1000,10000)", parseListOption)
    .option("--sizes <list>", "rag: same as --documents", parseListOption)
    .option("--text <file>", "quality: the text to evaluate (default: the text shipped in src/bench/quality-text.txt)")
    .option(
      "--llama-bench <path>",
      "engine/contention/serving: a llama-bench binary (native/tools/build-llama-reference.sh; --gpu cuda|vulkan for GPU runs) run on the same file, threads and GPU layers as the reference; serving: times each chat turn's new tokens on the kernels alone (default: llama-bench beside --llama-server)",
    )
    .option(
      "--llama-server <path>",
      "serving: the llama-server binary (native/tools/build-llama-reference.sh) started on the same file, threads, context (--context) and slots",
    )
    .option("--trials <n>", "serving: paired trials per figure (default 3)", parseIntOption("--trials", 1, 100))
    .option(
      "--turns <n>",
      "serving: turns of the multi-turn chat, 0 to skip (default 6)",
      parseIntOption("--turns", 0, 50),
    )
    .option(
      "--llama-kv-unified",
      "serving: start llama-server with --kv-unified (one KV pool shared by its slots, as Reflexia's) instead of context ÷ slots cells per slot",
    )
    .option("--compare <runs...>", "compare two stored runs (ids from `benchmark history`, or JSON files)")
    .option("--no-history", "do not store this run in the benchmark history")
    .option("--json", "print the results as JSON on stdout")
    .option("--output <file>", "also write the JSON results to this file")
    .option("--html <file>", "also write an HTML report (tables and charts, self-contained) to this file")
    .action(async (kindArg: string | undefined, opts: BenchmarkOptions, cmd: Command) => {
      // Only what the user typed counts (--no-history has a default of true that nobody gave).
      const given = Object.keys(opts).filter((k) => cmd.getOptionValueSource(k) === "cli");
      const flagOf = (name: string) => cmd.options.find((o) => o.attributeName() === name)?.long ?? name;
      if (kindArg === "history" || opts.compare) {
        if (opts.test !== undefined || (kindArg !== undefined && kindArg !== "history"))
          throw new ReflexiaError("RFX_VALIDATION", "--compare takes no benchmark kind: it compares two stored runs");
        checkBenchmarkFlags("history", given, flagOf);
        await historyCommand(getContext, opts);
        return;
      }
      if (opts.test !== undefined && kindArg !== undefined && opts.test !== kindArg)
        throw new ReflexiaError(
          "RFX_VALIDATION",
          `the kind is given twice and differs: ${kindArg} and --test ${opts.test}; give one`,
        );
      const kind = (opts.test ?? kindArg ?? "suite") as BenchmarkKind;
      if (!BENCHMARK_KINDS.includes(kind))
        throw new ReflexiaError("RFX_VALIDATION", `unknown benchmark '${kind}'; one of ${BENCHMARK_KINDS.join(", ")}`);
      checkBenchmarkFlags(kind, given, flagOf);
      if (opts.output !== undefined) checkOutputPath("--output", opts.output);
      if (opts.html !== undefined) checkOutputPath("--html", opts.html);
      const concurrency = (opts.concurrency ?? ["1", "4", "8"]).map(Number);
      if (concurrency.some((c) => !Number.isInteger(c) || c < 1 || c > 256))
        throw new ReflexiaError("RFX_VALIDATION", "--concurrency must list integers in [1, 256]");
      if (opts.documents && opts.sizes)
        throw new ReflexiaError("RFX_VALIDATION", "give --documents or --sizes, not both");
      const sizes = (opts.documents ?? opts.sizes)?.map(Number);
      if (sizes?.some((s) => !Number.isInteger(s) || s < 1))
        throw new ReflexiaError("RFX_VALIDATION", "--documents must list positive integers");
      const levels = opts.complexity as ComplexityLevel[] | undefined;
      if (levels?.some((l) => !COMPLEXITY_LEVELS.includes(l)))
        throw new ReflexiaError("RFX_VALIDATION", `--complexity must list some of ${COMPLEXITY_LEVELS.join(", ")}`);
      const text = opts.text === undefined ? undefined : readTextFile(opts.text);
      const ctx = await getContext();
      const config = ctx.loaded.config;
      const log = opts.json ? undefined : (s: string) => process.stderr.write(s + "\n");
      const quiet = () => {};
      const tokens = opts.tokens ?? DEFAULT_TOKENS[kind];
      const threads = config.performance.thread_pool_size || undefined;
      const started = Date.now();
      let engineUsed = false;
      const engine = () => {
        engineUsed = true;
        return ctx.getEngine();
      };
      if (kind !== "rag" && opts.shape === undefined) await ctx.ensureDefaultModel({ quiet: opts.json });

      const { prepareBenchmarkVariants } = await import("../bench/bench-variants.ts");
      let variants: Awaited<ReturnType<typeof prepareBenchmarkVariants>> | undefined;
      const refsFor = async () => {
        variants ??= await prepareBenchmarkVariants({
          store: ctx.store,
          defaultModel: config.models.default,
          model: opts.model,
          quantizations: opts.quantization,
          shape: opts.shape,
          log: log ?? quiet,
        });
        return variants.refs;
      };

      const inference = async (refs: string[], t: number, repetitions = opts.repetitions) => {
        const [{ runInferenceBenchmark }, { gpuLayersForLoad }, { measureEngineBandwidth }, { buildFitReport }] =
          await Promise.all([
            import("../bench/inference-bench.ts"),
            import("../services/gpu-placement.ts"),
            import("../services/measure-bandwidth.ts"),
            import("../services/fit-report.ts"),
          ]);
        const e = await engine();
        const gpuLayersFor = (path: string, load: { contextSize: number; parallel: number }) =>
          gpuLayersForLoad(e, config, path, load);
        (log ?? quiet)("measuring memory bandwidth (ggml copy) for the decode bound…");
        const bandwidth = await measureEngineBandwidth(e, threads);
        const decodeBound = async (ref: string, contextSize: number) =>
          (await buildFitReport({ config, target: { ref, store: ctx.store }, gpu: e.gpu, bandwidth, contextSize }))
            .rows[0]?.decodeTokensPerSecond ?? null;
        return runInferenceBenchmark({
          store: ctx.store,
          engine: e,
          refs,
          tokens: t,
          repetitions,
          threads,
          gpuLayersFor,
          decodeBound,
          bandwidth,
          log: log ?? quiet,
        });
      };
      const memory = async (refs: string[], t: number) => {
        const { runMemoryBenchmark } = await import("../bench/memory-bench.ts");
        return runMemoryBenchmark({
          store: ctx.store,
          engine: await engine(),
          refs,
          contextSize: opts.context ?? config.models.context_size,
          tokens: t,
          levels,
          threads,
          log: log ?? quiet,
        });
      };
      // The server closes (and disposes) the engine it runs on, so HTTP benchmarks get their own.
      const throughput = async (refs: string[], t: number, levels: number[], requestsPerClient?: number) => {
        const { runThroughputBenchmark } = await import("../bench/throughput-bench.ts");
        const runs = [];
        for (const ref of refs)
          runs.push(
            await runThroughputBenchmark({
              loaded: ctx.loaded,
              model: ref,
              tokens: t,
              concurrency: levels,
              requestsPerClient,
              log: log ?? quiet,
            }),
          );
        return runs;
      };
      const rag = async (s: number[] | undefined) => {
        const { runRagBenchmark } = await import("../bench/rag-bench.ts");
        return runRagBenchmark({ sizes: s, annThreshold: config.rag.ann_threshold, log: log ?? quiet });
      };
      const quality = async (refs: string[]) => {
        const [{ runQualityBenchmark }, { recordVariantQuality }] = await Promise.all([
          import("../bench/quality-bench.ts"),
          import("../registry/variant-quality.ts"),
        ]);
        const r = await runQualityBenchmark({
          store: ctx.store,
          engine: await engine(),
          refs,
          text,
          chunkSize: opts.context,
          threads,
          log: log ?? quiet,
        });
        // The policy and `models show` read the figures back; a variant made only for this run is not kept.
        const made = new Set(opts.keep ? [] : (variants?.created ?? []));
        await recordVariantQuality(
          config.home,
          r.variants.filter((v) => !made.has(v.ref)),
          r.base,
        );
        return r;
      };

      const section = (title: string) => log?.(`\n== ${title} ==`);
      const measure = async (): Promise<Record<string, unknown>> => {
        switch (kind) {
          case "suite": {
            const refs = await refsFor();
            // Each part's own default, shortened: about 15 s on the tiny model.
            section("inference");
            const inf = await inference(refs, opts.tokens ?? 128, opts.repetitions ?? 2);
            section("memory");
            const mem = await memory(refs, opts.tokens ?? 128);
            section("throughput");
            const thr = await throughput(
              [opts.model?.includes(":") ? opts.model : refs[0]],
              opts.tokens ?? 32,
              opts.concurrency ? concurrency : [1, 4],
              3,
            );
            section("rag");
            const r = await rag(sizes ?? [100, 1000]);
            return { kind, inference: inf, memory: mem, throughput: thr, rag: r };
          }
          case "inference":
            return { kind, ...(await inference(await refsFor(), tokens)) };
          case "memory":
            return { kind, ...(await memory(await refsFor(), tokens)) };
          case "quality":
            return { kind, ...(await quality(await refsFor())) };
          case "throughput": {
            const refs =
              opts.model || opts.quantization || opts.shape
                ? await refsFor()
                : [`${config.models.default}:${config.models.default_quantization}`];
            return { kind, runs: await throughput(refs, tokens, concurrency) };
          }
          case "rag":
            return { kind, ...(await rag(sizes)) };
          case "grammar": {
            // Constrained vs unconstrained decode on one variant (native engine): the cost factor of a grammar.
            const { runGrammarBenchmark } = await import("../bench/grammar-bench.ts");
            const ref = opts.model ?? `${config.models.default}:${config.models.default_quantization}`;
            const variant = await ctx.store.resolve(ref);
            return {
              kind,
              model: ref,
              ...(await runGrammarBenchmark({
                modelPath: variant.path,
                threads,
                tokens,
                repetitions: opts.repetitions,
                log: log ?? quiet,
              })),
            };
          }
          case "contention": {
            const { runContentionBenchmark } = await import("../bench/contention-bench.ts");
            const ref = opts.model?.includes(":")
              ? opts.model
              : `${opts.model ?? config.models.default}:${config.models.default_quantization}`;
            const variant = await ctx.store.resolve(ref);
            return {
              ...(await runContentionBenchmark({
                modelPath: variant.path,
                threads,
                tokens,
                repetitions: opts.repetitions,
                llamaBench: opts.llamaBench,
                log: log ?? quiet,
              })),
            };
          }
          case "serving": {
            if (!opts.llamaServer)
              throw new ReflexiaError(
                "RFX_VALIDATION",
                "benchmark serving needs --llama-server PATH (the reference to compare with)",
              );
            const { runServingBenchmark } = await import("../bench/serving-bench.ts");
            const model = opts.model?.includes(":")
              ? opts.model
              : `${opts.model ?? config.models.default}:${config.models.default_quantization}`;
            return {
              ...(await runServingBenchmark({
                loaded: ctx.loaded,
                model,
                llamaServer: opts.llamaServer,
                contextSize: opts.context,
                concurrency,
                tokens,
                trials: opts.trials,
                turns: opts.turns,
                llamaKvUnified: opts.llamaKvUnified,
                llamaBench: opts.llamaBench,
                log: log ?? quiet,
              })),
            };
          }
          case "engine":
          case "api": {
            const refs = opts.model?.includes(":") ? [opts.model] : await refsFor();
            const runs = [];
            for (const ref of refs) {
              const variant = await ctx.store.resolve(ref);
              if (kind === "engine") {
                const { runEngineBenchmark } = await import("../bench/engine-bench.ts");
                runs.push({
                  model: ref,
                  ...(await runEngineBenchmark({
                    modelPath: variant.path,
                    threads,
                    tokens,
                    concurrency,
                    llamaBench: opts.llamaBench,
                    config,
                    log: log ?? quiet,
                  })),
                });
              } else {
                const { runApiBenchmark } = await import("../bench/api-bench.ts");
                runs.push(
                  await runApiBenchmark({ loaded: ctx.loaded, model: ref, tokens, concurrency, log: log ?? quiet }),
                );
              }
            }
            return { kind, runs };
          }
        }
      };
      let result: Record<string, unknown>;
      let models: BenchmarkModelRef[] = [];
      try {
        result = await measure();
        models = await modelRefsOf(ctx, variants?.refs ?? []);
      } finally {
        // The engine holds native threads; release it (also after a failure) so the process exits promptly.
        if (engineUsed) await (await ctx.getEngine()).dispose();
        if (variants && variants.created.length > 0) {
          if (opts.keep) log?.(`kept ${variants.created.join(", ")} (--keep)`);
          else {
            log?.(`removing the variants made for this run: ${variants.created.join(", ")}`);
            await variants.removeCreated();
          }
        }
      }
      if (opts.history !== false) {
        const { createBenchmarkHistory } = await import("../bench/history.ts");
        const id = await createBenchmarkHistory({ home: config.home }).save({
          kind,
          args: process.argv.slice(2),
          config: {
            engine: config.engine.backend,
            threads: threads ?? null,
            gpu: config.gpu.backend,
            tokens,
            contextSize: opts.context ?? config.models.context_size,
            ...(opts.shape ? { shape: opts.shape } : {}),
          },
          models,
          result,
          headline: headlineOf(result),
          durationMs: Date.now() - started,
        });
        result = { ...result, runId: id };
        log?.(`stored as ${id} (\`reflexia benchmark history\`)`);
      }
      if (opts.output) {
        writeFileSync(opts.output, JSON.stringify(result, null, 2) + "\n");
        if (!opts.json) process.stderr.write(`wrote ${opts.output}\n`);
      }
      if (opts.html) {
        const [{ renderBenchmarkReport }, { createBenchmarkHistory }] = await Promise.all([
          import("../bench/html-report.ts"),
          import("../bench/history.ts"),
        ]);
        const trend = await trendOf(createBenchmarkHistory({ home: config.home }), kind);
        writeFileSync(
          opts.html,
          renderBenchmarkReport(result, {
            host: `${hostname()}, ${cpus().length} CPUs (${cpus()[0]?.model ?? "unknown"})`,
            trend,
          }),
        );
        if (!opts.json) process.stderr.write(`wrote ${opts.html}\n`);
      }
      if (opts.json) printJson(result);
    });
}

function readTextFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new ReflexiaError("RFX_VALIDATION", `--text ${path}: ${(e as Error).message}`);
  }
}

/** Digests of the measured variants, so two stored runs can tell whether they measured the same bytes. */
async function modelRefsOf(ctx: CliContext, refs: string[]): Promise<BenchmarkModelRef[]> {
  const out: BenchmarkModelRef[] = [];
  for (const ref of refs) {
    const r = await ctx.store.resolve(ref).catch(() => undefined);
    if (r) out.push({ ref, digest: r.manifest.digest, quantization: r.quantization, sizeBytes: r.sizeBytes });
  }
  return out;
}

/** `benchmark history` lists the stored runs; `--compare A B` prints what changed between two of them. */
async function historyCommand(getContext: CliContextFactory, opts: BenchmarkOptions): Promise<void> {
  const ctx = await getContext();
  const [{ createBenchmarkHistory, parseBenchmarkRun, isBenchmarkRunId }, { compareRuns }] = await Promise.all([
    import("../bench/history.ts"),
    import("../bench/run-metrics.ts"),
  ]);
  const history = createBenchmarkHistory({ home: ctx.loaded.config.home });
  if (!opts.compare) {
    const runs = await history.list();
    if (opts.json) return printJson(runs);
    if (runs.length === 0) process.stderr.write(`no stored benchmark runs in ${history.dir}\n`);
    for (const r of runs)
      process.stdout.write(
        `${r.id}  ${r.kind.padEnd(10)}  ${r.hostname}  ${r.models.join(",") || "-"}  ${r.headline ?? ""}\n`,
      );
    return;
  }
  if (opts.compare.length !== 2) throw new ReflexiaError("RFX_VALIDATION", "--compare takes two runs: ids or files");
  const load = async (x: string) => {
    if (isBenchmarkRunId(x) && !x.endsWith(".json")) return history.get(x);
    let text: string;
    try {
      text = readFileSync(x, "utf8");
    } catch (e) {
      throw new ReflexiaError(
        "RFX_NOT_FOUND",
        `--compare ${x}: neither a stored run id nor a readable file (${(e as Error).message})`,
      );
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw new ReflexiaError("RFX_VALIDATION", `--compare ${x}: not JSON`);
    }
    // What --output wrote: the result, which names its stored run (the machine, models and settings live there).
    const output = data as Record<string, unknown> | null;
    if (output && typeof output === "object" && !("version" in output) && typeof output.kind === "string") {
      const runId = output.runId;
      if (typeof runId !== "string")
        throw new ReflexiaError(
          "RFX_VALIDATION",
          `--compare ${x}: the output of a run made with --no-history records no machine, models or settings to compare`,
        );
      return history.get(runId).catch((e: unknown) => {
        if (e instanceof ReflexiaError && e.code === "RFX_NOT_FOUND")
          throw new ReflexiaError(
            "RFX_NOT_FOUND",
            `--compare ${x}: the output of run ${runId}, which is not stored in this home's benchmark history`,
          );
        throw e;
      });
    }
    return parseBenchmarkRun(data, x);
  };
  const c = compareRuns(await load(opts.compare[0]), await load(opts.compare[1]));
  if (opts.json) return printJson(c);
  const out = (l: string) => process.stdout.write(l + "\n");
  out(`A ${c.a.id} (${c.a.kind}, ${c.a.createdAt}, ${c.a.host})`);
  out(`B ${c.b.id} (${c.b.kind}, ${c.b.createdAt}, ${c.b.host})`);
  if (c.changes.length === 0) out("no figure appears in both runs");
  const w = Math.max(6, ...c.changes.map((x) => x.name.length));
  for (const x of c.changes)
    out(
      `${x.name.padEnd(w)}  ${x.a.toFixed(3).padStart(10)} → ${x.b.toFixed(3).padEnd(10)} ${x.unit.padEnd(5)} ${(x.change >= 0 ? "+" : "") + (x.change * 100).toFixed(1)}%  ${x.verdict}`,
    );
  out(`note: ${c.note}`);
}
