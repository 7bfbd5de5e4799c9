// The comparable figures of a stored benchmark run (tok/s, latency, memory, quality per variant, retrieval time per
// document count), and what two runs' figures say side by side: `reflexia benchmark --compare A B`, the listing's
// headline, the HTML report's trend and the web UI's comparison all read them from here.
import type { BenchmarkHistory, BenchmarkRun } from "./history.ts";
import type { InferenceBenchmarkResult } from "./inference-bench.ts";
import type { MemoryBenchmarkResult } from "./memory-bench.ts";
import type { QualityBenchmarkResult } from "./quality-bench.ts";
import type { RagBenchmarkResult } from "./rag-bench.ts";
import type { ThroughputBenchmarkResult } from "./throughput-bench.ts";

/** One figure of a run; `better` says which direction is an improvement. */
export interface RunMetric {
  name: string;
  value: number;
  unit: string;
  better: "higher" | "lower";
}

/**
 * Relative changes under this, on one machine, are what repeated runs of the same command differ by on a shared
 * 2-core host (run-to-run spread of tok/s seen in this project's measurements); larger ones are called real.
 */
export const NOISE_FRACTION = 0.05;

const num = (x: unknown): number | undefined => (typeof x === "number" && Number.isFinite(x) ? x : undefined);

/** Every comparable figure of a result, by kind (the suite's parts included). */
export function runMetrics(result: Record<string, unknown>): RunMetric[] {
  const out: RunMetric[] = [];
  const push = (name: string, value: unknown, unit: string, better: RunMetric["better"]) => {
    const v = num(value);
    if (v !== undefined) out.push({ name, value: v, unit, better });
  };
  const kind = String(result.kind ?? "");
  const inference = (kind === "suite" ? result.inference : kind === "inference" ? result : undefined) as
    InferenceBenchmarkResult | undefined;
  for (const v of inference?.variants ?? []) {
    push(`inference ${v.quantization} decode`, v.tokensPerSecond, "tok/s", "higher");
    push(`inference ${v.quantization} ms/token p95`, v.msPerToken?.p95, "ms", "lower");
    push(`inference ${v.quantization} of bound`, v.achievedFraction, "", "higher");
    push(`inference ${v.quantization} TTFT`, v.ttftMs, "ms", "lower");
  }
  const memory = (kind === "suite" ? result.memory : kind === "memory" ? result : undefined) as
    MemoryBenchmarkResult | undefined;
  for (const v of memory?.variants ?? []) push(`memory ${v.ref} peak`, v.measuredPeakBytes / 2 ** 20, "MiB", "lower");
  const throughput = (kind === "suite" ? result.throughput : kind === "throughput" ? result.runs : undefined) as
    ThroughputBenchmarkResult[] | undefined;
  for (const t of throughput ?? [])
    for (const r of t.rows ?? [])
      push(`throughput ${t.quantization} ×${r.concurrency}`, r.aggregateTokensPerSecond, "tok/s", "higher");
  const rag = (kind === "suite" ? result.rag : kind === "rag" ? result : undefined) as RagBenchmarkResult | undefined;
  for (const r of rag?.rows ?? []) {
    push(`rag ${r.documents} docs exact p95`, r.exact?.p95, "ms", "lower");
    push(`rag ${r.documents} docs query p95`, r.queryVector?.p95, "ms", "lower");
    push(`rag ${r.documents} docs hit@3 hybrid`, r.hitAt3?.hybridExact, "", "higher");
  }
  if (kind === "quality") {
    for (const v of (result as unknown as QualityBenchmarkResult).variants ?? []) {
      push(`quality ${v.quantization} perplexity`, v.perplexity, "", "lower");
      push(`quality ${v.quantization} KL mean`, v.kl?.mean, "", "lower");
      push(`quality ${v.quantization} top-1 agreement`, v.top1Agreement, "", "higher");
    }
  }
  return out;
}

/** One line for listings: the first figure of each variant. */
export function headlineOf(result: Record<string, unknown>): string | undefined {
  const seen = new Set<string>();
  const parts: string[] = [];
  for (const m of runMetrics(result)) {
    const head = m.name.split(" ").slice(0, 2).join(" ");
    if (seen.has(head)) continue;
    seen.add(head);
    parts.push(
      `${m.name.split(" ").slice(1).join(" ")} ${m.value.toFixed(m.value < 10 ? 3 : 1)}${m.unit ? ` ${m.unit}` : ""}`,
    );
  }
  return parts.length > 0 ? parts.slice(0, 6).join(", ") : undefined;
}

