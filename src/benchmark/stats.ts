/**
 * Latency statistics for the benchmark, on plain numbers (milliseconds): summary figures,
 * nearest-rank percentiles and an etcd-style linear histogram. Pure: no I/O, no clocks.
 */

export interface LatencySummary {
  count: number;
  min: number;
  max: number;
  avg: number;
  /** Population standard deviation, as etcd's report computes it. */
  stddev: number;
  p10: number;
  p25: number;
  p50: number;
  p75: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
}

export interface HistogramBucket {
  /** Upper bound of the bucket (inclusive), in milliseconds. */
  upToMs: number;
  count: number;
}

/** JSON key of a percentile: 99.9 → "p999", 50 → "p50". */
export function percentileKey(p: number): string {
  return 'p' + String(p).replace('.', '');
}

/**
 * Nearest-rank percentile of an ascending array: the smallest value such that at least p% of the
 * values are <= it. Throws on an empty array (there is no such value; callers report "absent").
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) throw new RangeError('percentile of an empty set');
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile ${p} outside 0..100`);
  // Work in integer hundredths of a percent so 99.9% of 1000 is exactly rank 999.
  const rank = Math.ceil((Math.round(p * 100) * n) / 10_000);
  const idx = Math.min(n - 1, Math.max(0, rank - 1));
  return sorted[idx]!;
}

/** Sort a copy ascending (numeric, NaN-free input assumed). */
export function sortedCopy(values: ArrayLike<number>): Float64Array {
  const a = Float64Array.from(values as ArrayLike<number>);
  a.sort();
  return a;
}

/** Summary of an ascending array of latencies; undefined when there are none (absent, never a made-up 0). */
export function summarize(sorted: ArrayLike<number>): LatencySummary | undefined {
  const n = sorted.length;
  if (n === 0) return undefined;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  const avg = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const d = sorted[i]! - avg;
    sq += d * d;
  }
  return {
    count: n,
    min: sorted[0]!,
    max: sorted[n - 1]!,
    avg,
    stddev: Math.sqrt(sq / n),
    p10: percentile(sorted, 10),
    p25: percentile(sorted, 25),
    p50: percentile(sorted, 50),
    p75: percentile(sorted, 75),
    p90: percentile(sorted, 90),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
  };
}

/**
 * etcd's response-time histogram: `buckets` equal-width buckets from the fastest to the slowest
 * value, plus a last bucket whose bound is the slowest. Each value lands in the first bucket whose
 * bound is >= it. Counts always add up to the number of values.
 */
export function histogram(sorted: ArrayLike<number>, buckets = 10): HistogramBucket[] {
  const n = sorted.length;
  if (n === 0) return [];
  if (!Number.isInteger(buckets) || buckets < 1) throw new RangeError('buckets must be a positive integer');
  const fastest = sorted[0]!;
  const slowest = sorted[n - 1]!;
  const width = (slowest - fastest) / buckets;
  const out: HistogramBucket[] = [];
  for (let i = 0; i < buckets; i++) out.push({ upToMs: fastest + width * i, count: 0 });
  out.push({ upToMs: slowest, count: 0 });
  let b = 0;
  for (let i = 0; i < n; i++) {
    const v = sorted[i]!;
    while (b < out.length - 1 && v > out[b]!.upToMs) b++;
    out[b]!.count++;
  }
  return out;
}

/** Accumulates successful latencies (typed array, grows by doubling) and failures by code. */
export class LatencyRecorder {
  private lat: Float64Array;
  private n = 0;
  failed = 0;
  readonly errors = new Map<string, number>();
  /** The first message seen for each code, so a report can say what went wrong. */
  readonly errorSamples = new Map<string, string>();

  constructor(expected = 1024) {
    this.lat = new Float64Array(Math.max(16, expected));
  }

  get succeeded(): number {
    return this.n;
  }

  get total(): number {
    return this.n + this.failed;
  }

  ok(ms: number): void {
    if (this.n === this.lat.length) {
      const bigger = new Float64Array(this.lat.length * 2);
      bigger.set(this.lat);
      this.lat = bigger;
    }
    this.lat[this.n++] = ms;
  }

  fail(code: string, message?: string): void {
    this.failed++;
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
    if (message !== undefined && !this.errorSamples.has(code)) this.errorSamples.set(code, message);
  }

  /** The successful latencies, sorted ascending (a copy). */
  sorted(): Float64Array {
    const a = this.lat.slice(0, this.n);
    a.sort();
    return a;
  }

  merge(other: LatencyRecorder): void {
    for (let i = 0; i < other.n; i++) this.ok(other.lat[i]!);
    this.failed += other.failed;
    for (const [k, v] of other.errors) this.errors.set(k, (this.errors.get(k) ?? 0) + v);
    for (const [k, v] of other.errorSamples) if (!this.errorSamples.has(k)) this.errorSamples.set(k, v);
  }
}
