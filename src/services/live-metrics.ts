// The live view of the server's metrics for the web UI: samples the Prometheus registry (the same counters and
// histograms /metrics exports), the scheduler and the memory monitor every few seconds into a ring of the last
// minutes, as rates and quantiles over a trailing window, so the browser never parses Prometheus text.
import type { MemoryMonitor } from "../memory/index.ts";
import {
  bucketDelta,
  counterTotals,
  histogramBuckets,
  histogramQuantile,
  type BucketSnapshot,
  type ReflexiaMetrics,
} from "../metrics/index.ts";
import type { Scheduler } from "../scheduler/index.ts";

export interface LiveMetricsOptions {
  metrics: ReflexiaMetrics;
  scheduler: Pick<Scheduler, "status">;
  memory?: Pick<MemoryMonitor, "latest"> | null;
  /** Milliseconds between samples. Defaults to 2000. */
  intervalMs?: number;
  /** Rates and quantiles are computed over this trailing window, ms. Defaults to 10000. */
  windowMs?: number;
  /** Samples kept (history length = retain × intervalMs). Defaults to 300 (10 minutes at 2 s). */
  retain?: number;
  /** Clock, ms since the epoch. Defaults to Date.now. */
  now?: () => number;
}

/** p50 / p95 in milliseconds; null when nothing was observed in the window. */
export interface LatencyQuantiles {
  p50: number;
  p95: number;
}

/** One point of the live series (the JSON `GET /api/metrics/live` returns, snake_case as every API body). */
export interface LiveMetricsSample {
  /** Epoch ms of the sample. */
  t: number;
  /** Generated tokens per second over the window. */
  tokens_per_second: number;
  prompt_tokens_per_second: number;
  ttft_ms: LatencyQuantiles | null;
  inter_token_ms: LatencyQuantiles | null;
  /** HTTP responses per second over the window, by status code. */
  requests_per_second: Record<string, number>;
  queue: { running: number; queued: number };
  memory: { used_bytes: number; rss_bytes: number; budget_bytes: number; vram_used_bytes: number | null } | null;
  /** Cache hits / (hits + misses) over the window; null when no cacheable request came. */
  cache_hit_ratio: number | null;
}

export interface LiveMetricsSnapshot {
  interval_ms: number;
  window_ms: number;
  samples: LiveMetricsSample[];
}

export interface LiveMetrics {
  /** Takes one sample now (the timer calls it; tests call it directly). */
  sample(): Promise<LiveMetricsSample>;
  /** Samples newer than `since` (epoch ms), oldest first; all retained ones without it. */
  snapshot(since?: number): LiveMetricsSnapshot;
  start(): void;
  stop(): void;
}

/** The cumulative readings a sample is the difference of. */
interface Reading {
  t: number;
  generated: number;
  prompt: number;
  ttft: BucketSnapshot;
  interToken: BucketSnapshot;
  status: Map<string, number>;
  hits: number;
  misses: number;
}

const sum = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
const round = (x: number, digits = 3): number => Math.round(x * 10 ** digits) / 10 ** digits;

function quantilesMs(b: BucketSnapshot): LatencyQuantiles | null {
  const p50 = histogramQuantile(0.5, b);
  if (Number.isNaN(p50)) return null;
  return { p50: round(p50 * 1000), p95: round(histogramQuantile(0.95, b) * 1000) };
}

export function createLiveMetrics(options: LiveMetricsOptions): LiveMetrics {
  const { metrics, scheduler } = options;
  const intervalMs = options.intervalMs ?? 2000;
  const windowMs = options.windowMs ?? 10_000;
  const retain = options.retain ?? 300;
  const now = options.now ?? Date.now;
  // Cumulative readings cover the window plus one interval, so the oldest one still bounds the window.
  const readings: Reading[] = [];
  const samples: LiveMetricsSample[] = [];
  let timer: NodeJS.Timeout | null = null;

  const read = async (): Promise<Reading> => {
    const inf = metrics.inference;
    const [generated, prompt, ttft, interToken, status, hits, misses] = await Promise.all([
      counterTotals(inf.generatedTokens),
      counterTotals(inf.promptTokens),
      histogramBuckets(inf.timeToFirstToken),
      histogramBuckets(inf.interTokenLatency),
      counterTotals(metrics.http.requests, "status"),
      counterTotals(metrics.cache.hits),
      counterTotals(metrics.cache.misses),
    ]);
    return {
      t: now(),
      generated: sum(generated),
      prompt: sum(prompt),
      ttft,
      interToken,
      status,
      hits: sum(hits),
      misses: sum(misses),
    };
  };

  const sample = async (): Promise<LiveMetricsSample> => {
    const r = await read();
    // The reading the window starts from: the oldest not older than the window (or the first ever).
    const base = readings.find((x) => r.t - x.t <= windowMs) ?? readings.at(-1);
    readings.push(r);
    while (readings.length > 1 && r.t - readings[0].t > windowMs + intervalMs) readings.shift();
    const dt = base ? Math.max(1, r.t - base.t) / 1000 : 0;
    const rate = (later: number, earlier: number | undefined): number =>
      base && dt > 0 ? round(Math.max(0, later - (earlier ?? 0)) / dt) : 0;
    const requests: Record<string, number> = {};
    for (const [code, n] of r.status) {
      const per = rate(n, base?.status.get(code));
      if (per > 0) requests[code] = per;
    }
    const hits = base ? r.hits - base.hits : 0;
    const misses = base ? r.misses - base.misses : 0;
    const s = scheduler.status();
    const mem = options.memory?.latest();
    const out: LiveMetricsSample = {
      t: r.t,
      tokens_per_second: rate(r.generated, base?.generated),
      prompt_tokens_per_second: rate(r.prompt, base?.prompt),
      ttft_ms: base ? quantilesMs(bucketDelta(r.ttft, base.ttft)) : null,
      inter_token_ms: base ? quantilesMs(bucketDelta(r.interToken, base.interToken)) : null,
      requests_per_second: requests,
      queue: { running: s.running, queued: s.queued },
      // The engines run on the CPU (no GPU offload is configured), so there is no device memory to report.
      memory: mem
        ? { used_bytes: mem.usedBytes, rss_bytes: mem.rssBytes, budget_bytes: mem.budgetBytes, vram_used_bytes: null }
        : null,
      cache_hit_ratio: hits + misses > 0 ? round(hits / (hits + misses), 4) : null,
    };
    samples.push(out);
    if (samples.length > retain) samples.splice(0, samples.length - retain);
    return out;
  };

  return {
    sample,
    snapshot(since) {
      const list = since === undefined ? samples : samples.filter((x) => x.t > since);
      return { interval_ms: intervalMs, window_ms: windowMs, samples: [...list] };
    },
    start() {
      if (timer) return;
      void sample().catch(() => {});
      timer = setInterval(() => void sample().catch(() => {}), intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}
