// `reflexia benchmark` kinds as a user runs them: memory, inference and throughput on a tiny synthetic model, JSON
// on stdout and in --output, and the guide's `reflexia --benchmark --test KIND` spelling.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./support/run-cli.ts";

let home: string;

const cli = (args: string[]) => runCli(home, args);

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "rfx-bench-cli-"));
  const r = await cli(["models", "synth", "--shape", "tiny", "--quant", "q4_0,f16", "--name", "t"]);
  if (r.code !== 0) throw new Error(r.stderr);
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe("reflexia benchmark", () => {
  it("--test memory measures every variant of the model at each complexity level, JSON on stdout and in --output", async () => {
    const out = join(home, "memory.json");
    const r = await cli(["benchmark", "--test", "memory", "--model", "t", "--tokens", "16", "--json", "--output", out]);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(JSON.parse(readFileSync(out, "utf8"))).toEqual(res);
    expect(res.kind).toBe("memory");
    expect(res.tokens).toBe(16);
    expect(res.variants.map((v: { ref: string }) => v.ref)).toEqual(["t:q4_0", "t:f16"]);
    for (const v of res.variants) {
      expect(v.estimatedMemoryBytes).toBeGreaterThan(v.fileSizeBytes);
      expect(v.levels.map((l: { level: string }) => l.level)).toEqual(["low", "medium", "high"]);
      for (const l of v.levels) {
        expect(l.peakRssBytes).toBeGreaterThanOrEqual(l.rssAtStartBytes);
        expect(l.deltaOverBaseBytes).toBe(l.peakRssBytes - v.baseRssBytes);
      }
    }
  });

  it("--benchmark --test memory prints the table (no JSON) and a name:tag measures only that variant", async () => {
    const r = await cli(["--benchmark", "--test", "memory", "--model", "t:f16", "--tokens", "8"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^variant\s+file MiB\s+estimate MiB/m);
    expect(r.stderr).toMatch(/^t:f16\s/m);
    expect(r.stderr).not.toMatch(/^t:q4_0\s/m);
  });

  it("--test inference reports ms/token avg, p50, p95 and max per quantization", async () => {
    const r = await cli(["benchmark", "inference", "--model", "t", "--tokens", "12", "--repetitions", "2", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res.kind).toBe("inference");
    expect(res.variants.map((v: { quantization: string }) => v.quantization)).toEqual(["q4_0", "f16"]);
    for (const v of res.variants) {
      const m = v.msPerToken;
      expect(m.p50).toBeGreaterThan(0);
      expect(m.p95).toBeGreaterThanOrEqual(m.p50);
      expect(m.max).toBeGreaterThanOrEqual(m.p95);
      expect(v.tokensPerSecond).toBeCloseTo(1000 / m.avg, 6);
      expect(v.completionTokens).toBeGreaterThan(0);
    }
  });

  it("--test throughput runs closed-loop HTTP clients and counts every request", async () => {
    const r = await cli([
      "benchmark",
      "--test",
      "throughput",
      "--model",
      "t:q4_0",
      "--tokens",
      "8",
      "--concurrency",
      "1,2",
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const [run] = JSON.parse(r.stdout).runs;
    expect(run.model).toBe("t:q4_0");
    expect(run.rows.map((x: { concurrency: number; requests: number }) => [x.concurrency, x.requests])).toEqual([
      [1, 4],
      [2, 8],
    ]);
    for (const row of run.rows) {
      expect(row.requestsPerSecond).toBeGreaterThan(0);
      expect(row.completionTokens).toBeLessThanOrEqual(8 * row.requests);
      expect(row.latencyP95Ms).toBeGreaterThanOrEqual(row.latencyP50Ms);
    }
  });

  it("--benchmark --html writes one self-contained page: the suite's four tables, each with its chart", async () => {
    const html = join(home, "report.html");
    const out = join(home, "suite.json");
    const r = await cli([
      "--benchmark",
      "--model",
      "t",
      "--tokens",
      "8",
      "--concurrency",
      "1,2",
      "--sizes",
      "40,80",
      "--output",
      out,
      "--html",
      html,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const page = readFileSync(html, "utf8");
    const res = JSON.parse(readFileSync(out, "utf8"));
    expect(res.kind).toBe("suite");
    for (const id of ["inference", "memory", "throughput", "rag"])
      expect(page, id).toMatch(new RegExp(`<section id="${id}">[\\s\\S]*?<svg`));
    // Inference: one bar per variant and series (avg/p95/max); memory: base/peak and cost/estimate per variant.
    expect(page.match(/<rect class="bar"/g)).toHaveLength(2 * 3 + 2 * 2 + 2 * 2);
    // Throughput: two lines with one point per concurrency level; RAG: three lines over the two sizes.
    expect(page.match(/<circle class="point"/g)).toHaveLength(
      2 * 2 + 3 * 2 - res.rag.rows.filter((x: { ann?: unknown }) => !x.ann).length,
    );
    for (const v of res.inference.variants) expect(page).toContain(`<td>${v.ref}</td>`);
    expect(page).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  it("refuses an unknown kind and a missing model with a code", async () => {
    const bad = await cli(["benchmark", "--test", "speed"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/unknown benchmark 'speed'.*RFX_VALIDATION/);
    const missing = await cli(["benchmark", "memory", "--model", "nope", "--tokens", "4"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/RFX_MODEL_NOT_FOUND/);
  });
});