export interface MetricChange {
  name: string;
  unit: string;
  a: number;
  b: number;
  /** (b − a) / a. */
  change: number;
  verdict: "better" | "worse" | "within noise";
}

export interface RunComparison {
  a: { id: string; createdAt: string; kind: string; host: string };
  b: { id: string; createdAt: string; kind: string; host: string };
  sameMachine: boolean;
  /** Same model bytes (digests) in both runs. */
  sameModels: boolean;
  /** Same args and config (the settings the figures depend on). */
  sameConfig: boolean;
  changes: MetricChange[];
  /** What the differences can be trusted for, in words. */
  note: string;
}

const load = (r: BenchmarkRun) => (r.system.loadAverage ? r.system.loadAverage[0].toFixed(2) : "not recorded");

/**
 * Same host, CPU and cores. The ggml CPU variant is recorded only by runs that loaded the engine (a CLI rag run
 * never does), so it tells machines apart only when both runs have it.
 */
export function sameMachine(a: BenchmarkRun, b: BenchmarkRun): boolean {
  const [x, y] = [a.system, b.system];
  return (
    x.hostname === y.hostname &&
    x.cpuModel === y.cpuModel &&
    x.availableCpus === y.availableCpus &&
    (!x.ggmlCpuVariant || !y.ggmlCpuVariant || x.ggmlCpuVariant === y.ggmlCpuVariant)
  );
}

export function compareRuns(a: BenchmarkRun, b: BenchmarkRun): RunComparison {
  const ma = new Map(runMetrics(a.result).map((m) => [m.name, m]));
  const changes: MetricChange[] = [];
  for (const mb of runMetrics(b.result)) {
    const m = ma.get(mb.name);
    if (!m) continue;
    const change = m.value === 0 ? 0 : (mb.value - m.value) / Math.abs(m.value);
    const improved = mb.better === "higher" ? change > 0 : change < 0;
    changes.push({
      name: mb.name,
      unit: mb.unit,
      a: m.value,
      b: mb.value,
      change,
      verdict: Math.abs(change) < NOISE_FRACTION ? "within noise" : improved ? "better" : "worse",
    });
  }
  const same = sameMachine(a, b);
  const digests = (r: BenchmarkRun) =>
    r.models
      .map((m) => `${m.quantization}:${m.digest}`)
      .sort()
      .join(",");
  const sameModels = digests(a) === digests(b);
  const sameConfig = JSON.stringify(a.config) === JSON.stringify(b.config);
  const pct = `${(NOISE_FRACTION * 100).toFixed(0)}%`;
  const note = !same
    ? `different machines (${a.system.cpuModel}${a.system.ggmlCpuVariant ? `, ${a.system.ggmlCpuVariant}` : ""} vs ${b.system.cpuModel}${b.system.ggmlCpuVariant ? `, ${b.system.ggmlCpuVariant}` : ""}): speed differences are the hardware's, not a change; compare ratios measured within each run (e.g. q4_0 vs f16)`
    : `same machine: changes under ${pct} are within run-to-run noise on a shared host (load average ${load(a)} vs ${load(b)}); repeat a run before trusting a change just above it` +
      (sameModels ? "" : "; the model bytes differ (digests)") +
      (sameConfig ? "" : "; the settings differ (config)");
  const who = (r: BenchmarkRun) => ({
    id: r.id,
    createdAt: r.createdAt,
    kind: r.kind,
    host: `${r.system.hostname} (${r.system.cpuModel})`,
  });
  return { a: who(a), b: who(b), sameMachine: same, sameModels, sameConfig, changes, note };
}

/** A stored run's figures over time: the newest `limit` runs of `kind`, oldest first. */
export interface TrendPoint {
  id: string;
  createdAt: string;
  metrics: RunMetric[];
}

export async function trendOf(history: BenchmarkHistory, kind: string, limit = 20): Promise<TrendPoint[]> {
  const points: TrendPoint[] = [];
  for (const s of (await history.list()).filter((r) => r.kind === kind).slice(0, limit)) {
    const run = await history.get(s.id).catch(() => undefined);
    if (run) points.push({ id: run.id, createdAt: run.createdAt, metrics: runMetrics(run.result) });
  }
  return points.reverse();
}
