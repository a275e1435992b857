/**
 * Trends of a sampled gauge (pure): a robust slope that a single outlier or a drop cannot bend.
 *
 * - Drops are not negative growth: a fall in the series (compaction lowering the in-use size, a
 *   defragmentation or restore shrinking the file) is taken out before fitting, as Prometheus' rate()
 *   treats a counter reset: later points are shifted up by the drop.
 * - The slope is the median of the slopes between each point and the point half the series later
 *   (a Theil–Sen-style estimator over n/2 pairs, O(n log n)): every pair spans half the history, so
 *   step-wise growth (bbolt grows the file in chunks) is averaged, and up to a quarter of the points
 *   can be wild without moving the median.
 */

export interface TrendPoint {
  /** Epoch milliseconds. */
  t: number;
  v: number;
}

/** The series with every drop taken out (each later point shifted up by the drops before it). */
export function withoutDrops(points: readonly TrendPoint[]): TrendPoint[] {
  const out: TrendPoint[] = [];
  let offset = 0;
  let prev: number | undefined;
  for (const p of points) {
    if (prev !== undefined && p.v < prev) offset += prev - p.v;
    prev = p.v;
    out.push({ t: p.t, v: p.v + offset });
  }
  return out;
}

function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Units of v per second; undefined with fewer than 2 points or no time between them. */
export function robustSlope(points: readonly TrendPoint[]): number | undefined {
  const n = points.length;
  if (n < 2) return undefined;
  const half = Math.max(1, n >> 1);
  const slopes: number[] = [];
  for (let i = 0; i + half < n; i++) {
    const a = points[i]!;
    const b = points[i + half]!;
    const dt = (b.t - a.t) / 1000;
    if (dt > 0) slopes.push((b.v - a.v) / dt);
  }
  return median(slopes);
}

/** Growth per second of a gauge whose drops are not growth (see the top of this file). */
export function growthPerSecond(points: readonly TrendPoint[]): number | undefined {
  return robustSlope(withoutDrops(points));
}

/** Average rate of a counter-like series between the first and the last point (drops as resets). */
export function averageRate(points: readonly TrendPoint[]): number | undefined {
  if (points.length < 2) return undefined;
  const adj = withoutDrops(points);
  const dt = (adj[adj.length - 1]!.t - adj[0]!.t) / 1000;
  return dt > 0 ? (adj[adj.length - 1]!.v - adj[0]!.v) / dt : undefined;
}
