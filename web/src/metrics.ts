// The live metrics view: tokens/s, time to first token and inter-token p50/p95, requests by status, queue
// depth, memory and cache hit ratio over the last minutes, from GET /api/metrics/live (polled while shown).
import type { LiveMetricsSample, LiveMetricsSnapshot, StatusBody } from "../../src/client/index.ts";
import { apiJson, describeError } from "./api.ts";
import { timeChart, type Series } from "./charts.ts";
import { $ } from "./dom.ts";
import { onServerStatus } from "./state.ts";
import type { View } from "./main.ts";

const MiB = 1024 * 1024;

export function createMetricsView(): View {
  let samples: LiveMetricsSample[] = [];
  let intervalMs = 2000;
  let retainMs = 10 * 60_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let visible = false;
  let available = true;

  function render(): void {
    const times = samples.map((s) => s.t);
    const spanMs = Math.max(60_000, Math.min(retainMs, (times.at(-1) ?? 0) - (times[0] ?? 0) || 60_000));
    const pick = (f: (s: LiveMetricsSample) => number | null | undefined): (number | null)[] =>
      samples.map((s) => f(s) ?? null);
    const statuses = [...new Set(samples.flatMap((s) => Object.keys(s.requests_per_second)))].sort();
    const memory: Series[] = [
      { name: "used", values: pick((s) => (s.memory ? s.memory.used_bytes / MiB : null)) },
      { name: "RSS", values: pick((s) => (s.memory ? s.memory.rss_bytes / MiB : null)) },
      { name: "budget", values: pick((s) => (s.memory ? s.memory.budget_bytes / MiB : null)) },
    ];
    if (samples.some((s) => s.memory?.vram_used_bytes != null))
      memory.push({
        name: "VRAM",
        values: pick((s) => (s.memory?.vram_used_bytes != null ? s.memory.vram_used_bytes / MiB : null)),
      });
    const charts = [
      timeChart({
        title: "Tokens per second",
        unit: "tok/s",
        times,
        spanMs,
        series: [
          { name: "generated", values: pick((s) => s.tokens_per_second) },
          { name: "prompt", values: pick((s) => s.prompt_tokens_per_second) },
        ],
      }),
      timeChart({
        title: "Time to first token",
        unit: "ms",
        times,
        spanMs,
        series: [
          { name: "p50", values: pick((s) => s.ttft_ms?.p50) },
          { name: "p95", values: pick((s) => s.ttft_ms?.p95) },
        ],
      }),
      timeChart({
        title: "Inter-token latency",
        unit: "ms",
        times,
        spanMs,
        series: [
          { name: "p50", values: pick((s) => s.inter_token_ms?.p50) },
          { name: "p95", values: pick((s) => s.inter_token_ms?.p95) },
        ],
      }),
      timeChart({
        title: "Requests by status",
        unit: "req/s",
        times,
        spanMs,
        series: statuses.length
          ? statuses.map((code) => ({ name: code, values: pick((s) => s.requests_per_second[code] ?? 0) }))
          : [{ name: "all", values: pick(() => 0) }],
      }),
      timeChart({
        title: "Queue depth",
        unit: "requests",
        times,
        spanMs,
        series: [
          { name: "running", values: pick((s) => s.queue.running) },
          { name: "queued", values: pick((s) => s.queue.queued) },
        ],
        format: (v) => v.toFixed(v < 10 && v % 1 ? 1 : 0),
      }),
      timeChart({ title: "Memory", unit: "MiB", times, spanMs, series: memory, format: (v) => v.toFixed(0) }),
      timeChart({
        title: "Cache hit ratio",
        unit: "%",
        times,
        spanMs,
        yMax: 100,
        series: [{ name: "hits", values: pick((s) => (s.cache_hit_ratio === null ? null : s.cache_hit_ratio * 100)) }],
        format: (v) => v.toFixed(0),
      }),
    ];
    $("charts").replaceChildren(...charts);
    $("metrics-window").textContent =
      `last ${Math.round(spanMs / 60_000)} min · every ${intervalMs / 1000} s · rates over a trailing window`;
  }

  async function poll(): Promise<void> {
    if (!visible || !available) return;
    try {
      const since = samples.at(-1)?.t;
      const snap = await apiJson<LiveMetricsSnapshot>(`/api/metrics/live${since ? `?since=${since}` : ""}`);
      intervalMs = snap.interval_ms;
      samples = [...samples, ...snap.samples];
      const cutoff = (samples.at(-1)?.t ?? 0) - retainMs;
      samples = samples.filter((s) => s.t >= cutoff);
      $("metrics-msg").textContent = samples.length ? "" : "Waiting for the first sample…";
      render();
    } catch (err) {
      $("metrics-msg").textContent = describeError(err);
    }
    clearTimeout(timer);
    if (visible) timer = setTimeout(() => void poll(), intervalMs);
  }

  onServerStatus((s: StatusBody) => {
    available = s.features.live_metrics;
    if (!available) $("metrics-msg").textContent = "This server does not publish live metrics.";
    const link = $<HTMLAnchorElement>("grafana-link");
    link.hidden = !s.grafana_url;
    if (s.grafana_url) link.href = s.grafana_url;
    if (visible && available && samples.length === 0) void poll();
  });

  return {
    show() {
      visible = true;
      void poll();
    },
    hide() {
      visible = false;
      clearTimeout(timer);
    },
    refresh: poll,
  };
}
