// histogram_quantile as Prometheus computes it, over real prom-client histograms and their deltas.
import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { bucketDelta, counterTotals, histogramBuckets, histogramQuantile } from "./histogram-snapshot.ts";

describe("histogram snapshots", () => {
  it("sums buckets over labels and interpolates inside the bucket", async () => {
    const registry = new Registry();
    const h = new Histogram({
      name: "t_seconds",
      help: "t",
      labelNames: ["m"],
      buckets: [1, 2, 4],
      registers: [registry],
    });
    // 4 observations in (1,2], 4 in (2,4]: the median is the top of the first of those buckets.
    for (let i = 0; i < 4; i++) h.observe({ m: "a" }, 1.5);
    for (let i = 0; i < 4; i++) h.observe({ m: "b" }, 3);
    const b = await histogramBuckets(h);
    expect(b).toEqual({ le: [1, 2, 4, Infinity], counts: [0, 4, 8, 8] });
    expect(histogramQuantile(0.5, b)).toBe(2);
    expect(histogramQuantile(0.25, b)).toBe(1.5);
    expect(histogramQuantile(0.75, b)).toBe(3);
  });

  it("returns NaN without observations and the top finite bound for the +Inf bucket", () => {
    expect(histogramQuantile(0.5, { le: [1, Infinity], counts: [0, 0] })).toBeNaN();
    expect(histogramQuantile(0.99, { le: [1, 2, Infinity], counts: [0, 1, 10] })).toBe(2);
  });

  it("quantiles of a delta describe only the observations in between", async () => {
    const h = new Histogram({ name: "d_seconds", help: "d", buckets: [0.1, 1, 10], registers: [] });
    for (let i = 0; i < 100; i++) h.observe(5);
    const before = await histogramBuckets(h);
    for (let i = 0; i < 10; i++) h.observe(0.05);
    const d = bucketDelta(await histogramBuckets(h), before);
    expect(d.counts).toEqual([10, 10, 10, 10]);
    expect(histogramQuantile(0.95, d)).toBeLessThanOrEqual(0.1);
    // A reset (the later snapshot below the earlier) falls back to the later snapshot as it is.
    expect(bucketDelta(before, await histogramBuckets(h))).toEqual(before);
  });

  it("groups counter totals by a label", async () => {
    const c = new Counter({ name: "r_total", help: "r", labelNames: ["status", "endpoint"], registers: [] });
    c.inc({ status: "200", endpoint: "/a" }, 3);
    c.inc({ status: "200", endpoint: "/b" }, 2);
    c.inc({ status: "404", endpoint: "/a" });
    expect(Object.fromEntries(await counterTotals(c, "status"))).toEqual({ "200": 5, "404": 1 });
    expect((await counterTotals(c)).get("")).toBe(6);
  });
});
