// Renders a benchmark result (the JSON `reflexia benchmark` prints) as one self-contained HTML page: the guide's
// tables plus inline SVG charts, no script and nothing fetched, so the file can be mailed or archived as it is.
import type { InferenceBenchmarkResult } from "./inference-bench.ts";
import type { MemoryBenchmarkResult } from "./memory-bench.ts";
import type { QualityBenchmarkResult } from "./quality-bench.ts";
import type { TrendPoint } from "./run-metrics.ts";
import type { RagBenchmarkResult } from "./rag-bench.ts";
import type { ServingBenchmarkResult, ServingSample } from "./serving-bench.ts";
import type { ThroughputBenchmarkResult } from "./throughput-bench.ts";
import { median } from "./bench-stats.ts";

export interface ChartSeries {
  name: string;
  values: number[];
}

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2"];
const W = 640;
const H = 300;
const PAD = { left: 64, right: 16, top: 36, bottom: 48 };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

const fmt = (x: number, digits = 1): string => (Number.isFinite(x) ? x.toFixed(digits) : "–");
const MiB = 1024 * 1024;

/** A "nice" axis maximum (1, 2 or 5 × 10^k) at or above `max`. */
function niceMax(max: number): number {
  if (!(max > 0) || !Number.isFinite(max)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  return ([1, 2, 5, 10].find((m) => m * p >= max) ?? 10) * p;
}

function frame(title: string, yUnit: string, yMax: number, body: string, legend: ChartSeries[], xLabel = ""): string {
  const plotH = H - PAD.top - PAD.bottom;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const y = PAD.top + plotH * (1 - f);
    return `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y}" y2="${y}" stroke="#e5e7eb"/><text x="${PAD.left - 6}" y="${y + 4}" text-anchor="end">${fmt(yMax * f, yMax * f >= 100 ? 0 : yMax >= 10 ? 1 : 2)}</text>`;
  });
  const keys = legend
    .map(
      (s, i) =>
        `<rect x="${PAD.left + i * 150}" y="10" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/><text x="${PAD.left + i * 150 + 14}" y="19">${escapeHtml(s.name)}</text>`,
    )
    .join("");
  return (
    `<figure><figcaption>${escapeHtml(title)}</figcaption>` +
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(title)}" font-size="11" font-family="sans-serif">` +
    ticks.join("") +
    `<text x="14" y="${PAD.top + plotH / 2}" transform="rotate(-90 14 ${PAD.top + plotH / 2})" text-anchor="middle">${escapeHtml(yUnit)}</text>` +
    (xLabel
      ? `<text x="${PAD.left + (W - PAD.left - PAD.right) / 2}" y="${H - 6}" text-anchor="middle">${escapeHtml(xLabel)}</text>`
      : "") +
    keys +
    body +
    `</svg></figure>`
  );
}

/** Grouped bars: one group per category, one bar per series. */
export function barChart(title: string, categories: string[], series: ChartSeries[], yUnit: string): string {
  const yMax = niceMax(Math.max(0, ...series.flatMap((s) => s.values.filter(Number.isFinite))));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const group = plotW / Math.max(1, categories.length);
  const bar = (group * 0.8) / Math.max(1, series.length);
  let body = "";
  categories.forEach((c, ci) => {
    series.forEach((s, si) => {
      const v = s.values[ci];
      if (!Number.isFinite(v)) return;
      const h = (v / yMax) * plotH;
      const x = PAD.left + ci * group + group * 0.1 + si * bar;
      body += `<rect class="bar" x="${x.toFixed(1)}" y="${(PAD.top + plotH - h).toFixed(1)}" width="${(bar - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[si % COLORS.length]}"><title>${escapeHtml(`${c} ${s.name}: ${fmt(v, 2)} ${yUnit}`)}</title></rect>`;
    });
    body += `<text x="${(PAD.left + ci * group + group / 2).toFixed(1)}" y="${H - PAD.bottom + 16}" text-anchor="middle">${escapeHtml(c)}</text>`;
  });
  return frame(title, yUnit, yMax, body, series);
}

