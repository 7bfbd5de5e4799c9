import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, describe, expect, it, vi } from "vitest";
import { createBenchmarkHistory } from "../bench/history.ts";
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

  it("refuses an --output or --html file whose folder is missing before the run, not after it", async () => {
    expect(await benchmark(["rag", "--html", "/nonexistent-rfx/x.html"])).toBe(
      "--html /nonexistent-rfx/x.html: the folder /nonexistent-rfx does not exist",
    );
    expect(await benchmark(["rag", "--output", "/nonexistent-rfx/x.json"])).toBe(
      "--output /nonexistent-rfx/x.json: the folder /nonexistent-rfx does not exist",
    );
    expect(await benchmark(["rag", "--output", tmpdir()])).toBe(`--output ${tmpdir()} is a folder; name a file`);
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

describe("benchmark --compare", () => {
  const home = mkdtempSync(join(tmpdir(), "rfx-compare-"));
  afterAll(() => rmSync(home, { recursive: true, force: true }));
  const getContext = (async () => ({ loaded: { config: { home } } })) as unknown as CliContextFactory;

  async function compare(a: string, b: string): Promise<{ json?: { changes: { name: string }[] }; error?: string }> {
    const program = new Command("reflexia").exitOverride();
    registerBenchmarkCommand(program, getContext);
    let out = "";
    const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => ((out += String(chunk)), true));
    try {
      await program.parseAsync(["benchmark", "--compare", a, b, "--json"], { from: "user" });
      return { json: JSON.parse(out) };
    } catch (e) {
      return { error: (e as Error).message };
    } finally {
      write.mockRestore();
    }
  }

  it("reads the file --output wrote (the result naming its stored run) as well as a stored run's id", async () => {
    const history = createBenchmarkHistory({ home });
    const result = { kind: "rag", rows: [{ documents: 10, exact: { p95: 1 }, queryVector: { p95: 2 } }] };
    const save = () => history.save({ kind: "rag", args: [], config: {}, models: [], result });
    const [a, b] = [await save(), await save()];
    const file = join(home, "a.json");
    writeFileSync(file, JSON.stringify({ ...result, runId: a }, null, 2) + "\n");
    const r = await compare(file, b);
    expect(r.error).toBeUndefined();
    expect(r.json?.changes.map((c) => c.name)).toContain("rag 10 docs exact p95");

    writeFileSync(file, JSON.stringify(result));
    expect((await compare(file, b)).error).toBe(
      `--compare ${file}: the output of a run made with --no-history records no machine, models or settings to compare`,
    );
    writeFileSync(file, JSON.stringify({ ...result, runId: "20200101T000000000Z-rag-000000" }));
    expect((await compare(file, b)).error).toContain("which is not stored in this home's benchmark history");
  });
});
