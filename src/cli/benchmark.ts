// `reflexia benchmark [kind]` / `reflexia --benchmark [--test kind]`: runs benchmarks from src/bench, prints their
// tables (stderr) or JSON (stdout) and can write the JSON to a file.
import { writeFileSync } from "node:fs";
import { cpus, hostname } from "node:os";
import type { Command } from "commander";
import { ReflexiaError } from "../errors/index.ts";
import type { CliContext, CliContextFactory } from "./context.ts";
import { printJson } from "./output.ts";
import { parseIntOption, parseListOption } from "./parse-options.ts";

/** The product guide's kinds (inference, rag, memory, throughput) plus the engine/api deep dives; suite runs a short mix. */
export const BENCHMARK_KINDS = [
  "suite",
  "inference",
  "memory",
  "throughput",
  "rag",
  "engine",
  "api",
  "grammar",
] as const;
export type BenchmarkKind = (typeof BENCHMARK_KINDS)[number];

const DEFAULT_TOKENS: Record<BenchmarkKind, number> = {
  suite: 128,
  inference: 128,
  memory: 256,
  throughput: 64,
  grammar: 128,
  rag: 0,
  engine: 128,
  api: 128,
};

interface BenchmarkOptions {
  test?: string;
  model?: string;
  tokens?: number;
  context?: number;
  repetitions?: number;
  concurrency?: string[];
  sizes?: string[];
  llamaBench?: string;
  json?: boolean;
  output?: string;
  html?: string;
}

/**
 * The variants a run covers: `name:tag` is that one; a bare name is every stored variant of it; nothing is the
 * default model's q4_0, q8_0 and f16 (those the offline default model always has).
 */
async function variantRefs(ctx: CliContext, model: string | undefined): Promise<string[]> {
  const config = ctx.loaded.config;
  if (!model) {
    const have = new Set((await ctx.store.variants(config.models.default)).map((v) => v.tag));
    const missing = ["q4_0", "q8_0", "f16"].filter((q) => !have.has(q));
    if (missing.length > 0)
      throw new ReflexiaError(
        "RFX_MODEL_NOT_FOUND",
        `the default model ${config.models.default} lacks ${missing.join(", ")}; name a model with --model NAME`,
        { model: config.models.default },
      );
    return ["q4_0", "q8_0", "f16"].map((q) => `${config.models.default}:${q}`);
  }
  if (model.includes(":")) return [model];
  const variants = await ctx.store.variants(model);
  if (variants.length === 0) throw new ReflexiaError("RFX_MODEL_NOT_FOUND", `model ${model} not found`, { model });
  return variants.map((v) => `${v.name}:${v.tag}`);
}