/** Lines over numeric x values (concurrency, document count), one point marker per value. */
export function lineChart(title: string, xs: number[], series: ChartSeries[], yUnit: string, xLabel: string): string {
  const yMax = niceMax(Math.max(0, ...series.flatMap((s) => s.values.filter(Number.isFinite))));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  // Evenly spaced x positions labelled with the values: concurrency 1/4/8 and sizes 100/1k/10k read best that way.
  const px = (i: number) => PAD.left + (xs.length === 1 ? plotW / 2 : (plotW * i) / (xs.length - 1));
  const py = (v: number) => PAD.top + plotH - (v / yMax) * plotH;
  let body = xs
    .map((x, i) => `<text x="${px(i).toFixed(1)}" y="${H - PAD.bottom + 16}" text-anchor="middle">${x}</text>`)
    .join("");
  series.forEach((s, si) => {
    const color = COLORS[si % COLORS.length];
    const pts = s.values.map((v, i) => [px(i), v] as const).filter(([, v]) => Number.isFinite(v));
    body += `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map(([x, v]) => `${x.toFixed(1)},${py(v).toFixed(1)}`).join(" ")}"/>`;
    body += pts
      .map(
        ([x, v]) =>
          `<circle class="point" cx="${x.toFixed(1)}" cy="${py(v).toFixed(1)}" r="3.5" fill="${color}"><title>${escapeHtml(`${s.name}: ${fmt(v, 2)} ${yUnit}`)}</title></circle>`,
      )
      .join("");
  });
  return frame(title, yUnit, yMax, body, series, xLabel);
}

function htmlTable(columns: string[], rows: Array<Array<string | number>>): string {
  const cell = (v: string | number) => `<td>${escapeHtml(typeof v === "number" ? fmt(v) : v)}</td>`;
  return `<table><thead><tr>${columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("")}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map(cell).join("")}</tr>`).join("")}</tbody></table>`;
}

function inferenceSection(r: InferenceBenchmarkResult): string {
  const v = r.variants;
  return (
    `<section id="inference"><h2>Inference: ms per token by quantization</h2><p>${v.length} variants, ${r.tokens} tokens per run, ${r.repetitions} runs each, engine ${escapeHtml(r.engine)}.</p>` +
    htmlTable(
      ["variant", "file MiB", "ms/token avg", "p50", "p95", "max", "tok/s", "prompt tok/s", "TTFT ms"],
      v.map((x) => [
        x.ref,
        x.fileSizeBytes / MiB,
        x.msPerToken.avg,
        x.msPerToken.p50,
        x.msPerToken.p95,
        x.msPerToken.max,
        x.tokensPerSecond,
        x.promptTokensPerSecond,
        x.ttftMs,
      ]),
    ) +
    barChart(
      "ms per generated token",
      v.map((x) => x.quantization),
      [
        { name: "avg", values: v.map((x) => x.msPerToken.avg) },
        { name: "p95", values: v.map((x) => x.msPerToken.p95) },
        { name: "max", values: v.map((x) => x.msPerToken.max) },
      ],
      "ms",
    ) +
    `</section>`
  );
}

function memorySection(r: MemoryBenchmarkResult): string {
  const v = r.variants;
  const peak = (x: MemoryBenchmarkResult["variants"][number]) =>
    Math.max(x.baseRssBytes, ...x.levels.map((l) => l.peakRssBytes));
  return (
    `<section id="memory"><h2>Memory: base and peak RSS by quantization</h2><p>Process RSS; peak from ${r.peakSource === "kernel_hwm" ? "the kernel's high-water mark" : "sampled RSS"} ` +
    `while generating ${r.tokens} tokens per complexity level; cost = peak − RSS before the load, next to the registry's estimate. Engine ${escapeHtml(r.engine)}.</p>` +
    htmlTable(
      [
        "variant",
        "context",
        "before MiB",
        "base MiB",
        "peak MiB",
        "cost MiB",
        "estimate MiB",
        "estimate error %",
        ...(v[0]?.levels.map((l) => `${l.level} +MiB`) ?? []),
      ],
      v.map((x) => [
        x.ref,
        String(x.contextSize),
        x.rssBeforeLoadBytes / MiB,
        x.baseRssBytes / MiB,
        peak(x) / MiB,
        x.measuredPeakBytes / MiB,
        x.estimatedMemoryBytes / MiB,
        x.estimateErrorPercent,
        ...x.levels.map((l) => l.deltaOverBaseBytes / MiB),
      ]),
    ) +
    barChart(
      "resident memory of the process",
      v.map((x) => x.quantization),
      [
        { name: "base (loaded)", values: v.map((x) => x.baseRssBytes / MiB) },
        { name: "peak (generating)", values: v.map((x) => peak(x) / MiB) },
      ],
      "MiB",
    ) +
    barChart(
      "what running the variant cost vs the estimate",
      v.map((x) => x.quantization),
      [
        { name: "measured cost", values: v.map((x) => x.measuredPeakBytes / MiB) },
        { name: "estimate", values: v.map((x) => x.estimatedMemoryBytes / MiB) },
      ],
      "MiB",
    ) +
    `</section>`
  );
}

