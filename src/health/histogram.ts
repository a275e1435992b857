/** Histogram arithmetic used for p99 figures over one interval (pure). */
import type { Histogram } from '../etcd/memberMetrics.js';

/** Sum histograms with the same bucket layout (buckets missing in one are treated as its +Inf count). */
export function sumHistograms(hs: readonly Histogram[]): Histogram | undefined {
  if (hs.length === 0) return undefined;
  const bounds = new Set<number>();
  for (const h of hs) for (const [le] of h.buckets) bounds.add(le);
  const sorted = [...bounds].sort((a, b) => a - b);
  const buckets: Array<[number, number]> = sorted.map((le) => [le, 0]);
  let count = 0;
  let sum = 0;
  for (const h of hs) {
    count += h.count;
    sum += h.sum;
    for (const b of buckets) b[1] += cumulativeAt(h, b[0]);
  }
  return { buckets, count, sum };
}

function cumulativeAt(h: Histogram, le: number): number {
  let v = 0;
  for (const [b, c] of h.buckets) {
    if (b <= le) v = c;
    else break;
  }
  return v;
}

/**
 * The increase of a cumulative histogram between two scrapes. A counter reset (member restarted)
 * makes the current histogram itself the increase, as Prometheus' increase() does.
 */
export function histogramDelta(prev: Histogram | undefined, curr: Histogram): Histogram {
  if (!prev || curr.count < prev.count) return curr;
  const buckets: Array<[number, number]> = curr.buckets.map(([le, c]) => [
    le,
    Math.max(0, c - cumulativeAt(prev, le)),
  ]);
  return { buckets, count: curr.count - prev.count, sum: curr.sum - prev.sum };
}

/**
 * Quantile of a cumulative histogram, interpolated linearly inside the bucket as PromQL's
 * histogram_quantile does. Undefined when the histogram holds no observations.
 */
export function histogramQuantile(q: number, h: Histogram): number | undefined {
  const total = h.buckets.length > 0 ? h.buckets[h.buckets.length - 1]![1] : 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of h.buckets) {
    if (count >= rank) {
      if (le === Infinity) return prevLe; // highest finite bound, like PromQL
      const inBucket = count - prevCount;
      if (inBucket <= 0) return le;
      return prevLe + (le - prevLe) * ((rank - prevCount) / inBucket);
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

/** Quantile of raw samples (nearest-rank), for the monitor's own probe latencies. */
export function sampleQuantile(q: number, values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx];
}
