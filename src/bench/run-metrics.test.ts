import { describe, expect, it } from "vitest";
import { parseBenchmarkRun, type BenchmarkRun } from "./history.ts";
import { trendSection } from "./html-report.ts";
import { compareRuns, headlineOf, runMetrics } from "./run-metrics.ts";

const system = (over: Partial<BenchmarkRun["system"]> = {}): BenchmarkRun["system"] => ({
  hostname: "h1",
  os: "linux",
  cpuModel: "cpu A",
  cpuFlags: ["avx2"],
  logicalCpus: 2,
  availableCpus: 2,
  totalMemoryBytes: 1,
  nodeVersion: "v20",
  loadAverage: [1.5, 1, 1],
  ...over,
});

const inference = (q4: number, f16: number) => ({
  kind: "inference",
  variants: [
    { quantization: "q4_0", tokensPerSecond: q4, msPerToken: { p95: 1000 / q4 }, achievedFraction: 0.5 },
    { quantization: "f16", tokensPerSecond: f16, msPerToken: { p95: 1000 / f16 }, achievedFraction: 0.6 },
  ],
});

const run = (id: string, result: Record<string, unknown>, sys = system()): BenchmarkRun =>
  parseBenchmarkRun({
    version: 1,
    id,
    kind: String(result.kind),
    createdAt: "2026-12-01T10:00:00.000Z",
    args: [],
    config: { threads: 2 },
    models: [{ ref: "m:q4_0", digest: "sha256:aa", quantization: "q4_0", sizeBytes: 1 }],
    result,
    system: sys,
  });

describe("run metrics", () => {
  it("reads each variant's figures and heads a listing with one per variant", () => {
    const m = runMetrics(inference(100, 40));
    expect(m.find((x) => x.name === "inference q4_0 decode")).toMatchObject({ value: 100, better: "higher" });
    expect(m.find((x) => x.name === "inference f16 ms/token p95")).toMatchObject({ value: 25, better: "lower" });
    expect(headlineOf(inference(100, 40))).toBe("q4_0 decode 100.0 tok/s, f16 decode 40.0 tok/s");
  });

  it("calls a change under 5% noise on one machine and names better and worse beyond it", () => {
    const c = compareRuns(run("a", inference(100, 40)), run("b", inference(103, 30)));
    expect(c.sameMachine).toBe(true);
    const by = Object.fromEntries(c.changes.map((x) => [x.name, x]));
    expect(by["inference q4_0 decode"].verdict).toBe("within noise");
    expect(by["inference f16 decode"].verdict).toBe("worse");
    expect(by["inference f16 ms/token p95"].verdict).toBe("worse");
    expect(by["inference f16 decode"].change).toBeCloseTo(-0.25, 6);
    expect(c.note).toContain("same machine");
    expect(c.note).toContain("load average 1.50 vs 1.50");
  });

  it("says when the runs come from different machines", () => {
    const c = compareRuns(run("a", inference(100, 40)), run("b", inference(200, 80), system({ cpuModel: "cpu B" })));
    expect(c.sameMachine).toBe(false);
    expect(c.note).toContain("different machines (cpu A vs cpu B)");
  });

  it("draws a trend only from two runs on, one point per run", () => {
    const p = (id: string, v: number) => ({ id, createdAt: "t", metrics: runMetrics(inference(v, v / 2)) });
    expect(trendSection([p("a", 1)])).toBe("");
    const html = trendSection([p("a", 100), p("b", 120), p("c", 90)]);
    expect(html).toContain("Trend over the last 3 stored runs");
    expect(html).toContain("trend: tok/s");
    expect(html.match(/<title>inference q4_0 decode:/g)).toHaveLength(3);
  });

  it("reads a rag run's retrieval figures, alone and in the suite", () => {
    const rows = [
      { documents: 1000, exact: { p95: 2.5 }, queryVector: { p95: 4 }, hitAt3: { hybridExact: 0.9 } },
      { documents: 10000, exact: { p95: 20 }, queryVector: { p95: 9 }, hitAt3: { hybridExact: 0.8 } },
    ];
    const m = runMetrics({ kind: "rag", rows });
    expect(m.find((x) => x.name === "rag 10000 docs exact p95")).toMatchObject({
      value: 20,
      unit: "ms",
      better: "lower",
    });
    expect(m.find((x) => x.name === "rag 1000 docs hit@3 hybrid")).toMatchObject({ value: 0.9, better: "higher" });
    expect(runMetrics({ kind: "suite", rag: { rows } })).toEqual(m);
    expect(headlineOf({ kind: "rag", rows })).toBe("1000 docs exact p95 2.500 ms, 10000 docs exact p95 20.0 ms");
    const c = compareRuns(run("a", { kind: "rag", rows }), run("b", { kind: "rag", rows }));
    expect(c.changes.map((x) => x.name)).toContain("rag 1000 docs exact p95");
  });

  it("compares the ggml CPU variant only when both runs recorded it", () => {
    const rag = { kind: "rag", rows: [] };
    const withVariant = system({ ggmlCpuVariant: "haswell" });
    expect(compareRuns(run("a", rag), run("b", inference(1, 1), withVariant)).sameMachine).toBe(true);
    const other = system({ ggmlCpuVariant: "zen4" });
    expect(compareRuns(run("a", rag, other), run("b", rag, withVariant)).sameMachine).toBe(false);
  });
});