function throughputSection(runs: ThroughputBenchmarkResult[]): string {
  return (
    `<section id="throughput"><h2>Throughput: requests per second by concurrency</h2>` +
    runs
      .map(
        (t) =>
          `<h3>${escapeHtml(t.model)}</h3><p>Over HTTP, ${t.tokens} tokens per request, parallel ${t.parallel}, engine ${escapeHtml(t.engine)}.</p>` +
          htmlTable(
            ["concurrency", "requests", "req/s", "tok/s", "latency p50 ms", "p95 ms"],
            t.rows.map((r) => [
              String(r.concurrency),
              String(r.requests),
              r.requestsPerSecond,
              r.aggregateTokensPerSecond,
              r.latencyP50Ms,
              r.latencyP95Ms,
            ]),
          ) +
          lineChart(
            `${t.model}: aggregate generated tokens per second`,
            t.rows.map((r) => r.concurrency),
            [{ name: "tok/s", values: t.rows.map((r) => r.aggregateTokensPerSecond) }],
            "tok/s",
            "concurrent clients",
          ) +
          lineChart(
            `${t.model}: requests per second`,
            t.rows.map((r) => r.concurrency),
            [{ name: "req/s", values: t.rows.map((r) => r.requestsPerSecond) }],
            "req/s",
            "concurrent clients",
          ),
      )
      .join("") +
    `</section>`
  );
}

function ragSection(r: RagBenchmarkResult): string {
  const rows = r.rows;
  const xs = rows.map((x) => x.documents);
  return (
    `<section id="rag"><h2>RAG: retrieval time by document count</h2><p>${escapeHtml(r.embedder)} (${r.dim}-d, ${r.distance}), top-${r.k}, ${r.queries} queries per size.</p>` +
    htmlTable(
      [
        "documents",
        "chunks",
        "exact p50 ms",
        "exact p95 ms",
        "ANN p95 ms",
        "recall@k",
        "query p95 ms",
        "hybrid p95 ms",
        "hit@3 hybrid",
      ],
      rows.map((x) => [
        String(x.documents),
        String(x.chunks),
        fmt(x.exact.p50, 2),
        fmt(x.exact.p95, 2),
        fmt(x.ann?.p95 ?? Number.NaN, 2),
        fmt(x.recallAtK ?? Number.NaN, 3),
        fmt(x.queryVector.p95, 2),
        fmt(x.queryHybrid.p95, 2),
        fmt(x.hitAt3.hybridExact, 3),
      ]),
    ) +
    lineChart(
      "retrieval latency p95",
      xs,
      [
        { name: "exact search", values: rows.map((x) => x.exact.p95) },
        { name: "HNSW", values: rows.map((x) => x.ann?.p95 ?? Number.NaN) },
        { name: "service query", values: rows.map((x) => x.queryVector.p95) },
      ],
      "ms",
      "documents",
    ) +
    `</section>`
  );
}

