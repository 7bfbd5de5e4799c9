// `reflexia benchmark <kind>` (alias `reflexia --benchmark`): runs a benchmark from src/bench and prints its table.
import type { Command } from "commander";
import type { CliContextFactory } from "./context.ts";
import { printJson } from "./output.ts";
import { parseIntOption, parseListOption } from "./parse-options.ts";

export const BENCHMARK_KINDS = ["engine", "api", "rag"] as const;

export function registerBenchmarkCommand(program: Command, getContext: CliContextFactory): void {
  program
    .command("benchmark")
    .description(`run a benchmark: ${BENCHMARK_KINDS.join(" | ")} (default engine)`)
    .argument("[kind]", "what to measure", "engine")
    .option("--test <kind>", "same as the positional kind")
    .option("-m, --model <ref>", "model variant (default: the default model at each of its quantizations)")
    .option("--tokens <n>", "tokens generated per run", parseIntOption("--tokens", 1, 100_000), 128)
    .option("--concurrency <list>", "concurrency levels", parseListOption, ["1", "4", "8"])
    .option("--sizes <list>", "rag: document counts", parseListOption, ["100", "1000", "10000"])
    .option("--json", "print the results as JSON")
    .action(async (kindArg: string, opts) => {
      const kind = (opts.test ?? kindArg) as (typeof BENCHMARK_KINDS)[number];
      if (!BENCHMARK_KINDS.includes(kind)) throw new Error(`unknown benchmark '${kind}'; one of ${BENCHMARK_KINDS.join(", ")}`);
      const ctx = await getContext();
      const config = ctx.loaded.config;
      const concurrency = (opts.concurrency as string[]).map(Number);
      const log = (s: string) => process.stderr.write(s + "\n");
      let result: unknown;
      if (kind === "engine" || kind === "api") {
        await ctx.ensureDefaultModel({ quiet: opts.json });
        const refs: string[] = opts.model ? [opts.model] : [`${config.models.default}:q4_0`, `${config.models.default}:q8_0`, `${config.models.default}:f16`];
        const runs = [];
        for (const ref of refs) {
          const variant = await ctx.store.resolve(ref);
          if (kind === "engine") {
            const { runEngineBenchmark } = await import("../bench/engine-bench.ts");
            runs.push({ model: ref, ...(await runEngineBenchmark({ modelPath: variant.path, threads: config.performance.thread_pool_size || undefined, tokens: opts.tokens, concurrency, log: opts.json ? undefined : log })) });
          } else {
            const { runApiBenchmark } = await import("../bench/api-bench.ts");
            runs.push({ model: ref, ...(await runApiBenchmark({ loaded: ctx.loaded, model: ref, tokens: opts.tokens, concurrency, log: opts.json ? undefined : log })) });
          }
        }
        result = { kind, runs };
      } else {
        const { runRagBenchmark } = await import("../bench/rag-bench.ts");
        result = { kind, ...(await runRagBenchmark({ sizes: (opts.sizes as string[]).map(Number), log: opts.json ? undefined : log })) };
      }
      if (opts.json) printJson(result);
    });
}
