// The product guide's five benchmark commands, typed as the guide prints them (plus size flags that keep them short),
// each checked for what its flags ask: the variants, complexity levels, document counts and concurrency levels.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./support/run-cli.ts";

const ROOT = join(import.meta.dirname, "..");
let home: string;

/** As the guide prints them; the README's Benchmarks block lists them verbatim. */
const GUIDE = {
  suite: "reflexia --benchmark",
  inference: "reflexia benchmark --test inference --quantization q4_0,q5_k_m,f16",
  memory: "reflexia benchmark --test memory --complexity low,medium,high",
  rag: "reflexia benchmark --test rag --documents 10,100,1000",
  throughput: "reflexia benchmark --test throughput --concurrency 1,5,10,20",
} as const;

/** Flags that only shorten a run (fewer tokens, repetitions, documents); none changes what a guide flag asks. */
const SHORT: Record<keyof typeof GUIDE, string[]> = {
  suite: ["--tokens", "8", "--repetitions", "1", "--documents", "10"],
  inference: ["--tokens", "8", "--repetitions", "1"],
  memory: ["--tokens", "8"],
  rag: [],
  throughput: ["--tokens", "4"],
};

async function run(kind: keyof typeof GUIDE): Promise<{ code: number; out: Record<string, unknown>; stderr: string }> {
  const r = await runCli(home, [...GUIDE[kind].split(" ").slice(1), ...SHORT[kind], "--json"]);
  return { code: r.code, out: r.code === 0 ? JSON.parse(r.stdout) : {}, stderr: r.stderr.slice(-2000) };
}

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), "rfx-guide-"));
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe("the guide's benchmark commands", () => {
  it("are in the README as the guide prints them", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    for (const c of Object.values(GUIDE)) expect(readme).toContain(c);
  });

  it("--test inference --quantization q4_0,q5_k_m,f16 measures exactly those variants, each with its decode bound", async () => {
    const r = await run("inference");
    expect(r.code, r.stderr).toBe(0);
    const variants = r.out.variants as { quantization: string; boundTokensPerSecond: number | null }[];
    expect(variants.map((v) => v.quantization)).toEqual(["q4_0", "q5_k_m", "f16"]);
    for (const v of variants) expect(v.boundTokensPerSecond).toBeGreaterThan(0);
    expect((r.out.bandwidth as { cpuBytesPerSecond: number }).cpuBytesPerSecond).toBeGreaterThan(0);
  });

  it("--test memory --complexity low,medium,high runs those levels", async () => {
    const r = await run("memory");
    expect(r.code, r.stderr).toBe(0);
    const variants = r.out.variants as { levels: { level: string }[] }[];
    expect(variants.length).toBeGreaterThan(0);
    for (const v of variants) expect(v.levels.map((l) => l.level)).toEqual(["low", "medium", "high"]);
  });

  it("--test rag --documents 10,100,1000 searches those corpus sizes", async () => {
    const r = await run("rag");
    expect(r.code, r.stderr).toBe(0);
    expect((r.out.rows as { documents: number }[]).map((x) => x.documents)).toEqual([10, 100, 1000]);
  });

  it("--test throughput --concurrency 1,5,10,20 runs those levels", async () => {
    const r = await run("throughput");
    expect(r.code, r.stderr).toBe(0);
    const runs = r.out.runs as { rows: { concurrency: number }[] }[];
    expect(runs[0].rows.map((x) => x.concurrency)).toEqual([1, 5, 10, 20]);
  });

  it("--benchmark runs the suite (inference, memory, throughput, rag)", async () => {
    const r = await run("suite");
    expect(r.code, r.stderr).toBe(0);
    expect(Object.keys(r.out)).toEqual(expect.arrayContaining(["inference", "memory", "throughput", "rag"]));
    expect(((r.out.rag as { rows: { documents: number }[] }).rows ?? []).map((x) => x.documents)).toEqual([10]);
  });

  it("refuses a flag the kind would ignore, by name", async () => {
    const r = await runCli(home, ["benchmark", "--test", "rag", "--complexity", "low"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("--complexity does not apply to the rag benchmark");
  });

  it("refuses --llama-bench where no llama-bench runs (rag)", async () => {
    const r = await runCli(home, ["benchmark", "rag", "--llama-bench", "/bin/true"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("--llama-bench does not apply to the rag benchmark");
  });

  it("refuses --llama-kv-unified outside the serving benchmark", async () => {
    const r = await runCli(home, ["benchmark", "engine", "--llama-kv-unified"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("--llama-kv-unified does not apply to the engine benchmark");
  });
});