function qualitySection(r: QualityBenchmarkResult): string {
  return (
    `<section id="quality"><h2>Quality against ${escapeHtml(r.base.ref)}</h2><p>${r.chunks} chunks of ${r.chunkSize} tokens of ${escapeHtml(r.text.source)}, ${r.scoredTokens} scored predictions; ${r.continuation.prompts} greedy continuations of ${r.continuation.tokens} tokens.</p>` +
    htmlTable(
      ["variant", "perplexity", "mean KL", "p99 KL", "top-1 agreement", "same continuation"],
      r.variants.map((v) => [
        v.ref,
        fmt(v.perplexity, 3),
        fmt(v.kl.mean, 6),
        fmt(v.kl.p99, 6),
        fmt(v.top1Agreement, 4),
        fmt(v.sameContinuationRate, 3),
      ]),
    ) +
    barChart(
      "top-1 agreement with the reference",
      r.variants.map((v) => v.quantization),
      [{ name: "top-1 agreement", values: r.variants.map((v) => v.top1Agreement) }],
      "share",
    ) +
    `</section>`
  );
}

/** Earlier stored runs of the same kind: each figure over time (oldest left), so a regression shows as a step. */
export function trendSection(points: readonly TrendPoint[]): string {
  if (points.length < 2) return "";
  const names = [...new Set(points.flatMap((p) => p.metrics.map((m) => m.name)))];
  const byUnit = new Map<string, string[]>();
  for (const n of names) {
    const unit = points.flatMap((p) => p.metrics).find((m) => m.name === n)!.unit || "value";
    byUnit.set(unit, [...(byUnit.get(unit) ?? []), n]);
  }
  const xs = points.map((_, i) => i + 1);
  const charts = [...byUnit].map(([unit, ns]) =>
    lineChart(
      `trend: ${unit}`,
      xs,
      ns.slice(0, COLORS.length).map((n) => ({
        name: n,
        values: points.map((p) => p.metrics.find((m) => m.name === n)?.value ?? Number.NaN),
      })),
      unit,
      "stored run (oldest → newest)",
    ),
  );
  return (
    `<section id="trend"><h2>Trend over the last ${points.length} stored runs</h2>` +
    htmlTable(
      ["#", "run", "stored"],
      points.map((p, i) => [String(i + 1), p.id, p.createdAt]),
    ) +
    charts.join("") +
    `</section>`
  );
}

/** ", ggml CPU X" (both servers loaded X), the two names when they differ, nothing for runs stored without them. */
function servingVariants(r: ServingBenchmarkResult): string {
  const v = r.ggmlCpuVariants;
  if (!v || (!v.reflexia && !v.llama)) return "";
  if (v.reflexia === v.llama) return `, ggml CPU ${escapeHtml(v.reflexia ?? "")}`;
  return `, ggml CPU Reflexia ${escapeHtml(v.reflexia ?? "unknown")} vs llama-server ${escapeHtml(v.llama ?? "unknown")} (different kernels)`;
}

function servingSection(r: ServingBenchmarkResult): string {
  const med = (xs: ServingSample[], k: "tokensPerSecond" | "ttftP50Ms") => fmt(median(xs.map((x) => x[k])), 1);
  return (
    `<section id="serving"><h2>Serving: Reflexia vs llama-server through one HTTP client</h2>` +
    `<p>${escapeHtml(r.model)}, ${r.threads} threads, context ${r.contextSize}, ${r.parallel} slots${r.llamaKvUnified ? " (llama-server with --kv-unified: one KV pool, as Reflexia's)" : ""}${r.promptSplit ? `, Reflexia prompt split ${r.promptSplit}` : ""}, ${r.tokens} tokens per request, ${r.trials} paired trials (medians; ratio = Reflexia / llama-server)${servingVariants(r)}; load average ${r.loadAverage.join(" ")}.</p>` +
    htmlTable(
      [
        "concurrency",
        "tok/s Reflexia",
        "tok/s llama-server",
        "ratio",
        "TTFT p50 ms",
        "llama-server",
        "ratio",
        "TTFT p95 ratio",
        "front CPU µs/token (Reflexia / llama-server)",
      ],
      r.rows.map((x) => [
        String(x.concurrency),
        med(x.reflexia, "tokensPerSecond"),
        med(x.llama, "tokensPerSecond"),
        fmt(x.medianRatio.tokensPerSecond, 3),
        med(x.reflexia, "ttftP50Ms"),
        med(x.llama, "ttftP50Ms"),
        fmt(x.medianRatio.ttftP50, 3),
        fmt(x.medianRatio.ttftP95, 3),
        x.frontCpuUsPerToken ? `${x.frontCpuUsPerToken.reflexia} / ${x.frontCpuUsPerToken.llama}` : "–",
      ]),
    ) +
    (r.multiTurn.length
      ? `<h3>Multi-turn chat (2 slots)</h3>` +
        htmlTable(
          [
            "turn",
            "prompt tokens",
            "cached",
            "new",
            "TTFT Reflexia ms",
            "llama-server ms",
            "ratio",
            "vs new-token bound",
            "kernels alone ms (llama-bench)",
          ],
          r.multiTurn.map((t) => [
            String(t.turn),
            String(t.promptTokens),
            String(t.cachedTokens),
            // Results stored before the field existed show "—".
            t.newTokens === undefined ? "—" : String(t.newTokens),
            fmt(median(t.reflexiaTtftMs), 0),
            fmt(median(t.llamaTtftMs), 0),
            fmt(t.medianRatio, 3),
            fmt(t.vsNewTokensBound, 2),
            // The faster of the new tokens and a full 64-row batch at the turn's depth; "—" without llama-bench.
            t.kernel ? fmt(t.kernel.floorMs, 0) : "—",
          ]),
        )
      : "") +
    `</section>`
  );
}

