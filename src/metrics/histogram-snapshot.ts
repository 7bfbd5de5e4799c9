// Reads prom-client metrics as plain numbers for in-process consumers (the web UI's live view): counter totals
// by label, cumulative histogram buckets summed over labels, and Prometheus' histogram_quantile over a delta.
import type { Counter, Histogram } from "prom-client";

/** Cumulative bucket counts summed over every label set, ordered by upper bound (the last is +Inf). */
export interface BucketSnapshot {
  /** Upper bounds; Infinity for the +Inf bucket. */
  le: number[];
  /** Cumulative counts per bound. */
  counts: number[];
}

/** Sum of a counter's values, optionally grouped by one label (e.g. status). */
export async function counterTotals<L extends string>(counter: Counter<L>, groupBy?: L): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const v of (await counter.get()).values) {
    const key = groupBy ? String(v.labels[groupBy] ?? "") : "";
    out.set(key, (out.get(key) ?? 0) + v.value);
  }
  return out;
}

export async function histogramBuckets<L extends string>(histogram: Histogram<L>): Promise<BucketSnapshot> {
  const byLe = new Map<number, number>();
  for (const v of (await histogram.get()).values) {
    if (!v.metricName?.endsWith("_bucket")) continue;
    const raw = (v.labels as Record<string, string | number | undefined>).le;
    const le = raw === "+Inf" ? Infinity : Number(raw);
    byLe.set(le, (byLe.get(le) ?? 0) + v.value);
  }
  const le = [...byLe.keys()].sort((a, b) => a - b);
  return { le, counts: le.map((b) => byLe.get(b)!) };
}

/** later − earlier, bucket by bucket (same bounds); a counter reset (negative delta) yields the later snapshot. */
export function bucketDelta(later: BucketSnapshot, earlier: BucketSnapshot | undefined): BucketSnapshot {
  if (!earlier || earlier.le.length !== later.le.length) return later;
  const counts = later.counts.map((c, i) => c - earlier.counts[i]);
  return counts.some((c) => c < 0) ? later : { le: later.le, counts };
}

/**
 * The q-quantile (0..1) of the observations in cumulative buckets, interpolated linearly inside the bucket the
 * rank falls in, exactly as Prometheus' histogram_quantile does (the first bucket's lower bound is 0; a rank in
 * the +Inf bucket returns the highest finite bound). NaN when the buckets hold no observation.
 */
export function histogramQuantile(q: number, b: BucketSnapshot): number {
  const total = b.counts.at(-1) ?? 0;
  if (!(total > 0) || b.le.length === 0) return Number.NaN;
  const rank = Math.min(1, Math.max(0, q)) * total;
  let i = b.counts.findIndex((c) => c >= rank);
  if (i < 0) i = b.counts.length - 1;
  if (b.le[i] === Infinity) return b.le.length > 1 ? b.le[b.le.length - 2] : Number.NaN;
  const lower = i === 0 ? 0 : b.le[i - 1];
  const below = i === 0 ? 0 : b.counts[i - 1];
  const inBucket = b.counts[i] - below;
  if (inBucket <= 0) return b.le[i];
  return lower + (b.le[i] - lower) * ((rank - below) / inBucket);
}
