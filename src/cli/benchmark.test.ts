import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { BENCHMARK_FLAG_SCOPES, registerBenchmarkCommand } from "./benchmark.ts";
import type { CliContextFactory } from "./context.ts";

const REACHED = "the run started";

/** `reflexia benchmark …args` in process; a run that passes the flag checks stops where it would open the home. */
async function benchmark(args: string[]): Promise<string> {
  const program = new Command("reflexia").exitOverride();
  const getContext = (() => Promise.reject(new Error(REACHED))) as unknown as CliContextFactory;
  registerBenchmarkCommand(program, getContext);
  program.commands[0].exitOverride();
  try {
    await program.parseAsync(["benchmark", ...args], { from: "user" });
    return "finished";
  } catch (e) {
    return (e as Error).message;
  }
}

describe("benchmark flags", () => {
  it("every registered option says which runs read it", () => {
    const program = new Command();
    registerBenchmarkCommand(program, (() => undefined) as unknown as CliContextFactory);
    const names = program.commands[0].options.map((o) => o.attributeName());
    expect(names.sort()).toEqual(Object.keys(BENCHMARK_FLAG_SCOPES).sort());
  });

  it.each([
    [["rag", "--tokens", "5"], "--tokens does not apply to the rag benchmark"],
    [["rag", "--documents", "1", "--model", "nope:q4_0"], "--model does not apply to the rag benchmark"],
    [["rag", "--repetitions", "4"], "--repetitions does not apply to the rag benchmark"],
    [["rag", "--concurrency", "2"], "--concurrency does not apply to the rag benchmark"],
    [["rag", "--context", "99"], "--context does not apply to the rag benchmark"],
    [["inference", "--sizes", "10"], "--sizes does not apply to the inference benchmark"],
    [["inference", "--concurrency", "3"], "--concurrency does not apply to the inference benchmark"],
    [["inference", "--context", "77"], "--context does not apply to the inference benchmark"],
    [["grammar", "--keep"], "--keep does not apply to the grammar benchmark"],
    [["rag", "--test", "inference"], "the kind is given twice and differs: rag and --test inference; give one"],
    [["history", "--documents", "5"], "--documents does not apply to benchmark history or --compare"],
    [["history", "--shape", "tiny"], "--shape does not apply to benchmark history or --compare"],
    [["--compare", "a", "b", "--output", "x.json"], "--output does not apply to benchmark history or --compare"],
  ])("refuses %j by name", async (args, message) => {
    expect(await benchmark(args)).toBe(message);
  });

  it.each([
    [["rag", "--documents", "1", "--no-history", "--json"]],
    [["--test", "rag", "--sizes", "10"]],
    [["rag", "--test", "rag"]],
    [["inference", "--tokens", "4", "--repetitions", "1", "--model", "m:q4_0", "--output", "x.json"]],
    [["--tokens", "8", "--repetitions", "1", "--documents", "10", "--concurrency", "1", "--context", "128"]],
    [["serving", "--llama-server", "x", "--concurrency", "1", "--context", "512", "--trials", "1", "--turns", "0"]],
    [["history", "--json"]],
  ])("accepts %j", async (args) => {
    expect(await benchmark(args)).toBe(REACHED);
  });
});