/**
 * The report's sections (tables and SVG charts) of a result by kind: the suite holds all four; a single kind holds
 * its own (throughput as runs). The web UI's benchmarks view shows these same sections.
 */
export function renderBenchmarkSections(result: Record<string, unknown>): string[] {
  const kind = String(result.kind ?? "suite");
  const out: string[] = [];
  const inference = (kind === "suite" ? result.inference : kind === "inference" ? result : undefined) as
    InferenceBenchmarkResult | undefined;
  const memory = (kind === "suite" ? result.memory : kind === "memory" ? result : undefined) as
    MemoryBenchmarkResult | undefined;
  const throughput = (kind === "suite" ? result.throughput : kind === "throughput" ? result.runs : undefined) as
    ThroughputBenchmarkResult[] | undefined;
  const rag = (kind === "suite" ? result.rag : kind === "rag" ? result : undefined) as RagBenchmarkResult | undefined;
  if (inference?.variants?.length) out.push(inferenceSection(inference));
  if (memory?.variants?.length) out.push(memorySection(memory));
  if (throughput?.length) out.push(throughputSection(throughput));
  if (rag?.rows?.length) out.push(ragSection(rag));
  if (kind === "quality" && Array.isArray(result.variants))
    out.push(qualitySection(result as unknown as QualityBenchmarkResult));
  if (kind === "serving" && Array.isArray(result.rows))
    out.push(servingSection(result as unknown as ServingBenchmarkResult));
  return out;
}

/** The whole page. Kinds without charts (engine, api) still get their JSON, so a report never drops figures. */
export function renderBenchmarkReport(
  result: Record<string, unknown>,
  meta: { generatedAt?: Date; host?: string; trend?: readonly TrendPoint[] } = {},
): string {
  const sections = renderBenchmarkSections(result);
  const trend = trendSection(meta.trend ?? []);
  if (trend) sections.push(trend);
  const when = (meta.generatedAt ?? new Date()).toISOString();
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Reflexia benchmark: ${escapeHtml(String(result.kind ?? "suite"))}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:960px;color:#111;padding:0 1rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}th,td{border:1px solid #d1d5db;padding:.25rem .5rem;text-align:right}
th{background:#f3f4f6}td:first-child,th:first-child{text-align:left}figure{margin:1rem 0}figcaption{font-weight:600;margin-bottom:.25rem}
details pre{background:#f9fafb;padding:1rem;overflow:auto;font-size:.8rem}
</style></head><body>
<h1>Reflexia benchmark: ${escapeHtml(String(result.kind ?? "suite"))}</h1>
<p>Generated ${escapeHtml(when)}${meta.host ? ` on ${escapeHtml(meta.host)}` : ""} by <code>reflexia benchmark</code>; every figure below was measured in this run.</p>
${sections.join("\n")}
<details${sections.length === 0 ? " open" : ""}><summary>All results (JSON)</summary><pre>${escapeHtml(JSON.stringify(result, null, 2))}</pre></details>
</body></html>
`;
}
