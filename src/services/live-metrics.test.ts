// The live metrics ring: rates and quantiles over the trailing window, read from a real prom-client registry.
import { describe, expect, it } from "vitest";
import { createMetrics } from "../metrics/index.ts";
import type { SchedulerStatus } from "../scheduler/index.ts";
import { createLiveMetrics } from "./live-metrics.ts";

function setup() {
  const metrics = createMetrics({ defaultMetrics: false });
  let t = 1_000_000;
  const status = { running: 1, queued: 2 } as SchedulerStatus;
  const live = createLiveMetrics({
    metrics,
    scheduler: { status: () => status },
    intervalMs: 1000,
    windowMs: 4000,
    retain: 5,
    now: () => t,
  });
  const tick = (ms: number) => (t += ms);
  const generation = (tokens: number, ttftMs: number, gapMs: number) =>
    metrics.inference.observeGeneration(
      { name: "m", quantization: "q4_0" },
      {
        text: "",
        finishReason: "length",
        promptTokens: 10,
        completionTokens: tokens,
        timings: {
          queueMs: 0,
          promptEvalMs: 1,
          ttftMs,
          evalMs: 1,
          totalMs: 1,
          interTokenMs: Array(tokens - 1).fill(gapMs),
        },
      },
    );
  return { metrics, live, tick, generation, status };
}

describe("createLiveMetrics", () => {
  it("turns counters into per-second rates over the window and histograms into p50/p95", async () => {
    const { metrics, live, tick, generation } = setup();
    const first = await live.sample();
    expect(first.tokens_per_second).toBe(0);
    expect(first.ttft_ms).toBeNull();
    expect(first.queue).toEqual({ running: 1, queued: 2 });

    generation(41, 80, 20);
    metrics.http.requests.inc({ method: "POST", endpoint: "/v1/chat/completions", status: "200" }, 4);
    metrics.http.requests.inc({ method: "GET", endpoint: "unmatched", status: "404" }, 2);
    metrics.cache.hits.inc(3);
    metrics.cache.misses.inc(1);
    tick(2000);
    const s = await live.sample();
    expect(s.tokens_per_second).toBe(20.5);
    expect(s.prompt_tokens_per_second).toBe(5);
    expect(s.requests_per_second).toEqual({ "200": 2, "404": 1 });
    expect(s.cache_hit_ratio).toBe(0.75);
    // 80 ms lies in the (50, 100] ms bucket; every inter-token gap in (10, 20] ms.
    expect(s.ttft_ms!.p50).toBeGreaterThan(50);
    expect(s.ttft_ms!.p50).toBeLessThanOrEqual(100);
    expect(s.inter_token_ms!.p95).toBeGreaterThan(10);
    expect(s.inter_token_ms!.p95).toBeLessThanOrEqual(20);
  });

  it("forgets what left the window and keeps only `retain` samples", async () => {
    const { live, tick, generation } = setup();
    await live.sample();
    generation(11, 30, 5);
    tick(1000);
    expect((await live.sample()).tokens_per_second).toBe(11);
    for (let i = 0; i < 6; i++) {
      tick(1000);
      await live.sample();
    }
    const snap = live.snapshot();
    expect(snap.samples).toHaveLength(5);
    const last = snap.samples.at(-1)!;
    expect(last.tokens_per_second).toBe(0);
    expect(last.ttft_ms).toBeNull();
    expect(last.cache_hit_ratio).toBeNull();
    expect(live.snapshot(snap.samples[2].t).samples).toEqual(snap.samples.slice(3));
    expect(snap).toMatchObject({ interval_ms: 1000, window_ms: 4000 });
  });
});
