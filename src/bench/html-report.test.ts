import { describe, expect, it } from "vitest";
import { barChart, escapeHtml, lineChart, renderBenchmarkReport } from "./html-report.ts";

describe("benchmark HTML report", () => {
  it("draws bars in proportion to their values on a shared axis", () => {
    const svg = barChart("t", ["q4_0", "f16"], [{ name: "avg", values: [5, 20] }], "ms");
    const heights = [...svg.matchAll(/<rect class="bar"[^>]* height="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(heights).toHaveLength(2);
    expect(heights[1] / heights[0]).toBeCloseTo(4, 1);
    // Axis top is a round number at or above the largest value.
    expect(svg).toContain(">20.0</text>");
  });

  it("skips missing points instead of drawing them at zero", () => {
    const svg = lineChart("t", [100, 1000, 10000], [{ name: "ann", values: [Number.NaN, 2, 3] }], "ms", "documents");
    expect(svg.match(/<circle class="point"/g)).toHaveLength(2);
    expect(svg).toContain(">10000</text>");
  });

  it("escapes every name that reaches the page and keeps the raw JSON", () => {
    const evil = `<script>alert("x")</script>`;
    const page = renderBenchmarkReport({
      kind: "inference",
      engine: evil,
      tokens: 8,
      repetitions: 1,
      prompt: "p",
      variants: [
        {
          ref: evil,
          quantization: "q4_0",
          fileSizeBytes: 1 << 20,
          runs: 1,
          completionTokens: 8,
          msPerToken: { avg: 2, p50: 2, p95: 3, max: 4 },
          tokensPerSecond: 500,
          promptTokensPerSecond: 900,
          ttftMs: 10,
        },
      ],
    });
    expect(page).not.toContain("<script>");
    expect(page).toContain(escapeHtml(evil));
    expect(page).toContain('<section id="inference">');
    expect(page).toContain("&quot;tokensPerSecond&quot;: 500");
  });

  it("renders kinds without charts as their JSON", () => {
    const page = renderBenchmarkReport({ kind: "engine", runs: [{ model: "m:q4_0", decodeTokensPerSecond: 123.4 }] });
    expect(page).not.toContain("<svg");
    expect(page).toContain("<details open>");
    expect(page).toContain("123.4");
  });

  const servingRun = {
    kind: "serving",
    model: "small:q4_0",
    file: "/x",
    threads: 2,
    contextSize: 4096,
    parallel: 8,
    tokens: 64,
    trials: 1,
    loadAverage: [1, 2, 3],
  } as const;

  it("renders the serving comparison with its ratios and multi-turn rows", () => {
    const sample = (t: number, p50: number) => ({ tokensPerSecond: t, ttftP50Ms: p50, ttftP95Ms: p50 * 2 });
    const page = renderBenchmarkReport({
      ...servingRun,
      rows: [
        {
          concurrency: 4,
          reflexia: [sample(40, 500)],
          llama: [sample(20, 1000)],
          medianRatio: { tokensPerSecond: 2, ttftP50: 0.5, ttftP95: 0.5 },
          frontCpuUsPerToken: { reflexia: 150, llama: 180 },
        },
        {
          concurrency: 8,
          reflexia: [sample(40, 500)],
          llama: [sample(40, 500)],
          medianRatio: { tokensPerSecond: 1, ttftP50: 1, ttftP95: 1 },
        },
      ],
      multiTurn: [
        {
          turn: 2,
          promptTokens: 1469,
          cachedTokens: 1405,
          newTokens: 36,
          reflexiaTtftMs: [767],
          llamaTtftMs: [2493],
          medianRatio: 0.308,
          vsNewTokensBound: 3.2,
          kernel: { newTokensMs: 218.4, tileMs: 118.2, floorMs: 118.2, command: "llama-bench …" },
        },
        {
          turn: 3,
          promptTokens: 1530,
          cachedTokens: 1470,
          newTokens: 36,
          reflexiaTtftMs: [780],
          llamaTtftMs: [2500],
          medianRatio: 0.312,
          vsNewTokensBound: 3.3,
        },
      ],
    });
    expect(page).toContain('<section id="serving">');
    expect(page).toContain("<td>4</td><td>40.0</td><td>20.0</td><td>2.000</td>");
    // Front CPU per token where it was measured, a dash where it was not (an older stored run).
    expect(page).toContain("<td>0.500</td><td>150 / 180</td></tr>");
    expect(page).toContain("<td>1.000</td><td>–</td></tr>");
    expect(page).toContain("<td>1469</td><td>1405</td><td>36</td><td>767</td><td>2493</td><td>0.308</td>");
    // The kernels' time for the turn where llama-bench measured it (the faster shape), a dash where it did not.
    expect(page).toContain("<td>0.308</td><td>3.20</td><td>118</td></tr>");
    expect(page).toContain("<td>0.312</td><td>3.30</td><td>—</td></tr>");
    expect(page).not.toContain("--kv-unified");
  });

  it("says when llama-server ran with one KV pool", () => {
    const page = renderBenchmarkReport({ ...servingRun, llamaKvUnified: true, rows: [], multiTurn: [] });
    expect(page).toContain("8 slots (llama-server with --kv-unified: one KV pool, as Reflexia's)");
  });

  it("names Reflexia's prompt split where the run recorded it", () => {
    const page = renderBenchmarkReport({ ...servingRun, promptSplit: "never", rows: [], multiTurn: [] });
    expect(page).toContain("8 slots, Reflexia prompt split never, 64 tokens per request");
    expect(renderBenchmarkReport({ ...servingRun, rows: [], multiTurn: [] })).not.toContain("prompt split");
  });

  it("names the ggml CPU variant both servers loaded, and both when they differ", () => {
    const same = { reflexia: "haswell", llama: "haswell" };
    expect(renderBenchmarkReport({ ...servingRun, ggmlCpuVariants: same, rows: [], multiTurn: [] })).toContain(
      "paired trials (medians; ratio = Reflexia / llama-server), ggml CPU haswell; load average",
    );
    const differ = { reflexia: "zen4", llama: "haswell" };
    expect(renderBenchmarkReport({ ...servingRun, ggmlCpuVariants: differ, rows: [], multiTurn: [] })).toContain(
      "ggml CPU Reflexia zen4 vs llama-server haswell (different kernels)",
    );
    expect(renderBenchmarkReport({ ...servingRun, rows: [], multiTurn: [] })).not.toContain("ggml CPU");
  });
});