export function registerBenchmarkCommand(program: Command, getContext: CliContextFactory): void {
  program
    .command("benchmark")
    .description(
      `run a benchmark: ${BENCHMARK_KINDS.join(" | ")}. Without a kind, the suite: inference and memory on the default ` +
        "model's q4_0/q8_0/f16, throughput over HTTP and RAG search, all short",
    )
    .argument("[kind]", "what to measure (default: suite)")
    .option("--test <kind>", "same as the positional kind (the guide's `reflexia benchmark --test memory`)")
    .option(
      "-m, --model <ref>",
      "name:tag for one variant, a bare name for all its variants (default: the default model's q4_0, q8_0, f16)",
    )
    .option(
      "--tokens <n>",
      "tokens generated per run (default: inference/engine/api 128, memory 256, throughput 64)",
      parseIntOption("--tokens", 1, 100_000),
    )
    .option(
      "--context <n>",
      "memory: context size in tokens (default: models.context_size)",
      parseIntOption("--context", 16, 1 << 20),
    )
    .option(
      "--repetitions <n>",
      "inference: measured runs per variant (default 3)",
      parseIntOption("--repetitions", 1, 1000),
    )
    .option(
      "--concurrency <list>",
      "engine/api/throughput: concurrency levels (default 1,4,8; suite 1,4)",
      parseListOption,
    )
    .option("--sizes <list>", "rag: document counts (default 100,1000,10000)", parseListOption)
    .option(
      "--llama-bench <path>",
      "engine: a llama-bench binary (native/tools/build-llama-reference.sh; --gpu cuda|vulkan for GPU runs) run on the same file, threads and GPU layers as the reference",
    )
    .option("--json", "print the results as JSON on stdout")
    .option("--output <file>", "also write the JSON results to this file")
    .option("--html <file>", "also write an HTML report (tables and charts, self-contained) to this file")
    .action(async (kindArg: string | undefined, opts: BenchmarkOptions) => {
      const kind = (opts.test ?? kindArg ?? "suite") as BenchmarkKind;
      if (!BENCHMARK_KINDS.includes(kind))
        throw new ReflexiaError("RFX_VALIDATION", `unknown benchmark '${kind}'; one of ${BENCHMARK_KINDS.join(", ")}`);
      const concurrency = (opts.concurrency ?? ["1", "4", "8"]).map(Number);
      if (concurrency.some((c) => !Number.isInteger(c) || c < 1 || c > 256))
        throw new ReflexiaError("RFX_VALIDATION", "--concurrency must list integers in [1, 256]");
      const sizes = opts.sizes?.map(Number);
      if (sizes?.some((s) => !Number.isInteger(s) || s < 1))
        throw new ReflexiaError("RFX_VALIDATION", "--sizes must list positive integers");
      const ctx = await getContext();
      const config = ctx.loaded.config;
      const log = opts.json ? undefined : (s: string) => process.stderr.write(s + "\n");
      const quiet = () => {};
      const tokens = opts.tokens ?? DEFAULT_TOKENS[kind];
      const threads = config.performance.thread_pool_size || undefined;
      let engineUsed = false;
      const engine = () => {
        engineUsed = true;
        return ctx.getEngine();
      };
      if (kind !== "rag") await ctx.ensureDefaultModel({ quiet: opts.json });

      const inference = async (refs: string[], t: number, repetitions = opts.repetitions) => {
        const { runInferenceBenchmark } = await import("../bench/inference-bench.ts");
        const e = await engine();
        const { gpuLayersForLoad } = await import("../services/gpu-placement.ts");
        const gpuLayersFor = (path: string, load: { contextSize: number; parallel: number }) =>
          gpuLayersForLoad(e, config, path, load);
        return runInferenceBenchmark({
          store: ctx.store,
          engine: e,
          refs,
          tokens: t,
          repetitions,
          threads,
          gpuLayersFor,
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

      const section = (title: string) => log?.(`\n== ${title} ==`);
      const measure = async (): Promise<Record<string, unknown>> => {
        switch (kind) {
          case "suite": {
            const refs = await variantRefs(ctx, opts.model);
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
            return { kind, ...(await inference(await variantRefs(ctx, opts.model), tokens)) };
          case "memory":
            return { kind, ...(await memory(await variantRefs(ctx, opts.model), tokens)) };
          case "throughput": {
            const refs = opts.model
              ? await variantRefs(ctx, opts.model)
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
          case "engine":
          case "api": {
            const refs = opts.model ? [opts.model] : await variantRefs(ctx, undefined);
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
      try {
        result = await measure();
      } finally {
        // The engine holds native threads; release it (also after a failure) so the process exits promptly.
        if (engineUsed) await (await ctx.getEngine()).dispose();
      }
      if (opts.output) {
        writeFileSync(opts.output, JSON.stringify(result, null, 2) + "\n");
        if (!opts.json) process.stderr.write(`wrote ${opts.output}\n`);
      }
      if (opts.html) {
        const { renderBenchmarkReport } = await import("../bench/html-report.ts");
        writeFileSync(
          opts.html,
          renderBenchmarkReport(result, {
            host: `${hostname()}, ${cpus().length} CPUs (${cpus()[0]?.model ?? "unknown"})`,
          }),
        );
        if (!opts.json) process.stderr.write(`wrote ${opts.html}\n`);
      }
      if (opts.json) printJson(result);
    });
}
